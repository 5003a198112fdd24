/*
 * serve.h - the private header of msfaq-serve, shared by the files in
 * serve/ only.
 *
 * msfaq-serve answers chat webhooks (Slack slash commands and Events API,
 * Mattermost outgoing webhooks), a small JSON API and a web chat page
 * (with an embeddable widget) with libmsfaq.  It uses only the public
 * msfaq.h and msfaq_post.h, as any host would.
 *
 *     serve_main.c   options, start-up, signals (stop, SIGHUP reload)
 *     config.c       environment, NAME_FILE secrets, --config FILE
 *     http.c         libmicrohttpd glue: routing, body cap, log, metrics
 *     reply.c        building replies (JSON errors, chat formats via
 *                    libmsfaq-post); asking the KB
 *     api.c          /v1/ask, /healthz, /metrics
 *     web.c          the chat page and widget (web/, compiled in by
 *                    cmake/embed_web.cmake), their security headers, and
 *                    which origins may embed it and call /v1/ask (CORS)
 *     slack.c        /slack/commands, /slack/events
 *     slack_sign.c   Slack v0 request signatures
 *     sha256.c       SHA-256, HMAC-SHA256, constant-time comparison
 *     mattermost.c   /mattermost
 *     appservice.c   /_matrix/app/v1/...: a Matrix application service
 *                    (transactions pushed by the homeserver, answered on
 *                    a worker thread; uses matrix/mx.h)
 *     form.c         application/x-www-form-urlencoded bodies
 *     queue.c        jobs answered after the HTTP reply, on a worker
 *                    thread: bounded, de-duplicated, kept in a store
 *     state.c        where the stores live: --state URL, health
 *     state_local.c  the local store: memory, MSFAQ_SPOOL_DIR on disk
 *     state_redis.c  the Redis store, shared by replicas (hiredis)
 *     events.c       answering Slack events (a queue.c queue), with
 *                    de-duplication by event_id and by channel + ts
 *     kbref.c        the current KB, reference counted, swapped on reload
 *     metrics.c      counters and histograms, Prometheus text format
 *     log.c          one line per event on stderr
 *
 * Handlers see a serve_request (the raw body and the few headers they
 * need) and fill a serve_reply; only http.c knows libmicrohttpd.
 */
#ifndef MSFAQ_SERVE_H
#define MSFAQ_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "msfaq.h"

#define SERVE_NAME "msfaq-serve"

/* ------------------------------------------------------------ log.c */

/* Writes "TIME msfaq-serve: TEXT" as one line to stderr.  Never give it a
 * secret or a request body. */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------- sha256.c */

#define SERVE_SHA256_SIZE 32
#define SERVE_SHA256_BLOCK 64

typedef struct serve_sha256 {
    uint32_t state[8];
    uint64_t length;                      /* bytes hashed so far */
    unsigned char block[SERVE_SHA256_BLOCK];
    size_t used;                          /* bytes waiting in block */
} serve_sha256;

void serve_sha256_init(serve_sha256 *c);
void serve_sha256_update(serve_sha256 *c, const void *data, size_t len);
/* Writes the digest and wipes c. */
void serve_sha256_final(serve_sha256 *c, unsigned char out[SERVE_SHA256_SIZE]);

typedef struct serve_hmac {
    serve_sha256 inner, outer;
} serve_hmac;

/* HMAC-SHA256 (RFC 2104) over data given in any number of pieces. */
void serve_hmac_init(serve_hmac *h, const void *key, size_t key_len);
void serve_hmac_update(serve_hmac *h, const void *data, size_t len);
/* Writes the MAC and wipes h. */
void serve_hmac_final(serve_hmac *h, unsigned char out[SERVE_SHA256_SIZE]);

/* true when the n bytes at a and b are equal; the time taken depends on n
 * only, not on where the bytes differ. */
bool serve_equal_ct(const void *a, const void *b, size_t n);

