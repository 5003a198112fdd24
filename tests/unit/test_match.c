/*
 * test_match.c - routing on the shipped KB and on the tiny tea KB:
 * safety outranks everything, out-of-scope outranks answers, ties ask
 * back, weak evidence falls back with suggestions, and every answer cites
 * an article heading and carries the not-medical-advice line.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "msfaq.h"
#include "test_util.h"

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

static msfaq_result *ask(const msfaq_kb *k, const char *q, unsigned flags)
{
    msfaq_result *r = NULL;
    msfaq_error err;
    int rc = msfaq_ask(k, q, flags, &r, &err);
    if (rc < 0)
        fail_msg("ask(\"%s\"): %s", q, err.text);
    return r;
}

static void expect(const char *q, int kind, const char *intent)
{
    msfaq_result *r = ask(kb, q, 0);
    if (msfaq_result_kind(r) != kind ||
        (intent && strcmp(msfaq_result_intent(r), intent) != 0))
        fail_msg("\"%s\": got %s/%s, want %s/%s", q,
                 msfaq_kind_name(msfaq_result_kind(r)),
                 msfaq_result_intent(r), msfaq_kind_name(kind),
                 intent ? intent : "*");
    msfaq_result_free(r);
}

static void test_safety_outranks_answers(void **state)
{
    (void)state;
    /* each also names an article subject that would otherwise answer */
    expect("Should I stop my ocrelizumab because of side effects?",
           MSFAQ_KIND_SAFETY, "safety_decision");
    expect("is CAR T right for me", MSFAQ_KIND_SAFETY, "safety_decision");
    expect("can my daughter skip her interferon shot",
           MSFAQ_KIND_SAFETY, "safety_decision");
    expect("pregnant and on a DMT, is that ok?", MSFAQ_KIND_SAFETY,
           "safety_pregnancy");
    expect("I suddenly can't see out of my right eye",
           MSFAQ_KIND_SAFETY, "emergency_loss");
    /* an emergency outranks a treatment decision */
    expect("suddenly lost my vision, should I stop my DMT?",
           MSFAQ_KIND_SAFETY, "emergency_loss");
    expect("I want to kill myself", MSFAQ_KIND_SAFETY,
           "emergency_self_harm");
}

static void test_out_of_scope_outranks_answers(void **state)
{
    (void)state;
    expect("Is CAR T used for leukemia?", MSFAQ_KIND_FALLBACK,
           "uncovered_other_disease");
    expect("how much does ocrelizumab cost", MSFAQ_KIND_FALLBACK,
           "uncovered_cost");
    expect("what is natalizumab", MSFAQ_KIND_FALLBACK,
           "uncovered_other_drug");
    /* a drug-like name the KB has never seen */
    expect("what is zorbalizumab", MSFAQ_KIND_FALLBACK,
           "uncovered_other_drug");
    expect("how do doctors diagnose MS", MSFAQ_KIND_FALLBACK,
           "uncovered_diagnosis");
}

static void test_answers(void **state)
{
    (void)state;
    expect("what is car-t", MSFAQ_KIND_ANSWER, "car_t_what");
    expect("@msfaq are there trials of CAR T cells?", MSFAQ_KIND_ANSWER,
           "car_t_trials");
    expect("WHO WROTE THIS ARTICLE", MSFAQ_KIND_ANSWER, "author");
    expect("what are the sources", MSFAQ_KIND_ANSWER, "sources");
    expect("does acupunture help ms", MSFAQ_KIND_ANSWER,
           "alternative_therapies");
}

static void test_question_sentences_decide(void **state)
{
    (void)state;
    /* context must not outweigh the question... */
    expect("My aunt was diagnosed last month. What is a DMT?",
           MSFAQ_KIND_ANSWER, "dmt_what");
    expect("Someone at work has MS. What are its symptoms?",
           MSFAQ_KIND_ANSWER, "ms_symptoms");
    /* ...but safety hears every sentence */
    expect("I'm pregnant. What is CAR T?", MSFAQ_KIND_SAFETY,
           "safety_pregnancy");
    expect("I want to stop my interferon. What are DMTs?",
           MSFAQ_KIND_SAFETY, "safety_decision");
    /* and a question that says nothing alone leans on its context */
    expect("My neighbour mentioned CAR T for MS. What actually is it?",
           MSFAQ_KIND_ANSWER, "car_t_what");
}

