/*
 * appservice.c - msfaq serve as a Matrix application service.
 *
 * The homeserver (Synapse) loads a registration file (made by msfaq
 * matrix-registration) naming our URL and two tokens, then pushes every
 * event of the rooms our bot user is in to
 *
 *     PUT /_matrix/app/v1/transactions/{txnId}   {"events": [...]}
 *
 * with Authorization: Bearer <hs_token>.  We answer 200 {} at once and
 * handle the events on a worker thread, which joins rooms the bot user is
 * invited to and answers questions (the rules of matrix/event.c, as the
 * access-token bot does: mentions anywhere, every message in a direct
 * room, never a notice) with m.notice replies sent as the service's bot
 * user (libmsfaq-post's Matrix target, with the as_token).
 *
 * Decisions:
 * - Every request under /_matrix/app/ must carry hs_token (compared in
 *   constant time): none is 401 M_UNAUTHORIZED, a wrong one 403
 *   M_FORBIDDEN, as the spec asks.  The legacy ?access_token= is accepted
 *   too; when both are given they must agree.
 * - Transactions go through a queue.c queue: idempotent by txnId (the
 *   homeserver resends the same txnId, with the same events, when our 200
 *   was lost; a repeat gets 200 {} and nothing else), remembered across
 *   restarts in MSFAQ_MATRIX_AS_STATE or MSFAQ_SPOOL_DIR, and with
 *   MSFAQ_SPOOL_DIR kept on disk until handled, so a crash loses none
 *   (with --state, both in Redis, shared by the replicas, state.c).
 *   When the queue is full the transaction gets 503 and is not
 *   remembered, and the homeserver sends it again later.
 * - Independently, each reply's transaction id is derived from the event
 *   it answers, so even an event handled twice (a crash between the reply
 *   and the spool's clean-up) is posted once.
 * - A homeserver batches up to 100 events a transaction, so this route
 *   takes bodies up to SERVE_APPSERVICE_MAX_BODY whatever --max-body says.
 * - Other routes: POST /ping is answered 200 {}; user and room queries
 *   404 M_NOT_FOUND (we own no namespace to create on demand); anything
 *   else 404 M_UNRECOGNIZED, and a known route with another method 405.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msfaq_post.h"
#include "mx.h"
#include "serve.h"

#define PREFIX "/_matrix/app/v1"
#define TXN_PATH PREFIX "/transactions/"
#define USERS_PATH PREFIX "/users/"
#define ROOMS_PATH PREFIX "/rooms/"
#define STARTS(s, lit) (!strncmp((s), lit, sizeof lit - 1))
#define EVENT_SLOTS 4096         /* event IDs answered */
#define DRAIN_MS 10000           /* after stop: calls still allowed */

struct serve_appservice {
    serve_app *app;
    serve_queue *queue;          /* of transactions' events */
    /* the worker's own */
    mx_client *mx;
    msfaq_poster *poster;
    mx_rooms *rooms;
    char *user_id, *display_name;
    serve_keyring replied;       /* event IDs answered */
    unsigned long answered, failed;
    bool aborted;                /* a call was cut short by the stop */
};

/* ------------------------------------------------------------ route */

bool serve_appservice_path(const char *path)
{
    return STARTS(path, "/_matrix/app/");
}

static void matrix_error(serve_reply *rp, int status, const char *code,
                         const char *text)
{
    serve_reply_json(rp, status, json_pack("{s:s,s:s}", "errcode", code,
                                           "error", text));
    rp->note = code;
}

static void empty_object(serve_reply *rp, const char *note)
{
    serve_reply_json(rp, 200, json_object());
    rp->note = note;
}

