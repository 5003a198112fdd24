/*
 * strmap.c - an open-addressing map from strings to ints.
 *
 * The KB looks names up while it loads (concept references) and words
 * while it answers (the term index): both with one small table.  Keys are
 * copied; values are ints (an index into some array).
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* Slot of key w[0..n): its own, or the empty one where it would go. */
static size_t slot(const msfaqp_strmap *m, const char *w, size_t n)
{
    size_t j = msfaqp_hash(w, n) & (m->cap - 1);
    while (m->keys[j] &&
           !(strncmp(m->keys[j], w, n) == 0 && m->keys[j][n] == '\0'))
        j = (j + 1) & (m->cap - 1);
    return j;
}

int msfaqp_strmap_get(const msfaqp_strmap *m, const char *w, size_t n)
{
    if (!m->cap)
        return -1;
    size_t j = slot(m, w, n);
    return m->keys[j] ? m->values[j] : -1;
}

static int grow(msfaqp_strmap *m)
{
    msfaqp_strmap big = {0};
    big.cap = m->cap ? m->cap * 2 : 256;
    big.keys = calloc(big.cap, sizeof *big.keys);
    big.values = calloc(big.cap, sizeof *big.values);
    if (!big.keys || !big.values) {
        free(big.keys);
        free(big.values);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot(&big, m->keys[i], strlen(m->keys[i]));
        big.keys[j] = m->keys[i];
        big.values[j] = m->values[i];
    }
    big.count = m->count;
    free(m->keys);
    free(m->values);
    *m = big;
    return 0;
}

int msfaqp_strmap_put(msfaqp_strmap *m, const char *w, size_t n, int value)
{
    if ((m->count + 1) * 2 > m->cap && grow(m))
        return -1;
    size_t j = slot(m, w, n);
    if (!m->keys[j]) {
        if (!(m->keys[j] = msfaqp_strndup(w, n)))
            return -1;
        m->count++;
    }
    m->values[j] = value;
    return 0;
}

void msfaqp_strmap_free(msfaqp_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}
