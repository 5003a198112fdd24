/*
 * spell.c - the vocabulary and bounded typo correction.
 *
 * A misspelt word is corrected only to a word of the KB's own vocabulary
 * (the terms of its concepts and the article's words), never when it is
 * itself an English word (Debian's word list, words.c), only when it is
 * five letters or longer, only within one edit (two from nine letters on;
 * an adjacent swap counts as one edit, Damerau), and only when exactly one
 * word is that close.  Ties refuse to guess: in a medical setting a silent
 * wrong correction is worse than none.  Two known words run together
 * ("physicaltherapy") are split.
 * Every correction is reported by msfaq explain.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* Optimal-string-alignment distance, giving up (returning max + 1) as soon
 * as every cell of a row exceeds max.  Words are at most 63 letters here. */
int msfaqp_damerau(const char *a, size_t la, const char *b, size_t lb,
                   int max)
{
    enum { W = 64 };
    if (la >= W || lb >= W)
        return max + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)max)
        return max + 1;
    int d[3][W];                 /* rows i-2, i-1, i, rotated */
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    int *prev2 = NULL, *prev = d[0], *cur = d[1];
    int last_min = 0;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev2 && i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < row_min)
                row_min = v;
        }
        /* a swap reaches back two rows, so both must be out of budget */
        if (row_min > max && last_min > max)
            return max + 1;
        last_min = row_min;
        int *spare = prev2 ? prev2 : d[2];
        prev2 = prev;
        prev = cur;
        cur = spare;
    }
    return prev[lb];
}

uint32_t msfaqp_letter_mask(const char *w, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i] >= 'a' && w[i] <= 'z')
            m |= 1u << (w[i] - 'a');
    return m;
}

/* Targets in the order scan() reads them: by first letter, then by
 * length, so that a word is compared only with the targets of its first
 * letter whose length is within its edit budget. */
static int by_first_then_length(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    if (x[0] != y[0])
        return (unsigned char)x[0] - (unsigned char)y[0];
    size_t lx = strlen(x), ly = strlen(y);
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x, y);
}

int msfaqp_targets_index(msfaq_kb *kb)
{
    size_t n = kb->targets.n_words;
    kb->by_first = malloc((n ? n : 1) * sizeof *kb->by_first);
    kb->first_masks = malloc((n ? n : 1) * sizeof *kb->first_masks);
    kb->first_lens = malloc(n ? n : 1);
    if (!kb->by_first || !kb->first_masks || !kb->first_lens)
        return -1;
    for (size_t i = 0; i < n; i++)
        kb->by_first[i] = msfaqp_wordset_word(&kb->targets, i);
    qsort(kb->by_first, n, sizeof *kb->by_first, by_first_then_length);
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *w = kb->by_first[i];
        size_t len = strlen(w);
        count[(unsigned char)w[0] + 1]++;
        kb->first_masks[i] = msfaqp_letter_mask(w, len);
        kb->first_lens[i] = (unsigned char)(len < 255 ? len : 255);
    }
    for (int c = 1; c < 257; c++)
        count[c] += count[c - 1];
    memcpy(kb->first_at, count, sizeof count);
    return 0;
}

/* The number of letters in one set and not the other (a portable
 * popcount: without -mpopcnt the builtin is a library call). */
static int set_distance(uint32_t a, uint32_t b)
{
    uint32_t x = a ^ b;
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0fu;
    return (int)((x * 0x01010101u) >> 24);
}

/* Scans the targets starting with letter c (and, when second is not 0,
 * having it as their second letter) whose length is within the budget of
 * n; keeps the closest. */
static void scan(const msfaq_kb *kb, unsigned char c, char second,
                 const char *w, size_t n, uint32_t mask, int budget,
                 const char **best, int *best_d, bool *tie)
{
    size_t lo = kb->first_at[c], hi = kb->first_at[c + 1];
    size_t min_len = n > (size_t)budget ? n - (size_t)budget : 0;
    while (lo < hi) {            /* the first target long enough */
        size_t mid = lo + (hi - lo) / 2;
        if (kb->first_lens[mid] < min_len)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < kb->first_at[c + 1] &&
                        kb->first_lens[i] <= n + (size_t)budget;
         i++) {
        const char *t = kb->by_first[i];
        /* an edit changes at most two letters of the set (a swap none):
         * sets further apart than that cannot be within the budget */
        if (set_distance(mask, kb->first_masks[i]) > 2 * budget)
            continue;
        if (*best == t || (second && t[1] != second))
            continue;
        int d = msfaqp_damerau(w, n, t, kb->first_lens[i], *best_d);
        if (d < *best_d) {
            *best_d = d;
            *best = t;
            *tie = false;
        } else if (d == *best_d && *best) {
            *tie = true;
        }
    }
}

