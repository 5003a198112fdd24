/*
 * test_normalize.c - what the matcher reads: UTF-8 checks, folding,
 * mentions, contractions, plurals and bounded typo correction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "msfaq_private.h"

static msfaq_kb *kb;

static int setup(void **state)
{
    (void)state;
    kb = msfaq_kb_open(NULL, 0, NULL);
    return kb ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    msfaq_kb_close(kb);
    return 0;
}

static void expect_norm(const char *in, const char *want)
{
    msfaqp_text t;
    assert_int_equal(msfaqp_normalize(kb, in, &t), 0);
    if (strcmp(t.norm, want) != 0)
        fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", in, t.norm,
                 want);
    msfaqp_text_free(&t);
}

static void test_folding(void **state)
{
    (void)state;
    expect_norm("What is CAR-T?", "what is car t");
    expect_norm("  CAR T-cell   therapy!!! ", "car t cell therapy");
    expect_norm("Ocrelizumab\t\tDOSE", "ocrelizumab dose");
    expect_norm("", "");
    expect_norm("?!...", "");
    expect_norm("caf\xc3\xa9 na\xc3\xafve", "cafe naive");
    expect_norm("MS \xf0\x9f\x98\x8a symptoms \xe2\x9c\xa8", "ms symptoms");
}

static void test_mentions(void **state)
{
    (void)state;
    expect_norm("<@U0123ABC> what is a DMT?", "what is a dmt");
    expect_norm("@msfaq: what is a DMT", "what is a dmt");
    expect_norm("hey @msfaq:example.org what is MS", "hey what is ms");
    expect_norm("<!here> hello", "hello");
    expect_norm("mail me at a@b", "mail me at a b");
}

static void test_contractions(void **state)
{
    (void)state;
    expect_norm("What's MS?", "what is ms");
    expect_norm("what\xe2\x80\x99s MS", "what is ms");        /* curly */
    expect_norm("I don't know", "i do not know");
    expect_norm("whats a dmt pls", "what is a dmt please");
    expect_norm("'quoted'", "quoted");
}

static void test_typos(void **state)
{
    (void)state;
    expect_norm("imunotherapy", "immunotherapy");
    expect_norm("immunotheraphy", "immunotherapy");
    expect_norm("sclerossis", "sclerosis");
    expect_norm("sympotms", "symptoms");             /* swap: one edit */
    expect_norm("ocrelizumabb", "ocrelizumab");
    expect_norm("acupunture", "acupuncture");
    expect_norm("sclerosiss", "sclerosis");
    /* a correctly spelt English word is meant as typed, however close to
     * a KB word: "trail" is no "trial", "wallet" no typo */
    expect_norm("clinical trail", "clinical trail");
    expect_norm("i lost my wallet", "i lost my wallet");
    expect_norm("loose vision", "loose vision");
    /* two words run together are split, the right one corrected */
    expect_norm("physicaltherapy", "physical therapy");
    expect_norm("mindbody practices", "mind body practices");
    /* ...but only into words known as they are */
    expect_norm("generally", "generally");
    /* short words and unknown far words are left alone */
    expect_norm("bred", "bred");
    expect_norm("xylophone", "xylophone");
    expect_norm("t3st1ng", "t3st1ng");
}

/* Every word carries its Snowball stem; a common slip also carries the
 * stem of the word it stands for. */
static void test_stems(void **state)
{
    (void)state;
    msfaqp_text t;
    assert_int_equal(msfaqp_normalize(kb, "walking side affects", &t), 0);
    assert_string_equal(t.stems, "walk side affect");
    assert_int_equal(t.n_words, 3);
    assert_int_equal(t.tokens[0].alt, -1);
    assert_true(t.tokens[2].alt >= 0);
    assert_string_equal(kb->confusion_stems[t.tokens[2].alt], "effect");
    msfaqp_text_free(&t);
}

/* Words the KB does not know are not in its stem cache: libstemmer
 * stems them (plugin/stem.c opens it when first needed), and a word it
 * does know is stemmed alike from the cache. */
static void test_stems_beyond_the_kb(void **state)
{
    (void)state;
    static const char *const words[][2] = {
        {"galloping", "gallop"}, {"zebras", "zebra"},
        {"hesitations", "hesit"}, {"walking", "walk"},
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        const char *w = words[i][0];
        if (i < 3 && msfaqp_strmap_get(&kb->stem_of, w, strlen(w)) >= 0)
            fail_msg("\"%s\" is in the KB's stem cache: pick another", w);
        char st[MSFAQP_MAX_WORD];
        size_t n = msfaqp_stem(kb, w, strlen(w), st, sizeof st);
        assert_int_equal(n, strlen(words[i][1]));
        assert_string_equal(st, words[i][1]);
    }
}

