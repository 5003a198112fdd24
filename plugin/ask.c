/*
 * ask.c - msfaq_ask(): check the question, normalise, match, reply.
 *
 * Routing lives in match.c; this file turns its choice into a reply:
 *   answer      the curated text plus the not-medical-advice line
 *   safety      the fixed referral text, never an article answer
 *   smalltalk   the canned text
 *   fallback    an out-of-scope intent's text, or the generic fallback,
 *               with the closest topics as suggested follow-ups
 *   clarify     "did you mean": the two contenders' questions as options
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

static int add_follow_up(msfaq_result *r, const char *q)
{
    for (size_t i = 0; i < r->n_follow_ups; i++)
        if (strcmp(r->follow_ups[i], q) == 0)
            return 0;
    char **v = realloc(r->follow_ups, (r->n_follow_ups + 1) * sizeof *v);
    if (!v)
        return -1;
    r->follow_ups = v;
    if (!(v[r->n_follow_ups] = msfaqp_strdup(q)))
        return -1;
    r->n_follow_ups++;
    return 0;
}

/* The question that best stands for an intent: its first example. */
static const char *canonical_question(const msfaqp_intent *in)
{
    return in->n_examples ? in->examples[0] : in->resp->title;
}

static char *join3(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, b, lb + 1);
    }
    return s;
}

