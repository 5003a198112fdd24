/*
 * match.c - which concepts a text holds, and what each intent scores.
 *
 * An intent is a candidate when every one of its "all" groups has a
 * concept present and none of its "none" concepts is.  Its score is one
 * point per group, plus the weights of its "any" concepts present, plus
 * the weights of its own patterns that match.  Scores turn into confidence
 * as 1 - 2^-score, so one group met is exactly the default threshold of
 * 0.5.  Which intents are scored, on which text, and how one is chosen is
 * the business of route.c.
 */
#include <math.h> /* ldexp only: it is in libc */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* 2^-x for x >= 0, without libm: loading libm costs every 'msfaq ask'
 * more than this function ever will.  The whole part of x is a shift of
 * the exponent (ldexp lives in libc); the fraction is e^-(f ln 2) summed
 * as a Taylor series, which has converged to a double by 20 terms. */
static double exp2_neg(double x)
{
    if (x > 1074.0)
        return 0.0;
    int whole = (int)x;
    double y = (x - whole) * 0.69314718055994530942, term = 1.0, sum = 1.0;
    for (int n = 1; n <= 20; n++) {
        term *= -y / n;
        sum += term;
    }
    return ldexp(sum, -whole);
}

double msfaqp_confidence(double score)
{
    return score > 0 ? 1.0 - exp2_neg(score) : 0.0;
}

/* In hit[]: a concept with "unless" that a term found, not settled yet. */
#define TERM_FOUND 0x40

/* Intent i has evidence to weigh: a bit of the view's candidate set. */
static void candidate(unsigned char *cand, int i)
{
    cand[i >> 3] |= (unsigned char)(1u << (i & 7));
}

/* Concept c may be present: it is looked at when a stage asks (its
 * patterns are settled lazily), and so are the concepts that alias it and
 * the intents that mention it. */
static void possible(msfaqp_view *v, unsigned char *cand, int c)
{
    const msfaqp_index *x = &v->kb->index;
    if (v->hit[c] == MSFAQP_ABSENT)
        v->hit[c] = MSFAQP_UNKNOWN;
    else if (v->hit[c] & 0x80)
        return;                         /* listed already */
    v->hit[c] |= 0x80;
    v->possible[v->n_possible++] = c;
    for (int k = x->concept_at[c]; k < x->concept_at[c + 1]; k++)
        candidate(cand, x->concept_intent[k]);
    for (int k = x->alias_at[c]; k < x->alias_at[c + 1]; k++)
        possible(v, cand, x->alias_of[k]);
}

/* Regex r may match: all its clauses are met. */
static void live(msfaqp_view *v, unsigned char *cand, int r)
{
    const msfaqp_index *x = &v->kb->index;
    if (x->regex_concept[r] >= 0)
        possible(v, cand, x->regex_concept[r]);
    else
        candidate(cand, x->regex_intent[r]);
}

