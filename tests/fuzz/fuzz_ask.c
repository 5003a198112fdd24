/*
 * fuzz_ask.c - libFuzzer harness: one question through msfaq_ask().
 *
 * The input is the question: any bytes, so invalid UTF-8, and lengths up
 * to and over MSFAQ_MAX_QUESTION (run with -max_len above 4096).  The API
 * takes a NUL-terminated string, so an embedded NUL ends the question
 * there.  The embedded KB is opened once per process.
 *
 * Every question is asked twice, plain and with MSFAQ_ASK_EXPLAIN, and
 * both results go through fuzz_check.h.  Beyond those invariants:
 *   - explain only records why: both calls give the same reply (the JSON
 *     lines are equal once "explain" is taken out);
 *   - no question makes a shipped pattern hit the PCRE2 match limit
 *     (explain's "limit_hit" stays false): a question that did would get a
 *     reply from a half-matched KB.
 */
#include <stdint.h>

#include "fuzz_check.h"

static msfaq_kb *kb;

static void close_kb(void)
{
    msfaq_kb_close(kb);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    msfaq_error err;
    kb = msfaq_kb_open(NULL, 0, &err);
    if (!kb) {
        fprintf(stderr, "fuzz_ask: embedded KB: %s:%d:%d: %s\n", err.file,
                err.line, err.column, err.text);
        abort();
    }
    atexit(close_kb);
    return 0;
}

/* The JSON line of r without its "explain" member. */
static json_t *reply_of(const msfaq_result *r)
{
    json_t *o = json_loads(msfaq_result_json(r), 0, NULL);
    FZ_CHECK(o != NULL, "JSON does not parse");
    json_object_del(o, "explain");
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (!q)
        return 0;
    memcpy(q, data, size);
    q[size] = '\0';

    int rc_plain, rc_why;
    msfaq_result *plain = fz_ask(kb, q, 0, &rc_plain);
    msfaq_result *why = fz_ask(kb, q, MSFAQ_ASK_EXPLAIN, &rc_why);
    FZ_CHECK(rc_plain == rc_why, "rc %d plain, %d with explain", rc_plain,
             rc_why);
    if (plain) {
        json_t *a = reply_of(plain), *b = reply_of(why);
        FZ_CHECK(json_equal(a, b),
                 "explain changed the reply:\n  plain:   %s\n  explain: %s",
                 msfaq_result_json(plain), msfaq_result_json(why));
        json_decref(a);
        json_decref(b);
        FZ_CHECK(!fz_limit_hit(why), "match limit hit on the shipped KB");
    }
    msfaq_result_free(plain);
    msfaq_result_free(why);
    free(q);
    return 0;
}
