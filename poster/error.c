/*
 * error.c - error texts, filling msfaq_error, and redacting secrets.
 *
 * Redaction is the last step before any text leaves the library: the send
 * loop builds its message from libcurl's error buffer and the start of
 * the reply body, either of which could echo a URL or a token, then
 * replaces every copy of the token, the URL and the URL's path (the
 * secret part of a webhook URL) by "[redacted]".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post_private.h"

const char *msfaq_post_version(void) { return MSFAQ_POST_VERSION_STRING; }
unsigned msfaq_post_version_hex(void) { return MSFAQ_POST_VERSION_HEX; }

const char *msfaq_post_strerror(int code)
{
    switch (code) {
    case MSFAQ_POST_ENETWORK: return "network error";
    case MSFAQ_POST_ETIMEOUT: return "timed out";
    case MSFAQ_POST_EUNAVAILABLE: return "target unavailable or rate-limited";
    case MSFAQ_POST_EREFUSED: return "target refused the message";
    case MSFAQ_POST_EPROTOCOL: return "unexpected reply from the target";
    default: return msfaq_strerror(code);
    }
}

void msfaqp_post_error_clear(msfaq_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->line = err->column = -1;
    err->offset = -1;
}

void msfaqp_post_error(msfaq_error *err, int code, const char *fmt, ...)
{
    if (!err || err->code != MSFAQ_OK)
        return;
    err->code = code;
    err->line = err->column = -1;
    err->offset = -1;
    err->file[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

void msfaqp_post_redact(char *text, size_t size, const char *const *secrets,
                   size_t n)
{
    static const char mark[] = "[redacted]";
    const size_t mlen = sizeof mark - 1;
    for (size_t k = 0; k < n; k++) {
        const char *sec = secrets[k];
        size_t slen = sec ? strlen(sec) : 0;
        if (slen == 0)
            continue;
        char *p = text;
        while ((p = strstr(p, sec)) != NULL) {
            size_t tail = strlen(p + slen);
            size_t at = (size_t)(p - text);
            if (at + mlen + 1 > size) {
                *p = '\0';       /* no room for the mark: end the text */
                break;
            }
            if (at + mlen + tail + 1 > size)
                tail = size - 1 - at - mlen;  /* drop the end, not the mark */
            memmove(p + mlen, p + slen, tail);
            memcpy(p, mark, mlen);
            p[mlen + tail] = '\0';
            p += mlen;
        }
    }
}

char *msfaqp_post_redact_dup(const char *text, const char *const *secrets,
                        size_t n)
{
    msfaqp_post_buf b = {NULL, 0, 0, 1};
    msfaqp_post_buf_puts(&b, text);
    for (size_t k = 0; k < n && b.ok; k++) {
        const char *sec = secrets[k];
        size_t slen = sec ? strlen(sec) : 0;
        if (slen == 0 || !strstr(b.s, sec))
            continue;
        msfaqp_post_buf out = {NULL, 0, 0, 1};
        const char *p = b.s, *hit;
        msfaqp_post_buf_add(&out, "", 0);
        while ((hit = strstr(p, sec)) != NULL) {
            msfaqp_post_buf_add(&out, p, (size_t)(hit - p));
            msfaqp_post_buf_puts(&out, "[redacted]");
            p = hit + slen;
        }
        msfaqp_post_buf_puts(&out, p);
        free(b.s);
        b = out;
    }
    if (!b.ok) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
