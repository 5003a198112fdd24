/*
 * buf.c - a growing string, and the string hash the word sets share.
 *
 * Out-of-memory is sticky: after the first failed growth every append is
 * a no-op and b->oom stays set, so a caller builds a whole string and
 * checks once at the end instead of after every append.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "msfaq_private.h"

/* msfaqp_buf_put when the string must grow first (or is out of memory) */
void msfaqp_buf_grow_put(msfaqp_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void msfaqp_buf_puts(msfaqp_buf *b, const char *s)
{
    msfaqp_buf_put(b, s, strlen(s));
}

size_t msfaqp_hash(const char *w, size_t n)
{
    return msfaqp_fnv1a(w, n);
}
