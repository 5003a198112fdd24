/*
 * match.c - concepts present -> a score for every intent -> one choice.
 *
 * An intent is a candidate when every one of its "all" groups has a concept
 * present and none of its "none" concepts is.  Its score is one point per
 * group, plus the weights of its "any" concepts present, plus the weights of
 * its own patterns that match.  Scores turn into confidence as
 * 1 - 2^-score, so one group met is exactly the default threshold of 0.5.
 *
 * Concepts are settled lazily (see struct view).  The choice is by tier
 * first: a candidate of higher priority (safety 20,
 * out-of-scope 10, answers and small talk 0) always wins, so no article
 * answer can pre-empt a safety reply.  Within the tier the highest score
 * wins; when the runner-up is an answer from another section and is
 * within clarify_margin, we ask back instead of guessing.  Ties in file order
 * never decide between two sections.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

double msfaqp_confidence(double score)
{
    return score <= 0 ? 0.0 : 1.0 - pow(2.0, -score);
}

/* Two answers from different sections compete: asking back between them
 * helps.  Any other pair does not: the same section is the same reply, and
 * between two safety or two out-of-scope replies either one is right. */
static bool competing(const msfaqp_intent *a, const msfaqp_intent *b)
{
    return a->kind == MSFAQ_KIND_ANSWER && b->kind == MSFAQ_KIND_ANSWER &&
           strcmp(a->resp->section, b->resp->section) != 0;
}

/* What is known of one text's concepts.  Literal terms are found up
 * front (one pass over the words); a concept's patterns run only when an
 * intent still in the running asks about that concept, so most questions
 * run a fraction of the regexes. */
enum { ABSENT = 0, PRESENT = 1, UNKNOWN = 2 };

typedef struct view {
    const msfaq_kb *kb;
    const msfaqp_text *t;
    unsigned char *hit;          /* ABSENT, PRESENT or UNKNOWN */
    pcre2_match_data *md;
    bool *limit_hit;
} view;

static void view_init(view *v, const msfaq_kb *kb, const msfaqp_text *t,
                      unsigned char *hit, pcre2_match_data *md,
                      bool *limit_hit)
{
    *v = (view){kb, t, hit, md, limit_hit};
    msfaqp_terms_scan(kb, t->norm, hit);
    for (int c = 0; c < kb->n_concepts; c++)
        if (!hit[c] &&
            (kb->concepts[c].n_regexes || kb->concepts[c].n_aliases))
            hit[c] = UNKNOWN;
}

static bool present(view *v, int c)
{
    if (v->hit[c] != UNKNOWN)
        return v->hit[c] == PRESENT;
    const msfaqp_concept *cp = &v->kb->concepts[c];
    bool found = false;
    /* aliases name earlier concepts, so this recursion ends */
    for (int k = 0; k < cp->n_aliases && !found; k++)
        found = present(v, cp->aliases[k]);
    for (int k = 0; k < cp->n_regexes && !found; k++) {
        int rc = msfaqp_regex_run(v->kb, &cp->regexes[k], v->t->norm,
                                  v->t->len, v->md);
        if (rc >= 0)
            found = true;
        else if (rc != PCRE2_ERROR_NOMATCH)
            *v->limit_hit = true;
    }
    v->hit[c] = found ? PRESENT : ABSENT;
    return found;
}

static bool any_present(view *v, const int *concepts, int n)
{
    for (int k = 0; k < n; k++)
        if (present(v, concepts[k]))
            return true;
    return false;
}

/* Scores one intent: -1 when it is not a candidate.  With full set, every
 * group, weight and pattern is looked at, for *partial (the evidence
 * towards it, for suggestions and explain) and pattern_hit; without, the
 * first missing group or veto ends the work. */
