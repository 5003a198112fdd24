/*
 * strmap.c - an open-addressing map from strings to ints, and the word
 * set (msfaqp_wordset) built the same way.
 *
 * The KB looks names up while it loads (concept references) and words
 * while it answers (the term index, the vocabulary): all with these
 * tables.  A slot holds no pointer but 1 + the key's offset in a text
 * pool (0: empty), so a compiled image's tables are used where they lie,
 * with nothing to convert or copy at open (kb_image.c borrows them); a
 * table built by put/add owns a pool of its own, which grows by realloc
 * without moving any key.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

static bool same(const char *pool, uint32_t key, const char *w, size_t n)
{
    const char *x = pool + key - 1;
    return strncmp(x, w, n) == 0 && x[n] == '\0';
}

/* Slot of w[0..n) in keys[0..cap): its own, or the empty one where it
 * would go. */
static size_t slot(const uint32_t *keys, size_t cap, const char *pool,
                   const char *w, size_t n)
{
    size_t j = msfaqp_hash(w, n) & (cap - 1);
    while (keys[j] && !same(pool, keys[j], w, n))
        j = (j + 1) & (cap - 1);
    return j;
}

/* Copies w[0..n) and a NUL to the end of an owned pool; returns 1 + its
 * offset, or 0 when out of memory. */
static uint32_t pool_add(msfaqp_pool *p, const char *w, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n + 1)
            cap *= 2;
        if (cap > UINT32_MAX)
            return 0;
        char *more = realloc(p->text, cap);
        if (!more)
            return 0;
        p->text = more;
        p->cap = cap;
    }
    memcpy(p->text + p->len, w, n);
    p->text[p->len + n] = '\0';
    uint32_t key = (uint32_t)p->len + 1;
    p->len += n + 1;
    return key;
}

/* Room for one more key in a table of *cap slots holding count keys,
 * kept at most half full: when it would pass that, the slots (and the
 * values beside them, when values is not NULL) move to twice as many,
 * rehashed.  0, or -1 when out of memory (the table is as it was). */
static int make_room(uint32_t **keys, int **values, size_t *cap,
                     size_t count, const char *pool)
{
    if ((count + 1) * 2 <= *cap)
        return 0;
    size_t big = *cap ? *cap * 2 : 256;
    uint32_t *k = calloc(big, sizeof *k);
    int *v = values ? calloc(big, sizeof *v) : NULL;
    if (!k || (values && !v)) {
        free(k);
        free(v);
        return -1;
    }
    for (size_t i = 0; i < *cap; i++) {
        if (!(*keys)[i])
            continue;
        const char *w = pool + (*keys)[i] - 1;
        size_t j = slot(k, big, pool, w, strlen(w));
        k[j] = (*keys)[i];
        if (v)
            v[j] = (*values)[i];
    }
    free(*keys);
    *keys = k;
    if (values) {
        free(*values);
        *values = v;
    }
    *cap = big;
    return 0;
}

int msfaqp_strmap_get(const msfaqp_strmap *m, const char *w, size_t n)
{
    if (!m->cap)
        return -1;
    size_t j = slot(m->keys, m->cap, m->pool, w, n);
    return m->keys[j] ? m->values[j] : -1;
}

int msfaqp_strmap_put(msfaqp_strmap *m, const char *w, size_t n, int value)
{
    if (make_room(&m->keys, &m->values, &m->cap, m->count, m->own.text))
        return -1;
    size_t j = slot(m->keys, m->cap, m->own.text, w, n);
    if (!m->keys[j]) {
        if (!(m->keys[j] = pool_add(&m->own, w, n)))
            return -1;
        m->pool = m->own.text;
        m->count++;
    }
    m->values[j] = value;
    return 0;
}

void msfaqp_strmap_free(msfaqp_strmap *m)
{
    if (!m->borrowed) {
        free(m->keys);
        free(m->values);
        free(m->own.text);
    }
    memset(m, 0, sizeof *m);
}

bool msfaqp_wordset_has(const msfaqp_wordset *s, const char *w, size_t n)
{
    if (!s->cap)
        return false;
    return s->slots[slot(s->slots, s->cap, s->pool, w, n)] != 0;
}

/* Adds w[0..n) unless present.  0 on success, -1 when out of memory. */
int msfaqp_wordset_add(msfaqp_wordset *s, const char *w, size_t n)
{
    if (msfaqp_wordset_has(s, w, n))
        return 0;
    if (make_room(&s->slots, NULL, &s->cap, s->count, s->own.text))
        return -1;
    uint32_t *words = realloc(s->words, (s->n_words + 1) * sizeof *words);
    if (!words)
        return -1;
    s->words = words;
    uint32_t key = pool_add(&s->own, w, n);
    if (!key)
        return -1;
    s->pool = s->own.text;
    s->slots[slot(s->slots, s->cap, s->pool, w, n)] = key;
    s->words[s->n_words++] = key;
    s->count++;
    return 0;
}

const char *msfaqp_wordset_word(const msfaqp_wordset *s, size_t i)
{
    return s->pool + s->words[i] - 1;
}

void msfaqp_wordset_free(msfaqp_wordset *s)
{
    if (!s->borrowed) {
        free(s->slots);
        free(s->words);
        free(s->own.text);
    }
    memset(s, 0, sizeof *s);
}
