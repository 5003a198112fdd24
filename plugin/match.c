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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

double msfaqp_confidence(double score)
{
    return score <= 0 ? 0.0 : 1.0 - pow(2.0, -score);
}

int msfaqp_view_init(msfaqp_view *v, const msfaq_kb *kb,
                     const msfaqp_text *t, pcre2_match_data *md)
{
    memset(v, 0, sizeof *v);
    v->kb = kb;
    v->t = t;
    v->md = md;
    v->hit = calloc((size_t)kb->n_concepts + 1, 1);
    v->cover = calloc((size_t)t->n_words + 1, 1);
    v->met = calloc((size_t)kb->lits.n_clauses / 8 + 1, 1);
    if (!v->hit || !v->cover || !v->met) {
        msfaqp_view_free(v);
        return MSFAQ_ENOMEM;
    }
    msfaqp_lits_scan(&kb->lits, t->norm, t->len, v->met);
    msfaqp_terms_scan(kb, t, v->hit, v->cover);
    for (int c = 0; c < kb->n_concepts; c++)
        if (!v->hit[c] &&
            (kb->concepts[c].n_regexes || kb->concepts[c].n_aliases))
            v->hit[c] = MSFAQP_UNKNOWN;
    return 0;
}

void msfaqp_view_free(msfaqp_view *v)
{
    free(v->hit);
    free(v->cover);
    free(v->met);
    v->hit = v->cover = v->met = NULL;
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
    if (v->hit[c] != MSFAQP_UNKNOWN)
        return v->hit[c] == MSFAQP_PRESENT;
    const msfaqp_concept *cp = &v->kb->concepts[c];
    bool found = false;
    /* aliases name earlier concepts, so this recursion ends */
    for (int k = 0; k < cp->n_aliases && !found; k++)
        found = msfaqp_present(v, cp->aliases[k]);
    for (int k = 0; k < cp->n_regexes && !found; k++) {
        if (!msfaqp_need_met(&cp->regexes[k], v->met))
            continue;
        int rc = msfaqp_regex_run(v->kb, &cp->regexes[k], v->t->norm,
                                  v->t->len, v->md);
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
        if (!msfaqp_need_met(&cp->regexes[k], v->met))
            continue;
        size_t at = 0;
        /* each match starts past the last: at most one per word */
        for (int n = 0; n <= v->t->n_words && at <= v->t->len; n++) {
            int rc = msfaqp_regex_run_from(v->kb, &cp->regexes[k],
                                           v->t->norm, v->t->len, at, v->md);
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
        } else if (!msfaqp_need_met(&P->re, v->met)) {
            hit = false;
        } else {
            int rc = msfaqp_regex_run(v->kb, &P->re, v->t->norm, v->t->len,
                                      v->md);
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