static int fill_fallback(const msfaq_kb *kb, const msfaqp_match *m,
                         const msfaqp_intent *in, msfaq_result *r)
{
    r->kind = MSFAQ_KIND_FALLBACK;
    r->intent = msfaqp_strdup(in ? in->id : "");
    r->answer = msfaqp_strdup(in ? in->resp->text : kb->fallback_text);
    if (!r->intent || !r->answer)
        return -1;
    /* suggestions: the answer intents with the most evidence */
    if (m && !in) {
        for (int i = 0; i < m->n_top && r->n_follow_ups < 3; i++) {
            const msfaqp_intent *t = &kb->intents[m->top[i].intent];
            if (t->kind == MSFAQ_KIND_ANSWER &&
                add_follow_up(r, canonical_question(t)))
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
        if (add_follow_up(r, fu[i]))
            return -1;
    return 0;
}

static int fill_clarify(const msfaq_kb *kb, const msfaqp_match *m,
                        msfaq_result *r)
{
    const msfaqp_intent *a = &kb->intents[m->best];
    const msfaqp_intent *b = &kb->intents[m->runner_up];
    char options[512];
    snprintf(options, sizeof options, " 1) %s  2) %s", a->resp->title,
             b->resp->title);
    r->kind = MSFAQ_KIND_CLARIFY;
    r->intent = msfaqp_strdup(a->id);
    r->answer = join3(kb->clarify_text, "", options);
    if (!r->intent || !r->answer || add_follow_up(r, canonical_question(a)) ||
        add_follow_up(r, canonical_question(b)))
        return -1;
    return 0;
}

static int fill_reply(const msfaq_kb *kb, const msfaqp_intent *in,
                      msfaq_result *r)
{
    r->kind = in->kind;
    r->intent = msfaqp_strdup(in->id);
    if (in->kind == MSFAQ_KIND_ANSWER) {
        r->answer = join3(in->resp->text, "\n\n", kb->disclaimer);
        r->section = msfaqp_strdup(in->resp->section);
        if (!r->section)
            return -1;
    } else {
        r->answer = msfaqp_strdup(in->resp->text);
    }
    if (!r->intent || !r->answer)
        return -1;
    for (int i = 0; i < in->resp->n_follow_ups; i++)
        if (add_follow_up(r, in->resp->follow_ups[i]))
            return -1;
    return 0;
}

/* The "why" record: what the matcher saw and how it chose. */
static json_t *concept_names(const msfaq_kb *kb, const unsigned char *hit)
{
    json_t *a = json_array();
    for (int c = 0; a && c < kb->n_concepts; c++)
        if (hit[c] == 1 && json_array_append_new(a, json_string(
                                                   kb->concepts[c].name))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *explain(const msfaq_kb *kb, const msfaqp_text *t,
                       const msfaqp_text *focus, const msfaqp_match *m)
{
    json_t *o = json_object(), *fixes = json_array(),
           *concepts = concept_names(kb, m->concept_hit), *pats = json_array(),
           *top = json_array();
    if (!o || !fixes || !concepts || !pats || !top)
        goto nomem;
    if (json_object_set_new(o, "focus", focus ? json_string(focus->norm)
                                              : json_null()) ||
        (focus && json_object_set_new(o, "focus_concepts",
                                      concept_names(kb, m->focus_hit))))
        goto nomem;
    /* corrections are "from>to" pairs joined by "|" */
    const char *s = t->corrections ? t->corrections : "";
    while (*s) {
        const char *e = strchr(s, '|');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        const char *gt = memchr(s, '>', n);
        if (gt &&
            json_array_append_new(
                fixes, json_pack("{s:s%,s:s%}", "from", s,
                                 (size_t)(gt - s), "to", gt + 1,
                                 (size_t)(s + n - gt - 1))))
            goto nomem;
        s += n + (e ? 1 : 0);
    }
    int at = 0;
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        for (int p = 0; p < in->n_patterns; p++, at++)
            if (m->pattern_hit[at] &&
                json_array_append_new(
                    pats, json_pack("{s:s,s:s,s:f}", "intent", in->id,
                                    "regex", in->patterns[p].source,
                                    "weight", in->patterns[p].weight)))
                goto nomem;
    }
    for (int i = 0; i < m->n_top; i++) {
        int k = m->top[i].intent;
        const msfaqp_intent *in = &kb->intents[k];
        bool cand = m->score[k] >= 0;
        if (json_array_append_new(
                top, json_pack("{s:s,s:s,s:i,s:f,s:f,s:b}", "intent", in->id,
                               "kind", msfaq_kind_name(in->kind),
                               "priority", in->priority,
                               "score", m->top[i].score, "confidence",
                               msfaqp_confidence(m->score[k]),
                               "candidate", cand)))
            goto nomem;
    }
    double margin = -1;
    if (m->best >= 0)
        margin = m->runner_up >= 0
                     ? m->score[m->best] - m->score[m->runner_up]
                     : m->score[m->best];
    if (json_object_set_new(o, "normalized", json_string(t->norm)) ||
        json_object_set_new(o, "words", json_string(t->raw_words)) ||
        json_object_set(o, "corrected", fixes) ||
        json_object_set(o, "concepts", concepts) ||
        json_object_set(o, "patterns", pats) ||
        json_object_set(o, "top", top) ||
        json_object_set_new(o, "chosen",
                            m->best >= 0
                                ? json_string(kb->intents[m->best].id)
                                : json_null()) ||
        json_object_set_new(o, "runner_up",
                            m->runner_up >= 0
                                ? json_string(kb->intents[m->runner_up].id)
                                : json_null()) ||
        json_object_set_new(o, "margin",
                            margin >= 0 ? json_real(margin) : json_null()) ||
        json_object_set_new(o, "threshold", json_real(kb->threshold)) ||
        json_object_set_new(o, "clarify_margin",
                            json_real(kb->clarify_margin)) ||
        json_object_set_new(o, "limit_hit", json_boolean(m->limit_hit)))
        goto nomem;
    json_decref(fixes);
    json_decref(concepts);
    json_decref(pats);
    json_decref(top);
    return o;
nomem:
    json_decref(o);
    json_decref(fixes);
    json_decref(concepts);
    json_decref(pats);
    json_decref(top);
    return NULL;
}

int msfaqp_route_run(const msfaq_kb *kb, const char *q, bool full,
                     msfaqp_route *rt, msfaq_error *err)
{
    memset(rt, 0, sizeof *rt);
    if (msfaqp_normalize(kb, q, &rt->text))
        goto nomem;
    char *focus = msfaqp_focus(q);
    if (focus) {
        int rc = msfaqp_normalize(kb, focus, &rt->focus);
        free(focus);
        if (rc)
            goto nomem;
        rt->has_focus = true;
    }
    return msfaqp_match_run(kb, &rt->text,
                            rt->has_focus ? &rt->focus : NULL, full,
                            &rt->match, err);
nomem:
    msfaqp_error_set(err, MSFAQ_ENOMEM, NULL, -1, -1, -1, "out of memory");
    return MSFAQ_ENOMEM;
}

void msfaqp_route_free(msfaqp_route *rt)
{
    msfaqp_match_free(&rt->match);
    msfaqp_text_free(&rt->text);
    msfaqp_text_free(&rt->focus);
}

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
    msfaq_result *r = calloc(1, sizeof *r);
    if (!r)
        goto nomem;
    int rc = msfaqp_route_run(kb, question, flags & MSFAQ_ASK_EXPLAIN, &rt,
                              err);
    if (rc)
        goto fail;

    const msfaqp_match *m = &rt.match;
    int failed;
    if (m->best < 0) {
        failed = fill_fallback(kb, m, NULL, r);
        r->confidence = m->n_top ? 1.0 - msfaqp_confidence(m->top[0].score)
                                 : 1.0;
    } else if (m->clarify) {
        failed = fill_clarify(kb, m, r);
        r->confidence = msfaqp_confidence(m->score[m->best]) / 2;
    } else if (kb->intents[m->best].kind == MSFAQ_KIND_FALLBACK) {
        failed = fill_fallback(kb, m, &kb->intents[m->best], r);
        r->confidence = msfaqp_confidence(m->score[m->best]);
    } else {
        failed = fill_reply(kb, &kb->intents[m->best], r);
        r->confidence = msfaqp_confidence(m->score[m->best]);
    }
    if (failed)
        goto nomem;
    if ((flags & MSFAQ_ASK_EXPLAIN) &&
        !(why = explain(kb, &rt.text, m->focus_used ? &rt.focus : NULL, m)))
        goto nomem;
    if (msfaqp_result_finish(r, why))
        goto nomem;
    json_decref(why);
    msfaqp_route_free(&rt);
    *out = r;
    return r->kind == MSFAQ_KIND_FALLBACK || r->kind == MSFAQ_KIND_CLARIFY
               ? MSFAQ_NOMATCH
               : MSFAQ_OK;
nomem:
    msfaqp_error_set(err, MSFAQ_ENOMEM, NULL, -1, -1, -1, "out of memory");
    rc = MSFAQ_ENOMEM;
fail:
    json_decref(why);
    msfaqp_route_free(&rt);
    msfaq_result_free(r);
    return rc;
}
