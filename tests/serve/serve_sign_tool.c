/*
 * serve_sign_tool.c - msfaq-serve's Slack signer and verifier, for
 * test_serve.py to compare with slack_sdk's SignatureVerifier.
 *
 * Reads one JSON object a line on stdin:
 *     {"secret": S, "timestamp": T or null, "signature": V or null,
 *      "body": B, "now": N}
 * and writes one a line on stdout:
 *     {"signature": our signature of B (when T is given),
 *      "valid": true or false, "reason": "signature ok", ...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int status = 0;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *in = json_loadb(line, (size_t)len, 0, &je);
        const char *secret = json_string_value(json_object_get(in, "secret"));
        const char *ts = json_string_value(json_object_get(in, "timestamp"));
        const char *sig = json_string_value(json_object_get(in, "signature"));
        json_t *body = json_object_get(in, "body");
        json_t *now = json_object_get(in, "now");
        if (!secret || !json_is_string(body) || !json_is_integer(now)) {
            fprintf(stderr, "serve_sign_tool: bad input line\n");
            json_decref(in);
            status = 2;
            break;
        }
        char ours[SERVE_SLACK_SIG_SIZE] = "";
        if (ts)
            serve_slack_sign(secret, ts, json_string_value(body),
                             json_string_length(body), ours);
        int v = serve_slack_verify(secret, ts, sig, json_string_value(body),
                                   json_string_length(body),
                                   (time_t)json_integer_value(now));
        json_t *out = json_pack("{s:s,s:b,s:s}", "signature", ours, "valid",
                                v == SERVE_SIG_OK, "reason",
                                serve_sig_reason(v));
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        json_decref(out);
        json_decref(in);
    }
    free(line);
    return status;
}