int serve_appservice_parse_transaction(const char *body, size_t len,
                                       json_t **events, serve_reply *rp)
{
    *events = NULL;
    json_error_t je;
    /* JSON_ALLOW_NUL: an event holding \u0000 is ignored on its own
     * (matrix/event.c); refusing the whole transaction would make the
     * homeserver send it again for ever */
    json_t *in = json_loadb(body, len, JSON_ALLOW_NUL, &je);
    if (!in) {
        matrix_error(rp, 400, "M_NOT_JSON", "the body is not JSON");
        return -1;
    }
    json_t *ev = json_object_get(in, "events");
    if (!json_is_object(in) || (ev && !json_is_array(ev))) {
        json_decref(in);
        matrix_error(rp, 400, "M_BAD_JSON", "expected {\"events\": [...]}");
        return -1;
    }
    *events = ev ? json_incref(ev) : json_array();
    json_decref(in);
    if (!*events) {
        matrix_error(rp, 500, "M_UNKNOWN", "out of memory");
        return -1;
    }
    return 0;
}

static void take_transaction(serve_appservice *as, const char *txn,
                             const serve_request *rq, serve_reply *rp)
{
    for (const char *c = txn; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) {
            matrix_error(rp, 400, "M_INVALID_PARAM",
                         "bad transaction id");
            return;
        }
    json_t *events;
    if (serve_appservice_parse_transaction(rq->body, rq->body_len, &events,
                                           rp) < 0)
        return;
    serve_queue_key key;
    serve_queue_key_of(&key, "txn", txn, NULL);
    json_t *job = NULL;
    if (json_array_size(events) &&
        !(job = json_pack("{s:O}", "events", events))) {
        json_decref(events);
        matrix_error(rp, 500, "M_UNKNOWN", "out of memory");
        return;
    }
    json_decref(events);
    int rc = serve_queue_submit(as->queue, &key, 1, job);   /* takes job */
    switch (rc) {
    case SERVE_QUEUE_QUEUED:
        empty_object(rp, "queued");
        break;
    case SERVE_QUEUE_DUPLICATE:
        empty_object(rp, "duplicate transaction");
        break;
    default:
        /* the homeserver backs off and sends the same transaction again */
        matrix_error(rp, 503, "M_UNKNOWN", rc == SERVE_QUEUE_BUSY
                     ? "too many transactions queued"
                     : "cannot keep the transaction now");
        rp->note = rc == SERVE_QUEUE_BUSY          ? "busy"
                   : rc == SERVE_QUEUE_UNAVAILABLE ? "state unavailable"
                                                   : "spool failed";
        break;
    }
}

void serve_route_appservice(serve_app *app, const serve_request *rq,
                            serve_reply *rp)
{
    serve_appservice *as = app->appservice;
    const serve_config *cfg = app->cfg;
    if (!as || !cfg->matrix_hs_token) {
        matrix_error(rp, 404, "M_UNRECOGNIZED", "this msfaq serve is not a "
                     "Matrix application service (no MSFAQ_MATRIX_HS_TOKEN)");
        return;
    }
    const char *auth = rq->authorization, *bearer = NULL;
    if (auth && !strncasecmp(auth, "Bearer ", 7))
        bearer = auth + 7;
    const char *query = rq->access_token;
    if (bearer && query && strcmp(bearer, query)) {
        matrix_error(rp, 403, "M_FORBIDDEN", "the Authorization header "
                     "and access_token differ");
        return;
    }
    const char *token = bearer ? bearer : query;
    if (!token) {
        matrix_error(rp, 401, "M_UNAUTHORIZED", "no hs_token given");
        return;
    }
    if (!serve_token_equal(token, cfg->matrix_hs_token)) {
        matrix_error(rp, 403, "M_FORBIDDEN", "bad hs_token");
        return;
    }
    const char *path = rq->path, *method = rq->method;
    const char *want = NULL;
    const char *txn = STARTS(path, TXN_PATH) ? path + sizeof TXN_PATH - 1
                                             : NULL;
    if (txn && *txn && !strchr(txn, '/')) {
        if (!strcmp(method, "PUT")) {
            take_transaction(as, txn, rq, rp);
            return;
        }
        want = "PUT";
    } else if (!strcmp(path, PREFIX "/ping")) {
        if (!strcmp(method, "POST")) {
            empty_object(rp, "ping");
            return;
        }
        want = "POST";
    } else if (STARTS(path, USERS_PATH) || STARTS(path, ROOMS_PATH)) {
        if (!strcmp(method, "GET")) {
            matrix_error(rp, 404, "M_NOT_FOUND", "no such user or room "
                         "here");
            return;
        }
        want = "GET";
    }
    if (want) {
        char text[64];
        snprintf(text, sizeof text, "use %s", want);
        matrix_error(rp, 405, "M_UNRECOGNIZED", text);
    } else {
        matrix_error(rp, 404, "M_UNRECOGNIZED", "unknown route");
    }
}

