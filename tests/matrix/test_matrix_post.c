/*
 * test_matrix_post.c - libmsfaq-post's Matrix target without a homeserver:
 * the m.notice content (plain and escaped HTML, rich reply, mentions,
 * threads), transaction ids, how replies are judged (retry_after_ms,
 * errcode), and sends against tests/post/capture_server.py: PUT to the
 * room's send URL with the same transaction id on every retry, the event
 * ID in the receipt, dead letters, no token in any text, and an old
 * program's smaller receipt left alone.  The real homeserver is in
 * test_matrix.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "msfaq_post.h"
#include "post_private.h"

#define TOKEN "syt_ZmFxYm90_SECRETMATRIXTOKEN_0a1b2c"
#define ROOM "!room:hs.example"
#define EVENT "$q1_AbC:hs.example"

static const char *const fus[] = {"What is a DMT?", "Side effects?"};

static msfaq_post_message message(void)
{
    msfaq_post_message m = MSFAQ_POST_MESSAGE_INIT;
    m.question = "what is <CAR T>?";
    m.kind = MSFAQ_KIND_ANSWER;
    m.intent = "car_t_what";
    m.confidence = 0.65;
    m.answer = "CAR T & \"more\" isn't <b>bold</b>.\n\nSecond part\nline.";
    m.section = "Emerging <Therapies>";
    m.follow_ups = fus;
    m.follow_up_count = 2;
    m.channel = ROOM;
    m.reply_to = EVENT;
    m.reply_sender = "@alice:hs.example";
    return m;
}

static json_t *format(const msfaq_post_message *m)
{
    msfaq_error err;
    char *s = msfaq_post_format(MSFAQ_POST_MATRIX, m, &err);
    if (!s)
        fail_msg("msfaq_post_format: %s", err.text);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    assert_non_null(o);
    msfaq_post_free(s);
    return o;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* ------------------------------------------------------------ format */

static void reply_content(void **state)
{
    (void)state;
    msfaq_post_message m = message();
    json_t *o = format(&m);
    assert_string_equal(str(o, "msgtype"), "m.notice");
    assert_string_equal(str(o, "format"), "org.matrix.custom.html");
    /* a reply: the question is shown by the client, not repeated */
    assert_string_equal(str(o, "body"),
        "CAR T & \"more\" isn't <b>bold</b>.\n\nSecond part\nline."
        "\n\nArticle section: Emerging <Therapies>"
        "\n\nYou could also ask:\n- What is a DMT?\n- Side effects?");
    assert_string_equal(str(o, "formatted_body"),
        "<p>CAR T &amp; &quot;more&quot; isn&#39;t &lt;b&gt;bold&lt;/b&gt;."
        "</p><p>Second part<br>line.</p>"
        "<p><em>Article section: Emerging &lt;Therapies&gt;</em></p>"
        "<p>You could also ask:</p><ul><li>What is a DMT?</li>"
        "<li>Side effects?</li></ul>");
    json_t *want = json_pack("{s:{s:s}}", "m.in_reply_to", "event_id",
                             EVENT);
    assert_true(json_equal(json_object_get(o, "m.relates_to"), want));
    json_decref(want);
    want = json_pack("{s:[s]}", "user_ids", "@alice:hs.example");
    assert_true(json_equal(json_object_get(o, "m.mentions"), want));
    json_decref(want);
    assert_int_equal(json_object_size(o), 6);
    json_decref(o);
}

