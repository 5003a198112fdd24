/*
 * test_pathological.c - hostile questions through the public API.
 *
 * Inputs up to the 4096-byte cap built to stress the normaliser, the typo
 * corrector and the regexes (one letter repeated, brackets, emoji, "car t"
 * repeated, words that rewrite into longer ones, ...), invalid UTF-8, NULs,
 * and input over the cap.  Each valid one must get a well-formed reply and
 * no pattern may hit the PCRE2 match limit (explain's "limit_hit").
 *
 * Then the match limit itself: a KB of our own with catastrophic patterns
 * ("^(a+)+$" for an intent, "^(b|bb)+$" for a concept) must give up on
 * "aaa...ab" quickly, say so in explain ("limit_hit": true), and give a
 * fallback rather than the catastrophic intent's answer.
 *
 * Durations are printed for information only; nothing here asserts on
 * time (a slow CI machine must not fail the suite).
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "msfaq.h"
#include "test_util.h"

static msfaq_kb *kb;        /* the embedded KB, opened once */
static bool quiet;          /* no info line per question */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* n bytes of unit repeated (the last copy cut short, at a UTF-8 boundary
 * when unit is multi-byte), NUL-terminated.  Caller frees. */
static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = unit[i % u];
    size_t end = n;
    /* never end inside a multi-byte character */
    while (end > 0 && ((unsigned char)s[end - 1] & 0x80)) {
        size_t k = end - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        unsigned char lead = (unsigned char)s[k];
        size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (k + len == end)
            break;
        end = k;
    }
    memset(s + end, ' ', n - end);
    s[n] = '\0';
    return s;
}

/* Asks q with explain; checks the reply is well formed and no match limit
 * was hit; returns the kind. */
static int ask_ok(const msfaq_kb *k, const char *label, const char *q)
{
    msfaq_result *r = NULL;
    msfaq_error err;
    double t0 = now_ms();
    int rc = msfaq_ask(k, q, MSFAQ_ASK_EXPLAIN, &r, &err);
    double ms = now_ms() - t0;
    if (rc < 0)
        fail_msg("%s: rc %d: %s", label, rc, err.text);
    assert_non_null(r);
    int kind = msfaq_result_kind(r);
    assert_true(rc == MSFAQ_OK || rc == MSFAQ_NOMATCH);
    assert_true(kind >= MSFAQ_KIND_ANSWER && kind <= MSFAQ_KIND_CLARIFY);
    assert_true((kind == MSFAQ_KIND_ANSWER) ==
                (msfaq_result_section(r) != NULL));
    json_error_t je;
    json_t *o = json_loads(msfaq_result_json(r), JSON_REJECT_DUPLICATES, &je);
    if (!o)
        fail_msg("%s: JSON line does not parse: %s", label, je.text);
    assert_true(json_is_object(o));
    assert_true(json_is_string(json_object_get(o, "kind")));
    assert_true(json_is_string(json_object_get(o, "intent")));
    assert_true(json_is_string(json_object_get(o, "answer")));
    assert_true(json_is_array(json_object_get(o, "follow_ups")));
    json_t *sec = json_object_get(o, "section");
    assert_true(json_is_string(sec) || json_is_null(sec));
    double c = json_number_value(json_object_get(o, "confidence"));
    assert_true(c >= 0.0 && c <= 1.0);
    json_t *why = json_object_get(o, "explain");
    assert_true(json_is_object(why));
    json_t *limit = json_object_get(why, "limit_hit");
    assert_true(json_is_boolean(limit));
    if (json_is_true(limit))
        fail_msg("%s: a shipped pattern hit the PCRE2 match limit", label);
    if (!quiet)
        printf("info: %-28s %5zu bytes  %-9s %-28s %7.2f ms\n", label,
               strlen(q), msfaq_kind_name(kind), msfaq_result_intent(r),
               ms);
    json_decref(o);
    msfaq_result_free(r);
    return kind;
}

static int ask_err(const msfaq_kb *k, const char *q, msfaq_error *err)
{
    msfaq_result *r = (msfaq_result *)&r;
    int rc = msfaq_ask(k, q, MSFAQ_ASK_EXPLAIN, &r, err);
    assert_true(rc < 0);
    assert_null(r);
    assert_int_equal(err->code, rc);
    assert_true(err->text[0] != '\0');
    return rc;
}

/* ------------------------------------------------------------ the cap */