static double score_intent(view *v, const msfaqp_intent *in, bool full,
                           double *partial, unsigned char *pattern_hit)
{
    double score = 0;
    bool missing = false, vetoed = false, pattern_matched = false;
    for (int g = 0; g < in->n_all; g++) {
        if (any_present(v, in->all[g].concepts, in->all[g].count))
            score += 1.0;
        else if ((missing = true) && !full)
            return -1;
    }
    for (int k = 0; k < in->n_none && !vetoed; k++)
        vetoed = present(v, in->none[k]);
    if (vetoed && !full)
        return -1;
    for (int k = 0; k < in->n_any; k++)
        if (present(v, in->any[k].concept))
            score += in->any[k].weight;
    for (int p = 0; p < in->n_patterns; p++) {
        const msfaqp_pattern *P = &in->patterns[p];
        bool hit;
        if (P->alias >= 0) {
            hit = present(v, P->alias);
        } else {
            int rc = msfaqp_regex_run(v->kb, &P->re, v->t->norm, v->t->len,
                                      v->md);
            if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
                *v->limit_hit = true;
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

/* Scores every intent; safety reads the whole message, the others the
 * question sentences when there are any (focus not NULL). */
static void score_intents(const msfaq_kb *kb, view *whole, view *focus,
                          bool full, msfaqp_match *m)
{
    unsigned char *pattern_hit = m->pattern_hit;
    memset(m->pattern_hit, 0, (size_t)m->n_patterns);
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        view *v = in->kind == MSFAQ_KIND_SAFETY || !focus ? whole : focus;
        m->partial[i] = 0;
        m->score[i] = score_intent(v, in, full, &m->partial[i], pattern_hit);
        pattern_hit += in->n_patterns;
    }
}

/* The choice: tier, then score, then file order; ask back on a near tie
 * between answers from different sections. */
static void choose(const msfaq_kb *kb, msfaqp_match *m)
{
    m->best = m->runner_up = -1;
    m->clarify = false;
    for (int i = 0; i < kb->n_intents; i++) {
        if (msfaqp_confidence(m->score[i]) < kb->threshold)
            continue;
        const msfaqp_intent *in = &kb->intents[i];
        if (m->best < 0 || in->priority > kb->intents[m->best].priority ||
            (in->priority == kb->intents[m->best].priority &&
             m->score[i] > m->score[m->best]))
            m->best = i;
    }
    if (m->best >= 0) {
        const msfaqp_intent *b = &kb->intents[m->best];
        for (int i = 0; i < kb->n_intents; i++) {
            const msfaqp_intent *in = &kb->intents[i];
            if (i == m->best || in->priority != b->priority ||
                msfaqp_confidence(m->score[i]) < kb->threshold ||
                !competing(in, b))
                continue;
            if (m->runner_up < 0 || m->score[i] > m->score[m->runner_up])
                m->runner_up = i;
        }
        if (m->runner_up >= 0 &&
            m->score[m->best] - m->score[m->runner_up] < kb->clarify_margin)
            m->clarify = true;
    }
}

int msfaqp_match_run(const msfaq_kb *kb, const msfaqp_text *t,
                     const msfaqp_text *focus, bool full, msfaqp_match *m,
                     msfaq_error *err)
{
    memset(m, 0, sizeof *m);
    m->best = m->runner_up = -1;
    int n_pat = 0;
    for (int i = 0; i < kb->n_intents; i++)
        n_pat += kb->intents[i].n_patterns;
    size_t nc = (size_t)kb->n_concepts + 1;
    m->concept_hit = calloc(focus ? 2 * nc : nc, 1);
    m->score = calloc((size_t)kb->n_intents, sizeof *m->score);
    m->partial = calloc((size_t)kb->n_intents, sizeof *m->partial);
    m->pattern_hit = calloc((size_t)n_pat + 1, 1);
    m->n_patterns = n_pat;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!m->concept_hit || !m->score || !m->partial || !m->pattern_hit ||
        !md) {
        pcre2_match_data_free(md);
        msfaqp_match_free(m);
        msfaqp_error_set(err, MSFAQ_ENOMEM, NULL, -1, -1, -1,
                         "out of memory");
        return MSFAQ_ENOMEM;
    }
    view whole, question;
    view_init(&whole, kb, t, m->concept_hit, md, &m->limit_hit);
    m->focus_hit = m->concept_hit;
    if (focus) {
        m->focus_hit = m->concept_hit + nc;
        view_init(&question, kb, focus, m->focus_hit, md, &m->limit_hit);
    }
    m->focus_used = focus != NULL;
    score_intents(kb, &whole, focus ? &question : NULL, full, m);
    choose(kb, m);
    /* a question that says nothing alone ("What is it?") leans on the
     * sentences before it: read the whole message instead */
    if (focus && m->best < 0) {
        m->focus_used = false;
        m->focus_hit = m->concept_hit;
        score_intents(kb, &whole, NULL, full, m);
        choose(kb, m);
    }
    /* no reply: the suggestions need the evidence for every intent */
    if (m->best < 0 && !full)
        score_intents(kb, &whole, m->focus_used ? &question : NULL, true,
                      m);
    if (full) {
        /* explain lists every concept: settle the ones never asked about */
        for (int c = 0; c < kb->n_concepts; c++) {
            present(&whole, c);
            if (focus)
                present(&question, c);
        }
    }
    pcre2_match_data_free(md);

    /* top intents by evidence, for explain and for suggestions */
    for (int i = 0; i < kb->n_intents; i++) {
        double v = m->score[i] >= 0 ? m->score[i] : m->partial[i];
        if (v <= 0)
            continue;
        int pos = m->n_top;
        while (pos > 0) {
            if (m->top[pos - 1].score >= v)
                break;
            pos--;
        }
        if (pos >= MSFAQP_MAX_TOP)
            continue;
        int last = m->n_top < MSFAQP_MAX_TOP ? m->n_top : MSFAQP_MAX_TOP - 1;
        memmove(&m->top[pos + 1], &m->top[pos],
                (size_t)(last - pos) * sizeof m->top[0]);
        m->top[pos].intent = i;
        m->top[pos].score = v;
        if (m->n_top < MSFAQP_MAX_TOP)
            m->n_top++;
    }
    return 0;
}

void msfaqp_match_free(msfaqp_match *m)
{
    free(m->concept_hit);
    free(m->score);
    free(m->partial);
    free(m->pattern_hit);
    memset(m, 0, sizeof *m);
}
