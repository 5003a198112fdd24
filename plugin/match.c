/*
 * match.c - concepts present -> a score for every intent -> one choice.
 *
 * An intent is a candidate when every one of its "all" groups has a concept
 * present and none of its "none" concepts is.  Its score is one point per
 * group, plus the weights of its "any" concepts present, plus the weights of
 * its own patterns that match.  Scores turn into confidence as
 * 1 - 2^-score, so one group met is exactly the default threshold of 0.5.
 *
 * The choice is by tier first: a candidate of higher priority (safety 20,
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

/* Which concepts the text holds: literal terms by word lookup, then the
 * patterns of the concepts not already present. */
static void find_concepts(const msfaq_kb *kb, const msfaqp_text *t,
                          pcre2_match_data *md, unsigned char *hit,
                          bool *limit_hit)
{
    msfaqp_terms_scan(kb, t->norm, hit);
    /* aliases refer to earlier concepts, so definition order settles
     * them */
    for (int c = 0; c < kb->n_concepts; c++) {
        const msfaqp_concept *cp = &kb->concepts[c];
        for (int k = 0; k < cp->n_aliases && !hit[c]; k++)
            hit[c] = hit[cp->aliases[k]];
        for (int k = 0; k < cp->n_codes && !hit[c]; k++) {
            int rc = pcre2_match(cp->codes[k], (PCRE2_SPTR)t->norm, t->len,
                                 0, 0, md, kb->mctx);
            if (rc >= 0)
                hit[c] = 1;
            else if (rc != PCRE2_ERROR_NOMATCH)
                *limit_hit = true;
        }
    }
}

/* Scores every intent; safety reads the whole message t, the others the
 * question sentences (focus) when there are any. */
static void score_intents(const msfaq_kb *kb, const msfaqp_text *t,
                          const msfaqp_text *focus, pcre2_match_data *md,
                          msfaqp_match *m)
{
    int pat_at = 0;
    memset(m->pattern_hit, 0, (size_t)m->n_patterns);
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        /* safety listens to the whole message, the rest to the question */
        bool whole = in->kind == MSFAQ_KIND_SAFETY || !focus;
        const unsigned char *hit = whole ? m->concept_hit : m->focus_hit;
        const msfaqp_text *txt = whole ? t : focus;
        double score = 0, partial = 0;
        bool vetoed = false, missing = false, pattern_matched = false;
        for (int k = 0; k < in->n_none; k++)
            if (hit[in->none[k]])
                vetoed = true;
        for (int g = 0; g < in->n_all; g++) {
            bool held = false;
            for (int k = 0; k < in->all[g].count; k++)
                if (hit[in->all[g].concepts[k]])
                    held = true;
            if (held)
                score += 1.0;
            else
                missing = true;
        }
        for (int k = 0; k < in->n_any; k++)
            if (hit[in->any[k].concept])
                score += in->any[k].weight;
        for (int p = 0; p < in->n_patterns; p++, pat_at++) {
            int rc = pcre2_match(in->patterns[p].code,
                                 (PCRE2_SPTR)txt->norm, txt->len, 0, 0, md,
                                 kb->mctx);
            if (rc >= 0) {
                m->pattern_hit[pat_at] = 1;
                score += in->patterns[p].weight;
                if (in->patterns[p].weight > 0)
                    pattern_matched = true;
            } else if (rc != PCRE2_ERROR_NOMATCH) {
                m->limit_hit = true;
            }
        }
        partial = score;
        if (vetoed || missing || (in->n_all == 0 && !pattern_matched))
            score = -1;
        m->score[i] = score;
        m->partial[i] = vetoed ? 0 : partial;
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
                     const msfaqp_text *focus, msfaqp_match *m,
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
    find_concepts(kb, t, md, m->concept_hit, &m->limit_hit);
    m->focus_hit = m->concept_hit;
    if (focus) {
        m->focus_hit = m->concept_hit + nc;
        find_concepts(kb, focus, md, m->focus_hit, &m->limit_hit);
    }

    score_intents(kb, t, focus, md, m);
    choose(kb, m);
    m->focus_used = focus != NULL;
    /* a question that says nothing alone ("What is it?") leans on the
     * sentences before it: read the whole message instead */
    if (focus && m->best < 0) {
        score_intents(kb, t, NULL, md, m);
        choose(kb, m);
        m->focus_hit = m->concept_hit;
        m->focus_used = false;
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