/* ----------------------------------------------------------- worker */

/* libcurl's abort check: once stopping, calls get DRAIN_MS more. */
static int should_abort(void *ud)
{
    serve_appservice *as = ud;
    long long since;
    bool late = as->queue && serve_queue_stopping(as->queue, &since) &&
                since > DRAIN_MS;
    if (late)
        as->aborted = true;
    return late;
}

/* Learns the bot user's ID from the homeserver (whoami with the
 * as_token), waiting out a homeserver that is not up yet.  false when
 * stopping first. */
static bool learn_user(serve_appservice *as)
{
    for (int n = 1;; n++) {
        mx_reply r;
        if (mx_whoami(as->mx, &as->user_id, &r) == 0) {
            mx_reply_clear(&r);
            as->display_name = mx_displayname(as->mx, as->user_id);
            serve_log("matrix appservice: answering as %s", as->user_id);
            return true;
        }
        if (n == 1 || n % 10 == 0)
            serve_log("matrix appservice: whoami with MSFAQ_MATRIX_AS_TOKEN "
                      "failed, trying again: %s%s", r.error,
                      mx_reply_bad_token(&r)
                          ? " (is the registration file loaded by the "
                            "homeserver?)" : "");
        long ms = r.retry_after_ms > 0 ? r.retry_after_ms
                                       : (n < 6 ? 500L << n : 30000L);
        mx_reply_clear(&r);
        if (!serve_queue_pause(as->queue, ms))
            return false;
    }
}

static void join(serve_appservice *as, const char *room)
{
    for (int n = 1; n <= 5; n++) {
        mx_reply r;
        if (mx_join(as->mx, room, &r) == 0) {
            serve_log("matrix appservice: joined %s", room);
            mx_rooms_forget(as->rooms, room);
            mx_reply_clear(&r);
            return;
        }
        bool again = mx_reply_transient(&r) && n < 5;
        long ms = r.retry_after_ms > 0 ? r.retry_after_ms : 1000L << n;
        serve_log("matrix appservice: joining %s failed%s: %s", room,
                  again ? ", trying again" : "", r.error);
        mx_reply_clear(&r);
        if (!again || !serve_queue_pause(as->queue, ms))
            return;
    }
}

static bool is_direct(serve_appservice *as, const char *room)
{
    int n = mx_rooms_get(as->rooms, room);
    if (n < 0) {
        mx_reply r;
        if (mx_joined_count(as->mx, room, &n, &r) < 0) {
            serve_log("matrix appservice: cannot count the members of %s: "
                      "%s", room, r.error);
            mx_reply_clear(&r);
            return false;
        }
        mx_reply_clear(&r);
        mx_rooms_set(as->rooms, room, n);
    }
    return n == 2;
}

