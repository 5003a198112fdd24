/*
 * test_prefilter.c - the literal prefilter: a needle is offered only when
 * every match must contain it; otherwise NULL (run the regex).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msfaq_private.h"

static void expect_needle(const char *re, const char *want)
{
    char *got = msfaqp_required_literal(re);
    if ((got == NULL) != (want == NULL) || (got && strcmp(got, want)))
        fail_msg("required_literal(\"%s\") = \"%s\", want \"%s\"", re,
                 got ? got : "(null)", want ? want : "(null)");
    free(got);
}

static void test_needles(void **state)
{
    (void)state;
    expect_needle("\\bwhat (can|do) you (do|know)\\b", "what");
    expect_needle("\\btell me (about|more)\\b", "tell me");
    expect_needle("\\bside effects?\\b", "side effect");   /* s optional */
    expect_needle("\\btrial(?:s|es)?\\b", "trial");
    expect_needle("colou?r", "colo");
    expect_needle("ab{2}cde", "cde");
    expect_needle("x*yyyy", "yyyy");
    expect_needle("^is (this|it) (a |an )?bot\\b", "bot");
    expect_needle("^is (this|it)", NULL);                /* too short */
    expect_needle("[a-z]{3,}mab\\b", "mab");
    expect_needle("[]abc]def", "def");
    /* no guarantee: alternatives, groups only, case, \Q */
    expect_needle("\\bwhat\\b|\\bwho\\b", NULL);
    expect_needle("(?:what|who) is this", "is this");
    expect_needle("(?:what|who)", NULL);
    expect_needle("What is", NULL);
    expect_needle("\\Qa.b\\E", NULL);
    expect_needle("ab", NULL);
}

/* Every needle must really be in every text its regex matches: check on
 * the shipped KB's own example questions. */
static void test_needles_hold_on_the_shipped_kb(void **state)
{
    (void)state;
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, NULL);
    assert_non_null(kb);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int checked = 0;
    for (int i = 0; i < kb->n_intents; i++) {
        const msfaqp_intent *in = &kb->intents[i];
        for (int e = 0; e < in->n_examples; e++) {
            msfaqp_text t;
            assert_int_equal(msfaqp_normalize(kb, in->examples[e], &t), 0);
            for (int c = 0; c < kb->n_concepts; c++) {
                const msfaqp_concept *cp = &kb->concepts[c];
                for (int k = 0; k < cp->n_regexes; k++) {
                    int plain = pcre2_match(cp->regexes[k].code,
                                            (PCRE2_SPTR)t.norm, t.len, 0, 0,
                                            md, NULL);
                    int fast = msfaqp_regex_run(kb, &cp->regexes[k], t.norm,
                                                t.len, md);
                    assert_int_equal(plain >= 0, fast >= 0);
                    checked++;
                }
            }
            msfaqp_text_free(&t);
        }
    }
    assert_true(checked > 1000);
    pcre2_match_data_free(md);
    msfaq_kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needles),
        cmocka_unit_test(test_needles_hold_on_the_shipped_kb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