/* true when the strings are equal.  Compares their SHA-256 digests in
 * constant time, so the time taken reveals neither where they differ nor
 * the length of expected. */
bool serve_token_equal(const char *given, const char *expected);

/* Zeroes n bytes in a way the compiler keeps. */
void serve_wipe(void *p, size_t n);

/* ------------------------------------------------------ slack_sign.c */

/* "v0=" + 64 lowercase hex digits + NUL */
#define SERVE_SLACK_SIG_SIZE 68
/* Largest accepted difference, in seconds, between a request's
 * X-Slack-Request-Timestamp and the local clock. */
#define SERVE_SLACK_MAX_SKEW 300

enum serve_sig {
    SERVE_SIG_OK = 0,
    SERVE_SIG_MISSING,         /* no timestamp or no signature header */
    SERVE_SIG_BAD_TIMESTAMP,   /* not a decimal number */
    SERVE_SIG_STALE,           /* more than SERVE_SLACK_MAX_SKEW away */
    SERVE_SIG_MISMATCH         /* wrong version, length or MAC */
};

/* Slack's signature of body: "v0=" + hex(HMAC-SHA256(secret,
 * "v0:" timestamp ":" body)). */
void serve_slack_sign(const char *secret, const char *timestamp,
                      const void *body, size_t len,
                      char out[SERVE_SLACK_SIG_SIZE]);

/* Checks a request's X-Slack-Request-Timestamp and X-Slack-Signature
 * (either may be NULL) against the raw body, at time now.  Returns an enum
 * serve_sig. */
int serve_slack_verify(const char *secret, const char *timestamp,
                       const char *signature, const void *body, size_t len,
                       time_t now);

/* "missing signature", "stale timestamp", ...; static. */
const char *serve_sig_reason(int sig);

/* ------------------------------------------------------------ form.c */

typedef struct serve_form_field {
    char *name;
    char *value;               /* NUL-terminated; may hold NUL bytes */
    size_t len;                /* bytes in value */
} serve_form_field;

typedef struct serve_form {
    serve_form_field *fields;
    size_t count;
} serve_form;

/* Decodes an application/x-www-form-urlencoded body ("a=1&b=x+y%21").
 * Returns 0, or -1 when the body is malformed (a bad %-escape, a name
 * that decodes to nothing or holds a NUL byte) or memory ran out, with
 * *form empty. */
int serve_form_parse(const char *body, size_t len, serve_form *form);

/* The value of the first field called name, or NULL; *len (when not NULL)
 * gets its length. */
const char *serve_form_get(const serve_form *form, const char *name,
                           size_t *len);

void serve_form_free(serve_form *form);

/* ---------------------------------------------------------- config.c */

typedef struct serve_config {
    /* from the command line */
    char *kb_dir;              /* NULL: the KB built into libmsfaq */
    char *listen;              /* "HOST:PORT" as given */
    unsigned threads;          /* HTTP threads */
    unsigned max_connections;
    unsigned timeout_s;        /* idle connection time-out */
    size_t max_body;           /* request body cap, bytes */
    /* from the environment or --config FILE; NULL when not set */
    char *slack_signing_secret;  /* secret */
    char *slack_bot_token;       /* secret */
    char *mattermost_token;      /* secret */
    char *slack_api_url;         /* never NULL once loaded */
    char *slack_bot_user_id;
    bool slack_in_channel;       /* MSFAQ_SLACK_RESPONSE_TYPE=in_channel */
    /* MSFAQ_WEB_ORIGINS: the web origins ("https://host[:port]", lower
     * case, no default port) that may embed the chat and call /v1/ask
     * from a browser; NULL-terminated, NULL when none */
    char **web_origins;
    size_t web_origin_count;
    /* the Matrix application service (appservice.c); NULL when not set */
    char *matrix_hs_token;       /* secret: the homeserver's to us */
    char *matrix_as_token;       /* secret: ours to the homeserver */
    char *matrix_homeserver;     /* its client-server API base URL */
    char *matrix_as_state;       /* file of accepted transaction ids */
    char *matrix_as_id;          /* the registration's id: pinged at
                                    start, so the homeserver sends at once
                                    what it could not while we were down */
    char *dead_letter;           /* MSFAQ_DEAD_LETTER: replies that could
                                    not be delivered */
    char *spool_dir;             /* MSFAQ_SPOOL_DIR: Slack events and
                                    Matrix transactions accepted and not
                                    yet answered (queue.c); NULL: kept in
                                    memory only */
    char *state_url;             /* --state: redis://... shared by the
                                    replicas (state.c); NULL: local */
    char *redis_password;        /* secret: MSFAQ_REDIS_PASSWORD */
} serve_config;

