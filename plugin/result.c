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

/* A growing string for the JSON line. */
typedef struct out {
    char *p;
    size_t len, cap;
    bool oom;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (o->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

/* A JSON string: the text is valid UTF-8 (checked on the way in, or ours),
 * so only quotes, backslashes and control characters need escaping. */
static void put_string(out *o, const char *s)
{
    put(o, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': puts_(o, "\\\""); break;
        case '\\': puts_(o, "\\\\"); break;
        case '\n': puts_(o, "\\n"); break;
        case '\t': puts_(o, "\\t"); break;
        case '\r': puts_(o, "\\r"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            puts_(o, esc);
        }
        run = s + 1;
    }
    put(o, run, (size_t)(s - run));
    put(o, "\"", 1);
}

/* Fills r->json from the other fields, written directly (this runs for
 * every question); explain (may be NULL) is attached as an object.
 * Returns 0 or MSFAQ_ENOMEM. */
int msfaqp_result_finish(msfaq_result *r, json_t *explain)
{
    out o = {0};
    char num[32];
    puts_(&o, "{\"kind\":");
    put_string(&o, msfaq_kind_name(r->kind));
    puts_(&o, ",\"intent\":");
    put_string(&o, r->intent);
    snprintf(num, sizeof num, ",\"confidence\":%.4f", r->confidence);
    puts_(&o, num);
    puts_(&o, ",\"section\":");
    if (r->section)
        put_string(&o, r->section);
    else
        puts_(&o, "null");
    puts_(&o, ",\"answer\":");
    put_string(&o, r->answer);
    puts_(&o, ",\"follow_ups\":[");
    for (size_t i = 0; i < r->n_follow_ups; i++) {
        if (i)
            puts_(&o, ",");
        put_string(&o, r->follow_ups[i]);
    }
    puts_(&o, "]");
    if (explain) {
        r->explain = json_dumps(explain, JSON_COMPACT | JSON_REAL_PRECISION(4));
        if (!r->explain) {
            free(o.p);
            return MSFAQ_ENOMEM;
        }
        puts_(&o, ",\"explain\":");
        puts_(&o, r->explain);
    }
    puts_(&o, "}");
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
