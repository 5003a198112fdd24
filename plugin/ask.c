/*
 * ask.c - msfaq_ask(): check the question, normalise, match, reply.
 *
 * The stages live in route.c; this file turns their choice into a reply,
 * and records why (MSFAQ_ASK_EXPLAIN):
 *   answer      the curated text plus the not-medical-advice line
 *   safety      the fixed referral text, never an article answer
 *   smalltalk   the canned text
 *   fallback    an out-of-scope intent's text, "the article does not say
 *               that" for a kind of fact the chosen section does not
 *               give, or the generic fallback, with the closest topics as
 *               suggested follow-ups
 *   clarify     "did you mean": the two contenders' questions as options
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

/* The question that best stands for an intent: its first example. */
static const char *canonical_question(const msfaqp_intent *in)
{
    return in->n_examples ? in->examples[0] : in->resp->title;
}

static int fill_fallback(const msfaq_kb *kb, const msfaqp_route *m,
                         const msfaqp_intent *in, msfaqp_draft *r)
{
    r->kind = MSFAQ_KIND_FALLBACK;
    r->intent = in ? in->id : "";
    r->answer[0] = in ? in->resp->text : kb->fallback_text;
    /* suggestions: the answer intents with the most evidence */
    if (m && !in) {
        for (int i = 0; i < m->n_top && r->n_follow_ups < 3; i++) {
            const msfaqp_intent *t = &kb->intents[m->top[i].intent];
            if (t->kind == MSFAQ_KIND_ANSWER &&
                msfaqp_draft_follow_up(r, canonical_question(t)))
                return -1;
        }
    }
    const char *const *fu = (const char *const *)(in ? in->resp->follow_ups
                                                     : NULL);
    int n = in ? in->resp->n_follow_ups : 0;
    if (!n) {
        fu = (const char *const *)kb->fallback_follow_ups;
        n = kb->n_fallback_follow_ups;
    }
    for (int i = 0; i < n && r->n_follow_ups < 4; i++)
        if (msfaqp_draft_follow_up(r, fu[i]))
            return -1;
    return 0;
}

/* The chosen answer does not give the kind of fact asked for: say so, in
 * the kind's words with the answer's topic for "{topic}", and offer what
 * the article does say. */
static int fill_unsaid(const msfaq_kb *kb, const msfaqp_route *rt,
                       msfaqp_draft *r)
{
    const msfaqp_intent *in = &kb->intents[rt->best];
    const msfaqp_ask_kind *a = &kb->asks[rt->unsaid];
    r->kind = MSFAQ_KIND_FALLBACK;
    r->intent = a->resp->id;
    msfaqp_buf *b = &r->own;
    const char *t = a->resp->text, *at;
    while ((at = strstr(t, "{topic}"))) {
        msfaqp_buf_put(b, t, (size_t)(at - t));
        msfaqp_buf_puts(b, in->resp->title);
        t = at + strlen("{topic}");
    }
    msfaqp_buf_puts(b, t);
    if (b->oom)
        return -1;
    r->answer[0] = b->p;
    if (msfaqp_draft_follow_up(r, canonical_question(in)))
        return -1;
    for (int i = 0; i < a->resp->n_follow_ups && r->n_follow_ups < 4; i++)
        if (msfaqp_draft_follow_up(r, a->resp->follow_ups[i]))
            return -1;
    return 0;
}

static int fill_clarify(const msfaq_kb *kb, const msfaqp_route *m,
                        msfaqp_draft *r)
{
    const msfaqp_intent *a = &kb->intents[m->best];
    const msfaqp_intent *b = &kb->intents[m->runner_up];
    char options[512];
    snprintf(options, sizeof options, " 1) %s  2) %s", a->resp->title,
             b->resp->title);
    r->kind = MSFAQ_KIND_CLARIFY;
    r->intent = a->id;
    msfaqp_buf_puts(&r->own, options);
    if (r->own.oom)
        return -1;
    r->answer[0] = kb->clarify_text;
    r->answer[1] = r->own.p;
    if (msfaqp_draft_follow_up(r, canonical_question(a)) ||
        msfaqp_draft_follow_up(r, canonical_question(b)))
        return -1;
    return 0;
}