static void test_smalltalk_and_fallback(void **state)
{
    (void)state;
    expect("hello!", MSFAQ_KIND_SMALLTALK, "greeting");
    expect("thanks a lot", MSFAQ_KIND_SMALLTALK, "thanks");
    expect("are you a doctor?", MSFAQ_KIND_SMALLTALK, "identity");
    expect("what's the capital of France", MSFAQ_KIND_FALLBACK, "");
    expect("", MSFAQ_KIND_FALLBACK, "");
    expect("   \t ", MSFAQ_KIND_FALLBACK, "");
    expect("\xf0\x9f\x98\x8a\xf0\x9f\x98\x8a", MSFAQ_KIND_FALLBACK, "");
}

static void test_every_answer_cites_and_disclaims(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "what is MS", "what are the goals of immunotherapy",
        "what are checkpoint therapies", "what is a DMT",
        "does physical therapy help", "can immunotherapy cure ms",
        "why learn about immunotherapy", "what is this article about"};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        msfaq_result *r = ask(kb, qs[i], 0);
        assert_int_equal(msfaq_result_kind(r), MSFAQ_KIND_ANSWER);
        assert_non_null(msfaq_result_section(r));
        assert_non_null(strstr(msfaq_result_answer(r),
                               "not medical advice"));
        assert_true(msfaq_result_confidence(r) >= 0.5 &&
                    msfaq_result_confidence(r) <= 1.0);
        assert_true(msfaq_result_follow_up_count(r) > 0);
        msfaq_result_free(r);
    }
}

static void test_fallback_suggests_topics(void **state)
{
    (void)state;
    /* "the brain and spinal cord" is of the domain but asks nothing an
     * intent answers: the reply falls back and suggests the closest topic,
     * by its canonical question */
    msfaq_result *r = ask(kb, "the brain and spinal cord", 0);
    assert_int_equal(msfaq_result_kind(r), MSFAQ_KIND_FALLBACK);
    assert_null(msfaq_result_section(r));
    assert_true(msfaq_result_follow_up_count(r) >= 1);
    assert_string_equal(msfaq_result_follow_up(r, 0), "What is MS?");
    msfaq_result_free(r);
}

static void test_tie_asks_back(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(tu_base_kb(dir, sizeof dir), 0);
    msfaq_kb *tea = msfaq_kb_open(dir, 0, NULL);
    assert_non_null(tea);
    msfaq_result *r = ask(tea, "green or black tea: which taste is nicer?",
                          0);
    assert_int_equal(msfaq_result_kind(r), MSFAQ_KIND_CLARIFY);
    assert_string_equal(msfaq_result_answer(r),
                        "Which one? 1) green tea  2) black tea");
    assert_int_equal(msfaq_result_follow_up_count(r), 2);
    assert_string_equal(msfaq_result_follow_up(r, 0),
                        "how does green tea taste");
    assert_string_equal(msfaq_result_follow_up(r, 1),
                        "what flavour is assam");
    msfaq_result_free(r);
    /* a veto ("none") removes an intent; a pattern adds its weight */
    r = ask(tea, "what is green tea", 0);
    assert_int_equal(msfaq_result_kind(r), MSFAQ_KIND_FALLBACK);
    msfaq_result_free(r);
    r = ask(tea, "what is tea", MSFAQ_ASK_EXPLAIN);
    assert_string_equal(msfaq_result_intent(r), "tea_what");
    assert_float_equal(msfaq_result_confidence(r), 1 - 0.35355339, 1e-6);
    msfaq_result_free(r);
    msfaq_kb_close(tea);
    tu_remove_tree(dir);
}