static void answer(serve_appservice *as, const char *room,
                   const mx_message *m, const char *question)
{
    serve_answer ans = {0};
    msfaq_error err = {0};
    /* a question we cannot take still gets a reply saying why */
    int rc = serve_ask(as->app, question, 0, &ans, &err);
    msfaq_post_receipt rec;
    msfaq_error perr;
    if (mx_send_reply(as->poster, room, m, question,
                      rc >= 0 ? ans.result : NULL, rc < 0 ? err.code : 0,
                      &rec, &perr) == 0) {
        as->answered++;
        serve_log("matrix appservice: answered %s in %s: %s, reply %s",
                  m->event_id, room,
                  msfaq_kind_name(rc >= 0 ? msfaq_result_kind(ans.result)
                                          : MSFAQ_KIND_FALLBACK),
                  rec.event_id);
    } else {
        as->failed++;
        serve_log("matrix appservice: reply to %s in %s not delivered: %s%s",
                  m->event_id, room, perr.text,
                  rec.dead_lettered ? " (saved to the dead-letter file)"
                                    : "");
    }
    if (rc >= 0)
        serve_answer_free(&ans);
}

static void handle_event(serve_appservice *as, json_t *ev)
{
    const char *room = json_string_value(json_object_get(ev, "room_id"));
    if (!room)
        return;
    if (mx_event_invites(ev, as->user_id)) {
        join(as, room);
        return;
    }
    if (mx_event_is_member(ev))
        mx_rooms_forget(as->rooms, room);
    mx_self self = {as->user_id, as->display_name};
    mx_message m;
    const char *why = mx_message_parse(ev, &self, &m);
    if (why) {
        if (m.event_id && strcmp(why, "own message") &&
            strcmp(why, "not a message") && strcmp(why, "state event"))
            serve_log("matrix appservice: ignored %s in %s: %s", m.event_id,
                      room, why);
        return;
    }
    serve_queue_key key;
    serve_queue_key_of(&key, "event", m.event_id, NULL);
    if (serve_keyring_has(&as->replied, &key))
        return;                          /* answered already */
    serve_keyring_add(&as->replied, &key);
    if (!m.mentioned && !is_direct(as, room))
        return;
    char *q = mx_message_question(&m, &self);
    if (q)
        answer(as, room, &m, q);
    free(q);
}

/* The queue's begin: the worker waits for the homeserver first. */
static bool begin(void *ctx)
{
    return learn_user(ctx);
}

/* Asks the homeserver to ping us (POST .../appservice/{id}/ping); its
 * ping coming through tells it we are up, and it sends at once what it
 * could not push while we were down (Synapse: force_retry). */
static void ping(serve_appservice *as)
{
    const char *id = as->app->cfg->matrix_as_id;
    char *esc = mx_escape(id), *path = NULL;
    if (!esc || asprintf(&path, "/_matrix/client/v1/appservice/%s/ping",
                         esc) < 0) {
        free(esc);
        return;
    }
    free(esc);
    json_t *body = json_pack("{s:s}", "transaction_id", "msfaq-start");
    mx_reply r;
    if (mx_call(as->mx, "POST", path, body, 30000, &r) == 0)
        serve_log("matrix appservice: the homeserver reached us (ping as "
                  "%s)", id);
    else
        serve_log("matrix appservice: the homeserver's ping as %s failed; "
                  "it sends what it could not push when its backoff "
                  "ends: %s", id, r.error);
    mx_reply_clear(&r);
    json_decref(body);
    free(path);
}

/* The queue's handler: one transaction's events, or the ping job of
 * serve_appservice_listening().  A transaction cut short by the stop is
 * kept in the spool (MSFAQ_SPOOL_DIR) for the next start; its events
 * already answered are then sent again with the same transaction ids,
 * which the homeserver drops. */
static int handle_transaction(void *ctx, json_t *job)
{
    serve_appservice *as = ctx;
    if (json_is_true(json_object_get(job, "ping"))) {
        ping(as);
        return 0;
    }
    as->aborted = false;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(job, "events"), i, ev)
        handle_event(as, ev);
    return as->aborted ? -1 : 0;
}

/* -------------------------------------------------------- life cycle */

bool serve_appservice_configured(const serve_config *cfg)
{
    return cfg->matrix_hs_token != NULL;
}