/* Fills the settings named MSFAQ_* from the environment (NAME or
 * NAME_FILE) and from file (may be NULL); the environment wins.  Returns
 * 0, or -1 with one line in err (naming settings and files, never their
 * values). */
int serve_config_load(serve_config *cfg, const char *file, char *err,
                      size_t errlen);

/* Frees every string, wiping the secrets first. */
void serve_config_free(serve_config *cfg);

/* ----------------------------------------------------------- kbref.c */

/* One open KB and the number of users holding it. */
typedef struct serve_kbref {
    msfaq_kb *kb;
    atomic_uint refs;
} serve_kbref;

/* The KB new requests use.  Reload swaps it; the old one is closed by the
 * last request that still holds it. */
typedef struct serve_kbslot {
    pthread_mutex_t lock;
    serve_kbref *current;
} serve_kbslot;

/* Opens dir (NULL: the built-in KB) as the current KB.  Returns 0, or a
 * negative msfaq_code with err filled. */
int serve_kb_init(serve_kbslot *slot, const char *dir, msfaq_error *err);

/* The current KB, held until serve_kb_release().  Never NULL after
 * serve_kb_init() succeeded.  Thread-safe. */
serve_kbref *serve_kb_acquire(serve_kbslot *slot);

/* Drops one hold; the last one closes the KB.  NULL is a no-op. */
void serve_kb_release(serve_kbref *ref);

/* Opens dir and makes it the current KB.  On failure the current KB stays
 * and a negative msfaq_code is returned with err filled.  Thread-safe. */
int serve_kb_reload(serve_kbslot *slot, const char *dir, msfaq_error *err);

/* Drops the slot's hold on the current KB.  No request may be running. */
void serve_kb_destroy(serve_kbslot *slot);

/* --------------------------------------------------------- metrics.c */

enum serve_route {
    SERVE_ROUTE_ASK,
    SERVE_ROUTE_SLACK_COMMANDS,
    SERVE_ROUTE_SLACK_EVENTS,
    SERVE_ROUTE_MATTERMOST,
    SERVE_ROUTE_HEALTHZ,
    SERVE_ROUTE_METRICS,
    SERVE_ROUTE_WEB_PAGE,      /* GET /: the chat page */
    SERVE_ROUTE_WEB_CSS,       /* GET /chat.css */
    SERVE_ROUTE_WEB_JS,        /* GET /chat.js */
    SERVE_ROUTE_WEB_WIDGET,    /* GET /widget.js */
    SERVE_ROUTE_MATRIX,        /* /_matrix/app/v1/...: appservice.c */
    SERVE_ROUTE_OTHER,         /* no such route */
    SERVE_ROUTE_COUNT
};

/* The path of a route ("/v1/ask"), or "other"; static. */
const char *serve_route_path(int route);

/* What became of a Slack event delivery. */
enum serve_event_outcome {
    SERVE_EVENT_QUEUED,        /* will be answered */
    SERVE_EVENT_DUPLICATE,     /* event_id (or channel+ts) seen before */
    SERVE_EVENT_IGNORED,       /* bot, own message, other event type */
    SERVE_EVENT_DROPPED,       /* queue full, or no bot token */
    SERVE_EVENT_UNAVAILABLE,   /* the state (Redis) cannot keep it now */
    SERVE_EVENT_OUTCOME_COUNT
};