static void lone_message_and_thread(void **state)
{
    (void)state;
    msfaq_post_message m = message();
    m.reply_to = NULL;
    m.reply_sender = NULL;
    m.section = NULL;
    m.follow_up_count = 0;
    m.answer = "  Only this.\n";
    json_t *o = format(&m);
    assert_string_equal(str(o, "body"),
                        "Question: what is <CAR T>?\n\n  Only this.\n");
    assert_string_equal(str(o, "formatted_body"),
                        "<p><strong>Question:</strong> what is &lt;CAR T&gt;?"
                        "</p><p>Only this.</p>");
    assert_null(json_object_get(o, "m.relates_to"));
    /* always present, so no legacy push rule reads the text */
    assert_true(json_is_object(json_object_get(o, "m.mentions")));
    assert_int_equal(json_object_size(json_object_get(o, "m.mentions")), 0);
    json_decref(o);

    m = message();
    m.thread_ts = "$root:hs.example";
    o = format(&m);
    json_t *want = json_pack("{s:s,s:s,s:b,s:{s:s}}", "rel_type", "m.thread",
                             "event_id", "$root:hs.example",
                             "is_falling_back", 0, "m.in_reply_to",
                             "event_id", EVENT);
    assert_true(json_equal(json_object_get(o, "m.relates_to"), want));
    json_decref(want);
    json_decref(o);
}

static void transaction_ids(void **state)
{
    (void)state;
    char t[MSFAQP_POST_TXN_SIZE];
    msfaqp_post_matrix_txn_for("$q1_AbC:hs.example", t);
    assert_string_equal(t, "msfaq.r._24q1_5FAbC_3Ahs.example");
    assert_true(msfaqp_post_matrix_txn_ok(t));
    /* different events, different ids ("_" itself is escaped) */
    char u[MSFAQP_POST_TXN_SIZE];
    msfaqp_post_matrix_txn_for("$q1_5FAbC:hs.example", u);
    assert_string_not_equal(t, u);
    char big[300];
    memset(big, 0xE2, 255);
    big[255] = '\0';
    msfaqp_post_matrix_txn_for(big, u);
    assert_int_equal(strlen(u), 8 + 3 * 255);
    msfaqp_post_matrix_txn_new(t, sizeof t);
    msfaqp_post_matrix_txn_new(u, sizeof u);
    assert_string_not_equal(t, u);
    assert_true(!strncmp(t, "msfaq.n.", 8));
    assert_true(msfaqp_post_matrix_txn_ok(t));
    assert_false(msfaqp_post_matrix_txn_ok("a/b"));
    assert_false(msfaqp_post_matrix_txn_ok(""));

    /* a given txn_id must be URL-safe; reply_to at most 255 bytes */
    msfaq_post_message m = message();
    m.txn_id = "no spaces";
    msfaq_error err;
    assert_null(msfaq_post_format(MSFAQ_POST_MATRIX, &m, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    m = message();
    memset(big, 'a', 256);
    big[0] = '$';
    big[256] = '\0';
    m.reply_to = big;
    assert_null(msfaq_post_format(MSFAQ_POST_MATRIX, &m, &err));
}

static void reply_judging(void **state)
{
    (void)state;
    msfaqp_post_reply r;
    memset(&r, 0, sizeof r);
    r.status = 429;
    r.body = "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too Many\","
             "\"retry_after_ms\":1500}";
    r.len = strlen(r.body);
    r.retry_after_s = 30;
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.verdict, MSFAQP_POST_RETRY);
    assert_int_equal(r.retry_after_ms, 1500);   /* the finer one wins */
    assert_non_null(strstr(r.detail, "M_LIMIT_EXCEEDED"));
    /* without the body field: the Retry-After header */
    memset(&r, 0, sizeof r);
    r.status = 429;
    r.body = "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"x\"}";
    r.len = strlen(r.body);
    r.retry_after_s = 2;
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.retry_after_ms, 2000);
    memset(&r, 0, sizeof r);
    r.status = 403;
    r.body = "{\"errcode\":\"M_FORBIDDEN\",\"error\":\"not in room\"}";
    r.len = strlen(r.body);
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.verdict, MSFAQP_POST_REFUSED);
    assert_string_equal(r.detail, "HTTP 403 M_FORBIDDEN: not in room");
    memset(&r, 0, sizeof r);
    r.status = 502;
    r.body = "<html>bad gateway</html>";
    r.len = strlen(r.body);
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.verdict, MSFAQP_POST_RETRY);
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.body = "{\"event_id\":\"$new\"}";
    r.len = strlen(r.body);
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.verdict, MSFAQP_POST_DELIVERED);
    assert_string_equal(r.event_id, "$new");
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.body = "{}";
    r.len = 2;
    msfaqp_post_check_matrix(&r);
    assert_int_equal(r.verdict, MSFAQP_POST_PROTOCOL);
}

