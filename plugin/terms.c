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

/* Files term t under key w[0..n); terms under one key form a list. */
static int file_under(msfaq_kb *kb, msfaqp_strmap *ix, const char *w,
                      size_t n, int t)
{
    kb->terms[t].next = msfaqp_strmap_get(ix, w, n);
    return msfaqp_strmap_put(ix, w, n, t);
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
        try_list(kb, msfaqp_strmap_get(&kb->by_word, tok, tn), tokens, i, n,
                 hit);
        /* the token may be a plural of a first word */
        if (tn > 3 && tok[tn - 1] == 's')
            try_list(kb, msfaqp_strmap_get(&kb->by_word, tok, tn - 1),
                     tokens, i, n, hit);
        if (tn > 4 && tok[tn - 1] == 's' && tok[tn - 2] == 'e')
            try_list(kb, msfaqp_strmap_get(&kb->by_word, tok, tn - 2),
                     tokens, i, n, hit);
        if (tn >= 3)
            try_list(kb, msfaqp_strmap_get(&kb->by_stem, tok, 3), tokens, i, n,
                     hit);
    }
}

void msfaqp_terms_free(msfaq_kb *kb)
{
    for (int i = 0; i < kb->n_terms; i++)
        free(kb->terms[i].text);
    free(kb->terms);
    kb->terms = NULL;
    kb->n_terms = 0;
    msfaqp_strmap_free(&kb->by_word);
    msfaqp_strmap_free(&kb->by_stem);
}