static void test_over_the_cap_is_refused(void **state)
{
    (void)state;
    msfaq_error err;
    char *q = repeat("a", 100 * 1024);
    double t0 = now_ms();
    assert_int_equal(ask_err(kb, q, &err), MSFAQ_ETOOLONG);
    printf("info: 100 KiB of 'a' refused in %.3f ms: %s\n", now_ms() - t0,
           err.text);
    assert_non_null(strstr(err.text, "102400"));
    free(q);
    /* the edge: 4096 bytes are read, 4097 are not */
    q = repeat("a", MSFAQ_MAX_QUESTION + 1);
    assert_int_equal(ask_err(kb, q, &err), MSFAQ_ETOOLONG);
    q[MSFAQ_MAX_QUESTION] = '\0';
    ask_ok(kb, "4096 x 'a' (the cap)", q);
    free(q);
    /* 100 KiB of invalid UTF-8 is refused for its length first */
    q = repeat("\xff", 100 * 1024);
    assert_int_equal(ask_err(kb, q, &err), MSFAQ_ETOOLONG);
    free(q);
}

/* ------------------------------------------------- 4096 hostile bytes */

static void test_4096_bytes_of(void **state)
{
    (void)state;
    static const struct {
        const char *label, *unit;
    } cases[] = {
        {"one letter", "a"},
        {"((((", "("},
        {"))))", ")"},
        {"ms ms ms", "ms "},
        {"car t car t", "car t "},
        {"CAR-T CAR-T", "CAR-T "},
        {"emoji", "\xf0\x9f\x98\x80"},
        {"emoji + joiners", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x94\xac"},
        {"a, space", "a "},
        {"nested brackets", "([{<"},
        {"closing brackets", ">}])"},
        {"long word", "abcdefghijklmnopqrstuvwxyz"},
        {"many short words", "x y "},
        {"digits", "0123456789 "},
        {"punctuation", "?!.,;:'\"-_/\\|*&^%$#"},
        {"apostrophes", "what's "},
        {"rewrites that grow", "pls whats "},
        {"typos to correct", "imunotherapy sideefects "},
        {"9-letter typos", "interfron ocrelizumb natalizmab "},
        {"mentions", "<@U123> "},
        {"at-names", "@bot:server.org "},
        {"accents", "\xc3\xa9\xc3\xa0\xc3\xbc "},
        {"latin-1 letters", "\xc3\x80\xc3\x98\xc3\x9f\xc3\xbf"},
        {"fullwidth", "\xef\xbc\xa3\xef\xbc\xa1\xef\xbc\xb2 "},
        {"control characters", "\x01\x02\x03\x1b[31m\x7f\t\r"},
        {"newlines", "what is ms?\n"},
        {"question sentences", "What is CAR T? "},
        {"safety words", "stop dose pregnant "},
        {"emergency + answer", "suddenly blind what is a DMT "},
        {"stars and braces", "{car_t}* \\b(?:"},
        {"zero-width space", "ms\xe2\x80\x8b"},
        {"combining accents", "e\xcc\x81"},
        {"right-to-left", "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 "},
        {"max code point", "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *q = repeat(cases[i].unit, MSFAQ_MAX_QUESTION);
        ask_ok(kb, cases[i].label, q);
        free(q);
    }
}

/* Every byte value that can stand alone in UTF-8, 4096 bytes of
 * pseudo-random valid UTF-8, and each one-byte and two-byte question. */
static void test_any_bytes(void **state)
{
    (void)state;
    char q[MSFAQ_MAX_QUESTION + 1];
    quiet = true;
    for (int b = 1; b < 0x80; b++) {
        memset(q, b, 64);
        q[64] = '\0';
        ask_ok(kb, "64 x one ASCII byte", q);
        q[1] = '\0';
        ask_ok(kb, "one ASCII byte", q);
    }
    quiet = false;
    uint32_t x = 2463534242u;               /* xorshift: same every run */
    for (int round = 0; round < 8; round++) {
        size_t n = 0;
        while (n < MSFAQ_MAX_QUESTION - 4) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            uint32_t cp = x % 5 == 0 ? x % 0x110000 : x % 0x80;
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                cp = ' ';
            if (cp < 0x80) {
                q[n++] = (char)cp;
            } else if (cp < 0x800) {
                q[n++] = (char)(0xC0 | cp >> 6);
                q[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                q[n++] = (char)(0xE0 | cp >> 12);
                q[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                q[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                q[n++] = (char)(0xF0 | cp >> 18);
                q[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                q[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                q[n++] = (char)(0x80 | (cp & 0x3F));
            }
        }
        q[n] = '\0';
        ask_ok(kb, "random valid UTF-8", q);
    }
}

/* ------------------------------------------------------ invalid UTF-8 */

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\x80",                     /* lone continuation byte */
        "\xbf",
        "\xc0\xaf",                 /* overlong '/' */
        "\xc1\xbf",
        "\xe0\x80\xaf",             /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf",         /* overlong, 4 bytes */
        "\xed\xa0\x80",             /* surrogate U+D800 */
        "\xed\xbf\xbf",             /* surrogate U+DFFF */
        "\xf4\x90\x80\x80",         /* U+110000 */
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",     /* 5-byte form */
        "\xfe", "\xff",
        "\xc3",                     /* truncated at the end */
        "\xe2\x82",
        "\xf0\x9f\x98",
        "\xc3\x28",                 /* bad continuation */
        "\xe2\x28\xa1",
        "\xf0\x28\x8c\x28",
    };
    msfaq_error err;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char q[128];
        snprintf(q, sizeof q, "what is %s car t", bad[i]);
        assert_int_equal(ask_err(kb, q, &err), MSFAQ_EUTF8);
        assert_int_equal(err.offset, 8);        /* where the bad byte is */
        snprintf(q, sizeof q, "%s", bad[i]);
        assert_int_equal(ask_err(kb, q, &err), MSFAQ_EUTF8);
        assert_int_equal(err.offset, 0);
    }
    /* the bad byte last, at the cap */
    char *q = repeat("a", MSFAQ_MAX_QUESTION);
    q[MSFAQ_MAX_QUESTION - 1] = '\xc3';
    assert_int_equal(ask_err(kb, q, &err), MSFAQ_EUTF8);
    assert_int_equal(err.offset, MSFAQ_MAX_QUESTION - 1);
    free(q);
}

/* ---------------------------------------------------------------- NULs */

/* A C string ends at its first NUL: what follows is never read, so the
 * reply is the reply to the part before it. */
static void test_embedded_nul(void **state)
{
    (void)state;
    static const char buf[] = "what is CAR-T?\0\xff\xfe invalid, and "
                              "should I stop my interferon?";
    msfaq_result *a, *b;
    assert_true(msfaq_ask(kb, buf, 0, &a, NULL) >= 0);
    assert_true(msfaq_ask(kb, "what is CAR-T?", 0, &b, NULL) >= 0);
    assert_string_equal(msfaq_result_json(a), msfaq_result_json(b));
    assert_int_equal(msfaq_result_kind(a), MSFAQ_KIND_ANSWER);
    msfaq_result_free(a);
    msfaq_result_free(b);
    /* a NUL first: the empty question, which gets a fallback */
    static const char first[] = "\0what is CAR-T?";
    assert_int_equal(ask_ok(kb, "NUL first", first), MSFAQ_KIND_FALLBACK);
}

/* ------------------------------------------------- the match limit */

static char kbdir[256];

static json_t *load(const char *file)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", kbdir, file);
    json_error_t je;
    json_t *o = json_load_file(p, 0, &je);
    if (!o)
        fail_msg("%s: %s", p, je.text);
    return o;
}

static void save(const char *file, json_t *o)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", kbdir, file);
    assert_int_equal(json_dump_file(o, p, JSON_INDENT(1)), 0);
    json_decref(o);
}

/* tests/kb/base plus two answers reached only through catastrophic
 * regexes: an intent pattern, and a concept pattern an intent needs.  A
 * run of a's or b's is made a word of the domain, so that the gate lets
 * such questions through to the patterns. */
static int make_catastrophic_kb(void **state)
{
    (void)state;
    if (tu_base_kb(kbdir, sizeof kbdir))
        return -1;
    json_t *c = load("patterns/concepts.json");
    json_object_set_new(json_object_get(c, "concepts"), "bees",
                        json_pack("{s:s,s:[s]}", "description",
                                  "catastrophic concept", "patterns",
                                  "^(b|bb)+$"));
    json_object_set_new(json_object_get(c, "concepts"), "letters",
                        json_pack("{s:s,s:s,s:[s]}", "description",
                                  "runs of a or b: the domain here", "role",
                                  "anchor", "patterns", "^[ab ]+$"));
    save("patterns/concepts.json", c);
    json_t *i = load("patterns/intents.json");
    json_t *list = json_object_get(i, "intents");
    json_array_append_new(list, json_pack(
        "{s:s,s:s,s:s,s:[s]}", "id", "evil", "kind", "answer",
        "description", "catastrophic intent pattern", "patterns",
        "^(a+)+$"));
    json_array_append_new(list, json_pack(
        "{s:s,s:s,s:s,s:s,s:[s]}", "id", "evil_concept", "kind", "answer",
        "description", "catastrophic concept", "response", "evil", "all",
        "bees"));
    save("patterns/intents.json", i);
    json_t *a = load("responses/answers.json");
    json_object_set_new(json_object_get(a, "responses"), "evil",
                        json_pack("{s:s,s:s,s:s}", "title", "evil", "text",
                                  "It tastes grassy.", "section",
                                  "Green Tea"));
    save("responses/answers.json", a);
    return 0;
}

static int remove_catastrophic_kb(void **state)
{
    (void)state;
    tu_remove_tree(kbdir);
    return 0;
}

/* Asks q on k with explain; returns limit_hit; *kind the reply kind. */
static bool limit_hit(const msfaq_kb *k, const char *label, const char *q,
                      int *kind, const char **intent_out)
{
    msfaq_result *r;
    msfaq_error err;
    double t0 = now_ms();
    int rc = msfaq_ask(k, q, MSFAQ_ASK_EXPLAIN, &r, &err);
    double ms = now_ms() - t0;
    if (rc < 0)
        fail_msg("%s: rc %d: %s", label, rc, err.text);
    json_t *why = json_loads(msfaq_result_explain(r), 0, NULL);
    assert_non_null(why);
    bool hit = json_is_true(json_object_get(why, "limit_hit"));
    *kind = msfaq_result_kind(r);
    static char intent[64];
    snprintf(intent, sizeof intent, "%s", msfaq_result_intent(r));
    *intent_out = intent;
    printf("info: %-34s %5zu bytes  %-9s %-12s limit_hit=%d %7.2f ms\n",
           label, strlen(q), msfaq_kind_name(*kind), intent, hit, ms);
    json_decref(why);
    msfaq_result_free(r);
    return hit;
}

static void test_match_limit(void **state)
{
    (void)state;
    msfaq_error err;
    msfaq_kb *k = msfaq_kb_open(kbdir, 0, &err);
    if (!k)
        fail_msg("%s:%d:%d: %s", err.file, err.line, err.column, err.text);
    int kind;
    const char *intent;

    /* the patterns work: a short matching question reaches them */
    assert_false(limit_hit(k, "aaaa (matches)", "aaaa", &kind, &intent));
    assert_int_equal(kind, MSFAQ_KIND_ANSWER);
    assert_string_equal(intent, "evil");
    assert_false(limit_hit(k, "bbbb (matches)", "bbbb", &kind, &intent));
    assert_string_equal(intent, "evil_concept");

    /* exponential backtracking: stopped by the limit, no answer */
    static const size_t lengths[] = {30, 100, 1000, MSFAQ_MAX_QUESTION};
    for (size_t n = 0; n < sizeof lengths / sizeof *lengths; n++) {
        char label[64];
        char *q = repeat("a", lengths[n]);
        q[lengths[n] - 1] = 'b';
        snprintf(label, sizeof label, "%zu x 'a' then 'b' (intent)",
                 lengths[n] - 1);
        assert_true(limit_hit(k, label, q, &kind, &intent));
        assert_int_not_equal(kind, MSFAQ_KIND_ANSWER);
        memset(q, 'b', lengths[n]);
        q[lengths[n] - 1] = 'c';
        snprintf(label, sizeof label, "%zu x 'b' then 'c' (concept)",
                 lengths[n] - 1);
        assert_true(limit_hit(k, label, q, &kind, &intent));
        assert_int_not_equal(kind, MSFAQ_KIND_ANSWER);
        free(q);
    }
    /* without explain the same question gets the same fallback */
    char *q = repeat("a", 200);
    q[199] = 'b';
    msfaq_result *r;
    assert_int_equal(msfaq_ask(k, q, 0, &r, &err), MSFAQ_NOMATCH);
    assert_int_equal(msfaq_result_kind(r), MSFAQ_KIND_FALLBACK);
    msfaq_result_free(r);
    free(q);
    msfaq_kb_close(k);
}

/* ------------------------------------------------------------------ */

static int open_kb(void **state)
{
    (void)state;
    msfaq_error err;
    kb = msfaq_kb_open(NULL, 0, &err);
    return kb ? 0 : -1;
}

static int close_kb(void **state)
{
    (void)state;
    msfaq_kb_close(kb);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest embedded[] = {
        cmocka_unit_test(test_over_the_cap_is_refused),
        cmocka_unit_test(test_4096_bytes_of),
        cmocka_unit_test(test_any_bytes),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_embedded_nul),
    };
    const struct CMUnitTest limit[] = {
        cmocka_unit_test_setup_teardown(test_match_limit,
                                        make_catastrophic_kb,
                                        remove_catastrophic_kb),
    };
    int failed = cmocka_run_group_tests_name("pathological", embedded,
                                             open_kb, close_kb);
    failed += cmocka_run_group_tests_name("match_limit", limit, NULL, NULL);
    return failed ? 1 : 0;
}
