/*
 * test_post_send.c - msfaq_post_send() against a local capture server.
 *
 * Each test scripts the server's replies (capture_server.py) and checks
 * what the library did: how many requests, with which headers and body,
 * which result code, what went to the dead-letter file, and that no
 * secret leaked into error text or the file.  Waits are kept short with
 * small backoff settings; nothing asserts on time, only on order and
 * counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "msfaq_post.h"

#define TOKEN "xoxb-TEST-0123456789-SECRETTOKEN"
#define HOOK "/services/T000/B000/SECRETHOOKxyz"

static const char *const fus[] = {"What is CAR T?"};

static msfaq_post_message message(void)
{
    msfaq_post_message m = MSFAQ_POST_MESSAGE_INIT;
    m.question = "what is CAR T?";
    m.kind = MSFAQ_KIND_ANSWER;
    m.intent = "car_t_what";
    m.confidence = 0.65;
    m.answer = "CAR T-cell therapy reprograms immune cells & more.";
    m.section = "Emerging Therapies and Approaches";
    m.follow_ups = fus;
    m.follow_up_count = 1;
    return m;
}

typedef struct opts {
    int target;
    int attempts;         /* 0: 3 */
    long timeout_ms;      /* 0: 5000 */
    long retry_after_max_ms;
    int dead_letter;      /* 1: h->dir/dead-letter.jsonl */
} opts;

static msfaq_poster *open_poster(harness *h, opts o, char *dl, size_t dln)
{
    char url[256];
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = o.target;
    if (o.target == MSFAQ_POST_SLACK_API) {
        snprintf(url, sizeof url, "%s/api/", h->url);
        cfg.token = TOKEN;
    } else {
        snprintf(url, sizeof url, "%s%s", h->url, HOOK);
    }
    cfg.url = url;
    cfg.max_attempts = o.attempts ? o.attempts : 3;
    cfg.timeout_ms = o.timeout_ms ? o.timeout_ms : 5000;
    cfg.backoff_ms = 20;
    cfg.backoff_max_ms = 80;
    cfg.retry_after_max_ms = o.retry_after_max_ms;
    dl[0] = '\0';
    if (o.dead_letter) {
        harness_path(h, "dead-letter.jsonl", dl, dln);
        cfg.dead_letter = dl;
    }
    msfaq_error err;
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    if (!p)
        fail_msg("msfaq_post_open: %s", err.text);
    return p;
}

static void no_secret(const char *s)
{
    assert_null(strstr(s, TOKEN));
    assert_null(strstr(s, "SECRETTOKEN"));
    assert_null(strstr(s, "SECRETHOOK"));
    assert_null(strstr(s, HOOK));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&buf, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *req_header(json_t *req, const char *name)
{
    return json_string_value(json_object_get(json_object_get(req,
                                                             "headers"),
                                             name));
}

/* Runs one send against a fresh server; returns the result code. */
typedef struct run {
    harness h;
    int rc;
    msfaq_error err;
    msfaq_post_receipt rec;
    json_t *reqs;
    char dl[320];
} run;

static void do_run(run *r, const char *script, opts o,
                   const msfaq_post_message *m)
{
    memset(r, 0, sizeof *r);
    if (harness_start(&r->h, script) != 0)
        fail_msg("capture server did not start");
    msfaq_poster *p = open_poster(&r->h, o, r->dl, sizeof r->dl);
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    r->rc = msfaq_post_send(p, m, &rec, &r->err);
    r->rec = rec;
    msfaq_post_close(p);
    r->reqs = harness_requests(&r->h);
    if (r->rc != MSFAQ_OK)
        no_secret(r->err.text);
}

static void end_run(run *r)
{
    json_decref(r->reqs);
    harness_stop(&r->h);
}

/* ------------------------------------------------------------- tests */

static void retry_on_500_then_success(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":500,\"body\":\"rollup_error\"},"
               "{\"status\":502},{\"status\":200,\"body\":\"ok\"}]",
           (opts){MSFAQ_POST_SLACK_WEBHOOK, 4, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 3);
    assert_int_equal(r.rec.http_status, 200);
    assert_int_equal(r.rec.dead_lettered, 0);
    assert_int_equal(json_array_size(r.reqs), 3);
    /* the same request each time, to the webhook path, as JSON */
    json_t *first = json_array_get(r.reqs, 0);
    for (size_t i = 0; i < 3; i++) {
        json_t *q = json_array_get(r.reqs, i);
        assert_string_equal(json_string_value(json_object_get(q, "method")),
                            "POST");
        assert_string_equal(json_string_value(json_object_get(q, "path")),
                            HOOK);
        assert_true(json_equal(json_object_get(q, "body"),
                               json_object_get(first, "body")));
        assert_non_null(strstr(req_header(q, "content-type"),
                               "application/json"));
        assert_null(req_header(q, "authorization"));
    }
    /* one connection, kept alive across the retries */
    for (size_t i = 1; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(r.reqs, i), "peer")),
                         json_integer_value(json_object_get(first, "peer")));
    /* no dead letter for a delivered message */
    struct stat st;
    assert_int_not_equal(stat(r.dl, &st), 0);
    end_run(&r);
}

