/*
 * error.c - errors as values: msfaq_strerror() and filling msfaq_error.
 *
 * The first error wins: callers may fill err deep in a call chain and the
 * outer layers never overwrite the precise message with a vaguer one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

const char *msfaq_strerror(int code)
{
    switch (code) {
    case MSFAQ_OK: return "success";
    case MSFAQ_NOMATCH: return "no article answer (fallback reply)";
    case MSFAQ_EINVAL: return "invalid argument";
    case MSFAQ_ENOMEM: return "out of memory";
    case MSFAQ_EIO: return "cannot read knowledge-base file";
    case MSFAQ_EJSON: return "invalid JSON in knowledge-base file";
    case MSFAQ_ESCHEMA: return "knowledge-base file has the wrong shape";
    case MSFAQ_EREGEX: return "knowledge-base pattern does not compile";
    case MSFAQ_EREF: return "knowledge-base name refers to nothing";
    case MSFAQ_ETOOLONG: return "question too long";
    case MSFAQ_EUTF8: return "question is not valid UTF-8";
    case MSFAQ_EMATCH: return "pattern match limit reached";
    case MSFAQ_EIMAGE: return "compiled knowledge base cannot be used";
    default: return "unknown error";
    }
}

const char *msfaq_version(void) { return MSFAQ_VERSION_STRING; }
unsigned msfaq_version_hex(void) { return MSFAQ_VERSION_HEX; }

void msfaqp_error_set(msfaq_error *err, int code, const char *file,
                      int line, int column, long offset, const char *fmt,
                      ...)
{
    if (!err || err->code != MSFAQ_OK)
        return;
    err->code = code;
    err->line = line;
    err->column = column;
    err->offset = offset;
    err->file[0] = '\0';
    if (file) {
        size_t n = strlen(file);
        if (n < sizeof err->file) {
            memcpy(err->file, file, n + 1);
        } else {
            /* keep the tail: the file name matters more than the prefix */
            size_t keep = sizeof err->file - 4;
            memcpy(err->file, "...", 3);
            memcpy(err->file + 3, file + n - keep, keep + 1);
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
}

char *msfaqp_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

char *msfaqp_strdup(const char *s)
{
    return s ? msfaqp_strndup(s, strlen(s)) : NULL;
}
