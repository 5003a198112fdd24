/*
 * fuzz_check.h - the invariants every msfaq_ask() call must keep, shared by
 * the libFuzzer harnesses.  A broken invariant prints what broke and
 * aborts, which libFuzzer reports as a crash and saves as an artifact.
 *
 * Checked here, independently of the library's own code:
 *   - the return code: OK/NOMATCH with a result, or a negative code with
 *     *out NULL and err filled (code, a message); ETOOLONG exactly when
 *     the question is over MSFAQ_MAX_QUESTION bytes, EUTF8 exactly when it
 *     is not valid UTF-8 (our own strict decoder below);
 *   - msfaq_result_json() parses (jansson) as an object holding kind,
 *     intent, confidence in [0, 1], section, answer and follow_ups, and
 *     agrees with the accessors; "explain" is there exactly when asked for;
 *   - an answer names a section; any other kind has none; NOMATCH exactly
 *     for fallback and clarify.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq.h"

/* Where a broken invariant is told: stderr, unless a harness whose code
 * under test writes a lot there (fuzz_http: a log line per request) is
 * run with -close_fd_mask=2 and points this at a copy of stderr, made
 * unbuffered, in LLVMFuzzerInitialize (which runs before the close). */
static FILE *fz_report;

#define FZ_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond)) {                                                       \
            FILE *fz_out_ = fz_report ? fz_report : stderr;                  \
            fprintf(fz_out_, "%s:%d: invariant broken: %s: ", __FILE__,      \
                    __LINE__, #cond);                                        \
            fprintf(fz_out_, __VA_ARGS__);                                   \
            fputc('\n', fz_out_);                                            \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
 * above U+10FFFF.  Written apart from the library's checker on purpose. */
static inline bool fz_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;   /* range of the 2nd byte */
        if (c <= 0x7F) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c == 0xE0) {
            len = 3, lo = 0xA0;
        } else if (c == 0xED) {
            len = 3, hi = 0x9F;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            len = 3;
        } else if (c == 0xF0) {
            len = 4, lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            len = 4;
        } else if (c == 0xF4) {
            len = 4, hi = 0x8F;
        } else {
            return false;
        }
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static inline bool fz_is_error_code(int rc)
{
    return rc <= MSFAQ_EINVAL && rc >= MSFAQ_EIMAGE;
}

/* An msfaq_error after a failure: the code returned, and a message. */
static inline void fz_check_error(int rc, const msfaq_error *err)
{
    FZ_CHECK(fz_is_error_code(rc), "unknown error code %d", rc);
    FZ_CHECK(err->code == rc, "err.code %d, returned %d", err->code, rc);
    FZ_CHECK(memchr(err->text, '\0', sizeof err->text) != NULL,
             "err.text not NUL-terminated");
    FZ_CHECK(memchr(err->file, '\0', sizeof err->file) != NULL,
             "err.file not NUL-terminated");
    FZ_CHECK(err->text[0] != '\0', "empty message for code %d", rc);
    FZ_CHECK(err->line == -1 || err->line >= 1, "line %d", err->line);
    FZ_CHECK(err->column == -1 || err->column >= 1, "column %d",
             err->column);
}

static inline const char *fz_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    FZ_CHECK(json_is_string(v), "\"%s\" is not a string", key);
    return json_string_value(v);
}