static void retry_after_is_honoured(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
               "\"body\":\"rate limited\"},{\"status\":200,\"body\":\"ok\"}]",
           (opts){MSFAQ_POST_MATTERMOST, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 2);
    assert_int_equal(json_array_size(r.reqs), 2);
    double t1 = json_real_value(json_object_get(json_array_get(r.reqs, 0),
                                                "t"));
    double t2 = json_real_value(json_object_get(json_array_get(r.reqs, 1),
                                                "t"));
    assert_true(t2 >= t1);   /* order only: no timing assert */
    print_message("429 Retry-After: 1 -> recorded gap %.3f s\n", t2 - t1);
    end_run(&r);
}

/* Retry-After: 3600 with a 50 ms cap still retries (at once): were the cap
 * ignored, ctest's time-out would fail this test. */
static void retry_after_is_capped(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":429,\"headers\":{\"Retry-After\":\"3600\"}},"
               "{\"status\":503,\"headers\":{\"Retry-After\":\"3600\"}},"
               "{\"status\":200}]",
           (opts){MSFAQ_POST_JSON, 3, 0, 50, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 3);
    end_run(&r);
}

static void no_retry_on_4xx(void **state)
{
    (void)state;
    const int codes[] = {400, 403, 404, 410};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        char script[160];
        snprintf(script, sizeof script,
                 "[{\"status\":%d,\"body\":\"channel_not_found\"},"
                 "{\"status\":200}]", codes[i]);
        run r;
        msfaq_post_message m = message();
        do_run(&r, script, (opts){MSFAQ_POST_SLACK_WEBHOOK, 4, 0, 0, 0},
               &m);
        assert_int_equal(r.rc, MSFAQ_POST_EREFUSED);
        assert_int_equal(r.err.code, MSFAQ_POST_EREFUSED);
        assert_int_equal(r.rec.attempts, 1);
        assert_int_equal(r.rec.http_status, codes[i]);
        assert_int_equal(json_array_size(r.reqs), 1);
        char want[32];
        snprintf(want, sizeof want, "HTTP %d", codes[i]);
        assert_non_null(strstr(r.err.text, want));
        assert_non_null(strstr(r.err.text, "channel_not_found"));
        assert_non_null(strstr(r.err.text, "slack-webhook"));
        end_run(&r);
    }
}

static void dead_letter_after_retries(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":500,\"body\":\"oops\"}]",
           (opts){MSFAQ_POST_SLACK_WEBHOOK, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_EUNAVAILABLE);
    assert_int_equal(r.rec.attempts, 3);
    assert_int_equal(r.rec.dead_lettered, 1);
    assert_int_equal(json_array_size(r.reqs), 3);
    assert_non_null(strstr(r.err.text, "after 3 attempts"));

    struct stat st;
    assert_int_equal(stat(r.dl, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = slurp(r.dl);
    assert_non_null(text);
    no_secret(text);
    /* exactly one line, and it is JSON */
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "target")),
                        "slack-webhook");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "http_status")),
                     500);
    assert_non_null(json_string_value(json_object_get(o, "time")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "error")),
                           "HTTP 500"));
    json_t *msg = json_object_get(o, "message");
    assert_string_equal(json_string_value(json_object_get(msg, "answer")),
                        m.answer);
    assert_string_equal(json_string_value(json_object_get(msg, "question")),
                        m.question);
    /* the payload is what was posted, so it can be re-sent as is */
    json_t *sent = json_loads(json_string_value(json_object_get(
                                  json_array_get(r.reqs, 0), "body")),
                              0, &je);
    assert_non_null(sent);
    assert_true(json_equal(json_object_get(o, "payload"), sent));
    json_decref(sent);
    json_decref(o);
    free(text);

    /* a second failure appends a second line */
    run r2;
    memset(&r2, 0, sizeof r2);
    assert_int_equal(harness_start(&r2.h, "[{\"status\":404}]"), 0);
    char url[256];
    snprintf(url, sizeof url, "%s%s", r2.h.url, HOOK);
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_DISCORD;
    cfg.url = url;
    cfg.dead_letter = r.dl;
    msfaq_poster *p = msfaq_post_open(&cfg, NULL);
    assert_non_null(p);
    assert_int_equal(msfaq_post_send(p, &m, NULL, NULL), MSFAQ_POST_EREFUSED);
    msfaq_post_close(p);
    text = slurp(r.dl);
    size_t lines = 0;
    for (char *c = text; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, 2);
    no_secret(text);
    free(text);
    harness_stop(&r2.h);
    end_run(&r);
}

