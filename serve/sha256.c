/*
 * sha256.c - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and
 * constant-time comparison, for checking Slack request signatures.
 *
 * Written here rather than taken from OpenSSL or nettle so that
 * msfaq-serve needs no crypto development package beyond what the build
 * already has.  tests/serve/test_serve_crypto.c checks it against the
 * FIPS 180-4 examples and the RFC 4231 HMAC test cases.
 */
#include <string.h>

#include "serve.h"

static const uint32_t round_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t state[8], const unsigned char block[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] << 24 |
               (uint32_t)block[4 * i + 1] << 16 |
               (uint32_t)block[4 * i + 2] << 8 | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^
                      (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^
                      (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
                      ((e & f) ^ (~e & g)) + round_k[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
                      ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
    serve_wipe(w, sizeof w);
}

void serve_sha256_init(serve_sha256 *c)
{
    static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                        0xa54ff53a, 0x510e527f, 0x9b05688c,
                                        0x1f83d9ab, 0x5be0cd19};
    memcpy(c->state, initial, sizeof initial);
    c->length = 0;
    c->used = 0;
}

void serve_sha256_update(serve_sha256 *c, const void *data, size_t len)
{
    const unsigned char *p = data;
    c->length += len;
    if (c->used) {
        size_t take = SERVE_SHA256_BLOCK - c->used;
        if (take > len)
            take = len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used < SERVE_SHA256_BLOCK)
            return;
        compress(c->state, c->block);
        c->used = 0;
    }
    for (; len >= SERVE_SHA256_BLOCK; p += SERVE_SHA256_BLOCK,
                                      len -= SERVE_SHA256_BLOCK)
        compress(c->state, p);
    if (len) {
        memcpy(c->block, p, len);
        c->used = len;
    }
}

void serve_sha256_final(serve_sha256 *c, unsigned char out[SERVE_SHA256_SIZE])
{
    uint64_t bits = c->length * 8;
    /* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian */
    c->block[c->used++] = 0x80;
    if (c->used > 56) {
        memset(c->block + c->used, 0, SERVE_SHA256_BLOCK - c->used);
        compress(c->state, c->block);
        c->used = 0;
    }
    memset(c->block + c->used, 0, 56 - c->used);
    for (int i = 0; i < 8; i++)
        c->block[56 + i] = (unsigned char)(bits >> (56 - 8 * i));
    compress(c->state, c->block);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(c->state[i] >> 24);
        out[4 * i + 1] = (unsigned char)(c->state[i] >> 16);
        out[4 * i + 2] = (unsigned char)(c->state[i] >> 8);
        out[4 * i + 3] = (unsigned char)c->state[i];
    }
    serve_wipe(c, sizeof *c);
}

void serve_hmac_init(serve_hmac *h, const void *key, size_t key_len)
{
    unsigned char k[SERVE_SHA256_BLOCK] = {0}, pad[SERVE_SHA256_BLOCK];
    if (key_len > SERVE_SHA256_BLOCK) {
        /* long keys are hashed first (RFC 2104, section 2) */
        serve_sha256_init(&h->inner);
        serve_sha256_update(&h->inner, key, key_len);
        serve_sha256_final(&h->inner, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    for (int i = 0; i < SERVE_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    serve_sha256_init(&h->inner);
    serve_sha256_update(&h->inner, pad, sizeof pad);
    for (int i = 0; i < SERVE_SHA256_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    serve_sha256_init(&h->outer);
    serve_sha256_update(&h->outer, pad, sizeof pad);
    serve_wipe(k, sizeof k);
    serve_wipe(pad, sizeof pad);
}

void serve_hmac_update(serve_hmac *h, const void *data, size_t len)
{
    serve_sha256_update(&h->inner, data, len);
}

void serve_hmac_final(serve_hmac *h, unsigned char out[SERVE_SHA256_SIZE])
{
    unsigned char inner[SERVE_SHA256_SIZE];
    serve_sha256_final(&h->inner, inner);
    serve_sha256_update(&h->outer, inner, sizeof inner);
    serve_sha256_final(&h->outer, out);
    serve_wipe(inner, sizeof inner);
    serve_wipe(h, sizeof *h);
}

bool serve_equal_ct(const void *a, const void *b, size_t n)
{
    /* volatile: keep the compiler from stopping at the first difference */
    const volatile unsigned char *x = a, *y = b;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(x[i] ^ y[i]);
    return diff == 0;
}

bool serve_token_equal(const char *given, const char *expected)
{
    unsigned char dg[SERVE_SHA256_SIZE], de[SERVE_SHA256_SIZE];
    serve_sha256 c;
    serve_sha256_init(&c);
    serve_sha256_update(&c, given, strlen(given));
    serve_sha256_final(&c, dg);
    serve_sha256_init(&c);
    serve_sha256_update(&c, expected, strlen(expected));
    serve_sha256_final(&c, de);
    bool same = serve_equal_ct(dg, de, sizeof dg);
    serve_wipe(de, sizeof de);
    return same;
}

void serve_wipe(void *p, size_t n)
{
    explicit_bzero(p, n);
}