#define SERVE_STATUS_SLOTS 12  /* the statuses we send, plus "other" */
#define SERVE_LATENCY_BUCKETS 12
#define SERVE_KIND_SLOTS 6     /* the five msfaq_kind values, "error" */

typedef struct serve_metrics {
    atomic_ulong requests[SERVE_ROUTE_COUNT][SERVE_STATUS_SLOTS];
    /* per bucket, not cumulative; the last slot is +Inf */
    atomic_ulong latency[SERVE_ROUTE_COUNT][SERVE_LATENCY_BUCKETS + 1];
    atomic_ullong latency_us[SERVE_ROUTE_COUNT];      /* sum */
    atomic_ulong answers[SERVE_KIND_SLOTS];
    atomic_ulong events[SERVE_EVENT_OUTCOME_COUNT];
    atomic_ulong posts_ok, posts_failed;
    atomic_ulong reloads_ok, reloads_failed;
    /* the state (state.c): up is a gauge (1 or 0); errors are failed
     * commands or connections, reclaimed the jobs taken over from a
     * replica that did not finish them */
    atomic_int state_up;
    bool state_shared;           /* Redis: set before any thread starts */
    atomic_ulong state_errors, state_reconnects, state_reclaimed;
} serve_metrics;

void serve_metrics_init(serve_metrics *m);
/* One finished HTTP request. */
void serve_metrics_request(serve_metrics *m, int route, int status,
                           double seconds);
/* One msfaq_ask() call: its msfaq_kind, or -1 for an error. */
void serve_metrics_answer(serve_metrics *m, int kind);
void serve_metrics_event(serve_metrics *m, int outcome);
/* The metrics in the Prometheus text format (version 0.0.4), in a
 * malloc'd string; NULL when out of memory. */
char *serve_metrics_render(serve_metrics *m, int inflight, size_t *len);

/* ------------------------------------------------------------- app */

typedef struct serve_events serve_events;
typedef struct serve_state serve_state;

/* Everything a handler may use; shared by all threads. */
typedef struct serve_app {
    const serve_config *cfg;
    serve_state *state;        /* where the queues keep their jobs */
    serve_kbslot kb;
    serve_metrics metrics;
    serve_events *events;      /* NULL: Slack events are not answered */
    char *web_csp;             /* the chat page's Content-Security-Policy
                                  (serve_web_csp()); NULL: none sent */
    atomic_int inflight;       /* requests being handled */
    struct serve_appservice *appservice;  /* NULL: not a Matrix
                                             application service */
} serve_app;

/* ----------------------------------------------------------- reply.c */

/* What a handler sees of an HTTP request. */
typedef struct serve_request {
    int route;                 /* enum serve_route */
    const char *body;          /* raw bytes, NUL-terminated */
    size_t body_len;
    /* headers, NULL when absent */
    const char *content_type;
    const char *slack_timestamp;
    const char *slack_signature;
    const char *if_none_match;
    time_t now;
    /* for the Matrix application service (its own methods, sub-paths and
     * token); NULL when absent */
    const char *method;
    const char *path;          /* the whole path, as received */
    const char *authorization;
    const char *access_token;  /* the ?access_token= query parameter */
} serve_request;

/* What a handler answers. */
typedef struct serve_reply {
    int status;
    char *body;                /* malloc'd; NULL: data, else empty */
    size_t len;
    const void *data;          /* static body (len bytes), when no body */
    const char *content_type;  /* static */
    const char *note;          /* static; for the log line */
    const char *etag;          /* static; NULL: none */
    const char *cache_control; /* static; NULL: "no-store" */
    bool web;                  /* a chat page file: CSP, Referrer-Policy */
    bool preflight;            /* a CORS preflight: Access-Control-Allow-
                                  Methods, -Headers, -Max-Age */
} serve_reply;

