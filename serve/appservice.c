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
 * - Transactions are idempotent by txnId: the homeserver resends the same
 *   txnId (with the same events) when our 200 was lost.  The SHA-256 of
 *   each accepted txnId is kept in a ring of the last TXN_SLOTS and, with
 *   MSFAQ_MATRIX_AS_STATE, appended to that file (one hex digest a line,
 *   compacted when it doubles), so a restart does not answer a
 *   transaction twice either.  A repeat gets 200 {} and nothing else.
 *   Independently, each reply's transaction id is derived from the event
 *   it answers, so even a reprocessed event is posted once.
 * - "Remember, then queue" is one step under the lock; when the queue is
 *   full the transaction gets 503 and is not remembered, and the
 *   homeserver sends it again later.
 * - A homeserver batches up to 100 events a transaction, so this route
 *   takes bodies up to SERVE_APPSERVICE_MAX_BODY whatever --max-body says.
 * - Other routes: POST /ping is answered 200 {}; user and room queries
 *   404 M_NOT_FOUND (we own no namespace to create on demand); anything
 *   else 404 M_UNRECOGNIZED, and a known route with another method 405.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msfaq_post.h"
#include "mx.h"
#include "serve.h"
#include "program.h"

#define PREFIX "/_matrix/app/v1"
#define TXN_PATH PREFIX "/transactions/"
#define USERS_PATH PREFIX "/users/"
#define ROOMS_PATH PREFIX "/rooms/"
#define STARTS(s, lit) (!strncmp((s), lit, sizeof lit - 1))
#define QUEUE_MAX 256            /* transactions waiting */
#define TXN_SLOTS 4096           /* txnIds remembered */
#define EVENT_SLOTS 4096         /* event IDs answered */
#define DRAIN_MS 10000           /* after stop: calls still allowed */

struct job {
    struct job *next;
    json_t *events;              /* owned; only the worker touches it */
};

struct serve_appservice {
    serve_app *app;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    size_t queued;
    bool stopping;
    long long stop_at;           /* monotonic ms of the stop request */
    /* accepted txnIds (digests), under lock */
    unsigned char (*txns)[SERVE_SHA256_SIZE];
    size_t txn_next, txn_count;
    int state_fd;                /* MSFAQ_MATRIX_AS_STATE, or -1 */
    size_t state_lines;
    /* the worker's own */
    mx_client *mx;
    msfaq_poster *poster;
    mx_rooms *rooms;
    char *user_id, *display_name;
    unsigned char (*events)[SERVE_SHA256_SIZE];
    size_t ev_next, ev_count;
    unsigned long answered, failed;
};

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void digest(const char *kind, const char *s,
                   unsigned char out[SERVE_SHA256_SIZE])
{
    serve_sha256 c;
    serve_sha256_init(&c);
    serve_sha256_update(&c, kind, strlen(kind) + 1);
    serve_sha256_update(&c, s, strlen(s));
    serve_sha256_final(&c, out);
}

static bool in_ring(unsigned char (*ring)[SERVE_SHA256_SIZE], size_t count,
                    const unsigned char *key)
{
    for (size_t i = 0; i < count; i++)
        if (!memcmp(ring[i], key, SERVE_SHA256_SIZE))
            return true;
    return false;
}

static void add_ring(unsigned char (*ring)[SERVE_SHA256_SIZE], size_t slots,
                     size_t *next, size_t *count, const unsigned char *key)
{
    memcpy(ring[*next], key, SERVE_SHA256_SIZE);
    *next = (*next + 1) % slots;
    if (*count < slots)
        (*count)++;
}

/* ------------------------------------------------------- txn state */

static void hex(const unsigned char *d, char out[2 * SERVE_SHA256_SIZE + 2])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SERVE_SHA256_SIZE; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * SERVE_SHA256_SIZE] = '\n';
    out[2 * SERVE_SHA256_SIZE + 1] = '\0';
}

static bool unhex(const char *s, unsigned char out[SERVE_SHA256_SIZE])
{
    for (size_t i = 0; i < SERVE_SHA256_SIZE; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return false;
        }
        out[i] = (unsigned char)v;
    }
    return true;
}

/* Opens the txn state file and loads what it remembers.  -1 with err. */
static int state_open(serve_appservice *as, const char *path, char *err,
                      size_t errlen)
{
    as->state_fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC |
                        O_NOCTTY, 0600);
    if (as->state_fd < 0) {
        snprintf(err, errlen, "MSFAQ_MATRIX_AS_STATE: %s: %s", path,
                 strerror(errno));
        return -1;
    }
    FILE *f = fdopen(dup(as->state_fd), "r");
    if (!f) {
        snprintf(err, errlen, "MSFAQ_MATRIX_AS_STATE: %s: %s", path,
                 strerror(errno));
        return -1;
    }
    char line[128];
    unsigned char d[SERVE_SHA256_SIZE];
    while (fgets(line, sizeof line, f))
        if (strlen(line) >= 2 * SERVE_SHA256_SIZE && unhex(line, d)) {
            add_ring(as->txns, TXN_SLOTS, &as->txn_next, &as->txn_count, d);
            as->state_lines++;
        }
    fclose(f);
    return 0;
}