static void release(serve_appservice *as)
{
    if (!as)
        return;
    serve_queue_stop(as->queue);       /* it answers what is queued */
    msfaq_post_close(as->poster);
    mx_client_close(as->mx);
    mx_rooms_free(as->rooms);
    serve_keyring_free(&as->replied);
    free(as->user_id);
    free(as->display_name);
    free(as);
}

serve_appservice *serve_appservice_start(serve_app *app, char *err,
                                         size_t errlen)
{
    const serve_config *cfg = app->cfg;
    serve_appservice *as = calloc(1, sizeof *as);
    if (as) {
        serve_keyring_init(&as->replied, EVENT_SLOTS);
        as->rooms = mx_rooms_new();
    }
    if (!as || !as->replied.keys || !as->rooms) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    as->app = app;
    mx_client_config mc = {
        .homeserver = cfg->matrix_homeserver,
        .token = cfg->matrix_as_token,
        .user_agent = SERVE_NAME "/" MSFAQ_VERSION_STRING,
        .abort_fn = should_abort,
        .abort_ud = as,
    };
    char why[512];
    if (!(as->mx = mx_client_open(&mc, why, sizeof why))) {
        snprintf(err, errlen, "MSFAQ_MATRIX_HOMESERVER / _AS_TOKEN: %s", why);
        goto fail;
    }
    if (!(as->poster = serve_poster_open(cfg, MSFAQ_POST_MATRIX,
                                         cfg->matrix_homeserver,
                                         cfg->matrix_as_token, 3, 10000,
                                         err, errlen)))
        goto fail;
    serve_queue_config qc = {
        .name = "matrix appservice",
        .state = app->state,
        .spool_dir = cfg->spool_dir,
        .spool_name = "matrix-transactions",
        /* when given, the txnIds go there, as before the spool existed */
        .seen_file = cfg->matrix_as_state,
        .begin = begin,
        .handle = handle_transaction,
        .ctx = as,
    };
    /* as->queue is set before the worker runs: should_abort() reads it */
    if (!(as->queue = serve_queue_open(&qc, why, sizeof why)) ||
        serve_queue_run(as->queue, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s: %s", cfg->spool_dir ? "MSFAQ_SPOOL_DIR"
                 : "MSFAQ_MATRIX_AS_STATE", why);
        goto fail;
    }
    size_t seen = serve_queue_remembered(as->queue);
    if (seen == (size_t)-1)      /* shared with the other replicas */
        serve_log("matrix appservice: transactions at " PREFIX
                  "/transactions/, homeserver %s, transactions remembered "
                  "in %s", cfg->matrix_homeserver,
                  serve_state_where(app->state));
    else
        serve_log("matrix appservice: transactions at " PREFIX
                  "/transactions/, homeserver %s, %zu earlier "
                  "transaction%s remembered", cfg->matrix_homeserver, seen,
                  seen == 1 ? "" : "s");
    return as;
fail:
    release(as);
    return NULL;
}

void serve_appservice_listening(serve_appservice *as)
{
    if (!as || !as->app->cfg->matrix_as_id)
        return;
    /* on the worker, after what the spool held: the homeserver's backlog
     * comes after it, in order */
    json_t *job = json_pack("{s:b}", "ping", 1);
    if (!job || serve_queue_submit(as->queue, NULL, 0, job) !=
                    SERVE_QUEUE_QUEUED)   /* takes job */
        serve_log("matrix appservice: cannot ask the homeserver for a "
                  "ping");
}

void serve_appservice_stop(serve_appservice *as)
{
    if (!as)
        return;
    serve_queue_stop(as->queue);       /* it answers what is queued */
    as->queue = NULL;
    serve_log("matrix appservice: stopped after %lu answer%s (%lu not "
              "delivered)", as->answered, as->answered == 1 ? "" : "s",
              as->failed);
    release(as);
}