/* One successful result, r, of a question asked with flags. */
static inline void fz_check_result(int rc, const msfaq_result *r,
                                   unsigned flags)
{
    FZ_CHECK(rc == MSFAQ_OK || rc == MSFAQ_NOMATCH, "rc %d", rc);
    FZ_CHECK(r != NULL, "success without a result");
    int kind = msfaq_result_kind(r);
    FZ_CHECK(kind >= MSFAQ_KIND_ANSWER && kind <= MSFAQ_KIND_CLARIFY,
             "kind %d", kind);
    FZ_CHECK((rc == MSFAQ_NOMATCH) == (kind == MSFAQ_KIND_FALLBACK ||
                                       kind == MSFAQ_KIND_CLARIFY),
             "rc %d for kind %s", rc, msfaq_kind_name(kind));
    const char *section = msfaq_result_section(r);
    FZ_CHECK((kind == MSFAQ_KIND_ANSWER) == (section != NULL),
             "kind %s with section %s", msfaq_kind_name(kind),
             section ? section : "(null)");
    FZ_CHECK(msfaq_result_intent(r) != NULL, "NULL intent");
    const char *answer = msfaq_result_answer(r);
    FZ_CHECK(answer && answer[0], "empty answer");
    double conf = msfaq_result_confidence(r);
    FZ_CHECK(conf >= 0.0 && conf <= 1.0, "confidence %g", conf);
    size_t n_fu = msfaq_result_follow_up_count(r);
    for (size_t i = 0; i < n_fu; i++)
        FZ_CHECK(msfaq_result_follow_up(r, i) != NULL, "follow-up %zu", i);
    FZ_CHECK(msfaq_result_follow_up(r, n_fu) == NULL,
             "follow-up past the end is not NULL");

    const char *line = msfaq_result_json(r);
    FZ_CHECK(line != NULL, "NULL JSON");
    FZ_CHECK(strchr(line, '\n') == NULL, "JSON spans lines");
    json_error_t je;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    FZ_CHECK(o != NULL, "JSON does not parse: %s at %d: %.200s", je.text,
             je.position, line);
    FZ_CHECK(json_is_object(o), "JSON is not an object");
    FZ_CHECK(strcmp(fz_str(o, "kind"), msfaq_kind_name(kind)) == 0,
             "JSON kind %s", fz_str(o, "kind"));
    FZ_CHECK(strcmp(fz_str(o, "intent"), msfaq_result_intent(r)) == 0,
             "JSON intent differs");
    json_t *c = json_object_get(o, "confidence");
    FZ_CHECK(json_is_number(c), "confidence is not a number");
    double jc = json_number_value(c);
    FZ_CHECK(jc >= 0.0 && jc <= 1.0 && fabs(jc - conf) <= 0.00005 + 1e-12,
             "JSON confidence %g, accessor %g (written as %%.4f)", jc,
             conf);
    json_t *s = json_object_get(o, "section");
    if (section)
        FZ_CHECK(json_is_string(s) &&
                     strcmp(json_string_value(s), section) == 0,
                 "JSON section differs");
    else
        FZ_CHECK(json_is_null(s), "JSON section is not null");
    FZ_CHECK(strcmp(fz_str(o, "answer"), answer) == 0, "JSON answer");
    json_t *fu = json_object_get(o, "follow_ups");
    FZ_CHECK(json_is_array(fu) && json_array_size(fu) == n_fu,
             "follow_ups is not an array of %zu", n_fu);
    for (size_t i = 0; i < n_fu; i++)
        FZ_CHECK(json_is_string(json_array_get(fu, i)) &&
                     strcmp(json_string_value(json_array_get(fu, i)),
                            msfaq_result_follow_up(r, i)) == 0,
                 "follow_ups[%zu] differs", i);

    json_t *ex = json_object_get(o, "explain");
    const char *why = msfaq_result_explain(r);
    if (flags & MSFAQ_ASK_EXPLAIN) {
        FZ_CHECK(json_is_object(ex), "no \"explain\" object in the JSON");
        FZ_CHECK(why != NULL, "explain asked for but NULL");
        json_t *w = json_loads(why, JSON_REJECT_DUPLICATES, &je);
        FZ_CHECK(json_is_object(w), "explain is not a JSON object: %s",
                 je.text);
        FZ_CHECK(json_is_boolean(json_object_get(w, "limit_hit")),
                 "explain has no limit_hit");
        FZ_CHECK(json_equal(w, ex), "explain accessor and JSON differ");
        json_decref(w);
    } else {
        FZ_CHECK(ex == NULL && why == NULL, "explain not asked for");
    }
    json_decref(o);
}

/* explain's "limit_hit" of a result asked with MSFAQ_ASK_EXPLAIN. */
static inline bool fz_limit_hit(const msfaq_result *r)
{
    json_t *w = json_loads(msfaq_result_explain(r), 0, NULL);
    bool hit = json_is_true(json_object_get(w, "limit_hit"));
    json_decref(w);
    return hit;
}

/*
 * Asks q (NUL-terminated) with flags and checks everything above.  Returns
 * the result (the caller frees it) or NULL when the library refused q.
 */
static inline msfaq_result *fz_ask(const msfaq_kb *kb, const char *q,
                                   unsigned flags, int *rc_out)
{
    msfaq_result *r = (msfaq_result *)&r;     /* must be set to NULL */
    msfaq_error err;
    memset(&err, 0x5a, sizeof err);           /* must be overwritten */
    int rc = msfaq_ask(kb, q, flags, &r, &err);
    size_t len = strlen(q);
    if (rc_out)
        *rc_out = rc;
    if (len > MSFAQ_MAX_QUESTION)
        FZ_CHECK(rc == MSFAQ_ETOOLONG, "%zu bytes gave rc %d", len, rc);
    else if (!fz_valid_utf8((const unsigned char *)q, len))
        FZ_CHECK(rc == MSFAQ_EUTF8, "invalid UTF-8 gave rc %d", rc);
    else
        FZ_CHECK(rc >= 0, "rc %d (%s) for valid input", rc, err.text);
    if (rc < 0) {
        FZ_CHECK(r == NULL, "error %d left *out set", rc);
        fz_check_error(rc, &err);
        return NULL;
    }
    fz_check_result(rc, r, flags);
    return r;
}

#endif /* FUZZ_CHECK_H */
