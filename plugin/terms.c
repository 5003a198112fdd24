/*
 * terms.c - literal concept terms, found by word lookup.
 *
 * Most of a KB's vocabulary is literal phrases ("car t cell", "side
 * effect*").  Run as regex alternations, every concept would scan every
 * position of the question; here each term is filed under its first word
 * (or, for a prefix word, its first three letters), and a question is read
 * once, word by word, looking up only the terms that could start there.
 * The cost follows the question's length, not the number of terms.
 *
 * Matching rules, the same as the regex a term also compiles to for
 * {concept} expansion: terms match whole words of the normalised text; a
 * word ending in '*' is a prefix; any other word of three letters or more
 * may take a plural s or es.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* Slot of key w[0..n): its own, or the empty one where it would go. */
static size_t slot(const msfaqp_termindex *ix, const char *w, size_t n)
{
    size_t j = msfaqp_hash(w, n) & (ix->cap - 1);
    while (ix->keys[j] &&
           !(strncmp(ix->keys[j], w, n) == 0 && ix->keys[j][n] == '\0'))
        j = (j + 1) & (ix->cap - 1);
    return j;
}

static int head(const msfaqp_termindex *ix, const char *w, size_t n)
{
    if (!ix->cap)
        return -1;
    size_t j = slot(ix, w, n);
    return ix->keys[j] ? ix->heads[j] : -1;
}

static int grow(msfaqp_termindex *ix)
{
    msfaqp_termindex big = {0};
    big.cap = ix->cap ? ix->cap * 2 : 512;
    big.keys = calloc(big.cap, sizeof *big.keys);
    big.heads = calloc(big.cap, sizeof *big.heads);
    if (!big.keys || !big.heads) {
        free(big.keys);
        free(big.heads);
        return -1;
    }
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->keys[i])
            continue;
        size_t j = slot(&big, ix->keys[i], strlen(ix->keys[i]));
        big.keys[j] = ix->keys[i];
        big.heads[j] = ix->heads[i];
    }
    big.count = ix->count;
    free(ix->keys);
    free(ix->heads);
    *ix = big;
    return 0;
}

/* Files term t under key w[0..n); terms under one key form a list. */
static int file_under(msfaq_kb *kb, msfaqp_termindex *ix, const char *w,
                      size_t n, int t)
{
    if ((ix->count + 1) * 2 > ix->cap && grow(ix))
        return -1;
    size_t j = slot(ix, w, n);
    if (!ix->keys[j]) {
        if (!(ix->keys[j] = msfaqp_strndup(w, n)))
            return -1;
        ix->heads[j] = -1;
        ix->count++;
    }
    kb->terms[t].next = ix->heads[j];
    ix->heads[j] = t;
    return 0;
}

/* text is a term already checked by kb_load.c: words of [a-z0-9], single
 * spaces, '*' only at the end of a word; prefix words have 3+ letters. */
int msfaqp_terms_add(msfaq_kb *kb, const char *text, int concept)
{
    msfaqp_term *v = realloc(kb->terms, (size_t)(kb->n_terms + 1) *
                                            sizeof *v);
    if (!v)
        return MSFAQ_ENOMEM;
    kb->terms = v;
    int t = kb->n_terms;
    v[t].text = msfaqp_strdup(text);
    v[t].concept = concept;
    v[t].next = -1;
    if (!v[t].text)
        return MSFAQ_ENOMEM;
    kb->n_terms++;
    size_t n = strcspn(text, " *");
    int rc = text[n] == '*' ? file_under(kb, &kb->by_stem, text, 3, t)
                            : file_under(kb, &kb->by_word, text, n, t);
    return rc ? MSFAQ_ENOMEM : 0;
}

/* Does token tok[0..tn) match term word w[0..wn) (prefix: '*' follows)? */
static bool word_matches(const char *w, size_t wn, bool prefix,
                         const char *tok, size_t tn)
{
    if (prefix)
        return tn >= wn && memcmp(w, tok, wn) == 0;
    if (tn < wn || memcmp(w, tok, wn) != 0)
        return false;
    if (tn == wn)
        return true;
    if (wn < 3)
        return false;
    return (tn == wn + 1 && tok[wn] == 's') ||
           (tn == wn + 2 && tok[wn] == 'e' && tok[wn + 1] == 's');
}

typedef struct span {
    const char *p;
    size_t n;
} span;

/* Does the term match the words starting at tokens[i]? */
static bool term_matches(const char *text, const span *tokens, int i,
                         int n_tokens)
{
    const char *w = text;
    while (*w) {
        if (i >= n_tokens)
            return false;
        size_t wn = strcspn(w, " *");
        bool prefix = w[wn] == '*';
        if (!word_matches(w, wn, prefix, tokens[i].p, tokens[i].n))
            return false;
        w += wn + (prefix ? 1 : 0);
        if (*w == ' ')
            w++;
        i++;
    }
    return true;
}

static void try_list(const msfaq_kb *kb, int t, const span *tokens, int i,
                     int n_tokens, unsigned char *hit)
{
    for (; t >= 0; t = kb->terms[t].next)
        if (!hit[kb->terms[t].concept] &&
            term_matches(kb->terms[t].text, tokens, i, n_tokens))
            hit[kb->terms[t].concept] = 1;
}

void msfaqp_terms_scan(const msfaq_kb *kb, const char *norm,
                       unsigned char *hit)
{
    span tokens[MSFAQP_MAX_TOKENS];
    int n = 0;
    for (const char *p = norm; *p && n < MSFAQP_MAX_TOKENS;) {
        size_t len = strcspn(p, " ");
        tokens[n].p = p;
        tokens[n++].n = len;
        p += len;
        if (*p == ' ')
            p++;
    }
    for (int i = 0; i < n; i++) {
        const char *tok = tokens[i].p;
        size_t tn = tokens[i].n;
        try_list(kb, head(&kb->by_word, tok, tn), tokens, i, n, hit);
        /* the token may be a plural of a first word */
        if (tn > 3 && tok[tn - 1] == 's')
            try_list(kb, head(&kb->by_word, tok, tn - 1), tokens, i, n,
                     hit);
        if (tn > 4 && tok[tn - 1] == 's' && tok[tn - 2] == 'e')
            try_list(kb, head(&kb->by_word, tok, tn - 2), tokens, i, n,
                     hit);
        if (tn >= 3)
            try_list(kb, head(&kb->by_stem, tok, 3), tokens, i, n, hit);
    }
}

static void index_free(msfaqp_termindex *ix)
{
    for (size_t i = 0; i < ix->cap; i++)
        free(ix->keys[i]);
    free(ix->keys);
    free(ix->heads);
    memset(ix, 0, sizeof *ix);
}

void msfaqp_terms_free(msfaq_kb *kb)
{
    for (int i = 0; i < kb->n_terms; i++)
        free(kb->terms[i].text);
    free(kb->terms);
    kb->terms = NULL;
    kb->n_terms = 0;
    index_free(&kb->by_word);
    index_free(&kb->by_stem);
}
