/*
 * lint.c - msfaq_kb_lint(): what msfaq_kb_open() cannot promise alone.
 *
 * Opening a KB proves it is well formed.  Lint proves it is right:
 *   - every heading listed in "sections" is cited by some answer;
 *   - every answer sentence is in its section, word for word, or keeps at
 *     least 80% of its words (an abridged quote), so no answer drifts from
 *     the article;
 *   - every example question reaches its own intent, no negative example
 *     does, and no example leaves another intent of the same tier within
 *     the clarify margin (a collision: users would be asked "did you
 *     mean" or, worse, get the other answer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

#define F_SAFETY "patterns/safety.json"
#define F_INTENTS "patterns/intents.json"
#define F_ANSWERS "responses/answers.json"

typedef struct lint {
    const msfaq_kb *kb;
    msfaq_lint_fn fn;
    void *ud;
    int findings;
} lint;

static void report(lint *l, const char *file, const char *where,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(lint *l, const char *file, const char *where,
                   const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    l->findings++;
    if (l->fn)
        l->fn(l->ud, file, where, text);
}

/* Lowercase words joined by single spaces, with a leading and trailing
 * space so " word " finds whole words. */
static char *words_of(const char *s, size_t n)
{
    char *out = malloc(n + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = ' ';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            *o++ = c;
        } else if ((unsigned char)c == 0xE2 && i + 2 < n &&
                   (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0x99 ||
                    (unsigned char)s[i + 2] == 0x98)) {
            i += 2;                        /* curly apostrophe: joins */
        } else if (c == '\'') {
            continue;
        } else if (o[-1] != ' ') {
            *o++ = ' ';
        }
    }
    if (o[-1] != ' ')
        *o++ = ' ';
    *o = '\0';
    return out;
}

/* Share of the sentence's words of 4+ letters that the body has. */
static double coverage(const char *sentence_words, const char *body_words)
{
    int have = 0, total = 0;
    const char *p = sentence_words;
    char w[80];
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n >= 4 && n + 3 < sizeof w) {
            w[0] = ' ';
            memcpy(w + 1, p, n);
            w[n + 1] = ' ';
            w[n + 2] = '\0';
            total++;
            if (strstr(body_words, w))
                have++;
        }
        p += n;
    }
    return total ? (double)have / total : 1.0;
}

static void check_answer(lint *l, const msfaqp_response *in)
{
    size_t blen;
    const char *body = msfaqp_section_body(l->kb, in->section, &blen);
    char where[160];
    snprintf(where, sizeof where, "responses.%s", in->id);
    if (!body) {
        report(l, F_ANSWERS, where, "section \"%s\" not in the article",
               in->section);
        return;
    }
    char *bw = words_of(body, blen);
    if (!bw)
        return;
    /* sentences end at . ? ! followed by a space or the end */
    const char *s = in->text;
    while (*s) {
        while (*s == ' ' || *s == '\n')
            s++;
        const char *e = s;
        while (*e && !((*e == '.' || *e == '?' || *e == '!') &&
                       (e[1] == ' ' || e[1] == '\n' || e[1] == '\0')))
            e++;
        size_t n = (size_t)(e - s) + (*e ? 1 : 0);
        if (n > 1) {
            char *sw = words_of(s, n);
            if (sw && !strstr(bw, sw) && coverage(sw, bw) < 0.8)
                report(l, F_ANSWERS, where,
                       "sentence not in section \"%s\": \"%.*s\"",
                       in->section, (int)(n > 120 ? 120 : n), s);
            free(sw);
        }
        s += n;
    }
    free(bw);
}

static void check_example(lint *l, int self, const char *q, bool negative,
                          int k)
{
    const msfaq_kb *kb = l->kb;
    const msfaqp_intent *in = &kb->intents[self];
    char where[200];
    snprintf(where, sizeof where, "%s.%s.%s[%d]",
             in->kind == MSFAQ_KIND_SAFETY ? "rules" : "intents", in->id,
             negative ? "negatives" : "examples", k);
    msfaqp_route rt;
    if (msfaqp_route_run(kb, q, false, &rt, NULL)) {
        msfaqp_route_free(&rt);
        return;
    }
    const msfaqp_route *m = &rt;
    const char *file = in->kind == MSFAQ_KIND_SAFETY ? F_SAFETY : F_INTENTS;
    const char *got = m->best < 0 ? "(fallback)"
                    : m->unsaid >= 0 ? kb->asks[m->unsaid].resp->id
                                     : kb->intents[m->best].id;
    bool reached = m->best == self && m->unsaid < 0;
    if (negative) {
        if (reached)
            report(l, file, where, "negative example \"%s\" reaches "
                   "the intent", q);
    } else if (!reached) {
        report(l, file, where, "example \"%s\" reaches %s, not %s", q, got,
               in->id);
    } else if (m->clarify) {
        report(l, file, where,
               "example \"%s\" collides with %s (scores %.2f and %.2f)", q,
               kb->intents[m->runner_up].id, m->score[m->best],
               m->score[m->runner_up]);
    }
    msfaqp_route_free(&rt);
}

int msfaq_kb_lint(const msfaq_kb *kb, msfaq_lint_fn fn, void *ud)
{
    if (!kb)
        return MSFAQ_EINVAL;
    lint l = {kb, fn, ud, 0};
    for (int h = 0; h < kb->n_headings; h++) {
        bool cited = false;
        for (int i = 0; i < kb->n_responses && !cited; i++)
            cited = kb->responses[i].section &&
                    strcmp(kb->responses[i].section, kb->headings[h]) == 0;
        if (!cited)
            report(&l, F_ANSWERS, "sections", "no answer cites \"%s\"",
                   kb->headings[h]);
    }
    for (int i = 0; i < kb->n_responses; i++) {
        const msfaqp_response *r = &kb->responses[i];
        bool used = false;
        for (int k = 0; k < kb->n_intents && !used; k++)
            used = kb->intents[k].resp == r;
        for (int k = 0; k < kb->n_asks && !used; k++)
            used = kb->asks[k].resp == r;
        if (!used)
            report(&l, F_ANSWERS, r->id, "no intent uses this response");
        if (r->section)
            check_answer(&l, r);
    }
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        if (in->n_examples == 0)
            report(&l, in->kind == MSFAQ_KIND_SAFETY ? F_SAFETY : F_INTENTS,
                   in->id, "no example questions");
        for (int k = 0; k < in->n_examples; k++)
            check_example(&l, i, in->examples[k], false, k);
        for (int k = 0; k < in->n_negatives; k++)
            check_example(&l, i, in->negatives[k], true, k);
        /* the same example in two intents can never pass both */
        for (int j = 0; j < i; j++)
            for (int a = 0; a < in->n_examples; a++)
                for (int b = 0; b < kb->intents[j].n_examples; b++)
                    if (strcmp(in->examples[a],
                               kb->intents[j].examples[b]) == 0)
                        report(&l, F_INTENTS, in->id,
                               "example \"%s\" is also an example of %s",
                               in->examples[a], kb->intents[j].id);
    }
    return l.findings;
}