static void test_explain(void **state)
{
    (void)state;
    msfaq_result *r = ask(kb, "What are CAR-T sideefects?", 0);
    assert_null(msfaq_result_explain(r));
    msfaq_result_free(r);
    r = ask(kb, "imunotherapy goals", MSFAQ_ASK_EXPLAIN);
    json_error_t je;
    json_t *x = json_loads(msfaq_result_explain(r), 0, &je);
    assert_non_null(x);
    assert_string_equal(json_string_value(json_object_get(x, "normalized")),
                        "immunotherapy goals");
    json_t *fix = json_array_get(json_object_get(x, "corrected"), 0);
    assert_string_equal(json_string_value(json_object_get(fix, "from")),
                        "imunotherapy");
    assert_string_equal(json_string_value(json_object_get(x, "chosen")),
                        "goals");
    json_t *top = json_object_get(x, "top");
    assert_true(json_array_size(top) >= 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(top, 0), "intent")), "goals");
    assert_true(json_is_real(json_object_get(x, "margin")));
    int found = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(x, "concepts"), i, c)
        found += !strcmp(json_string_value(c), "immunotherapy") ||
                 !strcmp(json_string_value(c), "goals");
    assert_int_equal(found, 2);
    /* the result JSON carries the same record */
    json_t *whole = json_loads(msfaq_result_json(r), 0, &je);
    assert_true(json_equal(json_object_get(whole, "explain"), x));
    json_decref(whole);
    json_decref(x);
    msfaq_result_free(r);
}

/* The screen reads a report, not a fact question or a machine: a symptom
 * of the asker's with an ask or a sudden onset, a function lost in any
 * word order, a treatment and an interacting item anywhere in a personal
 * message; explain names the lexicons that fired. */
static void test_screen_reads_reports(void **state)
{
    (void)state;
    expect("woke up and my leg wont move at all, happened overnight",
           MSFAQ_KIND_SAFETY, "emergency_loss");
    expect("vision a bit blurry in one eye for days, should i worry",
           MSFAQ_KIND_SAFETY, "safety_symptom_ask");
    /* told as a long-standing loss, beside another question: context */
    expect("my husband can't read screens well anymore, how does car t "
           "differ from antibody drugs?", MSFAQ_KIND_ANSWER,
           "car_t_vs_antibody");
    expect("had a glass of wine and then took my ms pill, am i ok",
           MSFAQ_KIND_SAFETY, NULL);
    expect("ok to skip my infusion next week?", MSFAQ_KIND_SAFETY,
           "safety_decision");
    expect("i think i should stop my dmt", MSFAQ_KIND_SAFETY,
           "safety_decision");
    expect("ive started giving my things away to friends",
           MSFAQ_KIND_SAFETY, "emergency_self_harm");
    /* a question of fact, a machine, a compound: no referral */
    expect("can ms cause sudden vision loss?", MSFAQ_KIND_ANSWER, NULL);
    expect("my car's steering went really stiff out of nowhere",
           MSFAQ_KIND_FALLBACK, NULL);
    expect("how do i stop my injection moulding machine leaving marks",
           MSFAQ_KIND_FALLBACK, NULL);
    expect("my dad keeps falling for phone scams", MSFAQ_KIND_FALLBACK,
           NULL);
    msfaq_result *r = ask(kb, "my husband collapsed and can't move his arm",
                          MSFAQ_ASK_EXPLAIN);
    json_t *x = json_loads(msfaq_result_explain(r), 0, NULL);
    json_t *screen = json_object_get(x, "screen");
    assert_true(json_is_true(json_object_get(screen, "fired")));
    assert_string_equal(json_string_value(json_object_get(screen, "rule")),
                        "emergency_fall");
    int lexicons = 0;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(screen, "lexicons"), i, c)
        lexicons += !strcmp(json_string_value(c), "fall") ||
                    !strcmp(json_string_value(c), "lost_function");
    assert_int_equal(lexicons, 2);
    json_decref(x);
    msfaq_result_free(r);
}

/* The gate knows every word a concept's patterns cover, even when a term
 * found the concept first; a small-talk phrase spanning an anchor does
 * not hide it. */