static int fill_reply(const msfaq_kb *kb, const msfaqp_intent *in,
                      msfaqp_draft *r)
{
    r->kind = in->kind;
    r->intent = in->id;
    r->answer[0] = in->resp->text;
    if (in->kind == MSFAQ_KIND_ANSWER) {
        r->answer[1] = "\n\n";
        r->answer[2] = kb->disclaimer;
        r->section = in->resp->section;
    }
    for (int i = 0; i < in->resp->n_follow_ups; i++)
        if (msfaqp_draft_follow_up(r, in->resp->follow_ups[i]))
            return -1;
    return 0;
}

/* ------------------------------------------------------- the "why" */

/* json_array_append_new that says whether it failed */
static bool push(json_t *a, json_t *v)
{
    return !v || json_array_append_new(a, v) != 0;
}

/* Names of the concepts present in v that pass keep(), as a JSON array. */
static json_t *concepts_of(const msfaq_kb *kb, const msfaqp_view *v,
                           bool (*keep)(const msfaqp_concept *))
{
    json_t *a = json_array();
    for (int c = 0; a && c < kb->n_concepts; c++)
        if (v->hit[c] == MSFAQP_PRESENT &&
            (!keep || keep(&kb->concepts[c])) &&
            push(a, json_string(kb->concepts[c].name))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static bool is_screen(const msfaqp_concept *c) { return c->screen; }
static bool is_anchor(const msfaqp_concept *c)
{
    return c->role == MSFAQP_ROLE_ANCHOR;
}
static bool is_topic(const msfaqp_concept *c)
{
    return c->role == MSFAQP_ROLE_TOPIC;
}

/* Stage 1: did the screen fire, on which rule and lexicons. */
static json_t *explain_screen(const msfaq_kb *kb, const msfaqp_route *rt)
{
    json_t *near = json_array();
    for (int i = 0; near && i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        if (in->kind == MSFAQ_KIND_SAFETY && i != rt->screen &&
            rt->partial[i] > 0 && push(near, json_string(in->id))) {
            json_decref(near);
            near = NULL;
        }
    }
    return json_pack("{s:b,s:b,s:s?,s:o*,s:o*}", "fired", rt->screen >= 0,
                     "backstop", rt->backstop,
                     "rule", rt->screen >= 0 ? kb->intents[rt->screen].id
                                             : NULL,
                     "lexicons", concepts_of(kb, &rt->whole, is_screen),
                     "near", near);
}

/* Stage 2: in or out of the domain, and on which words. */
static json_t *explain_gate(const msfaq_kb *kb, const msfaqp_route *rt)
{
    const msfaqp_view *v = rt->focus_used ? &rt->question : &rt->whole;
    json_t *unknown = json_array();
    for (int i = 0; unknown && i < v->t->n_words; i++) {
        const msfaqp_token *tok = &v->t->tokens[i];
        if (!v->cover[i] &&
            push(unknown, json_stringn(v->t->norm + tok->at, tok->len))) {
            json_decref(unknown);
            unknown = NULL;
        }
    }
    const msfaqp_gate *g = &rt->gate;
    const char *why = g->anchor ? "a word of the article's world"
                    : g->in ? "a topic, and every word known"
                    : g->topic ? "a topic, but words the KB does not know"
                               : "nothing of the domain";
    return json_pack("{s:b,s:s,s:o*,s:o*,s:o*,s:b}", "in", g->in, "why", why,
                     "anchors", concepts_of(kb, v, is_anchor),
                     "topics", concepts_of(kb, v, is_topic),
                     "unknown_words", unknown, "small_talk_allowed", g->chat);
}

/* Stage 4: the kinds of fact asked for, and the one the answer lacks. */
static json_t *explain_specifics(const msfaq_kb *kb, const msfaqp_route *rt)
{
    const msfaqp_view *v = rt->focus_used ? &rt->question : &rt->whole;
    json_t *asked = json_array();
    for (int a = 0; asked && a < kb->n_asks; a++)
        if (v->hit[kb->asks[a].concept] == MSFAQP_PRESENT &&
            push(asked, json_string(kb->asks[a].name))) {
            json_decref(asked);
            asked = NULL;
        }
    return json_pack("{s:o*,s:s?}", "asked", asked, "unsaid",
                     rt->unsaid >= 0 ? kb->asks[rt->unsaid].name : NULL);
}

/* Which stage made the reply. */
static const char *decided_by(const msfaq_kb *kb, const msfaqp_route *rt)
{
    if (rt->screen >= 0)
        return rt->backstop ? "safety screen, as a backstop: nothing else "
                              "answered the message"
                            : "safety screen";
    if (rt->best < 0)
        return rt->gate.in ? "fallback: no intent above the threshold"
                           : "fallback: outside the domain";
    if (rt->clarify)
        return "clarify: two sections too close to call";
    if (rt->unsaid >= 0)
        return "uncovered specifics";
    switch (kb->intents[rt->best].kind) {
    case MSFAQ_KIND_SMALLTALK: return "small talk";
    case MSFAQ_KIND_FALLBACK: return "a topic the article does not cover";
    default: return "answer";
    }
}

static json_t *explain(const msfaq_kb *kb, const msfaqp_route *rt)
{
    const msfaqp_text *t = &rt->text;
    const msfaqp_text *focus = rt->focus_used ? &rt->focus : NULL;
    const msfaqp_view *v = rt->focus_used ? &rt->question : &rt->whole;
    json_t *o = json_object(), *fixes = json_array(), *pats = json_array(),
           *top = json_array();
    if (!o || !fixes || !pats || !top)
        goto nomem;
    /* corrections are "from>to" pairs joined by "|" */
    const char *s = t->corrections ? t->corrections : "";
    while (*s) {
        const char *e = strchr(s, '|');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *gt = memchr(s, '>', n);
        if (gt && push(fixes, json_pack("{s:s%,s:s%}", "from", s,
                                        (size_t)(gt - s), "to", gt + 1,
                                        (size_t)(s + n - gt - 1))))
            goto nomem;
        s += n + (e ? 1 : 0);
    }
    int at = 0;
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        for (int p = 0; p < in->n_patterns; p++, at++)
            if (rt->pattern_hit[at] &&
                push(pats, json_pack("{s:s,s:s,s:f}", "intent", in->id,
                                     "regex", in->patterns[p].source,
                                     "weight", in->patterns[p].weight)))
                goto nomem;
    }
    for (int i = 0; i < rt->n_top; i++) {
        int k = rt->top[i].intent;
        const msfaqp_intent *in = &kb->intents[k];
        if (push(top, json_pack("{s:s,s:s,s:i,s:f,s:f,s:b}", "intent",
                                in->id, "kind", msfaq_kind_name(in->kind),
                                "priority", in->priority, "score",
                                rt->top[i].score, "confidence",
                                msfaqp_confidence(rt->score[k]),
                                "candidate", rt->score[k] >= 0)))
            goto nomem;
    }
    double margin = -1;
    if (rt->best >= 0)
        margin = rt->runner_up >= 0
                     ? rt->score[rt->best] - rt->score[rt->runner_up]
                     : rt->score[rt->best];
    if (json_object_set_new(o, "normalized", json_string(t->norm)) ||
        json_object_set_new(o, "words", json_string(t->raw_words)) ||
        json_object_set_new(o, "stems", json_string(v->t->stems)) ||
        json_object_set_new(o, "focus", focus ? json_string(focus->norm)
                                              : json_null()) ||
        json_object_set(o, "corrected", fixes) ||
        json_object_set_new(o, "screen", explain_screen(kb, rt)) ||
        json_object_set_new(o, "gate", explain_gate(kb, rt)) ||
        json_object_set_new(o, "concepts", concepts_of(kb, v, NULL)) ||
        json_object_set(o, "patterns", pats) ||
        json_object_set(o, "top", top) ||
        json_object_set_new(o, "chosen",
                            rt->best >= 0
                                ? json_string(kb->intents[rt->best].id)
                                : json_null()) ||
        json_object_set_new(o, "runner_up",
                            rt->runner_up >= 0
                                ? json_string(kb->intents[rt->runner_up].id)
                                : json_null()) ||
        json_object_set_new(o, "margin",
                            margin >= 0 ? json_real(margin) : json_null()) ||
        json_object_set_new(o, "specifics", explain_specifics(kb, rt)) ||
        json_object_set_new(o, "decided_by", json_string(decided_by(kb, rt))) ||
        json_object_set_new(o, "threshold", json_real(kb->threshold)) ||
        json_object_set_new(o, "clarify_margin",
                            json_real(kb->clarify_margin)) ||
        json_object_set_new(o, "limit_hit", json_boolean(rt->limit_hit)))
        goto nomem;
    json_decref(fixes);
    json_decref(pats);
    json_decref(top);
    return o;
nomem:
    json_decref(o);
    json_decref(fixes);
    json_decref(pats);
    json_decref(top);
    return NULL;
}

/* ------------------------------------------------------------- ask */

int msfaq_ask(const msfaq_kb *kb, const char *question, unsigned flags,
              msfaq_result **out, msfaq_error *err)
{
    if (err)
        memset(err, 0, sizeof *err), err->line = err->column = -1,
                                     err->offset = -1;
    if (out)
        *out = NULL;
    if (!kb || !question || !out || (flags & ~MSFAQ_ASK_EXPLAIN)) {
        msfaqp_error_set(err, MSFAQ_EINVAL, NULL, -1, -1, -1,
                         "msfaq_ask needs a KB, a question, a result "
                         "pointer and known flags");
        return MSFAQ_EINVAL;
    }
    size_t len = strlen(question), bad;
    if (len > MSFAQ_MAX_QUESTION) {
        msfaqp_error_set(err, MSFAQ_ETOOLONG, NULL, -1, -1,
                         MSFAQ_MAX_QUESTION,
                         "question is %zu bytes; the limit is %d", len,
                         MSFAQ_MAX_QUESTION);
        return MSFAQ_ETOOLONG;
    }
    if (msfaqp_check_utf8(question, len, &bad)) {
        msfaqp_error_set(err, MSFAQ_EUTF8, NULL, -1, -1, (long)bad,
                         "question is not valid UTF-8 at byte %zu", bad);
        return MSFAQ_EUTF8;
    }

    msfaqp_route rt;
    memset(&rt, 0, sizeof rt);
    json_t *why = NULL;
    msfaqp_draft d;
    msfaqp_draft_init(&d);
    msfaqp_draft *r = &d;
    msfaq_result *res;
    int rc = msfaqp_route_run(kb, question, flags & MSFAQ_ASK_EXPLAIN, &rt,
                              err);
    if (rc)
        goto fail;

    int failed;
    if (rt.best < 0) {
        failed = fill_fallback(kb, &rt, NULL, r);
        r->confidence = rt.n_top ? 1.0 - msfaqp_confidence(rt.top[0].score)
                                 : 1.0;
    } else if (rt.clarify) {
        failed = fill_clarify(kb, &rt, r);
        r->confidence = msfaqp_confidence(rt.score[rt.best]) / 2;
    } else if (rt.unsaid >= 0) {
        failed = fill_unsaid(kb, &rt, r);
        r->confidence = msfaqp_confidence(rt.score[rt.best]);
    } else if (kb->intents[rt.best].kind == MSFAQ_KIND_FALLBACK) {
        failed = fill_fallback(kb, &rt, &kb->intents[rt.best], r);
        r->confidence = msfaqp_confidence(rt.score[rt.best]);
    } else {
        failed = fill_reply(kb, &kb->intents[rt.best], r);
        r->confidence = msfaqp_confidence(rt.score[rt.best]);
    }
    if (failed)
        goto nomem;
    if ((flags & MSFAQ_ASK_EXPLAIN) && !(why = explain(kb, &rt)))
        goto nomem;
    if (!(res = msfaqp_result_make(r, why)))
        goto nomem;
    json_decref(why);
    msfaqp_draft_free(&d);
    msfaqp_route_free(&rt);
    *out = res;
    return res->kind == MSFAQ_KIND_FALLBACK || res->kind == MSFAQ_KIND_CLARIFY
               ? MSFAQ_NOMATCH
               : MSFAQ_OK;
nomem:
    msfaqp_error_set(err, MSFAQ_ENOMEM, NULL, -1, -1, -1, "out of memory");
    rc = MSFAQ_ENOMEM;
fail:
    json_decref(why);
    msfaqp_route_free(&rt);
    msfaqp_draft_free(&d);
    return rc;
}