static void test_correction_is_reported(void **state)
{
    (void)state;
    msfaqp_text t;
    assert_int_equal(msfaqp_normalize(kb, "imunotherapy side efects", &t),
                     0);
    assert_int_equal(t.n_corrected, 2);
    assert_string_equal(t.corrections,
                        "imunotherapy>immunotherapy|efects>effects");
    assert_string_equal(t.raw_words, "imunotherapy side efects");
    msfaqp_text_free(&t);
}

static void test_damerau(void **state)
{
    (void)state;
    assert_int_equal(msfaqp_damerau("relapse", 7, "relapse", 7, 2), 0);
    assert_int_equal(msfaqp_damerau("relapes", 7, "relapse", 7, 2), 1);
    assert_int_equal(msfaqp_damerau("relaps", 6, "relapse", 7, 2), 1);
    assert_int_equal(msfaqp_damerau("relapse", 7, "collapse", 8, 5), 3);
    /* over budget: max + 1, not the full distance */
    assert_int_equal(msfaqp_damerau("abcdefgh", 8, "zzzzzzzz", 8, 1), 2);
    assert_int_equal(msfaqp_damerau("a", 1, "abcd", 4, 1), 2);
}

static void test_utf8(void **state)
{
    (void)state;
    size_t at;
    assert_int_equal(msfaqp_check_utf8("plain", 5, &at), 0);
    assert_int_equal(msfaqp_check_utf8("\xc3\xa9", 2, &at), 0);
    assert_int_equal(msfaqp_check_utf8("\xf0\x9f\x98\x8a", 4, &at), 0);
    assert_int_equal(msfaqp_check_utf8("ab\xff", 3, &at), -1);
    assert_int_equal(at, 2);
    assert_int_equal(msfaqp_check_utf8("a\xc3", 2, &at), -1);  /* cut */
    assert_int_equal(at, 1);
    assert_int_equal(msfaqp_check_utf8("\xc0\xaf", 2, &at), -1); /* overlong */
    assert_int_equal(msfaqp_check_utf8("\xed\xa0\x80", 3, &at), -1); /* surrogate */
    assert_int_equal(msfaqp_check_utf8("\xf4\x90\x80\x80", 4, &at), -1);
}

/* msfaqp_focus, as a string or NULL */
static char *focus_of(const char *q)
{
    char *f;
    assert_int_equal(msfaqp_focus(q, &f), 0);
    return f;
}

static void expect_focus(const char *q, const char *want)
{
    char *f = focus_of(q);
    if (!want) {
        if (f)
            fail_msg("focus(\"%s\") = \"%s\", want none", q, f);
        return;
    }
    if (!f || strcmp(f, want) != 0)
        fail_msg("focus(\"%s\") = \"%s\", want \"%s\"", q,
                 f ? f : "(none)", want);
    free(f);
}

static void test_focus(void **state)
{
    (void)state;
    expect_focus("My aunt has MS. What is a DMT? Thanks!", "What is a DMT?");
    expect_focus("whats MS? someone at work has it", "whats MS?");
    expect_focus("line one\nwhat is CAR T?", "what is CAR T?");
    expect_focus("What is MS?", NULL);                   /* all questions */
    expect_focus("Is MS genetic? Will my kids get it?", NULL);
    expect_focus("Tell me about DMTs. Thanks.", NULL);   /* none */
    expect_focus("What is v2.0? ...", NULL);             /* one sentence */
    /* a mention in the middle: what follows it was said to the bot */
    expect_focus("ok ok everyone stop spamming memes @bot current strategies?",
                 " current strategies?");
    expect_focus("brb coffee. back. <@U123> is car t being tried yet? lol",
                 "is car t being tried yet?");
    expect_focus("@bot what is a DMT", NULL);            /* opens it */
    expect_focus("thanks @bot", NULL);                   /* ends it */
    expect_focus("mail me at a@b please", NULL);         /* an address */
}

static void test_word_cap(void **state)
{
    (void)state;
    /* 2000 words: only the first MSFAQP_MAX_TOKENS are read */
    char *q = malloc(2000 * 2 + 1);
    for (int i = 0; i < 2000; i++)
        memcpy(q + 2 * i, "a ", 2);
    q[4000] = '\0';
    msfaqp_text t;
    assert_int_equal(msfaqp_normalize(kb, q, &t), 0);
    assert_int_equal(t.n_words, MSFAQP_MAX_TOKENS);
    msfaqp_text_free(&t);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_contractions),
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_stems),
        cmocka_unit_test(test_stems_beyond_the_kb),
        cmocka_unit_test(test_correction_is_reported),
        cmocka_unit_test(test_damerau),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_focus),
        cmocka_unit_test(test_word_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