/* The server answers with everything it was sent (URL path, headers with
 * the token): the error text and the dead letter must not repeat it. */
static void secrets_redacted(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    m.channel = "C1";
    do_run(&r, "[{\"status\":400,\"echo\":true}]",
           (opts){MSFAQ_POST_SLACK_API, 2, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_EREFUSED);
    assert_non_null(strstr(r.err.text, "[redacted]"));
    no_secret(r.err.text);
    char *text = slurp(r.dl);
    assert_non_null(text);
    no_secret(text);
    free(text);
    /* the token did reach the server, where it belongs */
    assert_string_equal(req_header(json_array_get(r.reqs, 0),
                                   "authorization"), "Bearer " TOKEN);
    end_run(&r);

    /* a webhook whose reply quotes its own URL */
    do_run(&r, "[{\"status\":404,\"echo\":true}]",
           (opts){MSFAQ_POST_DISCORD, 1, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_EREFUSED);
    no_secret(r.err.text);
    text = slurp(r.dl);
    no_secret(text);
    free(text);
    end_run(&r);

    /* a secret pasted into the question stays out of the dead letter */
    m.question = "is " TOKEN " safe?";
    do_run(&r, "[{\"status\":500}]",
           (opts){MSFAQ_POST_SLACK_API, 1, 0, 0, 1}, &m);
    text = slurp(r.dl);
    assert_non_null(text);
    no_secret(text);
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    assert_non_null(o);   /* still valid JSON after redaction */
    json_decref(o);
    free(text);
    end_run(&r);
}

static void slack_api_ok_true(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    m.channel = "C0123";
    m.thread_ts = "1700000000.000100";
    do_run(&r, "[{\"status\":200,\"body\":{\"ok\":true,\"channel\":\"C0123\","
               "\"ts\":\"1700000001.000200\"}}]",
           (opts){MSFAQ_POST_SLACK_API, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 1);
    assert_string_equal(r.rec.ts, "1700000001.000200");
    assert_string_equal(r.rec.channel, "C0123");
    json_t *q = json_array_get(r.reqs, 0);
    assert_string_equal(json_string_value(json_object_get(q, "path")),
                        "/api/chat.postMessage");
    assert_string_equal(req_header(q, "authorization"), "Bearer " TOKEN);
    assert_string_equal(req_header(q, "content-type"),
                        "application/json; charset=utf-8");
    json_error_t je;
    json_t *body = json_loads(json_string_value(json_object_get(q, "body")),
                              0, &je);
    assert_string_equal(json_string_value(json_object_get(body, "channel")),
                        "C0123");
    assert_string_equal(json_string_value(json_object_get(body,
                                                          "thread_ts")),
                        "1700000000.000100");
    assert_non_null(json_string_value(json_object_get(body, "text")));
    assert_true(json_is_array(json_object_get(body, "blocks")));
    json_decref(body);
    end_run(&r);
}

/* HTTP 200 with "ok": false is a failure, and not retried. */
static void slack_api_ok_false(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    m.channel = "C0123";
    do_run(&r, "[{\"status\":200,\"body\":{\"ok\":false,"
               "\"error\":\"channel_not_found\"}},"
               "{\"status\":200,\"body\":{\"ok\":true}}]",
           (opts){MSFAQ_POST_SLACK_API, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_EREFUSED);
    assert_int_equal(r.rec.attempts, 1);
    assert_int_equal(r.rec.http_status, 200);
    assert_int_equal(r.rec.dead_lettered, 1);
    assert_non_null(strstr(r.err.text, "channel_not_found"));
    end_run(&r);

    /* not JSON at all */
    do_run(&r, "[{\"status\":200,\"body\":\"<html>proxy</html>\"}]",
           (opts){MSFAQ_POST_SLACK_API, 3, 0, 0, 0}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_EPROTOCOL);
    assert_int_equal(r.rec.attempts, 1);
    end_run(&r);
}

/* Slack's 429 (with "ratelimited") and ok:false "ratelimited" retry. */
static void slack_api_ratelimited(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    m.channel = "C0123";
    do_run(&r, "[{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
               "\"body\":{\"ok\":false,\"error\":\"ratelimited\"}},"
               "{\"status\":200,\"body\":{\"ok\":false,"
               "\"error\":\"ratelimited\"}},"
               "{\"status\":200,\"body\":{\"ok\":true,\"ts\":\"1.2\"}}]",
           (opts){MSFAQ_POST_SLACK_API, 4, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 3);
    assert_string_equal(r.rec.ts, "1.2");
    assert_int_equal(json_array_size(r.reqs), 3);
    end_run(&r);
}

/* Discord: ?wait=true, and the float retry_after of its 429 body. */
static void discord_wait_and_retry_after(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":429,\"body\":{\"message\":\"slow down\","
               "\"retry_after\":0.05,\"global\":false}},"
               "{\"status\":204}]",
           (opts){MSFAQ_POST_DISCORD, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 2);
    assert_int_equal(r.rec.http_status, 204);
    json_t *q = json_array_get(r.reqs, 0);
    assert_string_equal(json_string_value(json_object_get(q, "path")),
                        HOOK "?wait=true");
    json_error_t je;
    json_t *body = json_loads(json_string_value(json_object_get(q, "body")),
                              0, &je);
    assert_non_null(json_string_value(json_object_get(body, "content")));
    json_decref(body);
    end_run(&r);
}

/* A reply slower than the total time-out is a time-out, retried, then
 * dead-lettered. */
static void slow_reply_times_out(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"status\":200,\"delay\":3}]",
           (opts){MSFAQ_POST_JSON, 2, 300, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_POST_ETIMEOUT);
    assert_int_equal(r.rec.attempts, 2);
    assert_int_equal(r.rec.http_status, 0);
    assert_int_equal(r.rec.dead_lettered, 1);
    assert_int_equal(json_array_size(r.reqs), 2);
    assert_non_null(strstr(r.err.text, "timed out"));
    end_run(&r);
}

/* A dropped connection is a network error: retried. */
static void dropped_connection(void **state)
{
    (void)state;
    run r;
    msfaq_post_message m = message();
    do_run(&r, "[{\"close\":true},{\"status\":200}]",
           (opts){MSFAQ_POST_JSON, 3, 0, 0, 1}, &m);
    assert_int_equal(r.rc, MSFAQ_OK);
    assert_int_equal(r.rec.attempts, 2);
    end_run(&r);

    do_run(&r, "[{\"close\":true}]", (opts){MSFAQ_POST_JSON, 2, 0, 0, 1},
           &m);
    assert_int_equal(r.rc, MSFAQ_POST_ENETWORK);
    assert_int_equal(r.rec.attempts, 2);
    assert_int_equal(r.rec.dead_lettered, 1);
    end_run(&r);
}

/* Nothing listening: connection refused, retried, then given up. */
static void nothing_listening(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h, "[]"), 0);
    char url[256], dl[320];
    snprintf(url, sizeof url, "%s%s", h.url, HOOK);
    harness_path(&h, "dl.jsonl", dl, sizeof dl);
    harness_stop(&h);   /* the port is closed now; the folder is gone */
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_JSON;
    cfg.url = url;
    cfg.max_attempts = 2;
    cfg.backoff_ms = 10;
    cfg.dead_letter = dl;   /* its folder is gone: cannot be written */
    msfaq_error err;
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    assert_non_null(p);
    msfaq_post_message m = message();
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err),
                     MSFAQ_POST_ENETWORK);
    assert_int_equal(rec.attempts, 2);
    assert_int_equal(rec.dead_lettered, 0);
    assert_non_null(strstr(err.text, "not saved to the dead-letter file"));
    no_secret(err.text);
    msfaq_post_close(p);
}

/* https: a certificate the poster cannot verify is refused at once (no
 * retry, nothing reaches the server); the same certificate given as
 * ca_file is accepted for 127.0.0.1, and still refused for "localhost",
 * a name it does not carry.  Needs the openssl program to make the
 * certificate; skipped without it. */
static void tls_verification_is_on(void **state)
{
    (void)state;
    char dir[] = "/tmp/msfaq-post-tls.XXXXXX", cmd[1024], cert[64], key[64];
    assert_non_null(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
             "-keyout %s -out %s >/dev/null 2>&1", key, cert);
    if (system(cmd) != 0) {
        rmdir(dir);
        skip();
    }
    harness h;
    assert_int_equal(harness_start_tls(&h, "[{\"status\":200}]", cert, key),
                     0);
    assert_int_equal(strncmp(h.url, "https://", 8), 0);
    char url[256];
    snprintf(url, sizeof url, "%s%s", h.url, HOOK);
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_JSON;
    cfg.url = url;
    cfg.max_attempts = 3;
    cfg.backoff_ms = 10;
    msfaq_post_message m = message();
    msfaq_error err;

    /* the system CAs do not know this certificate */
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    assert_non_null(p);
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err),
                     MSFAQ_POST_ENETWORK);
    assert_int_equal(rec.attempts, 1);
    no_secret(err.text);
    print_message("untrusted certificate: %s\n", err.text);
    msfaq_post_close(p);
    json_t *reqs = harness_requests(&h);
    assert_int_equal(json_array_size(reqs), 0);
    json_decref(reqs);

    /* trusted through ca_file */
    cfg.ca_file = cert;
    p = msfaq_post_open(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_OK);
    msfaq_post_close(p);
    reqs = harness_requests(&h);
    assert_int_equal(json_array_size(reqs), 1);
    json_decref(reqs);

    /* trusted, but for another name */
    snprintf(url, sizeof url, "https://localhost:%d%s", h.port, HOOK);
    p = msfaq_post_open(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err),
                     MSFAQ_POST_ENETWORK);
    assert_int_equal(rec.attempts, 1);
    msfaq_post_close(p);
    harness_stop(&h);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