/* w with its first sound spelt the other usual way (f <-> ph, k <-> c), in
 * out; returns its length, or 0 when w starts with no such sound. */
static size_t sound_alike(const char *w, size_t n, char *out, size_t size)
{
    static const struct { const char *from, *to; } sounds[] = {
        {"ph", "f"}, {"f", "ph"}, {"k", "c"}, {"c", "k"},
    };
    for (size_t i = 0; i < sizeof sounds / sizeof *sounds; i++) {
        size_t fl = strlen(sounds[i].from), tl = strlen(sounds[i].to);
        if (n <= fl || strncmp(w, sounds[i].from, fl) != 0 ||
            n - fl + tl + 1 > size)
            continue;
        memcpy(out, sounds[i].to, tl);
        memcpy(out + tl, w + fl, n - fl);
        out[n - fl + tl] = '\0';
        return n - fl + tl;
    }
    return 0;
}

const char *msfaqp_correct(const msfaq_kb *kb, const char *w, size_t n)
{
    int budget = n >= 9 ? 2 : 1;
    const char *best = NULL;
    int best_d = budget + 1;
    bool tie = false;
    /* typos rarely touch the first letter; requiring it (or a swap of the
     * first two) keeps the scan short and avoids far-fetched corrections */
    uint32_t mask = msfaqp_letter_mask(w, n);
    scan(kb, (unsigned char)w[0], 0, w, n, mask, budget, &best, &best_d,
         &tie);
    if (n > 1 && w[1] != w[0])
        scan(kb, (unsigned char)w[1], w[0], w, n, mask, budget, &best,
             &best_d, &tie);
    /* ...except where it is spelt by ear: "fysio" for "physio", "kar t"
     * for "car t"; the other spelling of the sound costs nothing */
    char alt[MSFAQP_MAX_WORD + 2];
    size_t an = sound_alike(w, n, alt, sizeof alt);
    if (an)
        scan(kb, (unsigned char)alt[0], 0, alt, an,
             msfaqp_letter_mask(alt, an), budget, &best, &best_d, &tie);
    return (best && !tie && best_d <= budget) ? best : NULL;
}

/* A word meant as it is: a word the KB knows, a correctly spelt English
 * word (never "corrected" into a KB word: "trail" is not "trial"), or a
 * form of a term word ("relapsing" for the term "relapse"). */
bool msfaqp_known(const msfaq_kb *kb, const char *w, size_t n)
{
    if (msfaqp_wordset_has(&kb->vocab, w, n) || msfaqp_english(w, n))
        return true;
    char st[MSFAQP_MAX_WORD];
    size_t sn = n < sizeof st ? msfaqp_stem(kb, w, n, st, sizeof st) : 0;
    return sn && msfaqp_wordset_has(&kb->term_stems, st, sn);
}

bool msfaqp_split(const msfaq_kb *kb, const char *w, size_t n, char *out,
                  size_t size)
{
    if (n < 6 || n + 2 > size || n >= 64)
        return false;
    /* both halves must be words as they are: correcting a half too would
     * turn ordinary words apart ("generally" -> "gene" + "really"), and a
     * half known only by its stem splits a typo into a term ("carots" ->
     * "car" + "ots", the stem of OT) */
    for (size_t i = n - 3; i >= 3; i--) {
        if (!msfaqp_wordset_has(&kb->vocab, w, i) ||
            !(msfaqp_wordset_has(&kb->vocab, w + i, n - i) ||
              msfaqp_english(w + i, n - i)))
            continue;
        memcpy(out, w, i);
        out[i] = ' ';
        memcpy(out + i + 1, w + i, n - i);
        out[n + 1] = '\0';
        return true;
    }
    return false;
}