/* Sets the reply to obj as JSON (and takes obj's reference).  Out of
 * memory gives a 500. */
void serve_reply_json(serve_reply *rp, int status, json_t *obj);

/* Sets the reply to a copy of text, with a final newline added. */
void serve_reply_text(serve_reply *rp, int status, const char *content_type,
                      const char *text);

/* Sets the reply to {"error": code, "message": text}. */
void serve_reply_error(serve_reply *rp, int status, const char *code,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the reply to the error for a failed msfaq_ask(): 400 for bad
 * UTF-8, 413 for a question that is too long, 500 otherwise. */
void serve_reply_ask_error(serve_reply *rp, const msfaq_error *err);

/* A reply from msfaq_ask() together with the KB it came from: the
 * result's strings may point into the KB, so the KB is held until
 * serve_answer_free(). */
typedef struct serve_answer {
    serve_kbref *kb;
    msfaq_result *result;
} serve_answer;

/* Asks the current KB, counting the outcome in the metrics.  Returns what
 * msfaq_ask() returns; on success *ans holds the result. */
int serve_ask(serve_app *app, const char *question, unsigned flags,
              serve_answer *ans, msfaq_error *err);
void serve_answer_free(serve_answer *ans);

/* The reply to question as libmsfaq-post formats it for target (enum
 * msfaq_post_target: a Slack webhook body, Mattermost's {"text": ...}),
 * as a JSON object; NULL when out of memory.  Chat replies all go through
 * it, so a slash command's answer looks like an event's. */
json_t *serve_format_json(int target, const char *question,
                          const msfaq_result *r);

struct msfaq_poster;

/* The poster of a worker thread (Slack events, the Matrix application
 * service): target (enum msfaq_post_target) at url with token, replies
 * it cannot deliver to MSFAQ_DEAD_LETTER, msfaq-serve's User-Agent;
 * max_attempts and timeout_ms 0 for libmsfaq-post's defaults.  NULL with
 * err filled (naming the target, never the token). */
struct msfaq_poster *serve_poster_open(const serve_config *cfg, int target,
                                       const char *url, const char *token,
                                       int max_attempts, long timeout_ms,
                                       char *err, size_t errlen);

/* ------------------------------------------------------------ routes */

void serve_route_ask(serve_app *app, const serve_request *rq,
                     serve_reply *rp);
void serve_route_healthz(serve_app *app, const serve_request *rq,
                         serve_reply *rp);
void serve_route_metrics(serve_app *app, const serve_request *rq,
                         serve_reply *rp);
void serve_route_slack_commands(serve_app *app, const serve_request *rq,
                                serve_reply *rp);
void serve_route_slack_events(serve_app *app, const serve_request *rq,
                              serve_reply *rp);
void serve_route_mattermost(serve_app *app, const serve_request *rq,
                            serve_reply *rp);
/* GET /, /chat.css, /chat.js, /widget.js (304 for a matching
 * If-None-Match) */
void serve_route_web(serve_app *app, const serve_request *rq,
                     serve_reply *rp);
/* OPTIONS /v1/ask: a CORS preflight; the CORS headers themselves are
 * added by http.c for an allowed Origin */
void serve_route_preflight(serve_app *app, const serve_request *rq,
                           serve_reply *rp);

/* ------------------------------------------------------------- web.c */

/* One file of the chat page, compiled in (web_assets.c, generated by
 * cmake/embed_web.cmake from web/). */
typedef struct serve_web_file {
    const char *path;          /* "/" (chat.html), "/chat.css", ... */
    const char *content_type;
    const char *etag;          /* "\"" + 32 hex digits of SHA-256 + "\"" */
    const unsigned char *data;
    size_t size;
} serve_web_file;

extern const serve_web_file serve_web_files[];
extern const size_t serve_web_file_count;

/* The compiled-in file served at path, or NULL. */
const serve_web_file *serve_web_find(const char *path);

/* The entry of cfg->web_origins equal to origin (a request's Origin
 * header; NULL when absent), or NULL.  Compared exactly: browsers send
 * origins in their canonical form, and the setting is stored in it.  The
 * entry, not the header, is what a reply echoes. */
const char *serve_web_allowed_origin(const serve_config *cfg,
                                     const char *origin);

/* The Content-Security-Policy of the chat page and widget, in a malloc'd
 * string; NULL when out of memory.  frame-ancestors is 'self' and the
 * origins of MSFAQ_WEB_ORIGINS. */
char *serve_web_csp(const serve_config *cfg);

/* Checks one MSFAQ_WEB_ORIGINS entry and writes its canonical form
 * (scheme and host in lower case, a default port and one final "/"
 * dropped) to out.  Returns false when it is not an http:// or https://
 * origin (a path, a query, "*", "null", a character a header or a CSP
 * could be confused by). */
bool serve_web_origin_canon(const char *in, char *out, size_t size);

/* ----------------------------------------------------------- state.c */

/* Where the queues keep the jobs accepted and not yet handled, and the
 * keys of the deliveries seen: the local store (memory, and the spool of
 * MSFAQ_SPOOL_DIR; one process) or Redis (--state redis://...), shared by
 * any number of replicas.  Queues, events and the application service
 * see only this handle; state.h has the inside. */
typedef struct serve_store serve_store;

/* --state, parsed. */
typedef struct serve_state_url {
    char host[256];            /* TCP: a name or address; "" for a unix
                                  socket */
    int port;                  /* TCP: default 6379 */
    char path[108];            /* unix socket path (sun_path's size) */
    int db;                    /* SELECT db; default 0 */
    long timeout_ms;           /* connect and each command; default 1000 */
    long claim_ttl_s;          /* how long ids seen are kept; 86400 */
    long claim_after_ms;       /* a job left unacknowledged this long by
                                  a replica is taken over; 30000 */
    long max_jobs;             /* jobs waiting, at most; 10000 */
} serve_state_url;

/* Parses redis://[HOST][:PORT][/DB][?OPTIONS] or
 * redis+unix://PATH[?OPTIONS] (OPTIONS: db=N, timeout_ms=N,
 * claim_ttl_s=N, claim_after_ms=N, max_jobs=N, separated by &).  0, or -1
 * with err naming what is wrong and its place (the byte offset in url);
 * err never quotes url, which might hold a password. */
int serve_state_url_parse(const char *url, serve_state_url *u, char *err,
                          size_t errlen);

/* Opens the state: url NULL is the local store; else Redis at url (with
 * password, which may be NULL), counting in m.  Redis need not be up:
 * the state then starts down and connects by itself.  NULL with err
 * filled when url is bad or memory runs out. */
serve_state *serve_state_open(const char *url, const char *password,
                              serve_metrics *m, char *err, size_t errlen);

/* true when the state is shared by replicas (Redis). */
bool serve_state_shared(const serve_state *st);

/* true when the state takes work now; else false with the reason in why
 * (no secret in it).  Never blocks for long.  Thread-safe. */
bool serve_state_up(serve_state *st, char *why, size_t len);

/* "redis 127.0.0.1:6379 db 0", "local"; st's. */
const char *serve_state_where(const serve_state *st);

/* After the queues were stopped.  NULL: no-op. */
void serve_state_close(serve_state *st);

/* ----------------------------------------------------------- queue.c */

/* Jobs accepted over HTTP and handled afterwards, one at a time, by the
 * queue's own worker thread (Slack events, Matrix transactions): bounded,
 * de-duplicated by keys and, with a spool directory, kept on disk from
 * acceptance until handled, so a restart or a crash loses none. */
typedef struct serve_queue serve_queue;

/* A de-duplication key: the SHA-256 of a job's ids. */
typedef struct serve_queue_key {
    unsigned char d[SERVE_SHA256_SIZE];
} serve_queue_key;

/* The key of kind and one or two strings (b may be NULL). */
void serve_queue_key_of(serve_queue_key *k, const char *kind, const char *a,
                        const char *b);

/* A key in lowercase hex, NUL-terminated. */
#define SERVE_QUEUE_KEY_HEX (2 * SERVE_SHA256_SIZE + 1)
void serve_queue_key_hex(const serve_queue_key *k,
                         char out[SERVE_QUEUE_KEY_HEX]);

/* The last `slots` keys added, oldest forgotten first.  Not locked: its
 * owner's lock (or thread) guards it. */
typedef struct serve_keyring {
    serve_queue_key *keys;
    size_t slots, next, count;
} serve_keyring;

/* -1 when out of memory. */
int serve_keyring_init(serve_keyring *r, size_t slots);
bool serve_keyring_has(const serve_keyring *r, const serve_queue_key *k);
void serve_keyring_add(serve_keyring *r, const serve_queue_key *k);
void serve_keyring_free(serve_keyring *r);

typedef struct serve_queue_config {
    const char *name;          /* for log lines: "slack events" */
    /* Where the jobs and keys are kept (state.c); NULL: the local store
     * with the spool settings below */
    serve_state *state;
    /* The jobs not yet handled are kept in spool_dir/spool_name
     * (created, mode 0700); spool_dir NULL: in memory only */
    const char *spool_dir;
    const char *spool_name;
    /* The file of the keys seen; NULL: spool_dir/spool_name/seen, or in
     * memory only without a spool */
    const char *seen_file;
    size_t max_jobs;           /* jobs waiting; 0: 256 */
    size_t seen_slots;         /* keys remembered; 0: 4096 */
    /* On the worker thread before the first job (NULL: none); false
     * (stopping first) leaves every job to the next start. */
    bool (*begin)(void *ctx);
    /* On the worker thread: one job.  0 when done with it; -1 to keep
     * it in the spool for the next start (it could not be finished
     * because the queue is stopping). */
    int (*handle)(void *ctx, json_t *job);
    void *ctx;
} serve_queue_config;

enum serve_queue_outcome {
    SERVE_QUEUE_QUEUED,        /* accepted (on disk, with a spool; in
                                  Redis, with --state) */
    SERVE_QUEUE_DUPLICATE,     /* a key was seen before */
    SERVE_QUEUE_BUSY,          /* full, or stopping */
    SERVE_QUEUE_FAILED,        /* out of memory, or the spool refused it */
    SERVE_QUEUE_UNAVAILABLE    /* the state (Redis) is unreachable or
                                  refused it: nothing was kept */
};

/* Opens the spool (queuing the jobs left in it) and the seen file.
 * NULL with err filled when it cannot.  Jobs may be submitted at once;
 * they are handled once serve_queue_run() started the worker. */
serve_queue *serve_queue_open(const serve_queue_config *qc, char *err,
                              size_t errlen);

/* Starts the worker thread.  -1 with err filled when it cannot. */
int serve_queue_run(serve_queue *q, char *err, size_t errlen);

/* Queues job (a JSON object; NULL: only remember the keys) unless one of
 * its nkeys keys was seen before, and remembers the keys.  Returns an
 * enum serve_queue_outcome; only QUEUED remembers.  Takes job's
 * reference, whatever the outcome: the worker thread handles and frees
 * it, and jansson's reference counts are not atomic, so the caller must
 * hold no other reference to job or to a value in it.  Thread-safe. */
int serve_queue_submit(serve_queue *q, const serve_queue_key *keys,
                       size_t nkeys, json_t *job);

/* Keys remembered now (for log lines). */
size_t serve_queue_remembered(serve_queue *q);

/* For the worker's long calls: true once stopping, with *since_ms (may be
 * NULL) the milliseconds since the stop request. */
bool serve_queue_stopping(serve_queue *q, long long *since_ms);

/* Waits ms, or until a stop request.  false when stopping. */
bool serve_queue_pause(serve_queue *q, long ms);

/* Handles what is queued (when running), stops the worker and frees.
 * NULL: no-op. */
void serve_queue_stop(serve_queue *q);

/* ---------------------------------------------------------- events.c */

/* One Slack event to answer. */
typedef struct serve_event {
    const char *event_id;      /* may be NULL */
    const char *channel;
    const char *ts;            /* the message's ts */
    const char *thread_ts;     /* where to answer */
    const char *question;
} serve_event;

/* Starts the thread that answers queued events through chat.postMessage
 * at cfg->slack_api_url with cfg->slack_bot_token.  Returns NULL with err
 * filled when the poster cannot be opened. */
serve_events *serve_events_start(serve_app *app, char *err, size_t errlen);

/* Queues ev unless its event_id or its channel and ts were seen before.
 * Returns SERVE_EVENT_QUEUED, SERVE_EVENT_DUPLICATE or SERVE_EVENT_DROPPED
 * (queue full, out of memory).  Copies what it keeps.  Thread-safe. */
int serve_events_submit(serve_events *ev, const serve_event *e);

/* Answers what is queued, stops the thread and frees everything.  NULL is
 * a no-op. */
void serve_events_stop(serve_events *ev);

/* ------------------------------------------------------------ http.c */

struct MHD_Daemon;

/* Starts libmicrohttpd on the listening socket fd.  Returns NULL with err
 * filled on failure (fd is then still the caller's). */
struct MHD_Daemon *serve_http_start(serve_app *app, int fd, char *err,
                                    size_t errlen);

/* Stops accepting, waits up to drain_s seconds for the requests in
 * progress, then stops the daemon and closes its listening socket. */
void serve_http_stop(serve_app *app, struct MHD_Daemon *d, unsigned drain_s);

/* The version of libmicrohttpd in use ("0.9.75"); static. */
const char *serve_http_version(void);

/* ------------------------------------------------------ appservice.c */

typedef struct serve_appservice serve_appservice;

/* Bodies the application-service route takes, whatever --max-body says:
 * a homeserver sends up to 100 events in one transaction. */
#define SERVE_APPSERVICE_MAX_BODY (8u * 1024 * 1024)

/* true when cfg sets up a Matrix application service. */
bool serve_appservice_configured(const serve_config *cfg);

/* Starts the thread answering Matrix events (joins, questions), with its
 * own client and poster for cfg->matrix_homeserver.  Returns NULL with err
 * filled when it cannot. */
serve_appservice *serve_appservice_start(serve_app *app, char *err,
                                         size_t errlen);

/* The HTTP server is up: with MSFAQ_MATRIX_AS_ID, the worker asks the
 * homeserver to ping us, after which it sends the transactions it could
 * not deliver while we were down, without waiting out its backoff.  NULL
 * is a no-op. */
void serve_appservice_listening(serve_appservice *as);

/* Answers what is queued (network calls get 10 more seconds), stops the
 * thread and frees everything.  NULL is a no-op. */
void serve_appservice_stop(serve_appservice *as);

/* Reads a transaction body ({"events": [...]}).  0 with *events a new
 * reference to its events (an empty array when there are none), or -1
 * with rp set to the Matrix error to reply. */
int serve_appservice_parse_transaction(const char *body, size_t len,
                                       json_t **events, serve_reply *rp);

/* true for a path of the application-service API (/_matrix/app/...). */
bool serve_appservice_path(const char *path);

/* Any method on /_matrix/app/...: PUT transactions, POST ping, GET user
 * and room queries; Matrix error bodies.  Needs rq->method, rq->path,
 * rq->authorization and rq->access_token. */
void serve_route_appservice(serve_app *app, const serve_request *rq,
                            serve_reply *rp);

#endif /* MSFAQ_SERVE_H */
