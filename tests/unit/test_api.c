/*
 * test_api.c - the public contract: versions, error texts, accessors on
 * NULL, the JSON line, results that outlive their KB, and many threads
 * asking one KB at once (run under ThreadSanitizer by scripts/test.sh).
 */
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msfaq.h"

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(msfaq_version(), MSFAQ_VERSION_STRING);
    assert_int_equal(msfaq_version_hex(), MSFAQ_VERSION_HEX);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", MSFAQ_VERSION_MAJOR,
             MSFAQ_VERSION_MINOR, MSFAQ_VERSION_PATCH);
    assert_string_equal(v, MSFAQ_VERSION_STRING);
}

static void test_strerror_and_kinds(void **state)
{
    (void)state;
    for (int c = MSFAQ_EIMAGE; c <= MSFAQ_NOMATCH; c++) {
        assert_non_null(msfaq_strerror(c));
        assert_string_not_equal(msfaq_strerror(c), "unknown error");
    }
    assert_string_equal(msfaq_strerror(-999), "unknown error");
    assert_string_equal(msfaq_kind_name(MSFAQ_KIND_ANSWER), "answer");
    assert_string_equal(msfaq_kind_name(MSFAQ_KIND_CLARIFY), "clarify");
    assert_string_equal(msfaq_kind_name(42), "unknown");
}

static void test_null_is_safe(void **state)
{
    (void)state;
    msfaq_result_free(NULL);
    msfaq_kb_close(NULL);
    assert_int_equal(msfaq_result_kind(NULL), -1);
    assert_null(msfaq_result_answer(NULL));
    assert_null(msfaq_result_json(NULL));
    assert_null(msfaq_result_follow_up(NULL, 0));
    assert_int_equal(msfaq_result_follow_up_count(NULL), 0);
    assert_int_equal(msfaq_kb_intent_count(NULL), 0);
    assert_int_equal(msfaq_kb_lint(NULL, NULL, NULL), MSFAQ_EINVAL);
}

static void test_json_line_and_lifetime(void **state)
{
    (void)state;
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, NULL);
    assert_non_null(kb);
    msfaq_result *r;
    assert_int_equal(msfaq_ask(kb, "What are DMTs?", 0, &r, NULL), MSFAQ_OK);
    msfaq_kb_close(kb);           /* the result stays valid */
    json_error_t je;
    json_t *o = json_loads(msfaq_result_json(r), 0, &je);
    assert_non_null(o);
    assert_null(strchr(msfaq_result_json(r), '\n'));
    assert_string_equal(json_string_value(json_object_get(o, "kind")),
                        "answer");
    assert_string_equal(json_string_value(json_object_get(o, "intent")),
                        msfaq_result_intent(r));
    assert_string_equal(json_string_value(json_object_get(o, "section")),
                        "Supporting Treatments and Disease-Modifying "
                        "Therapies");
    assert_string_equal(json_string_value(json_object_get(o, "answer")),
                        msfaq_result_answer(r));
    assert_true(json_is_real(json_object_get(o, "confidence")));
    json_t *fu = json_object_get(o, "follow_ups");
    assert_int_equal(json_array_size(fu), msfaq_result_follow_up_count(r));
    assert_null(json_object_get(o, "explain"));
    json_decref(o);
    msfaq_result_free(r);
}

/* ---- threads: every thread must get exactly the single-thread reply */
static const char *const questions[] = {
    "what is car t", "should I stop my DMT?", "hello", "what is MS",
    "how much does it cost", "who wrote this", "sympotms of ms",
    "is there a cure", "", "weather today?"};
#define NQ (sizeof questions / sizeof questions[0])
static char *expected[NQ];
static msfaq_kb *shared;

static void *worker(void *arg)
{
    size_t start = (size_t)arg;
    for (int round = 0; round < 50; round++) {
        for (size_t k = 0; k < NQ; k++) {
            size_t i = (start + k) % NQ;
            msfaq_result *r;
            if (msfaq_ask(shared, questions[i], 0, &r, NULL) < 0)
                return (void *)1;
            int same = !strcmp(msfaq_result_json(r), expected[i]);
            msfaq_result_free(r);
            if (!same)
                return (void *)1;
        }
    }
    return NULL;
}

static void test_threads_share_one_kb(void **state)
{
    (void)state;
    shared = msfaq_kb_open(NULL, 0, NULL);
    assert_non_null(shared);
    for (size_t i = 0; i < NQ; i++) {
        msfaq_result *r;
        assert_true(msfaq_ask(shared, questions[i], 0, &r, NULL) >= 0);
        expected[i] = strdup(msfaq_result_json(r));
        msfaq_result_free(r);
    }
    pthread_t t[8];
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
    for (size_t i = 0; i < 8; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    for (size_t i = 0; i < NQ; i++)
        free(expected[i]);
    msfaq_kb_close(shared);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_strerror_and_kinds),
        cmocka_unit_test(test_null_is_safe),
        cmocka_unit_test(test_json_line_and_lifetime),
        cmocka_unit_test(test_threads_share_one_kb),
    };
    const struct CMUnitTest threads[] = {
        cmocka_unit_test(test_threads_share_one_kb),
    };
    if (argc > 1 && !strcmp(argv[1], "--threads"))
        return cmocka_run_group_tests(threads, NULL, NULL);
    return cmocka_run_group_tests(all, NULL, NULL);
}
