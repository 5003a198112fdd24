/*
 * test_serve_state.c - --state URLs (serve_state_url_parse): what each
 * part becomes, the defaults, and the errors, which name the place by
 * its byte offset and never quote the URL (it might hold a password);
 * and a Redis state opened on nothing listening: down, with a reason,
 * and a submit refused at once (UNAVAILABLE), not hung.
 *
 * Redis itself is driven by test_serve_replicas.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve.h"

static serve_state_url parse_ok(const char *url)
{
    serve_state_url u;
    char err[256] = "";
    if (serve_state_url_parse(url, &u, err, sizeof err) != 0)
        fail_msg("%s: %s", url, err);
    return u;
}

static void test_urls(void **state)
{
    (void)state;
    serve_state_url u = parse_ok("redis://cache.internal:6380/2");
    assert_string_equal(u.host, "cache.internal");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.path, "");

    u = parse_ok("redis://");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(u.timeout_ms, 1000);
    assert_int_equal(u.claim_ttl_s, 86400);
    assert_int_equal(u.claim_after_ms, 30000);
    assert_int_equal(u.max_jobs, 10000);

    u = parse_ok("redis://[::1]:7000/1");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 1);

    u = parse_ok("redis://redis");
    assert_string_equal(u.host, "redis");
    assert_int_equal(u.port, 6379);

    u = parse_ok("redis+unix:///run/redis/redis.sock?db=3");
    assert_string_equal(u.path, "/run/redis/redis.sock");
    assert_string_equal(u.host, "");
    assert_int_equal(u.db, 3);

    u = parse_ok("redis://h/0?claim_after_ms=2000&timeout_ms=500&"
                 "max_jobs=5&claim_ttl_s=600");
    assert_int_equal(u.claim_after_ms, 2000);
    assert_int_equal(u.timeout_ms, 500);
    assert_int_equal(u.max_jobs, 5);
    assert_int_equal(u.claim_ttl_s, 600);
}

static void bad(const char *url, const char *want)
{
    serve_state_url u;
    char err[256] = "";
    if (serve_state_url_parse(url, &u, err, sizeof err) == 0)
        fail_msg("%s: accepted", url);
    if (!strstr(err, want))
        fail_msg("%s: %s (wanted \"%s\")", url, err, want);
    if (strncmp(err, "--state: at byte ", 17))
        fail_msg("%s: %s (no place)", url, err);
}

static void test_bad_urls(void **state)
{
    (void)state;
    bad("http://x", "at byte 0: expected redis://");
    bad("rediss://x", "TLS");
    bad("redis://:hunter2@h", "at byte 8: a user or password");
    bad("redis://u:hunter2@h:1/0", "MSFAQ_REDIS_PASSWORD");
    bad("redis://h:99999", "at byte 10: expected a port number");
    bad("redis://h:", "at byte 10: expected a port number");
    bad("redis://h:x1", "at byte 10");
    bad("redis://h/x", "at byte 10: expected a database number");
    bad("redis://[::1", "needs its closing ']'");
    bad("redis://[::1]x", "expected ':' and a port after ']'");
    bad("redis://h?foo=1", "at byte 10: unknown option");
    bad("redis://h?db", "at byte 10: expected NAME=VALUE");
    bad("redis://h?timeout_ms=5", "at byte 21: timeout_ms takes 10 to");
    bad("redis://h?max_jobs=0", "max_jobs takes 1 to");
    bad("redis://h?db=-1", "db= takes a database number");
    bad("redis+unix://relative.sock", "at byte 13: expected an absolute");
    bad("redis+unix://", "expected an absolute socket path");
    bad("redis://h /0", "at byte 9: white space");

    /* the password never shows in the message */
    serve_state_url u;
    char err[256];
    assert_int_equal(serve_state_url_parse("redis://me:hunter2@h", &u, err,
                                           sizeof err), -1);
    assert_null(strstr(err, "hunter2"));
}

static void test_redis_down(void **state)
{
    (void)state;
    serve_metrics m;
    serve_metrics_init(&m);
    char err[256], why[300];
    /* port 1 on 127.0.0.1: nothing listens, refused at once */
    serve_state *st = serve_state_open("redis://127.0.0.1:1/0?timeout_ms="
                                       "200", "pw-never-shown", &m, err,
                                       sizeof err);
    assert_non_null(st);
    assert_true(serve_state_shared(st));
    assert_string_equal(serve_state_where(st), "redis 127.0.0.1:1 db 0");
    assert_false(serve_state_up(st, why, sizeof why));
    assert_non_null(strstr(why, "redis 127.0.0.1:1 db 0: connect: "));
    assert_null(strstr(why, "pw-never-shown"));
    assert_int_equal(atomic_load(&m.state_up), 0);
    assert_true(atomic_load(&m.state_errors) >= 1);

    serve_queue_config qc = {.name = "test", .state = st,
                             .spool_name = "test"};
    serve_queue *q = serve_queue_open(&qc, err, sizeof err);
    assert_non_null(q);
    serve_queue_key k;
    serve_queue_key_of(&k, "id", "1", NULL);
    assert_int_equal(serve_queue_submit(q, &k, 1, json_pack("{s:i}", "n",
                                                            1)),
                     SERVE_QUEUE_UNAVAILABLE);
    assert_int_equal(serve_queue_remembered(q), (size_t)-1);
    serve_queue_stop(q);
    serve_state_close(st);

    assert_null(serve_state_open("redis://h:0", NULL, &m, err, sizeof err));
    assert_non_null(strstr(err, "--state: at byte 10"));

    /* no --state: the local store, always up */
    st = serve_state_open(NULL, NULL, &m, err, sizeof err);
    assert_non_null(st);
    assert_false(serve_state_shared(st));
    assert_true(serve_state_up(st, why, sizeof why));
    serve_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_redis_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