int msfaqp_view_init(msfaqp_view *v, const msfaq_kb *kb,
                     const msfaqp_text *t, pcre2_match_data *md)
{
    const msfaqp_index *x = &kb->index;
    memset(v, 0, sizeof *v);
    v->kb = kb;
    v->t = t;
    v->md = md;
    /* one block for the view's arrays and the scratch it is built with:
     * ints first, then the bytes, which start zeroed */
    int n = t->n_words;
    int n_chunks = n <= MSFAQP_CHUNK_WORDS
                       ? 1
                       : 1 + (n - MSFAQP_CHUNK_WORDS + MSFAQP_CHUNK_STEP - 1) /
                                 MSFAQP_CHUNK_STEP;
    size_t nc = (size_t)kb->n_concepts + 1, ni = (size_t)kb->n_intents + 1,
           ncl = (size_t)kb->lits.n_clauses + 1;
    size_t n_ints = 2 * nc + ni + ncl;   /* possible, found, cands, clauses */
    size_t n_bytes = nc + (size_t)n + 1 + ncl / 8 + 1 +
                     (size_t)x->n_regexes + 1 + ni / 8 + 1;
    size_t at_ints = 2 * (size_t)n_chunks * sizeof *v->chunk;
    size_t at_bytes = at_ints + n_ints * sizeof(int);
    v->block = malloc(at_bytes + n_bytes);
    if (!v->block)
        return MSFAQ_ENOMEM;
    v->chunk = (size_t *)v->block;
    int *ints = (int *)(v->block + at_ints);
    v->possible = ints;
    int *found = ints + nc;
    v->cands = found + nc;
    int *clauses = v->cands + ni;
    v->hit = v->block + at_bytes;
    memset(v->hit, 0, n_bytes);
    v->cover = v->hit + nc;
    v->met = v->cover + n + 1;
    v->re_met = v->met + ncl / 8 + 1;
    unsigned char *cand = v->re_met + x->n_regexes + 1;
    int n_found = 0, n_clauses = 0;
    msfaqp_terms_scan(kb, t, v->hit, v->cover, found, &n_found);
    msfaqp_lits_scan(&kb->lits, t->norm, t->len, v->met, clauses,
                     &n_clauses);
    /* what the text holds makes the rest possible: concepts found by a
     * term, and the regexes whose every clause is met */
    for (int k = 0; k < n_found; k++) {
        possible(v, cand, found[k]);
        /* found by a term, but present only unless...: settled when asked */
        if (kb->concepts[found[k]].n_unless)
            v->hit[found[k]] = (unsigned char)((v->hit[found[k]] & 0x80) |
                                               TERM_FOUND | MSFAQP_UNKNOWN);
    }
    for (int k = 0; k < x->n_free; k++)
        live(v, cand, x->free_regex[k]);
    for (int j = 0; j < n_clauses; j++) {
        int clause = clauses[j];
        for (int k = x->clause_at[clause]; k < x->clause_at[clause + 1];
             k++) {
            int r = x->clause_regex[k];
            if (++v->re_met[r] == x->regex[r]->n_need)
                live(v, cand, r);
        }
    }
    /* the stretches regexes read: the whole text, or for a long one
     * overlapping stretches of MSFAQP_CHUNK_WORDS words (see run()) */
    if (n <= MSFAQP_CHUNK_WORDS) {
        v->chunk[0] = 0;
        v->chunk[1] = t->len;
    } else {
        /* each stretch has its own literals: a regex runs only on the
         * stretches that hold one of each of its clauses */
        size_t bytes = (size_t)kb->lits.n_clauses / 8 + 1;
        v->chunk_met = calloc((size_t)n_chunks * bytes, 1);
        if (!v->chunk_met) {
            msfaqp_view_free(v);
            return MSFAQ_ENOMEM;
        }
        for (int k = 0; k < n_chunks; k++) {
            int first = k * MSFAQP_CHUNK_STEP;
            int last = first + MSFAQP_CHUNK_WORDS < n
                           ? first + MSFAQP_CHUNK_WORDS - 1 : n - 1;
            v->chunk[2 * k] = t->tokens[first].at;
            v->chunk[2 * k + 1] = t->tokens[last].at + t->tokens[last].len;
            msfaqp_lits_scan(&kb->lits, t->norm + v->chunk[2 * k],
                             v->chunk[2 * k + 1] - v->chunk[2 * k],
                             v->chunk_met + (size_t)k * bytes, NULL, NULL);
        }
    }
    v->n_chunks = n_chunks;
    /* in file order: ties go to the intent written first */
    for (int b = 0; b <= kb->n_intents / 8; b++)
        for (unsigned bits = cand[b]; bits; bits &= bits - 1)
            v->cands[v->n_cands++] = b * 8 + __builtin_ctz(bits);
    for (int k = 0; k < v->n_possible; k++)
        v->hit[v->possible[k]] &= 0x7f;
    return 0;
}

void msfaqp_view_free(msfaqp_view *v)
{
    free(v->block);
    free(v->chunk_met);
    v->block = v->hit = v->cover = v->met = v->re_met = v->chunk_met = NULL;
    v->possible = v->cands = NULL;
    v->chunk = NULL;
}

/* May regex r run on v's text: are all its clauses met? */
static bool may_run(const msfaqp_view *v, const msfaqp_regex *r)
{
    return v->re_met[r->id] == r->n_need;
}

/* Runs r over v's text from byte from on: the first match (its place in
 * v->md), PCRE2_ERROR_NOMATCH, or another PCRE2 error.
 *
 * A text of up to MSFAQP_CHUNK_WORDS words is one subject.  A longer one
 * is read in overlapping stretches of that many words, each a subject of
 * its own whose lookbehinds still see what comes before it and where "$"
 * matches only at the real end: a KB regex spans a few words (windows of
 * "(?: \S+){0,8}"), so what it can match fits in one stretch, and a 4 KB
 * message costs a few short questions, not a search that grows with the
 * square of its length.  What must read the whole text ("no person is
 * named anywhere") is a concept's "unless" or a rule's groups, not one
 * regex. */
static int run(msfaqp_view *v, const msfaqp_regex *r, size_t from)
{
    int rc = PCRE2_ERROR_NOMATCH;
    size_t bytes = (size_t)v->kb->lits.n_clauses / 8 + 1;
    for (int k = 0; k < v->n_chunks; k++) {
        size_t lo = v->chunk[2 * k], hi = v->chunk[2 * k + 1];
        if (hi < from ||
            (v->chunk_met &&
             !msfaqp_need_met(r, v->chunk_met + (size_t)k * bytes)))
            continue;
        rc = msfaqp_regex_run_from(v->kb, r, v->t->norm, hi,
                                   from > lo ? from : lo,
                                   k + 1 < v->n_chunks ? PCRE2_NOTEOL : 0,
                                   v->md);
        if (rc != PCRE2_ERROR_NOMATCH)
            return rc;
    }
    return rc;
}

