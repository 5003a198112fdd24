/*
 * terms.c - literal concept terms, found by stem lookup.
 *
 * Most of a KB's vocabulary is literal phrases ("car t cell", "side
 * effect").  Run as regex alternations, every concept would scan every
 * position of the question; here each term is filed under the stem of its
 * longest word (the one fewest questions hold), and a question is read
 * once, word by word, looking up only the terms whose key word is there.
 * The cost follows the question's length, not the number of terms.
 *
 * A term matches words whose Snowball stems are its words' stems, so the
 * term "walk" finds "walking", "walked" and "walks", and "side effect"
 * finds "side effects".  Where a stem is shared with unrelated words
 * ("references" and "referring" are both "refer"), a term word written
 * "=references" matches only that word as typed.  Inside a term of two
 * words or more, a word people often type for another ("side affects")
 * counts as that other word: the rest of the term is the context that
 * shows which was meant.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* text is a term already checked by kb_concepts.c: words of [a-z0-9]
 * and single spaces. */
int msfaqp_terms_add(msfaq_kb *kb, const char *text, int concept)
{
    msfaqp_term *v = realloc(kb->terms, (size_t)(kb->n_terms + 1) *
                                            sizeof *v);
    if (!v)
        return MSFAQ_ENOMEM;
    kb->terms = v;
    int t = kb->n_terms;
    msfaqp_buf stems = {0};
    int words = 0;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, " ");
        char st[MSFAQP_MAX_WORD];
        size_t sn = 0;
        if (*p != '=' && n < sizeof st)
            sn = msfaqp_stem(kb, p, n, st, sizeof st);
        if (!sn) {           /* "=word" (exact), or too long to stem */
            sn = n < sizeof st ? n : sizeof st - 1;
            memcpy(st, p, sn);
        }
        if (words++)
            msfaqp_buf_put(&stems, " ", 1);
        msfaqp_buf_put(&stems, st, sn);
        if (*st != '=' && msfaqp_wordset_add(&kb->term_stems, st, sn))
            stems.oom = true;
        p += n + (p[n] == ' ');
    }
    if (stems.oom || !stems.p) {
        free(stems.p);
        return MSFAQ_ENOMEM;
    }
    v[t].text = msfaqp_strdup(text);
    v[t].stems = stems.p;
    v[t].n_words = words;
    v[t].concept = concept;
    if (!v[t].text) {
        free(stems.p);
        return MSFAQ_ENOMEM;
    }
    kb->n_terms++;
    /* filed under its longest word, the one fewest questions hold: "i need
     * help" under "need", not under "i" with every term that starts so */
    const char *key = v[t].stems;
    size_t key_n = 0;
    int at = 0;
    for (const char *w = v[t].stems; *w; at++) {
        size_t wn = strcspn(w, " ");
        size_t weight = *w == '=' ? wn - 1 : wn;
        if (weight > (*key == '=' ? key_n - 1 : key_n) || !key_n) {
            key = w;
            key_n = wn;
            v[t].key_at = at;
        }
        w += wn + (w[wn] == ' ');
    }
    v[t].next = msfaqp_strmap_get(&kb->by_stem, key, key_n);
    return msfaqp_strmap_put(&kb->by_stem, key, key_n, t) ? MSFAQ_ENOMEM
                                                          : 0;
}

/* Is the word that starts w (it ends at a space or the end) s[0..n)?
 * Compared as it is read: most candidates differ at their first letter. */
static bool word_is(const char *w, const char *s, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (w[j] != s[j])
            return false;
    return w[n] == ' ' || w[n] == '\0';
}

/* Is the term word at w (a stem, or "=word": that very word) word i of t?
 * Its length if so, else 0.  In a term of several words, a slip for that
 * word counts too. */
static size_t word_at(const msfaq_kb *kb, const msfaqp_text *t, int i,
                      const char *w, bool in_phrase)
{
    const msfaqp_token *tok = &t->tokens[i];
    if (*w == '=')
        return word_is(w + 1, t->norm + tok->at, tok->len) ? tok->len + 1
                                                            : 0;
    if (word_is(w, t->stems + tok->stem_at, tok->stem_len))
        return tok->stem_len;
    if (!in_phrase || tok->alt < 0)
        return 0;
    const char *alt = kb->confusion_stems[tok->alt];
    size_t n = strlen(alt);
    return word_is(w, alt, n) ? n : 0;
}

