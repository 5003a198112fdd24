/*
 * result.c - one reply: its fields, its JSON line, and freeing it.
 *
 * A result copies everything it shows, so it stays valid after its KB is
 * closed: a server that reloads its KB may still be writing out a reply
 * made from the old one.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

static const char *const kind_names[] = {"answer", "fallback", "safety",
                                         "smalltalk", "clarify"};

const char *msfaq_kind_name(int kind)
{
    if (kind < 0 || kind > MSFAQ_KIND_CLARIFY)
        return "unknown";
    return kind_names[kind];
}

void msfaq_result_free(msfaq_result *r)
{
    if (!r)
        return;
    free(r->intent);
    free(r->answer);
    free(r->section);
    for (size_t i = 0; i < r->n_follow_ups; i++)
        free(r->follow_ups[i]);
    free(r->follow_ups);
    free(r->json);
    free(r->explain);
    free(r);
}

/* Fills r->json from the other fields; explain (may be NULL) is attached
 * as an object.  Returns 0 or MSFAQ_ENOMEM. */
int msfaqp_result_finish(msfaq_result *r, json_t *explain)
{
    json_t *fu = json_array();
    json_t *o = json_object();
    if (!fu || !o)
        goto nomem;
    for (size_t i = 0; i < r->n_follow_ups; i++)
        if (json_array_append_new(fu, json_string(r->follow_ups[i])))
            goto nomem;
    if (json_object_set_new(o, "kind",
                            json_string(msfaq_kind_name(r->kind))) ||
        json_object_set_new(o, "intent", json_string(r->intent)) ||
        json_object_set_new(o, "confidence", json_real(r->confidence)) ||
        json_object_set_new(o, "section", r->section
                                              ? json_string(r->section)
                                              : json_null()) ||
        json_object_set_new(o, "answer", json_string(r->answer)) ||
        json_object_set(o, "follow_ups", fu))
        goto nomem;
    if (explain) {
        if (json_object_set(o, "explain", explain))
            goto nomem;
        r->explain = json_dumps(explain, JSON_COMPACT | JSON_REAL_PRECISION(4));
        if (!r->explain)
            goto nomem;
    }
    r->json = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(4));
    if (!r->json)
        goto nomem;
    json_decref(fu);
    json_decref(o);
    return 0;
nomem:
    json_decref(fu);
    json_decref(o);
    return MSFAQ_ENOMEM;
}

int msfaq_result_kind(const msfaq_result *r)
{
    return r ? r->kind : -1;
}

const char *msfaq_result_intent(const msfaq_result *r)
{
    return r ? r->intent : NULL;
}

double msfaq_result_confidence(const msfaq_result *r)
{
    return r ? r->confidence : 0.0;
}

const char *msfaq_result_answer(const msfaq_result *r)
{
    return r ? r->answer : NULL;
}

const char *msfaq_result_section(const msfaq_result *r)
{
    return r ? r->section : NULL;
}

size_t msfaq_result_follow_up_count(const msfaq_result *r)
{
    return r ? r->n_follow_ups : 0;
}

const char *msfaq_result_follow_up(const msfaq_result *r, size_t i)
{
    return r && i < r->n_follow_ups ? r->follow_ups[i] : NULL;
}

const char *msfaq_result_json(const msfaq_result *r)
{
    return r ? r->json : NULL;
}

const char *msfaq_result_explain(const msfaq_result *r)
{
    return r ? r->explain : NULL;
}