/* Appends one digest (under lock); compacts the file to the ring when it
 * has grown to twice the ring. */
static void state_add(serve_appservice *as, const unsigned char *d)
{
    if (as->state_fd < 0)
        return;
    char line[2 * SERVE_SHA256_SIZE + 2];
    if (as->state_lines >= 2 * TXN_SLOTS && ftruncate(as->state_fd, 0) == 0) {
        /* O_APPEND: the writes below go to the new end */
        as->state_lines = 0;
        size_t first = (as->txn_next + TXN_SLOTS - as->txn_count) % TXN_SLOTS;
        for (size_t i = 0; i < as->txn_count; i++) {
            hex(as->txns[(first + i) % TXN_SLOTS], line);
            if (write(as->state_fd, line, strlen(line)) > 0)
                as->state_lines++;
        }
        return;   /* d is in the ring already */
    }
    hex(d, line);
    if (write(as->state_fd, line, strlen(line)) > 0) {
        as->state_lines++;
        fdatasync(as->state_fd);
    } else {
        serve_log("matrix appservice: cannot record a transaction in "
                  "MSFAQ_MATRIX_AS_STATE: %s", strerror(errno));
    }
}

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

static void take_transaction(serve_appservice *as, const char *txn,
                             const serve_request *rq, serve_reply *rp)
{
    for (const char *c = txn; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) {
            matrix_error(rp, 400, "M_INVALID_PARAM",
                         "bad transaction id");
            return;
        }
    json_error_t je;
    /* JSON_ALLOW_NUL: an event holding \u0000 is ignored on its own
     * (matrix/event.c); refusing the whole transaction would make the
     * homeserver send it again for ever */
    json_t *in = json_loadb(rq->body, rq->body_len, JSON_ALLOW_NUL, &je);
    json_t *events = json_object_get(in, "events");
    if (!in) {
        matrix_error(rp, 400, "M_NOT_JSON", "the body is not JSON");
        return;
    }
    if (!json_is_object(in) || (events && !json_is_array(events))) {
        json_decref(in);
        matrix_error(rp, 400, "M_BAD_JSON", "expected {\"events\": [...]}");
        return;
    }
    unsigned char key[SERVE_SHA256_SIZE];
    digest("txn", txn, key);
    struct job *j = NULL;
    if (json_array_size(events)) {
        j = calloc(1, sizeof *j);
        if (!j) {
            json_decref(in);
            matrix_error(rp, 500, "M_UNKNOWN", "out of memory");
            return;
        }
        j->events = json_incref(events);
    }
    json_decref(in);   /* the job holds the events */

    const char *note;
    int status = 200;
    pthread_mutex_lock(&as->lock);
    if (in_ring(as->txns, as->txn_count, key)) {
        note = "duplicate transaction";
    } else if (j && (as->stopping || as->queued >= QUEUE_MAX)) {
        status = 503;
        note = "busy";
    } else {
        add_ring(as->txns, TXN_SLOTS, &as->txn_next, &as->txn_count, key);
        state_add(as, key);
        if (j) {
            if (as->tail)
                as->tail->next = j;
            else
                as->head = j;
            as->tail = j;
            as->queued++;
            j = NULL;
            pthread_cond_signal(&as->wake);
        }
        note = "queued";
    }
    pthread_mutex_unlock(&as->lock);
    if (j) {
        json_decref(j->events);
        free(j);
    }
    if (status == 503) {
        /* the homeserver backs off and sends the same transaction again */
        matrix_error(rp, 503, "M_UNKNOWN", "too many transactions queued");
        rp->note = note;
        return;
    }
    empty_object(rp, note);
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

/* Waits ms, or until a stop request.  Returns false when stopping. */
static bool pause_ms(serve_appservice *as, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&as->lock);
    while (!as->stopping &&
           pthread_cond_timedwait(&as->wake, &as->lock, &until) == 0) {
        /* woken by a new job: keep waiting out the pause */
    }
    bool go_on = !as->stopping;
    pthread_mutex_unlock(&as->lock);
    return go_on;
}

