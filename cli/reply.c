/*
 * reply.c - printing a reply the way msfaq and msfaq-repl show it: for a
 * person (the answer, its section, what else to ask), as one JSON line,
 * or explained stage by stage.  Shared by the two programs (cli/reply.h);
 * only msfaq-repl links libedit.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "reply.h"

void cli_print_kb_error(const msfaq_error *e)
{
    if (e->file[0] && e->line > 0)
        fprintf(stderr, "msfaq: %s:%d:%d: %s\n", e->file, e->line,
                e->column, e->text);
    else if (e->file[0])
        fprintf(stderr, "msfaq: %s: %s\n", e->file, e->text);
    else
        fprintf(stderr, "msfaq: %s\n", e->text);
}

msfaq_kb *cli_open_kb(const char *dir)
{
    msfaq_error err;
    msfaq_kb *kb = msfaq_kb_open(dir, 0, &err);
    if (!kb)
        cli_print_kb_error(&err);
    return kb;
}

/* ---------------------------------------------------------- printing */

void cli_print_human(const msfaq_result *r)
{
    int kind = msfaq_result_kind(r);
    const char *section = msfaq_result_section(r);
    printf("%s\n", msfaq_result_answer(r));
    if (section)
        printf("\nSection: %s\n", section);
    size_t n = msfaq_result_follow_up_count(r);
    if (n)
        printf("\n%s\n", kind == MSFAQ_KIND_CLARIFY ? "Options:"
                                                    : "You could also ask:");
    for (size_t i = 0; i < n; i++)
        printf("  - %s\n", msfaq_result_follow_up(r, i));
}

/* Prints the strings of a JSON array after label, or "(none)". */
static void print_list(const char *label, json_t *a)
{
    size_t i;
    json_t *v;
    printf("%s", label);
    json_array_foreach(a, i, v)
        printf(" %s", json_string_value(v));
    printf("%s\n", json_array_size(a) ? "" : " (none)");
}

void cli_print_explain(const msfaq_result *r)
{
    json_error_t je;
    json_t *x = json_loads(msfaq_result_explain(r), 0, &je);
    if (!x) {
        printf("%s\n", msfaq_result_explain(r));
        return;
    }
    size_t i;
    json_t *v;
    printf("normalised:  %s\n",
           json_string_value(json_object_get(x, "normalized")));
    printf("corrected:  ");
    json_array_foreach(json_object_get(x, "corrected"), i, v)
        printf(" %s->%s", json_string_value(json_object_get(v, "from")),
               json_string_value(json_object_get(v, "to")));
    printf("%s\n",
           json_array_size(json_object_get(x, "corrected")) ? "" : " (none)");
    json_t *focus = json_object_get(x, "focus");
    if (json_is_string(focus))
        printf("question:    %s (the sentences that ask)\n",
               json_string_value(focus));
    printf("stems:       %s\n", json_string_value(json_object_get(x, "stems")));

    json_t *sc = json_object_get(x, "screen");
    json_t *rule = json_object_get(sc, "rule");
    printf("1 safety:    %s", json_is_string(rule) ? "FIRED, rule "
                                                    : "not fired");
    if (json_is_string(rule))
        printf("%s%s", json_string_value(rule),
               json_is_true(json_object_get(sc, "backstop"))
                   ? " (a backstop: nothing else answered)" : "");
    print_list(";  lexicons:", json_object_get(sc, "lexicons"));
    if (json_array_size(json_object_get(sc, "near")))
        print_list("             rules with some evidence:",
                   json_object_get(sc, "near"));

    json_t *g = json_object_get(x, "gate");
    printf("2 gate:      %s (%s)\n",
           json_is_true(json_object_get(g, "in")) ? "IN" : "OUT",
           json_string_value(json_object_get(g, "why")));
    print_list("             anchors:", json_object_get(g, "anchors"));
    print_list("             topics: ", json_object_get(g, "topics"));
    print_list("             unknown words:",
               json_object_get(g, "unknown_words"));
    printf("             small talk allowed: %s\n",
           json_is_true(json_object_get(g, "small_talk_allowed")) ? "yes"
                                                                  : "no");
    print_list("3 concepts: ", json_object_get(x, "concepts"));
    if (json_array_size(json_object_get(x, "patterns"))) {
        printf("  patterns:\n");
        json_array_foreach(json_object_get(x, "patterns"), i, v)
            printf("    %-22s %+.2f  /%s/\n",
                   json_string_value(json_object_get(v, "intent")),
                   json_real_value(json_object_get(v, "weight")),
                   json_string_value(json_object_get(v, "regex")));
    }
    printf("  top intents (kind, tier, score, confidence):\n");
    json_array_foreach(json_object_get(x, "top"), i, v)
        printf("    %-22s %-9s %3d  %5.2f  %.2f%s\n",
               json_string_value(json_object_get(v, "intent")),
               json_string_value(json_object_get(v, "kind")),
               (int)json_integer_value(json_object_get(v, "priority")),
               json_real_value(json_object_get(v, "score")),
               json_real_value(json_object_get(v, "confidence")),
               json_is_true(json_object_get(v, "candidate"))
                   ? "" : "  (not a candidate: a required concept is "
                          "missing or vetoed, or the gate keeps it out)");
    json_t *chosen = json_object_get(x, "chosen");
    json_t *ru = json_object_get(x, "runner_up");
    json_t *mg = json_object_get(x, "margin");
    printf("  chosen:    %s", json_is_string(chosen)
                                  ? json_string_value(chosen)
                                  : "(none above the threshold)");
    if (json_is_string(ru))
        printf("; runner-up %s", json_string_value(ru));
    if (json_is_real(mg))
        printf("; margin %.2f (asks back under %.2f)", json_real_value(mg),
               json_real_value(json_object_get(x, "clarify_margin")));
    printf("\n  threshold: confidence %.2f\n",
           json_real_value(json_object_get(x, "threshold")));
    json_t *sp = json_object_get(x, "specifics");
    json_t *unsaid = json_object_get(sp, "unsaid");
    print_list("4 specifics: asked for:", json_object_get(sp, "asked"));
    if (json_is_string(unsaid))
        printf("             the chosen section does not give: %s\n",
               json_string_value(unsaid));
    if (json_is_true(json_object_get(x, "limit_hit")))
        printf("note:        a pattern hit its match limit\n");
    printf("decided by:  %s\n",
           json_string_value(json_object_get(x, "decided_by")));
    printf("reply:       %s (%s, confidence %.2f)\n\n",
           msfaq_kind_name(msfaq_result_kind(r)), msfaq_result_intent(r),
           msfaq_result_confidence(r));
    json_decref(x);
    cli_print_human(r);
}

/* -------------------------------------------------------------- ask */

int cli_answer(msfaq_kb *kb, const char *q, bool json, bool why,
                  msfaq_error *err)
{
    msfaq_result *r;
    int rc = msfaq_ask(kb, q, why ? MSFAQ_ASK_EXPLAIN : 0, &r, err);
    if (rc < 0)
        return rc;
    if (json)
        printf("%s\n", why ? msfaq_result_explain(r) : msfaq_result_json(r));
    else if (why)
        cli_print_explain(r);
    else
        cli_print_human(r);
    msfaq_result_free(r);
    return 0;
}