/* A match of a concept with a role covers the words it spans, so that
 * "what can you do" is known to the gate word by word. */
static void cover_match(msfaqp_view *v, int role)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(v->md);
    for (int i = 0; i < v->t->n_words; i++) {
        const msfaqp_token *tok = &v->t->tokens[i];
        if (tok->at < ov[1] && tok->at + tok->len > ov[0])
            v->cover[i] |= (unsigned char)role;
    }
}

bool msfaqp_present(msfaqp_view *v, int c)
{
    if ((v->hit[c] & ~TERM_FOUND) != MSFAQP_UNKNOWN)
        return v->hit[c] == MSFAQP_PRESENT;
    const msfaqp_concept *cp = &v->kb->concepts[c];
    bool found = v->hit[c] & TERM_FOUND;
    /* aliases name earlier concepts, so this recursion ends */
    for (int k = 0; k < cp->n_aliases && !found; k++)
        found = msfaqp_present(v, cp->aliases[k]);
    for (int k = 0; k < cp->n_regexes && !found; k++) {
        if (!may_run(v, &cp->regexes[k]))
            continue;
        int rc = run(v, &cp->regexes[k], 0);
        if (rc >= 0) {
            found = true;
            if (cp->role == MSFAQP_ROLE_SMALLTALK)
                cover_match(v, MSFAQP_COVER_SPAN);
            else if (cp->role != MSFAQP_ROLE_CUE)
                cover_match(v, cp->role);
        } else if (rc != PCRE2_ERROR_NOMATCH) {
            v->limit_hit = true;
        }
    }
    /* ...unless what rules it out is there */
    for (int k = 0; k < cp->n_unless && found; k++)
        found = !msfaqp_present(v, cp->unless[k]);
    v->hit[c] = found ? MSFAQP_PRESENT : MSFAQP_ABSENT;
    return found;
}

void msfaqp_sweep(msfaqp_view *v, int c)
{
    const msfaqp_concept *cp = &v->kb->concepts[c];
    if (cp->role == MSFAQP_ROLE_CUE)
        return;
    int role = cp->role == MSFAQP_ROLE_SMALLTALK ? MSFAQP_COVER_SPAN
                                                  : cp->role;
    for (int k = 0; k < cp->n_regexes; k++) {
        if (!may_run(v, &cp->regexes[k]))
            continue;
        size_t at = 0;
        /* each match starts past the last: at most one per word */
        for (int n = 0; n <= v->t->n_words && at <= v->t->len; n++) {
            int rc = run(v, &cp->regexes[k], at);
            if (rc < 0) {
                v->limit_hit = v->limit_hit || rc != PCRE2_ERROR_NOMATCH;
                break;
            }
            v->hit[c] = MSFAQP_PRESENT;
            cover_match(v, role);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(v->md);
            at = ov[1] > at ? ov[1] + 1 : at + 1;
        }
    }
}

static bool any_present(msfaqp_view *v, const int *concepts, int n)
{
    for (int k = 0; k < n; k++)
        if (msfaqp_present(v, concepts[k]))
            return true;
    return false;
}

double msfaqp_score_intent(msfaqp_view *v, const msfaqp_intent *in,
                           bool full, double *partial,
                           unsigned char *pattern_hit)
{
    double score = 0;
    bool missing = false, vetoed = false, pattern_matched = false;
    *partial = 0;
    for (int g = 0; g < in->n_all; g++) {
        if (any_present(v, in->all[g].concepts, in->all[g].count))
            score += 1.0;
        else if ((missing = true) && !full)
            return -1;
    }
    for (int k = 0; k < in->n_none && !vetoed; k++)
        vetoed = msfaqp_present(v, in->none[k]);
    if (vetoed && !full)
        return -1;
    for (int k = 0; k < in->n_any; k++)
        if (msfaqp_present(v, in->any[k].concept))
            score += in->any[k].weight;
    for (int p = 0; p < in->n_patterns; p++) {
        const msfaqp_pattern *P = &in->patterns[p];
        bool hit;
        if (P->alias >= 0) {
            hit = msfaqp_present(v, P->alias);
        } else if (!may_run(v, &P->re)) {
            hit = false;
        } else {
            int rc = run(v, &P->re, 0);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
                v->limit_hit = true;
            hit = rc >= 0;
        }
        if (hit) {
            pattern_hit[p] = 1;
            score += P->weight;
            pattern_matched = pattern_matched || P->weight > 0;
        }
    }
    *partial = vetoed ? 0 : score;
    if (vetoed || missing || (in->n_all == 0 && !pattern_matched))
        return -1;
    return score;
}