/* -------------------------------------------------------------- send */

static msfaq_poster *open_matrix(const harness *h, const char *dl)
{
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    char url[200];
    snprintf(url, sizeof url, "%s/", h->url);   /* a final / is fine */
    cfg.target = MSFAQ_POST_MATRIX;
    cfg.url = url;
    cfg.token = TOKEN;
    cfg.dead_letter = dl;
    cfg.max_attempts = 4;
    cfg.backoff_ms = 10;
    cfg.backoff_max_ms = 40;
    cfg.retry_after_max_ms = 200;
    msfaq_error err;
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    if (!p)
        fail_msg("msfaq_post_open: %s", err.text);
    return p;
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

static void retries_keep_the_transaction(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h,
        "[{\"status\":429,\"body\":{\"errcode\":\"M_LIMIT_EXCEEDED\","
        "\"error\":\"slow down\",\"retry_after_ms\":20}},"
        "{\"status\":500,\"body\":{\"errcode\":\"M_UNKNOWN\",\"error\":"
        "\"x\"}},"
        "{\"status\":200,\"body\":{\"event_id\":\"$posted:hs\"}}]"), 0);
    msfaq_poster *p = open_matrix(&h, NULL);
    msfaq_post_message m = message();
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    msfaq_error err;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_OK);
    assert_int_equal(rec.attempts, 3);
    assert_int_equal(rec.http_status, 200);
    assert_string_equal(rec.event_id, "$posted:hs");
    assert_string_equal(rec.txn_id, "msfaq.r._24q1_5FAbC_3Ahs.example");
    json_t *reqs = harness_requests(&h);
    assert_int_equal(json_array_size(reqs), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *q = json_array_get(reqs, i);
        assert_string_equal(str(q, "method"), "PUT");
        assert_string_equal(str(q, "path"),
                            "/_matrix/client/v3/rooms/%21room%3Ahs.example"
                            "/send/m.room.message/"
                            "msfaq.r._24q1_5FAbC_3Ahs.example");
        assert_string_equal(str(json_object_get(q, "headers"),
                                "authorization"), "Bearer " TOKEN);
    }
    json_decref(reqs);

    /* the same reply sent again: the same request, so the homeserver
     * returns the first event instead of posting a second one */
    harness_stop(&h);
    assert_int_equal(harness_start(&h,
        "[{\"status\":200,\"body\":{\"event_id\":\"$posted:hs\"}}]"), 0);
    msfaq_post_close(p);
    p = open_matrix(&h, NULL);
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_OK);
    reqs = harness_requests(&h);
    assert_true(strstr(str(json_array_get(reqs, 0), "path"),
                       "/msfaq.r._24q1_5FAbC_3Ahs.example") != NULL);
    json_decref(reqs);

    /* no reply_to: a fresh id per message, kept across its retries */
    harness_stop(&h);
    assert_int_equal(harness_start(&h,
        "[{\"status\":503},{\"status\":200,\"body\":{\"event_id\":"
        "\"$2\"}}]"), 0);
    msfaq_post_close(p);
    p = open_matrix(&h, NULL);
    m.reply_to = NULL;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_OK);
    reqs = harness_requests(&h);
    const char *a = str(json_array_get(reqs, 0), "path");
    assert_string_equal(a, str(json_array_get(reqs, 1), "path"));
    assert_non_null(strstr(a, "/send/m.room.message/msfaq.n."));
    assert_string_equal(strrchr(a, '/') + 1, rec.txn_id);
    json_decref(reqs);
    msfaq_post_close(p);
    harness_stop(&h);
}

