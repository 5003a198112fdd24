/*
 * result.c - one reply: its fields, its JSON line, and freeing it.
 *
 * A result copies everything it shows, so it stays valid after its KB is
 * closed: a server that reloads its KB may still be writing out a reply
 * made from the old one.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
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

/* A JSON string: the text is valid UTF-8 (checked on the way in, or ours),
 * so only quotes, backslashes and control characters need escaping. */
static void put_string(msfaqp_buf *o, const char *s)
{
    msfaqp_buf_put(o, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        msfaqp_buf_put(o, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': msfaqp_buf_puts(o, "\\\""); break;
        case '\\': msfaqp_buf_puts(o, "\\\\"); break;
        case '\n': msfaqp_buf_puts(o, "\\n"); break;
        case '\t': msfaqp_buf_puts(o, "\\t"); break;
        case '\r': msfaqp_buf_puts(o, "\\r"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            msfaqp_buf_puts(o, esc);
        }
        run = s + 1;
    }
    msfaqp_buf_put(o, run, (size_t)(s - run));
    msfaqp_buf_put(o, "\"", 1);
}

/* Fills r->json from the other fields, written directly (this runs for
 * every question); explain (may be NULL) is attached as an object.
 * Returns 0 or MSFAQ_ENOMEM. */
int msfaqp_result_finish(msfaq_result *r, json_t *explain)
{
    msfaqp_buf o = {0};
    char num[32];
    msfaqp_buf_puts(&o, "{\"kind\":");
    put_string(&o, msfaq_kind_name(r->kind));
    msfaqp_buf_puts(&o, ",\"intent\":");
    put_string(&o, r->intent);
    snprintf(num, sizeof num, ",\"confidence\":%.4f", r->confidence);
    msfaqp_buf_puts(&o, num);
    msfaqp_buf_puts(&o, ",\"section\":");
    if (r->section)
        put_string(&o, r->section);
    else
        msfaqp_buf_puts(&o, "null");
    msfaqp_buf_puts(&o, ",\"answer\":");
    put_string(&o, r->answer);
    msfaqp_buf_puts(&o, ",\"follow_ups\":[");
    for (size_t i = 0; i < r->n_follow_ups; i++) {
        if (i)
            msfaqp_buf_puts(&o, ",");
        put_string(&o, r->follow_ups[i]);
    }
    msfaqp_buf_puts(&o, "]");
    if (explain) {
        r->explain =
            json_dumps(explain, JSON_COMPACT | JSON_REAL_PRECISION(4));
        if (!r->explain) {
            free(o.p);
            return MSFAQ_ENOMEM;
        }
        msfaqp_buf_puts(&o, ",\"explain\":");
        msfaqp_buf_puts(&o, r->explain);
    }
    msfaqp_buf_puts(&o, "}");
    if (o.oom) {
        free(o.p);
        return MSFAQ_ENOMEM;
    }
    r->json = o.p;
    return 0;
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