/* Does the term match the words of t from word i on?  Its key word is
 * the one the caller looked up, so only the others are compared: a word
 * reached through a slip (via_alt) matches only inside a phrase. */
static bool term_matches(const msfaq_kb *kb, const msfaqp_term *term,
                         const msfaqp_text *t, int i, bool via_alt)
{
    if (i < 0 || i + term->n_words > t->n_words)
        return false;
    bool phrase = term->n_words > 1;
    if (via_alt && !phrase)
        return false;
    const char *w = term->stems;
    /* n_words bounds the walk whatever the stems hold: i stays a word */
    for (int k = 0; *w && k < term->n_words; k++, i++) {
        size_t wn = 0;
        if (k != term->key_at) {
            if (!(wn = word_at(kb, t, i, w, phrase)))
                return false;
        } else {
            while (w[wn] && w[wn] != ' ')
                wn++;
        }
        w += wn + (w[wn] == ' ');
    }
    return true;
}

/* The terms filed under key (a chain, kb->terms[k].next) that match
 * around word i, the word that has that key. */
static void try_list(const msfaq_kb *kb, int k, const msfaqp_text *t,
                     int i, bool via_alt, unsigned char *hit,
                     unsigned char *cover, int *found, int *n_found)
{
    for (; k >= 0; k = kb->terms[k].next) {
        const msfaqp_term *term = &kb->terms[k];
        int start = i - term->key_at;        /* word i is its key word */
        if (!term_matches(kb, term, t, start, via_alt))
            continue;
        if (!hit[term->concept]) {
            hit[term->concept] = MSFAQP_PRESENT;
            found[(*n_found)++] = term->concept;
        }
        /* the safety screen's lexicons say nothing about the domain: a
         * word only they know ("card", "tired") is still unknown to the
         * gate */
        const msfaqp_concept *cp = &kb->concepts[term->concept];
        if (cp->screen)
            continue;
        int role = cp->role;
        if (role == MSFAQP_ROLE_SMALLTALK && term->n_words > 1)
            role |= MSFAQP_COVER_CHAT;
        for (int w = 0; w < term->n_words; w++)
            cover[start + w] |= (unsigned char)role;
    }
}

void msfaqp_terms_scan(const msfaq_kb *kb, const msfaqp_text *t,
                       unsigned char *hit, unsigned char *cover, int *found,
                       int *n_found)
{
    char exact[MSFAQP_MAX_WORD + 1];
    for (int i = 0; i < t->n_words; i++) {
        const msfaqp_token *tok = &t->tokens[i];
        try_list(kb, msfaqp_strmap_get(&kb->by_stem, t->stems + tok->stem_at,
                                       tok->stem_len),
                 t, i, false, hit, cover, found, n_found);
        if (tok->len < MSFAQP_MAX_WORD) {     /* terms filed as "=word" */
            exact[0] = '=';
            memcpy(exact + 1, t->norm + tok->at, tok->len);
            try_list(kb, msfaqp_strmap_get(&kb->by_stem, exact,
                                           tok->len + 1),
                     t, i, false, hit, cover, found, n_found);
        }
        if (tok->alt >= 0) {
            const char *alt = kb->confusion_stems[tok->alt];
            try_list(kb, msfaqp_strmap_get(&kb->by_stem, alt, strlen(alt)),
                     t, i, true, hit, cover, found, n_found);
        }
    }
}

void msfaqp_terms_free(msfaq_kb *kb)
{
    for (int i = 0; i < kb->n_terms; i++) {
        free(kb->terms[i].text);
        free(kb->terms[i].stems);
    }
    free(kb->terms);
    kb->terms = NULL;
    kb->n_terms = 0;
    msfaqp_strmap_free(&kb->by_stem);
    msfaqp_wordset_free(&kb->term_stems);
}
