/*
 * result.c - one reply: its fields, its JSON line, and freeing it.
 *
 * A result copies everything it shows, so it stays valid after its KB is
 * closed: a server that reloads its KB may still be writing out a reply
 * made from the old one.  It is one allocation: a reply is made for
 * every question, and a handful of small mallocs and frees each time is
 * most of what a short question costs outside the matcher.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
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
    free(r);           /* one block: see msfaqp_result_make */
}

void msfaqp_draft_init(msfaqp_draft *d)
{
    memset(d, 0, sizeof *d);
    d->follow_ups = d->follow_ups_here;
    d->cap_follow_ups = sizeof d->follow_ups_here / sizeof *d->follow_ups;
}

void msfaqp_draft_free(msfaqp_draft *d)
{
    if (d->follow_ups != d->follow_ups_here)
        free(d->follow_ups);
    free(d->own.p);
    memset(d, 0, sizeof *d);
}

int msfaqp_draft_follow_up(msfaqp_draft *d, const char *q)
{
    for (size_t i = 0; i < d->n_follow_ups; i++)
        if (strcmp(d->follow_ups[i], q) == 0)
            return 0;
    if (d->n_follow_ups == d->cap_follow_ups) {
        size_t cap = 2 * d->cap_follow_ups;
        const char **v = malloc(cap * sizeof *v);
        if (!v)
            return -1;
        memcpy(v, d->follow_ups, d->n_follow_ups * sizeof *v);
        if (d->follow_ups != d->follow_ups_here)
            free(d->follow_ups);
        d->follow_ups = v;
        d->cap_follow_ups = cap;
    }
    d->follow_ups[d->n_follow_ups++] = q;
    return 0;
}

/* Does any of the 8 bytes of w need escaping in a JSON string (below
 * 0x20, a quote, a backslash)?  The usual bit tricks for "a byte less
 * than" and "a byte equal to". */
static bool needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
            ((b - ones) & ~b)) & highs;
}

/* s escaped for a JSON string: the text is valid UTF-8 (checked on the
 * way in, or ours), so only quotes, backslashes and control characters
 * need escaping; it is read eight bytes at a time up to the first that
 * does. */
static void put_escaped(msfaqp_buf *o, const char *s)
{
    size_t n = strlen(s), i = 0, run = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, sizeof w);
            if (!needs_escape(w)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        msfaqp_buf_put(o, s + run, i - run);
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
        run = ++i;
    }
    msfaqp_buf_put(o, s + run, n - run);
}

static void put_string(msfaqp_buf *o, const char *s)
{
    msfaqp_buf_put(o, "\"", 1);
    put_escaped(o, s);
    msfaqp_buf_put(o, "\"", 1);
}

/* Appends s with its NUL; returns its offset in o. */
static size_t put_raw(msfaqp_buf *o, const char *s)
{
    size_t at = o->len;
    msfaqp_buf_put(o, s, strlen(s) + 1);
    return at;
}

msfaq_result *msfaqp_result_make(const msfaqp_draft *d, json_t *explain)
{
    char *why = explain ? json_dumps(explain, JSON_COMPACT |
                                                  JSON_REAL_PRECISION(4))
                        : NULL;
    if (explain && !why)
        return NULL;
    /* one block: the struct, the follow-ups' pointers, then the JSON line
     * and every string, as offsets until the block stops moving */
    size_t head = sizeof(msfaq_result) + d->n_follow_ups * sizeof(char *);
    head = (head + 15) & ~(size_t)15;
    msfaqp_buf o = {0};
    size_t guess = head + 512 + (why ? 2 * strlen(why) : 0);
    for (int k = 0; k < MSFAQP_DRAFT_PARTS; k++)
        guess += d->answer[k] ? 2 * strlen(d->answer[k]) : 0;
    o.p = malloc(guess);
    o.cap = o.p ? guess : 0;
    o.oom = !o.p;
    static const char zero[16];
    for (size_t left = head; left; left -= left > 16 ? 16 : left)
        msfaqp_buf_put(&o, zero, left > 16 ? 16 : left);
    char num[32];
    size_t json = o.len;
    msfaqp_buf_puts(&o, "{\"kind\":");
    put_string(&o, msfaq_kind_name(d->kind));
    msfaqp_buf_puts(&o, ",\"intent\":");
    put_string(&o, d->intent);
    snprintf(num, sizeof num, ",\"confidence\":%.4f", d->confidence);
    msfaqp_buf_puts(&o, num);
    msfaqp_buf_puts(&o, ",\"section\":");
    if (d->section)
        put_string(&o, d->section);
    else
        msfaqp_buf_puts(&o, "null");
    msfaqp_buf_puts(&o, ",\"answer\":");
    /* the parts as one string */
    msfaqp_buf_put(&o, "\"", 1);
    for (int k = 0; k < MSFAQP_DRAFT_PARTS; k++)
        if (d->answer[k])
            put_escaped(&o, d->answer[k]);
    msfaqp_buf_put(&o, "\"", 1);
    msfaqp_buf_puts(&o, ",\"follow_ups\":[");
    for (size_t i = 0; i < d->n_follow_ups; i++) {
        if (i)
            msfaqp_buf_puts(&o, ",");
        put_string(&o, d->follow_ups[i]);
    }
    msfaqp_buf_puts(&o, "]");
    if (why) {
        msfaqp_buf_puts(&o, ",\"explain\":");
        msfaqp_buf_puts(&o, why);
    }
    msfaqp_buf_puts(&o, "}");
    msfaqp_buf_put(&o, "", 1);
    /* the fields, raw */
    size_t answer = o.len;
    for (int k = 0; k < MSFAQP_DRAFT_PARTS; k++)
        if (d->answer[k])
            msfaqp_buf_puts(&o, d->answer[k]);
    msfaqp_buf_put(&o, "", 1);
    size_t intent = put_raw(&o, d->intent);
    size_t section = d->section ? put_raw(&o, d->section) : 0;
    size_t explain_at = why ? put_raw(&o, why) : 0;
    size_t fu_here[16];
    size_t *fu = d->n_follow_ups <= 16
                     ? fu_here
                     : malloc(d->n_follow_ups * sizeof *fu);
    for (size_t i = 0; fu && i < d->n_follow_ups; i++)
        fu[i] = put_raw(&o, d->follow_ups[i]);
    free(why);
    if (o.oom || !fu) {
        if (fu != fu_here)
            free(fu);
        free(o.p);
        return NULL;
    }
    msfaq_result *r = (msfaq_result *)o.p;
    char *base = o.p;
    r->kind = d->kind;
    r->confidence = d->confidence;
    r->intent = base + intent;
    r->answer = base + answer;
    r->section = d->section ? base + section : NULL;
    r->json = base + json;
    r->explain = explain ? base + explain_at : NULL;
    r->follow_ups = (const char **)(base + sizeof *r);
    r->n_follow_ups = d->n_follow_ups;
    for (size_t i = 0; i < d->n_follow_ups; i++)
        r->follow_ups[i] = base + fu[i];
    if (fu != fu_here)
        free(fu);
    return r;
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