static void bad_configs(void **state)
{
    (void)state;
    msfaq_error err;
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_DISCORD;
    assert_null(msfaq_post_open(&cfg, &err));           /* no URL */
    assert_int_equal(err.code, MSFAQ_EINVAL);
    cfg.url = "ftp://example.invalid" HOOK;
    assert_null(msfaq_post_open(&cfg, &err));
    assert_non_null(strstr(err.text, "https://"));
    no_secret(err.text);
    cfg.url = "https://example.invalid" HOOK "\r\nX: y";
    assert_null(msfaq_post_open(&cfg, &err));
    no_secret(err.text);
    cfg.target = MSFAQ_POST_SLACK_API;
    cfg.url = NULL;
    assert_null(msfaq_post_open(&cfg, &err));            /* no token */
    assert_non_null(strstr(err.text, "token"));
    cfg.token = TOKEN "\nX-Injected: 1";
    assert_null(msfaq_post_open(&cfg, &err));
    no_secret(err.text);
    cfg.token = TOKEN;
    cfg.timeout_ms = -1;
    assert_null(msfaq_post_open(&cfg, &err));
    cfg.timeout_ms = 0;
    cfg.flags = 1;
    assert_null(msfaq_post_open(&cfg, &err));
    cfg.flags = 0;
    cfg.target = 77;
    assert_null(msfaq_post_open(&cfg, &err));
    msfaq_post_config zero;
    memset(&zero, 0, sizeof zero);
    assert_null(msfaq_post_open(&zero, &err));
    assert_non_null(strstr(err.text, "MSFAQ_POST_CONFIG_INIT"));
    assert_null(msfaq_post_open(NULL, NULL));
    /* the default Slack API URL is https and needs no network to open */
    cfg.target = MSFAQ_POST_SLACK_API;
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    assert_non_null(p);
    /* a message without channel fails before anything is sent */
    msfaq_post_message m = message();
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_EINVAL);
    assert_int_equal(rec.attempts, 0);
    msfaq_post_receipt bad;
    memset(&bad, 0, sizeof bad);
    assert_int_equal(msfaq_post_send(p, &m, &bad, &err), MSFAQ_EINVAL);
    assert_int_equal(msfaq_post_send(NULL, &m, NULL, &err), MSFAQ_EINVAL);
    msfaq_post_close(p);
    msfaq_post_close(NULL);
}

int main(void)
{
    /* loopback only, whatever proxy the environment names */
    setenv("NO_PROXY", "*", 1);
    setenv("no_proxy", "*", 1);
    if (msfaq_post_global_init(NULL) != MSFAQ_OK)
        return 1;
#define T(f) cmocka_unit_test_teardown(f, harness_stop_all)
    const struct CMUnitTest tests[] = {
        T(retry_on_500_then_success),
        T(retry_after_is_honoured),
        T(retry_after_is_capped),
        T(no_retry_on_4xx),
        T(dead_letter_after_retries),
        T(secrets_redacted),
        T(slack_api_ok_true),
        T(slack_api_ok_false),
        T(slack_api_ratelimited),
        T(discord_wait_and_retry_after),
        T(slow_reply_times_out),
        T(dropped_connection),
        T(nothing_listening),
        T(tls_verification_is_on),
        T(bad_configs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    msfaq_post_global_cleanup();
    return rc;
}