static void refused_is_dead_lettered(void **state)
{
    (void)state;
    harness h;
    /* a server that repeats the token back must not get it into text */
    assert_int_equal(harness_start(&h,
        "[{\"status\":403,\"body\":{\"errcode\":\"M_FORBIDDEN\",\"error\":"
        "\"token " TOKEN " is not in the room\"}}]"), 0);
    char dl[400];
    harness_path(&h, "dead.jsonl", dl, sizeof dl);
    msfaq_poster *p = open_matrix(&h, dl);
    msfaq_post_message m = message();
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    msfaq_error err;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err),
                     MSFAQ_POST_EREFUSED);
    assert_int_equal(rec.attempts, 1);
    assert_int_equal(rec.dead_lettered, 1);
    assert_string_equal(rec.event_id, "");
    assert_non_null(strstr(err.text, "matrix"));
    assert_non_null(strstr(err.text, "M_FORBIDDEN"));
    assert_null(strstr(err.text, TOKEN));
    char *text = slurp(dl);
    assert_non_null(text);
    assert_null(strstr(text, TOKEN));
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    assert_non_null(o);
    assert_string_equal(str(o, "target"), "matrix");
    json_t *msg = json_object_get(o, "message");
    assert_string_equal(str(msg, "channel"), ROOM);
    assert_string_equal(str(msg, "reply_to"), EVENT);
    assert_string_equal(str(msg, "reply_sender"), "@alice:hs.example");
    assert_string_equal(str(msg, "txn_id"),
                        "msfaq.r._24q1_5FAbC_3Ahs.example");
    assert_string_equal(str(json_object_get(o, "payload"), "msgtype"),
                        "m.notice");
    json_decref(o);
    free(text);
    msfaq_post_close(p);
    harness_stop(&h);
}

static void bad_sends(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h, "[{\"status\":200,\"body\":{}}]"),
                     0);
    msfaq_poster *p = open_matrix(&h, NULL);
    msfaq_post_message m = message();
    m.channel = NULL;
    msfaq_error err;
    assert_int_equal(msfaq_post_send(p, &m, NULL, &err), MSFAQ_EINVAL);
    assert_non_null(strstr(err.text, "room"));
    m = message();
    /* 200 without an event_id makes no sense */
    assert_int_equal(msfaq_post_send(p, &m, NULL, &err),
                     MSFAQ_POST_EPROTOCOL);
    msfaq_post_close(p);
    harness_stop(&h);

    /* no homeserver, no token */
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_MATRIX;
    cfg.token = TOKEN;
    assert_null(msfaq_post_open(&cfg, &err));
    assert_non_null(strstr(err.text, "homeserver"));
    cfg.url = "https://matrix.example.org";
    cfg.token = NULL;
    assert_null(msfaq_post_open(&cfg, &err));
    assert_non_null(strstr(err.text, "token"));
}

/* A program built against 1.0 passes the smaller receipt: the 1.1
 * members must not be written. */
static void old_receipt_untouched(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h,
        "[{\"status\":200,\"body\":{\"event_id\":\"$e\"}}]"), 0);
    msfaq_poster *p = open_matrix(&h, NULL);
    msfaq_post_message m = message();
    msfaq_post_receipt rec;
    memset(&rec, 0x5A, sizeof rec);
    rec.size = offsetof(msfaq_post_receipt, event_id);
    msfaq_error err;
    assert_int_equal(msfaq_post_send(p, &m, &rec, &err), MSFAQ_OK);
    assert_int_equal(rec.attempts, 1);
    for (size_t i = offsetof(msfaq_post_receipt, event_id);
         i < sizeof rec; i++)
        assert_int_equal(((unsigned char *)&rec)[i], 0x5A);
    msfaq_post_close(p);
    harness_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_content),
        cmocka_unit_test(lone_message_and_thread),
        cmocka_unit_test(transaction_ids),
        cmocka_unit_test(reply_judging),
        cmocka_unit_test(retries_keep_the_transaction),
        cmocka_unit_test(refused_is_dead_lettered),
        cmocka_unit_test(bad_sends),
        cmocka_unit_test(old_receipt_untouched),
    };
    msfaq_post_global_init(NULL);
    int rc = cmocka_run_group_tests(tests, NULL, harness_stop_all);
    msfaq_post_global_cleanup();
    return rc;
}
