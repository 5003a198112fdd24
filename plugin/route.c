/*
 * route.c - the stages that turn a question into one choice.
 *
 *   1. The safety screen reads the whole message first, with the rules and
 *      lexicons of patterns/safety.json: a sudden loss of a body function,
 *      a fall or collapse, self-harm, a decision about a treatment for the
 *      asker or someone in their care, an interaction, pregnancy.  A rule
 *      that fires decides; no article answer can outrank it.
 *   2. The domain gate reads the question sentences: an article answer
 *      (or an "the article does not cover that") needs a word of the
 *      article's world (an anchor concept), or a question made only of
 *      words the KB knows with a topic among them ("side effects?").
 *      Anything else is small talk or the generic fallback, whatever
 *      peripheral words it shares with a section.
 *   3. The intents past the gate are scored and one is chosen: the highest
 *      tier first (topics the article does not cover 10, answers and small
 *      talk 0, broad requests -1), then the highest score; a near tie
 *      between answers from different sections asks back.  Small talk
 *      answers only a message that asks about nothing in the domain.
 *   4. Uncovered specifics: a chosen answer whose section does not give the
 *      kind of fact asked for (how much, how often, at what age, which is
 *      better, ...) gives way to "the article does not say".
 * A question sentence that says nothing alone ("What is it?"), or only
 * chats ("Can you explain?"), leans on the whole message: stages 2 to 4
 * run again on all of it.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

/* Two answers from different sections compete: asking back between them
 * helps.  Any other pair does not: the same section is the same reply, and
 * between two safety or two out-of-scope replies either one is right. */
static bool competing(const msfaqp_intent *a, const msfaqp_intent *b)
{
    return a->kind == MSFAQ_KIND_ANSWER && b->kind == MSFAQ_KIND_ANSWER &&
           strcmp(a->resp->section, b->resp->section) != 0;
}

/* The i-th intent the last scoring looked at. */
static int scored_at(const msfaqp_route *rt, int k)
{
    return rt->scored ? rt->scored[k] : k;
}

/* The choice among the safety rules (safety true; the backstop rules
 * alone when backstop) or among the other intents: tier, then score,
 * then file order; a near tie between answers from different sections
 * asks back. */
static void choose(const msfaq_kb *kb, msfaqp_route *rt, bool safety,
                   bool backstop)
{
    rt->best = rt->runner_up = -1;
    rt->clarify = false;
    for (int k = 0; k < rt->n_scored; k++) {
        int i = scored_at(rt, k);
        const msfaqp_intent *in = &kb->intents[i];
        if ((in->kind == MSFAQ_KIND_SAFETY) != safety ||
            in->backstop != backstop ||
            msfaqp_confidence(rt->score[i]) < kb->threshold)
            continue;
        if (rt->best < 0 || in->priority > kb->intents[rt->best].priority ||
            (in->priority == kb->intents[rt->best].priority &&
             rt->score[i] > rt->score[rt->best]))
            rt->best = i;
    }
    if (rt->best < 0)
        return;
    const msfaqp_intent *b = &kb->intents[rt->best];
    for (int k = 0; k < rt->n_scored; k++) {
        int i = scored_at(rt, k);
        const msfaqp_intent *in = &kb->intents[i];
        if (i == rt->best || in->priority != b->priority ||
            msfaqp_confidence(rt->score[i]) < kb->threshold ||
            !competing(in, b))
            continue;
        if (rt->runner_up < 0 || rt->score[i] > rt->score[rt->runner_up])
            rt->runner_up = i;
    }
    if (rt->runner_up >= 0 &&
        rt->score[rt->best] - rt->score[rt->runner_up] < kb->clarify_margin)
        rt->clarify = true;
}

/* The intents a choice looks at: v's candidates, or every intent when
 * the stages run in full (explain, lint). */
static void score_from(const msfaq_kb *kb, msfaqp_route *rt,
                       const msfaqp_view *v)
{
    rt->scored = rt->full ? NULL : v->cands;
    rt->n_scored = rt->full ? kb->n_intents : v->n_cands;
}

/* Intent i gets a score or evidence: its entries start clean.  Nothing
 * else of score[], partial[] and pattern_hit[] is ever read, so a question
 * pays for the intents it reaches, not for the size of the KB. */
