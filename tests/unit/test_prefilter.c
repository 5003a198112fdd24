/*
 * test_prefilter.c - what a regex needs (prefilter.c) and the literal
 * index that finds it (literals.c): a clause is offered only when every
 * match must hold one of its literals, and on the shipped KB the prefilter
 * never skips a regex that would have matched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msfaq_private.h"

/* The needs of a regex as text: clauses joined by " & ", a clause's
 * literals by "|" in the order found. */
static int collect(void *ud, int clause, const char *const *lits, int n)
{
    char *out = ud;
    if (clause)
        strcat(out, " & ");
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, "|");
        strcat(out, lits[i]);
    }
    return 0;
}

static void expect_need(const char *re, const char *want)
{
    char got[4096] = "";
    assert_int_equal(msfaqp_need_of(re, collect, got), 0);
    if (strcmp(got, want))
        fail_msg("need_of(\"%s\") = \"%s\", want \"%s\"", re, got, want);
}

static void test_needs(void **state)
{
    (void)state;
    expect_need("\\bwhat (can|do) you (do|know)\\b",
                "what & can|do & you & do|know");
    expect_need("\\btell me (about|more)\\b", "tell me & about|more");
    expect_need("\\bside effects?\\b", "side effect");   /* s optional */
    expect_need("\\btrial(?:s|es)?\\b", "trial");
    expect_need("colou?r", "colo");
    expect_need("ab+cd", "ab & cd");
    expect_need("x*yyyy", "yyyy");
    expect_need("^is (this|it) (a |an )?bot\\b", "is & this|it & bot");
    expect_need("[a-z]{3,}mab\\b", "mab");
    expect_need("[]abc]def", "def");
    expect_need("\\bwhat\\b|\\bwho\\b", "what|who");
    expect_need("(?:what|who) is this", "what|who & is this");
    /* optional groups, negative looks and lookbehinds add nothing; a
     * positive lookahead adds its own needs */
    expect_need("stop(?: taking)?", "stop");
    expect_need("(?:taking )*stop", "stop");
    expect_need("(?:a|b)", "");                       /* too short */
    expect_need("(?<!how )should(?! not)", "should");
    expect_need("^(?=.*\\bfever\\b)(?=.*\\bafter\\b)", "fever & after");
    /* a branch with no needs: no clause for the alternation */
    expect_need("\\b(?:stop|\\w+) now", "now");
    expect_need("\\b(?:stop|\\w+ing) now", "stop|ing & now");
    /* uppercase under a caseless pattern, \Q: nothing is promised */
    expect_need("What is", "hat is");
    expect_need("\\Qa.b\\E", "");
    expect_need("ab", "ab");
    expect_need("a", "");
    expect_need(")stray", "");
}

/* The prefilter never changes a match: on the shipped KB's example and
 * negative questions, every concept regex and intent pattern that would
 * match has its needs met. */
static void test_needs_hold_on_the_shipped_kb(void **state)
{
    (void)state;
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, NULL);
    assert_non_null(kb);
    assert_true(kb->lits.n > 100);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    size_t bytes = (size_t)kb->lits.n_clauses / 8 + 1;
    unsigned char *met = malloc(bytes);
    int checked = 0, skipped = 0, matched = 0;
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        for (int e = 0; e < in->n_examples + in->n_negatives; e++) {
            const char *q = e < in->n_examples
                                ? in->examples[e]
                                : in->negatives[e - in->n_examples];
            msfaqp_text t;
            assert_int_equal(msfaqp_normalize(kb, q, &t), 0);
            memset(met, 0, bytes);
            msfaqp_lits_scan(&kb->lits, t.norm, t.len, met, NULL, NULL);
            for (int c = 0; c < kb->n_concepts + kb->n_intents; c++) {
                bool concept = c < kb->n_concepts;
                int n = concept ? kb->concepts[c].n_regexes
                                : kb->intents[c - kb->n_concepts].n_patterns;
                for (int k = 0; k < n; k++) {
                    const msfaqp_regex *r =
                        concept ? &kb->concepts[c].regexes[k]
                                : &kb->intents[c - kb->n_concepts]
                                       .patterns[k].re;
                    if (!concept &&
                        kb->intents[c - kb->n_concepts].patterns[k].alias >= 0)
                        continue;       /* an alias: no regex */
                    assert_true(msfaqp_regex_ready(kb, r));  /* made lazily */
                    bool hit = pcre2_match(r->code, (PCRE2_SPTR)t.norm,
                                           t.len, 0, 0, md, NULL) >= 0;
                    bool may = msfaqp_need_met(r, met);
                    if (hit && !may)
                        fail_msg("prefilter skips a match: %s on \"%s\"",
                                 concept ? kb->concepts[c].name
                                         : kb->intents[c - kb->n_concepts].id,
                                 t.norm);
                    checked++;
                    skipped += !may;
                    matched += hit;
                }
            }
            msfaqp_text_free(&t);
        }
    }
    /* it must also be worth having: most regexes are skipped */
    printf("checked %d regex runs: %d matched, %d skipped by the prefilter\n",
           checked, matched, skipped);
    assert_true(checked > 10000);
    assert_true(skipped > checked / 2);
    free(met);
    pcre2_match_data_free(md);
    msfaq_kb_close(kb);
}

/* The automaton finds overlapping literals and literals inside others,
 * and marks the clauses they meet. */
static void test_scan(void **state)
{
    (void)state;
    msfaqp_lits l;
    memset(&l, 0, sizeof l);
    const char *words[] = {"he", "she", "hers", "his", "side effect",
                           "effect", "ms", "ms 1"};
    for (int i = 0; i < 8; i++)      /* one clause each: ids 0..7 */
        assert_int_equal(msfaqp_lits_clause(&l, &words[i], 1), i);
    const char *pair[] = {"his", "ms 1"}, *same[] = {"ms 1", "his"};
    assert_int_equal(msfaqp_lits_clause(&l, pair, 2), 8);
    assert_int_equal(msfaqp_lits_clause(&l, same, 2), 8);  /* shared */
    assert_int_equal(l.n, 8);                              /* literals */
    assert_int_equal(msfaqp_lits_build(&l), 0);
    unsigned char met[2] = {0};
    const char *text = "ushers side effects of ms";
    msfaqp_lits_scan(&l, text, strlen(text), met, NULL, NULL);
    /* he, she, hers, side effect, effect, ms; not his, "ms 1", nor 8 */
    assert_int_equal(met[0], 0x01 | 0x02 | 0x04 | 0x10 | 0x20 | 0x40);
    assert_int_equal(met[1], 0);
    memset(met, 0, sizeof met);
    msfaqp_lits_scan(&l, "this ms 1", 9, met, NULL, NULL);
    assert_int_equal(met[0], 0x08 | 0x40 | 0x80);          /* his ms ms 1 */
    assert_int_equal(met[1], 0x01);                        /* clause 8 */
    msfaqp_lits_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_needs_hold_on_the_shipped_kb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
