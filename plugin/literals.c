/*
 * literals.c - which of the KB's literals a question holds, in one pass.
 *
 * Every regex of the KB carries its needs (prefilter.c): clauses of
 * literal strings, one of each clause to be found in the text.  The
 * literals of all regexes are numbered here, and so are the clauses (one
 * id for a clause many regexes share, such as "one of the words for a
 * relative").  An Aho-Corasick automaton over the literals finds, in a
 * single left-to-right pass over a normalised question, every literal it
 * holds, and marks the clauses each one meets.  A regex with a clause not
 * met is not run (msfaqp_need_met), so a question pays for the few
 * patterns its words make possible, not for the size of the KB.
 *
 * The automaton reads the 38 symbols a normalised question holds (a-z,
 * 0-9, space; anything else is symbol 0 and sends it back to the root).
 * Its memory grows with the literals, not with literals x alphabet: each
 * state keeps its children as a run of (symbol, state) edges, sorted, and
 * a failure link; only the root, where every scan passes, has a table.
 * It is built once when the KB opens and read-only afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

#define ALPHA 38

static int symbol(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return 1 + (c - 'a');
    if (c >= '0' && c <= '9')
        return 27 + (c - '0');
    return c == ' ' ? 37 : 0;
}

int msfaqp_lits_intern(msfaqp_lits *l, const char *s, size_t n)
{
    int id = msfaqp_strmap_get(&l->ids, s, n);
    if (id >= 0)
        return id;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        char **v = realloc(l->strs, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        l->strs = v;
        l->cap = cap;
    }
    if (!(l->strs[l->n] = msfaqp_strndup(s, n)) ||
        msfaqp_strmap_put(&l->ids, s, n, l->n))
        return -1;
    return l->n++;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int msfaqp_lits_clause(msfaqp_lits *l, const char *const *lits, int n)
{
    int *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    msfaqp_buf key = {0};
    int id = -1;
    if (!ids)
        return -1;
    for (int i = 0; i < n; i++)
        if ((ids[i] = msfaqp_lits_intern(l, lits[i], strlen(lits[i]))) < 0)
            goto out;
    qsort(ids, (size_t)n, sizeof *ids, cmp_int);
    int u = 0;                  /* each literal once */
    for (int i = 0; i < n; i++)
        if (!u || ids[u - 1] != ids[i])
            ids[u++] = ids[i];
    n = u;
    for (int i = 0; i < n; i++) {
        char w[16];
        int k = snprintf(w, sizeof w, "%d,", ids[i]);
        msfaqp_buf_put(&key, w, (size_t)k);
    }
    if (key.oom)
        goto out;
    if ((id = msfaqp_strmap_get(&l->clause_ids, key.p, key.len)) >= 0)
        goto out;
    id = l->n_clauses;
    if (msfaqp_strmap_put(&l->clause_ids, key.p, key.len, id)) {
        id = -1;
        goto out;
    }
    if (l->n_pairs + n > l->cap_pairs) {
        int cap = l->cap_pairs ? 2 * l->cap_pairs : 1024;
        while (cap < l->n_pairs + n)
            cap *= 2;
        int *v = realloc(l->pairs, (size_t)cap * 2 * sizeof *v);
        if (!v) {
            id = -1;
            goto out;
        }
        l->pairs = v;
        l->cap_pairs = cap;
    }
    for (int i = 0; i < n; i++) {
        l->pairs[2 * l->n_pairs] = ids[i];
        l->pairs[2 * l->n_pairs + 1] = id;
        l->n_pairs++;
    }
    l->n_clauses++;
out:
    free(ids);
    free(key.p);
    return id;
}

/* Files the (literal, clause) pairs by literal: lit_at/lit_clauses. */
static int invert(msfaqp_lits *l)
{
    l->lit_at = calloc((size_t)l->n + 1, sizeof *l->lit_at);
    l->lit_clauses = malloc((size_t)(l->n_pairs ? l->n_pairs : 1) *
                            sizeof *l->lit_clauses);
    if (!l->lit_at || !l->lit_clauses)
        return -1;
    for (int i = 0; i < l->n_pairs; i++)
        l->lit_at[l->pairs[2 * i] + 1]++;
    for (int i = 0; i < l->n; i++)
        l->lit_at[i + 1] += l->lit_at[i];
    int *fill = malloc((size_t)(l->n ? l->n : 1) * sizeof *fill);
    if (!fill)
        return -1;
    memcpy(fill, l->lit_at, (size_t)l->n * sizeof *fill);
    for (int i = 0; i < l->n_pairs; i++)
        l->lit_clauses[fill[l->pairs[2 * i]]++] = l->pairs[2 * i + 1];
    free(fill);
    free(l->pairs);
    l->pairs = NULL;
    l->n_pairs = l->cap_pairs = 0;
    msfaqp_strmap_free(&l->clause_ids);
    return 0;
}

/* The trie while it is built: children as singly linked lists. */
typedef struct tnode {
    int first, sibling;      /* -1: none */
    unsigned char sym;
} tnode;

static int trie_child(const tnode *t, int s, int a)
{
    for (int c = t[s].first; c >= 0; c = t[c].sibling)
        if (t[c].sym == a)
            return c;
    return -1;
}

/* The child of state s on symbol a in the finished automaton, or -1. */
static int child(const msfaqp_lits *l, int s, int a)
{
    if (s == 0)
        return l->root[a];
    for (int e = l->edge_at[s]; e < l->edge_at[s + 1]; e++)
        if (l->edge_sym[e] == a)
            return l->edge_to[e];
    return -1;
}

int msfaqp_lits_build(msfaqp_lits *l)
{
    return invert(l) ? -1 : msfaqp_lits_automaton(l);
}