static void touch(const msfaq_kb *kb, msfaqp_route *rt, int i)
{
    unsigned char bit = (unsigned char)(1u << (i & 7));
    if (rt->is_touched[i >> 3] & bit)
        return;
    rt->is_touched[i >> 3] |= bit;
    rt->n_touched++;
    rt->score[i] = -1;
    rt->partial[i] = 0;
    memset(rt->pattern_hit + kb->intents[i].pattern_at, 0,
           (size_t)kb->intents[i].n_patterns);
}

/* Scores the intents of the safety screen (safety true) or the others on
 * v: every intent for explain and lint (rt->full), else the view's
 * candidates, the only intents with any evidence in its text.  An intent
 * the gate keeps out is no candidate, though with full its evidence is
 * still weighed (explain, suggestions). */
static void score_all(const msfaq_kb *kb, msfaqp_route *rt, msfaqp_view *v,
                      bool safety, bool full)
{
    /* what an earlier scoring of this kind left is stale */
    for (int b = 0; b <= kb->n_intents / 8; b++)
        for (unsigned bits = rt->is_touched[b]; bits; bits &= bits - 1) {
            int i = b * 8 + __builtin_ctz(bits);
            const msfaqp_intent *in = &kb->intents[i];
            if ((in->kind == MSFAQ_KIND_SAFETY) != safety)
                continue;
            memset(rt->pattern_hit + in->pattern_at, 0,
                   (size_t)in->n_patterns);
            rt->partial[i] = 0;
            rt->score[i] = -1;
        }
    score_from(kb, rt, v);
    for (int k = 0; k < rt->n_scored; k++) {
        int i = scored_at(rt, k);
        const msfaqp_intent *in = &kb->intents[i];
        if ((in->kind == MSFAQ_KIND_SAFETY) != safety)
            continue;
        bool allowed = safety ||
                       (in->kind == MSFAQ_KIND_SMALLTALK ? rt->gate.chat
                                                         : rt->gate.in);
        touch(kb, rt, i);
        if (!allowed && !full)
            continue;
        double s = msfaqp_score_intent(v, in, full, &rt->partial[i],
                                       rt->pattern_hit + in->pattern_at);
        rt->score[i] = allowed ? s : -1;
    }
}

/* Stage 2: the domain gate.  Every concept with a role is settled first,
 * since a role concept's patterns also say which words they cover.  A word
 * inside a small-talk phrase counts for small talk only ("catch" in "catch
 * you later", "medical" in "a medical professional or a bot?"), and so
 * does a small-talk word a small-talk pattern spans ("neurologist" in "are
 * you a neurologist").  Other words such a pattern spans keep their roles:
 * "ms" in "can you explain ms to someone" is still the article's world.
 * Small talk may answer only a message that asks nothing else: nothing of
 * the domain, and at most MSFAQP_CHAT_UNKNOWN words no concept knows
 * ("hello fellow" yes, "can you help me write a sql query" no). */
static void gate_count(const msfaqp_view *v, msfaqp_gate *g)
{
    memset(g, 0, sizeof *g);
    for (int i = 0; i < v->t->n_words; i++) {
        unsigned char c = v->cover[i];
        g->n_uncovered += c == 0;
        if ((c & MSFAQP_COVER_CHAT) ||
            ((c & MSFAQP_COVER_SPAN) && (c & MSFAQP_ROLE_SMALLTALK)))
            continue;
        g->anchor = g->anchor || (c & MSFAQP_ROLE_ANCHOR);
        g->topic = g->topic || (c & MSFAQP_ROLE_TOPIC);
    }
    g->in = g->anchor || (g->topic && g->n_uncovered == 0);
    g->chat = !g->anchor && !g->topic &&
              g->n_uncovered <= MSFAQP_CHAT_UNKNOWN;
}

static void gate_run(const msfaq_kb *kb, msfaqp_view *v, msfaqp_gate *g)
{
    /* only the concepts the text makes possible: the rest are absent */
    for (int k = 0; k < v->n_possible; k++)
        if (kb->concepts[v->possible[k]].role != MSFAQP_ROLE_CUE)
            msfaqp_present(v, v->possible[k]);
    gate_count(v, g);
    /* words still unknown may be inside matches not looked for yet (a
     * concept found by a term never ran its patterns): when that could
     * change the finding, cover them all */
    if (!g->anchor && g->n_uncovered > 0) {
        for (int k = 0; k < v->n_possible; k++)
            if (kb->concepts[v->possible[k]].n_regexes)
                msfaqp_sweep(v, v->possible[k]);
        gate_count(v, g);
    }
}

