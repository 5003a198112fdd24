/*
 * test_serve_sign.c - msfaq-serve's SHA-256, HMAC-SHA256 and Slack v0
 * signatures, against published vectors.
 *
 * SHA-256: the FIPS 180-4 examples ("abc", the two-block message, a
 * million 'a').  HMAC-SHA256: all seven RFC 4231 test cases.  Slack: the
 * signing example python-slack-sdk's tests take from Slack's "verifying
 * requests" page.  Agreement with slack_sdk's SignatureVerifier on many
 * more cases is checked by test_serve.py through serve_sign_tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void check_sha256(const void *msg, size_t len, size_t pieces,
                         const char *expected)
{
    serve_sha256 c;
    unsigned char d[SERVE_SHA256_SIZE];
    char got[2 * SERVE_SHA256_SIZE + 1];
    serve_sha256_init(&c);
    /* fed in uneven pieces, to cross block boundaries at odd places */
    size_t step = pieces ? len / pieces + 1 : len, done = 0;
    while (done < len) {
        size_t n = len - done < step ? len - done : step;
        serve_sha256_update(&c, (const char *)msg + done, n);
        done += n;
    }
    serve_sha256_final(&c, d);
    hex(d, sizeof d, got);
    assert_string_equal(got, expected);
}

static void test_sha256_fips(void **state)
{
    (void)state;
    check_sha256("", 0, 0,
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                 "7852b855");
    check_sha256("abc", 3, 0,
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                 "f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnop"
                      "nopq";
    check_sha256(two, strlen(two), 0,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
                 "19db06c1");
    check_sha256(two, strlen(two), 7,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
                 "19db06c1");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    check_sha256(million, 1000000, 0,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39cc"
                 "c7112cd0");
    check_sha256(million, 1000000, 997,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39cc"
                 "c7112cd0");
    free(million);
}

static void check_hmac(const void *key, size_t key_len, const void *data,
                       size_t len, const char *expected)
{
    serve_hmac h;
    unsigned char mac[SERVE_SHA256_SIZE];
    char got[2 * SERVE_SHA256_SIZE + 1];
    serve_hmac_init(&h, key, key_len);
    serve_hmac_update(&h, data, len);
    serve_hmac_final(&h, mac);
    hex(mac, sizeof mac, got);
    /* RFC 4231 case 5 gives only the first 128 bits */
    assert_memory_equal(got, expected, strlen(expected));
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    unsigned char k[131], d[50];

    memset(k, 0x0b, 20);                                      /* case 1 */
    check_hmac(k, 20, "Hi There", 8,
               "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c"
               "2e32cff7");
    check_hmac("Jefe", 4, "what do ya want for nothing?", 28, /* case 2 */
               "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
               "64ec3843");
    memset(k, 0xaa, 20);                                      /* case 3 */
    memset(d, 0xdd, 50);
    check_hmac(k, 20, d, 50,
               "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514"
               "ced565fe");
    for (int i = 0; i < 25; i++)                              /* case 4 */
        k[i] = (unsigned char)(i + 1);
    memset(d, 0xcd, 50);
    check_hmac(k, 25, d, 50,
               "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff4"
               "6729665b");
    memset(k, 0x0c, 20);                                      /* case 5 */
    check_hmac(k, 20, "Test With Truncation", 20,
               "a3b6167473100ee06e0c796c2955552b");
    memset(k, 0xaa, 131);                                     /* case 6 */
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    check_hmac(k, 131, d6, strlen(d6),
               "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f"
               "0ee37f54");
    const char *d7 = "This is a test using a larger than block-size key and "
                     "a larger than block-size data. The key needs to be "
                     "hashed before being used by the HMAC algorithm.";
    check_hmac(k, 131, d7, strlen(d7),                        /* case 7 */
               "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f5153"
               "5c3a35e2");
}

/* Slack's example request, as python-slack-sdk's tests use it. */
static const char slack_secret[] = "8f742231b10e8888abcd99yyyzzz85a5";
static const char slack_ts[] = "1531420618";
static const char slack_body[] =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name="
    "roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2F"
    "hooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZ"
    "RskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fc"
    "e8b6703c";
static const char slack_sig[] =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

static void test_slack_example(void **state)
{
    (void)state;
    char sig[SERVE_SLACK_SIG_SIZE];
    assert_int_equal(strlen(slack_body), 362);
    serve_slack_sign(slack_secret, slack_ts, slack_body, strlen(slack_body),
                     sig);
    assert_string_equal(sig, slack_sig);
}

static int verify_at(const char *ts, const char *sig, const char *body,
                     long long now)
{
    return serve_slack_verify(slack_secret, ts, sig, body, strlen(body),
                              (time_t)now);
}

static void test_slack_verify(void **state)
{
    (void)state;
    const long long t = 1531420618;
    char bad[sizeof slack_sig];
    assert_int_equal(verify_at(slack_ts, slack_sig, slack_body, t),
                     SERVE_SIG_OK);
    /* the window is 300 seconds either way, inclusive */
    assert_int_equal(verify_at(slack_ts, slack_sig, slack_body, t + 300),
                     SERVE_SIG_OK);
    assert_int_equal(verify_at(slack_ts, slack_sig, slack_body, t - 300),
                     SERVE_SIG_OK);
    assert_int_equal(verify_at(slack_ts, slack_sig, slack_body, t + 301),
                     SERVE_SIG_STALE);
    assert_int_equal(verify_at(slack_ts, slack_sig, slack_body, t - 301),
                     SERVE_SIG_STALE);
    /* tampered body, signature, or timestamp */
    assert_int_equal(verify_at(slack_ts, slack_sig, "token=x", t),
                     SERVE_SIG_MISMATCH);
    memcpy(bad, slack_sig, sizeof bad);
    bad[sizeof bad - 2] ^= 1;
    assert_int_equal(verify_at(slack_ts, bad, slack_body, t),
                     SERVE_SIG_MISMATCH);
    memcpy(bad, slack_sig, sizeof bad);
    bad[1] = '1';                                    /* "v1=" */
    assert_int_equal(verify_at(slack_ts, bad, slack_body, t),
                     SERVE_SIG_MISMATCH);
    assert_int_equal(verify_at("1531420619", slack_sig, slack_body, t),
                     SERVE_SIG_MISMATCH);
    /* uppercase hex is not what Slack sends */
    memcpy(bad, slack_sig, sizeof bad);
    for (char *p = bad + 3; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    assert_int_equal(verify_at(slack_ts, bad, slack_body, t),
                     SERVE_SIG_MISMATCH);
    assert_int_equal(verify_at(slack_ts, "v0=abc", slack_body, t),
                     SERVE_SIG_MISMATCH);
    assert_int_equal(verify_at(slack_ts, "", slack_body, t),
                     SERVE_SIG_MISMATCH);
    /* missing or malformed headers */
    assert_int_equal(verify_at(NULL, slack_sig, slack_body, t),
                     SERVE_SIG_MISSING);
    assert_int_equal(serve_slack_verify(slack_secret, slack_ts, NULL,
                                        slack_body, strlen(slack_body),
                                        (time_t)t),
                     SERVE_SIG_MISSING);
    assert_int_equal(verify_at("", slack_sig, slack_body, t),
                     SERVE_SIG_BAD_TIMESTAMP);
    assert_int_equal(verify_at(" 1531420618", slack_sig, slack_body, t),
                     SERVE_SIG_BAD_TIMESTAMP);
    assert_int_equal(verify_at("1531420618x", slack_sig, slack_body, t),
                     SERVE_SIG_BAD_TIMESTAMP);
    assert_int_equal(verify_at("-1531420618", slack_sig, slack_body, t),
                     SERVE_SIG_BAD_TIMESTAMP);
    assert_int_equal(verify_at("99999999999999999999", slack_sig,
                               slack_body, t),
                     SERVE_SIG_BAD_TIMESTAMP);
    assert_string_equal(serve_sig_reason(SERVE_SIG_STALE),
                        "stale timestamp");
}

static void test_compare(void **state)
{
    (void)state;
    assert_true(serve_equal_ct("abc", "abc", 3));
    assert_false(serve_equal_ct("abc", "abd", 3));
    assert_true(serve_equal_ct("", "", 0));
    assert_true(serve_token_equal("s3cret", "s3cret"));
    assert_false(serve_token_equal("s3cre", "s3cret"));
    assert_false(serve_token_equal("s3cret!", "s3cret"));
    assert_false(serve_token_equal("", "s3cret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_slack_example),
        cmocka_unit_test(test_slack_verify),
        cmocka_unit_test(test_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