int msfaqp_lits_automaton(msfaqp_lits *l)
{
    /* 1. the trie of the literals */
    int cap = 1024, n = 1;
    tnode *t = malloc((size_t)cap * sizeof *t);
    int32_t *out = malloc((size_t)cap * sizeof *out);
    if (!t || !out)
        goto nomem;
    t[0] = (tnode){-1, -1, 0};
    out[0] = -1;
    for (int id = 0; id < l->n; id++) {
        int s = 0;
        for (const unsigned char *p = (const unsigned char *)l->strs[id];
             *p; p++) {
            int a = symbol(*p), c = trie_child(t, s, a);
            if (c < 0) {
                if (n == cap) {
                    cap *= 2;
                    tnode *nt = realloc(t, (size_t)cap * sizeof *t);
                    if (nt)
                        t = nt;
                    int32_t *no = realloc(out, (size_t)cap * sizeof *out);
                    if (no)
                        out = no;
                    if (!nt || !no)
                        goto nomem;
                }
                c = n++;
                t[c] = (tnode){-1, t[s].first, (unsigned char)a};
                t[s].first = c;
                out[c] = -1;
            }
            s = c;
        }
        out[s] = id;
    }
    /* 2. renumbered breadth first, children in runs: edge_at/sym/to */
    int32_t *order = malloc((size_t)n * sizeof *order);
    int32_t *num = malloc((size_t)n * sizeof *num);
    l->edge_at = malloc((size_t)(n + 1) * sizeof *l->edge_at);
    l->edge_sym = malloc((size_t)(n ? n : 1));
    l->edge_to = malloc((size_t)(n ? n : 1) * sizeof *l->edge_to);
    l->out = malloc((size_t)n * sizeof *l->out);
    l->fail = malloc((size_t)n * sizeof *l->fail);
    l->link = malloc((size_t)n * sizeof *l->link);
    if (!order || !num || !l->edge_at || !l->edge_sym || !l->edge_to ||
        !l->out || !l->fail || !l->link) {
        free(order);
        free(num);
        goto nomem;
    }
    int head = 0, tail = 0, edges = 0;
    order[tail++] = 0;
    num[0] = 0;
    while (head < tail) {
        int s = order[head++];
        l->edge_at[num[s]] = edges;
        l->out[num[s]] = out[s];
        for (int a = 1; a < ALPHA; a++) {    /* sorted by symbol */
            int c = trie_child(t, s, a);
            if (c < 0)
                continue;
            num[c] = tail;
            order[tail++] = c;
            l->edge_sym[edges] = (unsigned char)a;
            l->edge_to[edges++] = num[c];
        }
    }
    l->edge_at[n] = edges;
    free(order);
    free(num);
    free(t);
    free(out);
    t = NULL;
    out = NULL;
    l->n_states = n;
    for (int a = 0; a < ALPHA; a++)
        l->root[a] = -1;
    for (int e = l->edge_at[0]; e < l->edge_at[1]; e++)
        l->root[l->edge_sym[e]] = l->edge_to[e];
    /* 3. failure links, breadth first (states are numbered that way);
     * link[s] is the next shorter suffix state that ends a literal */
    l->fail[0] = 0;
    l->link[0] = -1;
    for (int s = 0; s < n; s++) {
        for (int e = l->edge_at[s]; e < l->edge_at[s + 1]; e++) {
            int a = l->edge_sym[e], c = l->edge_to[e], f = 0;
            if (s != 0) {
                int g = l->fail[s], x;
                while ((x = child(l, g, a)) < 0 && g != 0)
                    g = l->fail[g];
                f = x >= 0 ? x : 0;
            }
            l->fail[c] = f;
            l->link[c] = l->out[f] >= 0 ? f : l->link[f];
        }
    }
    return 0;
nomem:
    free(t);
    free(out);
    return -1;
}

void msfaqp_lits_scan(const msfaqp_lits *l, const char *s, size_t len,
                      unsigned char *met, int *list, int *n_list)
{
    if (!l->n_states)
        return;
    int st = 0;
    for (size_t i = 0; i < len; i++) {
        int a = symbol((unsigned char)s[i]), nx = -1;
        if (a == 0) {
            st = 0;
            continue;
        }
        while ((nx = child(l, st, a)) < 0 && st != 0)
            st = l->fail[st];
        st = nx >= 0 ? nx : 0;
        for (int t = l->out[st] >= 0 ? st : l->link[st]; t > 0;
             t = l->link[t]) {
            int id = l->out[t];
            for (int k = l->lit_at[id]; k < l->lit_at[id + 1]; k++) {
                int c = l->lit_clauses[k];
                unsigned char bit = (unsigned char)(1u << (c & 7));
                if (list && !(met[c >> 3] & bit))
                    list[(*n_list)++] = c;
                met[c >> 3] |= bit;
            }
        }
    }
}

bool msfaqp_need_met(const msfaqp_regex *r, const unsigned char *met)
{
    for (int i = 0; i < r->n_need; i++)
        if (!(met[r->need[i] >> 3] & (1u << (r->need[i] & 7))))
            return false;
    return true;
}

void msfaqp_lits_free(msfaqp_lits *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->strs[i]);
    free(l->strs);
    free(l->edge_at);
    free(l->edge_sym);
    free(l->edge_to);
    free(l->fail);
    free(l->out);
    free(l->link);
    free(l->lit_at);
    free(l->lit_clauses);
    free(l->pairs);
    msfaqp_strmap_free(&l->ids);
    msfaqp_strmap_free(&l->clause_ids);
    memset(l, 0, sizeof *l);
}