/* Stage 4: a kind of fact the question asks for that the chosen answer
 * does not give, or -1. */
static int unsaid(const msfaq_kb *kb, msfaqp_view *v, const msfaqp_intent *in)
{
    for (int a = 0; a < kb->n_asks; a++) {
        if (!msfaqp_present(v, kb->asks[a].concept))
            continue;
        bool covered = false;
        for (int k = 0; k < in->n_covers && !covered; k++)
            covered = in->covers[k] == a;
        if (!covered)
            return a;
    }
    return -1;
}

/* Stages 2 to 4 on v. */
static void decide(const msfaq_kb *kb, msfaqp_route *rt, msfaqp_view *v)
{
    gate_run(kb, v, &rt->gate);
    score_all(kb, rt, v, false, rt->full);
    choose(kb, rt, false, false);
    rt->unsaid = -1;
    if (rt->best >= 0 && !rt->clarify &&
        kb->intents[rt->best].kind == MSFAQ_KIND_ANSWER)
        rt->unsaid = unsaid(kb, v, &kb->intents[rt->best]);
}

/* Did the stages settle on something of the domain?  A question sentence
 * that only chats ("Can you explain?") or says nothing alone ("What is
 * it?") leans on the rest of the message. */
static bool decided(const msfaq_kb *kb, const msfaqp_route *rt)
{
    return rt->best >= 0 && kb->intents[rt->best].kind != MSFAQ_KIND_SMALLTALK;
}

/* The intents past the screen by evidence (score, or the partial evidence
 * of a non-candidate), for explain and for the fallback's suggestions and
 * confidence.  Safety rules are left out: the screen weighs them in full
 * only for explain, and a reply must not depend on whether it is
 * explained. */
static void rank(const msfaq_kb *kb, msfaqp_route *rt)
{
    rt->n_top = 0;
    /* in file order, as ties are listed */
    for (int b = 0; b <= kb->n_intents / 8; b++)
      for (unsigned bits = rt->is_touched[b]; bits; bits &= bits - 1) {
        int i = b * 8 + __builtin_ctz(bits);
        double v = rt->score[i] >= 0 ? rt->score[i] : rt->partial[i];
        if (v <= 0 || kb->intents[i].kind == MSFAQ_KIND_SAFETY)
            continue;
        int pos = rt->n_top;
        while (pos > 0 && rt->top[pos - 1].score < v)
            pos--;
        if (pos >= MSFAQP_MAX_TOP)
            continue;
        int last = rt->n_top < MSFAQP_MAX_TOP ? rt->n_top
                                              : MSFAQP_MAX_TOP - 1;
        memmove(&rt->top[pos + 1], &rt->top[pos],
                (size_t)(last - pos) * sizeof rt->top[0]);
        rt->top[pos].intent = i;
        rt->top[pos].score = v;
        if (rt->n_top < MSFAQP_MAX_TOP)
            rt->n_top++;
      }
}

/* Nothing answers the message (a fallback, or an out-of-scope topic):
 * the screen's backstop rules have their say.  They read what the screen
 * would call too weak alone ("my wrist is bent and swelling up", "putting
 * my affairs in order"): where the reply would only be "I can't answer
 * that", pointing to care costs nothing, and missing a person at risk
 * costs everything.  Their scores are the screen's, made on the whole
 * message; rt->scored lists the last view's candidates by now, so the
 * choice is pointed back at the whole message's. */
static void backstop(const msfaq_kb *kb, msfaqp_route *rt)
{
    int best = rt->best, runner_up = rt->runner_up;
    const int *scored = rt->scored;
    int n_scored = rt->n_scored;
    score_from(kb, rt, &rt->whole);
    choose(kb, rt, true, true);
    rt->clarify = false;
    if (rt->best >= 0) {
        rt->screen = rt->best;
        rt->backstop = true;
    } else {
        rt->best = best;
        rt->runner_up = runner_up;
    }
    rt->scored = scored;
    rt->n_scored = n_scored;
}