/* libcurl's abort check: once stopping, calls get DRAIN_MS more. */
static int should_abort(void *ud)
{
    serve_appservice *as = ud;
    pthread_mutex_lock(&as->lock);
    bool late = as->stopping && mono_ms() - as->stop_at > DRAIN_MS;
    pthread_mutex_unlock(&as->lock);
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
        if (!pause_ms(as, ms))
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
        if (!again || !pause_ms(as, ms))
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
    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    msg.question = question;
    msg.channel = room;
    msg.reply_to = m->event_id;
    msg.reply_sender = m->sender;
    msg.thread_ts = m->thread_root;
    serve_answer ans = {0};
    msfaq_error err;
    char why[128];
    int rc = serve_ask(as->app, question, 0, &ans, &err);
    if (rc >= 0) {
        msg.result = ans.result;
    } else {
        program_refusal(err.code, why, sizeof why);
        msg.kind = MSFAQ_KIND_FALLBACK;
        msg.answer = why;
    }
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    msfaq_error perr;
    if (msfaq_post_send(as->poster, &msg, &rec, &perr) == 0) {
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
    unsigned char key[SERVE_SHA256_SIZE];
    digest("event", m.event_id, key);
    if (in_ring(as->events, as->ev_count, key))
        return;                          /* answered already */
    add_ring(as->events, EVENT_SLOTS, &as->ev_next, &as->ev_count, key);
    if (!m.mentioned && !is_direct(as, room))
        return;
    char *q = mx_message_question(&m, &self);
    if (q)
        answer(as, room, &m, q);
    free(q);
}

static void *worker(void *arg)
{
    serve_appservice *as = arg;
    if (!learn_user(as)) {
        /* stopping before the homeserver ever answered: drop the queue */
        pthread_mutex_lock(&as->lock);
        for (struct job *j = as->head, *next; j; j = next) {
            next = j->next;
            json_decref(j->events);
            free(j);
        }
        as->head = as->tail = NULL;
        as->queued = 0;
        pthread_mutex_unlock(&as->lock);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&as->lock);
        while (!as->head && !as->stopping)
            pthread_cond_wait(&as->wake, &as->lock);
        struct job *j = as->head;
        if (j) {
            as->head = j->next;
            if (!as->head)
                as->tail = NULL;
            as->queued--;
        }
        pthread_mutex_unlock(&as->lock);
        if (!j)
            break;                 /* stopping, and the queue is empty */
        size_t i;
        json_t *ev;
        json_array_foreach(j->events, i, ev)
            handle_event(as, ev);
        json_decref(j->events);
        free(j);
    }
    return NULL;
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
    msfaq_post_close(as->poster);
    mx_client_close(as->mx);
    mx_rooms_free(as->rooms);
    if (as->state_fd >= 0)
        close(as->state_fd);
    free(as->txns);
    free(as->events);
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
        as->state_fd = -1;
        as->txns = calloc(TXN_SLOTS, sizeof *as->txns);
        as->events = calloc(EVENT_SLOTS, sizeof *as->events);
        as->rooms = mx_rooms_new();
    }
    if (!as || !as->txns || !as->events || !as->rooms) {
        snprintf(err, errlen, "out of memory");
        release(as);
        return NULL;
    }
    as->app = app;
    if (cfg->matrix_as_state &&
        state_open(as, cfg->matrix_as_state, err, errlen) < 0) {
        release(as);
        return NULL;
    }
    mx_client_config mc = {
        .homeserver = cfg->matrix_homeserver,
        .token = cfg->matrix_as_token,
        .user_agent = SERVE_NAME "/" MSFAQ_VERSION_STRING,
        .abort_fn = should_abort,
        .abort_ud = as,
    };
    char why[256];
    if (!(as->mx = mx_client_open(&mc, why, sizeof why))) {
        snprintf(err, errlen, "MSFAQ_MATRIX_HOMESERVER / _AS_TOKEN: %s", why);
        release(as);
        return NULL;
    }
    msfaq_post_config pc = MSFAQ_POST_CONFIG_INIT;
    pc.target = MSFAQ_POST_MATRIX;
    pc.url = cfg->matrix_homeserver;
    pc.token = cfg->matrix_as_token;
    pc.dead_letter = cfg->dead_letter;
    pc.user_agent = SERVE_NAME "/" MSFAQ_VERSION_STRING;
    pc.max_attempts = 3;
    pc.timeout_ms = 10000;
    msfaq_error perr;
    if (!(as->poster = msfaq_post_open(&pc, &perr))) {
        snprintf(err, errlen, "%s", perr.text);
        release(as);
        return NULL;
    }
    pthread_mutex_init(&as->lock, NULL);
    pthread_cond_init(&as->wake, NULL);
    int rc = pthread_create(&as->thread, NULL, worker, as);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        pthread_cond_destroy(&as->wake);
        pthread_mutex_destroy(&as->lock);
        release(as);
        return NULL;
    }
    serve_log("matrix appservice: transactions at " PREFIX "/transactions/, "
              "homeserver %s, %zu earlier transaction%s remembered",
              cfg->matrix_homeserver, as->txn_count,
              as->txn_count == 1 ? "" : "s");
    return as;
}

void serve_appservice_stop(serve_appservice *as)
{
    if (!as)
        return;
    pthread_mutex_lock(&as->lock);
    as->stopping = true;
    as->stop_at = mono_ms();
    pthread_cond_broadcast(&as->wake);
    pthread_mutex_unlock(&as->lock);
    pthread_join(as->thread, NULL);    /* it answers what is queued */
    pthread_cond_destroy(&as->wake);
    pthread_mutex_destroy(&as->lock);
    serve_log("matrix appservice: stopped after %lu answer%s (%lu not "
              "delivered)", as->answered, as->answered == 1 ? "" : "s",
              as->failed);
    release(as);
}