static void test_gate_sees_every_word(void **state)
{
    (void)state;
    expect("which sources did the author cite", MSFAQ_KIND_ANSWER,
           "sources");
    expect("can u explain ms to someone who's never heard of it",
           MSFAQ_KIND_ANSWER, "ms_what");
    expect("are you a neurologist", MSFAQ_KIND_SMALLTALK, "identity");
    expect("can you help me find the bug in the source code of my app",
           MSFAQ_KIND_FALLBACK, NULL);
}

/* Words: a first sound spelt by ear is corrected; a fact the article does
 * not give (the antigen a trial targets) is said to be missing. */
static void test_words_and_specifics(void **state)
{
    (void)state;
    expect("fysiotherapy for ms good or not?", MSFAQ_KIND_ANSWER,
           "physical_therapy");
    expect("what antigen do the CAR T cells target in the trials?",
           MSFAQ_KIND_FALLBACK, "unsaid_target");
    expect("what does car t target", MSFAQ_KIND_ANSWER, "car_t_what");
    expect("rewiring your own blood cells to fight MS - is that a thing?",
           MSFAQ_KIND_ANSWER, "car_t_what");
}

static void test_input_limits(void **state)
{
    (void)state;
    msfaq_result *r = (msfaq_result *)1;
    msfaq_error err;
    char *big = malloc(MSFAQ_MAX_QUESTION + 2);
    memset(big, 'a', MSFAQ_MAX_QUESTION + 1);
    big[MSFAQ_MAX_QUESTION + 1] = '\0';
    assert_int_equal(msfaq_ask(kb, big, 0, &r, &err), MSFAQ_ETOOLONG);
    assert_null(r);
    assert_int_equal(err.code, MSFAQ_ETOOLONG);
    big[MSFAQ_MAX_QUESTION] = '\0';                /* exactly the cap */
    assert_true(msfaq_ask(kb, big, 0, &r, &err) >= 0);
    msfaq_result_free(r);
    free(big);
    assert_int_equal(msfaq_ask(kb, "what is \xff MS", 0, &r, &err),
                     MSFAQ_EUTF8);
    assert_int_equal(err.offset, 8);
    assert_int_equal(msfaq_ask(NULL, "q", 0, &r, &err), MSFAQ_EINVAL);
    assert_int_equal(msfaq_ask(kb, NULL, 0, &r, &err), MSFAQ_EINVAL);
    assert_int_equal(msfaq_ask(kb, "q", 0, NULL, &err), MSFAQ_EINVAL);
    assert_int_equal(msfaq_ask(kb, "q", 0x80, &r, NULL), MSFAQ_EINVAL);
}

static void test_pathological_input_stays_bounded(void **state)
{
    (void)state;
    /* nested brackets, long runs and many words: answered, never a
     * runaway match (limits are set; a hit would show in explain) */
    char *q = malloc(MSFAQ_MAX_QUESTION + 1);
    const char *fills[] = {"(", "a", "ms ", "car t ", "i ", "\xf0\x9f\x98\x8a"};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
        size_t n = strlen(fills[f]), len = 0;
        while (len + n <= MSFAQ_MAX_QUESTION) {
            memcpy(q + len, fills[f], n);
            len += n;
        }
        q[len] = '\0';
        msfaq_result *r = ask(kb, q, MSFAQ_ASK_EXPLAIN);
        json_t *x = json_loads(msfaq_result_explain(r), 0, NULL);
        assert_false(json_is_true(json_object_get(x, "limit_hit")));
        json_decref(x);
        msfaq_result_free(r);
    }
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_safety_outranks_answers),
        cmocka_unit_test(test_out_of_scope_outranks_answers),
        cmocka_unit_test(test_answers),
        cmocka_unit_test(test_question_sentences_decide),
        cmocka_unit_test(test_smalltalk_and_fallback),
        cmocka_unit_test(test_every_answer_cites_and_disclaims),
        cmocka_unit_test(test_fallback_suggests_topics),
        cmocka_unit_test(test_tie_asks_back),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_screen_reads_reports),
        cmocka_unit_test(test_gate_sees_every_word),
        cmocka_unit_test(test_words_and_specifics),
        cmocka_unit_test(test_input_limits),
        cmocka_unit_test(test_pathological_input_stays_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