int msfaqp_route_run(const msfaq_kb *kb, const char *q, bool full,
                     msfaqp_route *rt, msfaq_error *err)
{
    memset(rt, 0, sizeof *rt);
    rt->screen = rt->best = rt->runner_up = rt->unsaid = -1;
    rt->full = full;
    pcre2_match_data *md = NULL;
    if (msfaqp_normalize(kb, q, &rt->text))
        goto nomem;
    char *focus;
    if (msfaqp_focus(q, &focus))
        goto nomem;
    if (focus) {
        int rc = msfaqp_normalize(kb, focus, &rt->focus);
        free(focus);
        if (rc)
            goto nomem;
        rt->has_focus = true;
    }
    if (kb->n_intents)
        rt->n_patterns = kb->intents[kb->n_intents - 1].pattern_at +
                         kb->intents[kb->n_intents - 1].n_patterns;
    size_t ni = (size_t)kb->n_intents + 1;
    /* entries are set when an intent is first touched (touch()) */
    rt->score = malloc(2 * ni * sizeof *rt->score + ni / 8 + 1 +
                       (size_t)rt->n_patterns + 1);     /* one block */
    if (rt->score) {
        rt->partial = rt->score + ni;
        rt->is_touched = (unsigned char *)(rt->partial + ni);
        memset(rt->is_touched, 0, ni / 8 + 1);
        rt->pattern_hit = rt->is_touched + ni / 8 + 1;
    }
    md = pcre2_match_data_create(1, NULL);
    if (!rt->score || !md ||
        msfaqp_view_init(&rt->whole, kb, &rt->text, md) ||
        (rt->has_focus &&
         msfaqp_view_init(&rt->question, kb, &rt->focus, md)))
        goto nomem;

    /* 1. the safety screen, on every sentence */
    score_all(kb, rt, &rt->whole, true, full);
    choose(kb, rt, true, false);
    rt->screen = rt->best;
    rt->clarify = false;

    if (rt->screen < 0 || full) {
        /* 2-4 on the question sentences; on the whole message when they
         * say nothing alone */
        rt->focus_used = rt->has_focus;
        decide(kb, rt, rt->has_focus ? &rt->question : &rt->whole);
        if (rt->has_focus && decided(kb, rt) &&
            msfaqp_refers_back(&rt->focus)) {
            /* "I read that checkpoint therapies balance signalling. How
             * does that work?": the subject is in the sentence before; an
             * answer from the whole message wins */
            int best = rt->best;
            rt->focus_used = false;
            decide(kb, rt, &rt->whole);
            if (!(rt->best >= 0 && !rt->clarify &&
                  kb->intents[rt->best].kind == MSFAQ_KIND_ANSWER) &&
                best >= 0) {
                rt->focus_used = true;
                decide(kb, rt, &rt->question);
            }
        } else if (rt->has_focus && !decided(kb, rt)) {
            int best = rt->best;
            rt->focus_used = false;
            decide(kb, rt, &rt->whole);
            if (best >= 0 && !decided(kb, rt)) {
                /* the whole message says no more: back to the question's
                 * small talk ("Thanks for this. What can you do?") */
                rt->focus_used = true;
                decide(kb, rt, &rt->question);
            }
        }
        /* no reply: the suggestions need the evidence of every intent
         * that has any (the view's candidates) */
        if (rt->best < 0 && !full)
            score_all(kb, rt, rt->focus_used ? &rt->question : &rt->whole,
                      false, true);
        if (rt->screen < 0 && !rt->clarify &&
            (rt->best < 0 ||
             kb->intents[rt->best].kind == MSFAQ_KIND_FALLBACK))
            backstop(kb, rt);
    }
    if (rt->screen >= 0) {
        rt->best = rt->screen;
        rt->runner_up = rt->unsaid = -1;
        rt->clarify = false;
    }
    if (full) {
        /* explain lists every concept: settle the ones never asked about */
        for (int c = 0; c < kb->n_concepts; c++) {
            msfaqp_present(&rt->whole, c);
            if (rt->has_focus)
                msfaqp_present(&rt->question, c);
        }
    }
    rank(kb, rt);
    rt->limit_hit = rt->whole.limit_hit || rt->question.limit_hit;
    pcre2_match_data_free(md);
    rt->whole.md = rt->question.md = NULL;
    return 0;
nomem:
    pcre2_match_data_free(md);
    rt->whole.md = rt->question.md = NULL;
    msfaqp_error_set(err, MSFAQ_ENOMEM, NULL, -1, -1, -1, "out of memory");
    return MSFAQ_ENOMEM;
}

void msfaqp_route_free(msfaqp_route *rt)
{
    msfaqp_view_free(&rt->whole);
    msfaqp_view_free(&rt->question);
    msfaqp_text_free(&rt->text);
    msfaqp_text_free(&rt->focus);
    free(rt->score);      /* and partial, is_touched, pattern_hit */
    memset(rt, 0, sizeof *rt);
}
