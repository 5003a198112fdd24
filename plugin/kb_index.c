/*
 * kb_index.c - who depends on what, so that a question touches only the
 * concepts and intents its words can reach.
 *
 * Built once when a KB loads, from the loaded concepts and intents:
 *   - every regex (concept patterns and intent patterns) numbered, with
 *     its owner;
 *   - for every clause of the literal index (literals.c), the regexes that
 *     need it, and the regexes that need nothing (always live);
 *   - for every concept, the intents that mention it (in "all" or "any",
 *     or as an alias pattern), and the concepts that are aliases of it.
 * A view (match.c) then starts from what a question holds: the clauses
 * it meets make regexes live, a live regex or a term found makes its
 * concept possible, and a possible concept makes the intents that mention
 * it candidates.  Every other concept is absent and every other intent
 * has no evidence, without being looked at: a KB a hundred times larger
 * costs a question only what its words reach.
 * A compiled image keeps the groups (kb_image.c), so opening one only
 * numbers the regexes (grouped = false).
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* A list of (key, value) pairs grouped by key into at[]/val[] (the usual
 * counting sort): key k's values are val[at[k]..at[k + 1]). */
typedef struct pairs {
    int *p;
    int n, cap;
} pairs;

static int pairs_add(pairs *ps, int key, int value)
{
    if (ps->n == ps->cap) {
        int cap = ps->cap ? 2 * ps->cap : 256;
        int *v = realloc(ps->p, (size_t)cap * 2 * sizeof *v);
        if (!v)
            return -1;
        ps->p = v;
        ps->cap = cap;
    }
    ps->p[2 * ps->n] = key;
    ps->p[2 * ps->n + 1] = value;
    ps->n++;
    return 0;
}

/* Groups ps by key (0..n_keys-1); duplicate pairs are kept once. */
static int group(pairs *ps, int n_keys, int **at, int **val)
{
    *at = calloc((size_t)n_keys + 1, sizeof **at);
    *val = malloc((size_t)(ps->n ? ps->n : 1) * sizeof **val);
    int *fill = malloc((size_t)(n_keys ? n_keys : 1) * sizeof *fill);
    if (!*at || !*val || !fill) {
        free(fill);
        return -1;
    }
    for (int i = 0; i < ps->n; i++)
        (*at)[ps->p[2 * i] + 1]++;
    for (int k = 0; k < n_keys; k++)
        (*at)[k + 1] += (*at)[k];
    memcpy(fill, *at, (size_t)n_keys * sizeof *fill);
    for (int i = 0; i < ps->n; i++) {
        int k = ps->p[2 * i], v = ps->p[2 * i + 1];
        bool seen = false;
        for (int j = (*at)[k]; j < fill[k] && !seen; j++)
            seen = (*val)[j] == v;
        if (!seen)
            (*val)[fill[k]++] = v;
    }
    /* close the gaps the duplicates left */
    int w = 0;
    for (int k = 0; k < n_keys; k++) {
        int from = (*at)[k], to = fill[k];
        (*at)[k] = w;
        memmove(*val + w, *val + from, (size_t)(to - from) * sizeof **val);
        w += to - from;
    }
    (*at)[n_keys] = w;
    free(fill);
    return 0;
}

static int add_regex(msfaq_kb *kb, msfaqp_regex *r, int concept, int intent,
                     pairs *by_clause)
{
    msfaqp_index *x = &kb->index;
    r->id = x->n_regexes++;
    x->regex_concept[r->id] = concept;
    x->regex_intent[r->id] = intent;
    x->regex[r->id] = r;
    if (r->n_need == 0)
        x->free_regex[x->n_free++] = r->id;
    for (int k = 0; k < r->n_need && by_clause; k++)
        if (pairs_add(by_clause, r->need[k], r->id))
            return -1;
    return 0;
}

int msfaqp_index_build(msfaq_kb *kb, bool grouped)
{
    msfaqp_index *x = &kb->index;
    int n = 0;
    for (int c = 0; c < kb->n_concepts; c++)
        n += kb->concepts[c].n_regexes;
    for (int i = 0; i < kb->n_intents; i++)
        n += kb->intents[i].n_patterns;
    x->regex = malloc((size_t)(n ? n : 1) * sizeof *x->regex);
    x->regex_concept = malloc((size_t)(n ? n : 1) * sizeof(int));
    x->regex_intent = malloc((size_t)(n ? n : 1) * sizeof(int));
    x->free_regex = malloc((size_t)(n ? n : 1) * sizeof(int));
    pairs by_clause = {0}, by_concept = {0}, aliases = {0};
    pairs *clauses = grouped ? &by_clause : NULL;
    int rc = -1;
    if (!x->regex || !x->regex_concept || !x->regex_intent || !x->free_regex)
        goto out;
    for (int c = 0; c < kb->n_concepts; c++) {
        msfaqp_concept *cp = &kb->concepts[c];
        for (int k = 0; k < cp->n_regexes; k++)
            if (add_regex(kb, &cp->regexes[k], c, -1, clauses))
                goto out;
        for (int k = 0; k < cp->n_aliases && grouped; k++)
            if (pairs_add(&aliases, cp->aliases[k], c))
                goto out;
    }
    int pattern_at = 0;
    for (int i = 0; i < kb->n_intents; i++) {
        msfaqp_intent *in = &kb->intents[i];
        in->pattern_at = pattern_at;
        pattern_at += in->n_patterns;
        for (int p = 0; p < in->n_patterns; p++) {
            msfaqp_pattern *P = &in->patterns[p];
            if (P->alias >= 0) {
                if (grouped && pairs_add(&by_concept, P->alias, i))
                    goto out;
            } else if (add_regex(kb, &P->re, -1, i, clauses)) {
                goto out;
            }
        }
        if (!grouped)
            continue;
        for (int g = 0; g < in->n_all; g++)
            for (int k = 0; k < in->all[g].count; k++)
                if (pairs_add(&by_concept, in->all[g].concepts[k], i))
                    goto out;
        for (int k = 0; k < in->n_any; k++)
            if (pairs_add(&by_concept, in->any[k].concept, i))
                goto out;
    }
    if (!grouped) {
        rc = 0;
        goto out;
    }
    for (int r = 0; r < kb->n_rewrites; r++)
        if (msfaqp_strmap_put(&x->rewrite_of, kb->rewrites[r].from,
                              strlen(kb->rewrites[r].from), r))
            goto out;
    if (group(&by_clause, kb->lits.n_clauses, &x->clause_at,
              &x->clause_regex) ||
        group(&by_concept, kb->n_concepts, &x->concept_at,
              &x->concept_intent) ||
        group(&aliases, kb->n_concepts, &x->alias_at, &x->alias_of))
        goto out;
    rc = 0;
out:
    free(by_clause.p);
    free(by_concept.p);
    free(aliases.p);
    return rc;
}

void msfaqp_index_free(msfaqp_index *x)
{
    free(x->regex);
    free(x->regex_concept);
    free(x->regex_intent);
    free(x->free_regex);
    if (!x->borrowed) {
        free(x->clause_at);
        free(x->clause_regex);
        free(x->concept_at);
        free(x->concept_intent);
        free(x->alias_at);
        free(x->alias_of);
    }
    msfaqp_strmap_free(&x->rewrite_of);
    memset(x, 0, sizeof *x);
}
