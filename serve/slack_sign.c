/*
 * slack_sign.c - Slack's v0 request signatures.
 *
 * Slack signs "v0:" + X-Slack-Request-Timestamp + ":" + the raw body with
 * HMAC-SHA256, keyed with the app's signing secret taken as its literal
 * bytes, and sends "v0=" + the lowercase hex MAC in X-Slack-Signature.
 * The check runs on the body exactly as received, before any parsing.
 *
 * Decisions: the timestamp must be decimal digits only (python-slack-sdk
 * would also take "+12" or " 12"; Slack sends digits); a request more than
 * SERVE_SLACK_MAX_SKEW seconds away from our clock in either direction is
 * refused, as python-slack-sdk does; the comparison covers the whole
 * signature string in constant time once its length is right (the length
 * itself is no secret).
 */
#include <string.h>

#include "serve.h"

void serve_slack_sign(const char *secret, const char *timestamp,
                      const void *body, size_t len,
                      char out[SERVE_SLACK_SIG_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[SERVE_SHA256_SIZE];
    serve_hmac h;
    serve_hmac_init(&h, secret, strlen(secret));
    serve_hmac_update(&h, "v0:", 3);
    serve_hmac_update(&h, timestamp, strlen(timestamp));
    serve_hmac_update(&h, ":", 1);
    serve_hmac_update(&h, body, len);
    serve_hmac_final(&h, mac);
    memcpy(out, "v0=", 3);
    for (int i = 0; i < SERVE_SHA256_SIZE; i++) {
        out[3 + 2 * i] = hex[mac[i] >> 4];
        out[3 + 2 * i + 1] = hex[mac[i] & 15];
    }
    out[SERVE_SLACK_SIG_SIZE - 1] = '\0';
    serve_wipe(mac, sizeof mac);
}

/* Parses a decimal timestamp of 1 to 18 digits. */
static bool parse_timestamp(const char *s, long long *out)
{
    long long v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 18)
            return false;
        v = v * 10 + (s[n] - '0');
    }
    *out = v;
    return n > 0;
}

int serve_slack_verify(const char *secret, const char *timestamp,
                       const char *signature, const void *body, size_t len,
                       time_t now)
{
    if (!timestamp || !signature)
        return SERVE_SIG_MISSING;
    long long ts;
    if (!parse_timestamp(timestamp, &ts))
        return SERVE_SIG_BAD_TIMESTAMP;
    long long skew = (long long)now - ts;
    if (skew > SERVE_SLACK_MAX_SKEW || skew < -SERVE_SLACK_MAX_SKEW)
        return SERVE_SIG_STALE;
    if (strlen(signature) != SERVE_SLACK_SIG_SIZE - 1)
        return SERVE_SIG_MISMATCH;
    char expected[SERVE_SLACK_SIG_SIZE];
    serve_slack_sign(secret, timestamp, body, len, expected);
    bool same = serve_equal_ct(expected, signature, SERVE_SLACK_SIG_SIZE - 1);
    serve_wipe(expected, sizeof expected);
    return same ? SERVE_SIG_OK : SERVE_SIG_MISMATCH;
}

const char *serve_sig_reason(int sig)
{
    switch (sig) {
    case SERVE_SIG_OK:
        return "signature ok";
    case SERVE_SIG_MISSING:
        return "missing signature";
    case SERVE_SIG_BAD_TIMESTAMP:
        return "bad timestamp";
    case SERVE_SIG_STALE:
        return "stale timestamp";
    default:
        return "bad signature";
    }
}
