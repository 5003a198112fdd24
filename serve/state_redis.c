/*
 * state_redis.c - the Redis store: what any number of msfaq serve
 * replicas share (--state redis://...), through hiredis.
 *
 * Per queue (slack-events, matrix-transactions), with NAME its name:
 *
 *     msfaq:{NAME}:seen:HEX   one claimed id (HEX: SHA-256 of the ids,
 *                             never the ids), PX claim_ttl_s
 *     msfaq:{NAME}:jobs       a stream of accepted jobs, field "job" the
 *                             job's JSON; consumer group "msfaq"
 *     msfaq:{NAME}:bad        jobs that could not be read, set aside
 *
 * (The braces make all of a queue's keys one Redis Cluster hash slot, so
 * the submit script may touch them together.)
 *
 * Submitting is one script, so atomic: if any key exists the delivery is
 * a duplicate; a full stream (max_jobs) is refused; otherwise every key
 * is claimed with SET NX PX and the job added with XADD.  Exactly one
 * replica gets "queued" for a delivery, whichever the load balancer
 * picked and however often Slack or the homeserver repeat it.  When the
 * reply to the script is lost (a time-out), the sender gets a 503 and
 * repeats; the repeat finds the keys and is a duplicate, and the job, if
 * the script ran, is in the stream: nothing is answered twice or lost.
 *
 * Each replica reads the stream in the group (XREADGROUP, one job at a
 * time), answers, then XACKs and XDELs the entry.  An entry a replica
 * read but never acknowledged (it was killed) stays pending; any replica
 * takes it over with XAUTOCLAIM once it has been idle claim_after_ms.  A
 * job in hand longer than that (a target's Retry-After, a slow
 * homeserver) is kept ours by the keeper thread, which touches it with
 * XCLAIM ... JUSTID, so no other replica takes it while we work on it.
 * After a reconnect a replica waits one claim_after_ms before taking
 * over others' entries, so that those busy through an outage acknowledge
 * theirs first.  Redis must keep what it acknowledged: appendonly with
 * appendfsync always (or everysec, losing up to a second on a Redis
 * crash), see docs/deploy.md.
 *
 * What is not promised, as with the spool: a replica killed after its
 * reply was delivered and before its XACK has that job answered again by
 * another.  Matrix replies carry a transaction id made from the event,
 * so the homeserver drops the repeat; a Slack chat.postMessage can then
 * appear twice.  The window is one round trip to Redis.
 *
 * Threads and links: a hiredis context is not thread-safe, so there are
 * several.  The HTTP threads share one (the submit link, under a mutex
 * taken with a deadline); each store's worker has its own; the keeper
 * uses the submit link.  Every connect and command has a time-out
 * (timeout_ms), so no HTTP thread waits on Redis longer than that plus
 * its turn for the mutex, itself bounded: a submit that cannot have the
 * link within timeout_ms answers 503.  When Redis is down a link is
 * retried after a backoff (100 ms doubling to 5 s), never in a loop, and
 * the HTTP threads answer 503 at once until then.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "state.h"

#define GROUP "msfaq"
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define BLOCK_MS 1000            /* XREADGROUP's wait, at most */
#define MAX_STORES 4
#define WHY_SIZE 256

/* The submit script: KEYS[1] the stream, KEYS[2..] the claim keys; ARGV
 * the claims' lifetime in ms, max_jobs, the job ("" for none) and who
 * claims (for a person reading Redis).  1 queued, 0 duplicate, -1 full. */
static const char submit_script[] =
    "for i = 2, #KEYS do\n"
    "  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end\n"
    "end\n"
    "if ARGV[3] ~= '' and\n"
    "   redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[2]) then\n"
    "  return -1\n"
    "end\n"
    "for i = 2, #KEYS do\n"
    "  redis.call('SET', KEYS[i], ARGV[4], 'NX', 'PX', ARGV[1])\n"
    "end\n"
    "if ARGV[3] ~= '' then\n"
    "  redis.call('XADD', KEYS[1], '*', 'job', ARGV[3])\n"
    "end\n"
    "return 1\n";

/* One connection and when to try it again. */
typedef struct rlink {
    redisContext *c;             /* NULL: not connected */
    long long retry_at;          /* monotonic ms; no connect before */
    long backoff_ms;
    bool group_ok;               /* the group exists (this connection) */
} rlink;

typedef struct rstore rstore;

struct serve_redis {
    serve_state_url url;
    char *password;              /* secret: wiped on close */
    serve_metrics *m;
    char where[300];
    char consumer[128];          /* this process, in every group */
    /* the submit link, shared by the HTTP threads and the keeper */
    pthread_mutex_t lock;
    rlink sub;
    /* health: the last failure, for /healthz */
    pthread_mutex_t why_lock;
    char why[WHY_SIZE];
    /* the keeper: touches the jobs in hand; stores register here */
    pthread_t keeper;
    bool keeper_running;
    pthread_mutex_t keep_lock;
    pthread_cond_t keep_wake;
    bool keep_stop;
    rstore *stores[MAX_STORES];
};

struct rstore {
    serve_store base;
    serve_redis *r;
    char *name;
    char *stream, *bad, *seen_prefix;
    rlink wl;                    /* the worker's */
    atomic_bool stopping;
    long long sweep_at;          /* next XAUTOCLAIM, monotonic ms */
    char cursor[48];             /* XAUTOCLAIM's */
    /* the job in hand, for the keeper (under r->keep_lock) */
    char held[48];
    long long held_touched;
};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct timeval tv_of(long ms)
{
    return (struct timeval){.tv_sec = ms / 1000,
                            .tv_usec = (ms % 1000) * 1000};
}

static void count(atomic_ulong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ------------------------------------------------------------ health */

/* Records a failure (what went wrong, no secret) and says so once when
 * the state goes down. */
static void went_down(serve_redis *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void went_down(serve_redis *r, const char *fmt, ...)
{
    char text[WHY_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    count(&r->m->state_errors);
    pthread_mutex_lock(&r->why_lock);
    snprintf(r->why, sizeof r->why, "%s: %s", r->where, text);
    pthread_mutex_unlock(&r->why_lock);
    if (atomic_exchange(&r->m->state_up, 0) == 1)
        serve_log("state: %s: %s; Slack events and Matrix transactions "
                  "get 503 until it is back", r->where, text);
}

static void went_up(serve_redis *r)
{
    if (atomic_exchange(&r->m->state_up, 1) == 0) {
        count(&r->m->state_reconnects);
        serve_log("state: %s is reachable again", r->where);
    }
}

bool serve_redis_up(serve_redis *r, char *why, size_t len)
{
    if (atomic_load(&r->m->state_up))
        return true;
    pthread_mutex_lock(&r->why_lock);
    snprintf(why, len, "%s", r->why);
    pthread_mutex_unlock(&r->why_lock);
    return false;
}

/* ------------------------------------------------------------- links */

static void link_drop(rlink *l)
{
    if (l->c)
        redisFree(l->c);
    l->c = NULL;
    l->group_ok = false;
}

/* After a failure on a working connection: try again at once once, then
 * back off. */
static void link_broken(rlink *l)
{
    link_drop(l);
    long long now = now_ms();
    if (l->retry_at < now)
        l->retry_at = now;
}

/* A reply of the type wanted, else a line in why. */
static bool reply_is(const redisReply *rep, int type, const char *cmd,
                     char *why, size_t len)
{
    static const char *const names[] = {"?", "string", "array", "integer",
                                        "nil", "status", "error"};
    if (rep && rep->type == type)
        return true;
    if (!rep)
        snprintf(why, len, "%s: no reply", cmd);
    else if (rep->type == REDIS_REPLY_ERROR)
        snprintf(why, len, "%s: %.*s", cmd, (int)(rep->len < 160 ? rep->len
                                                                  : 160),
                 rep->str);
    else
        snprintf(why, len, "%s: expected %s, got %s", cmd,
                 names[type > 0 && type <= 6 ? type : 0],
                 names[rep->type > 0 && rep->type <= 6 ? rep->type : 0]);
    return false;
}

/* The connection of l, connecting when there is none and its backoff is
 * over; NULL when Redis cannot be had now.  extra_ms: how much longer
 * than timeout_ms a command on it may take (a blocking read). */
static redisContext *link_get(serve_redis *r, rlink *l, long extra_ms)
{
    if (l->c)
        return l->c;
    long long now = now_ms();
    if (now < l->retry_at)
        return NULL;
    const serve_state_url *u = &r->url;
    struct timeval tv = tv_of(u->timeout_ms);
    redisContext *c = u->path[0] ? redisConnectUnixWithTimeout(u->path, tv)
                                 : redisConnectWithTimeout(u->host, u->port,
                                                           tv);
    char why[WHY_SIZE] = "";
    if (!c) {
        snprintf(why, sizeof why, "connect: out of memory");
    } else if (c->err) {
        snprintf(why, sizeof why, "connect: %s", c->errstr);
    } else if (redisSetTimeout(c, tv_of(u->timeout_ms + extra_ms)) !=
               REDIS_OK) {
        snprintf(why, sizeof why, "cannot set a time-out: %s", c->errstr);
    }
    if (!why[0] && r->password) {
        const char *argv[] = {"AUTH", r->password};
        redisReply *rep = redisCommandArgv(c, 2, argv, NULL);
        /* the reply never repeats the password */
        if (!reply_is(rep, REDIS_REPLY_STATUS, "AUTH", why, sizeof why) &&
            !rep)
            snprintf(why, sizeof why, "AUTH: %s", c->errstr);
        freeReplyObject(rep);
    }
    if (!why[0] && u->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", u->db);
        const char *argv[] = {"SELECT", db};
        redisReply *rep = redisCommandArgv(c, 2, argv, NULL);
        if (!reply_is(rep, REDIS_REPLY_STATUS, "SELECT", why, sizeof why) &&
            !rep)
            snprintf(why, sizeof why, "SELECT: %s", c->errstr);
        freeReplyObject(rep);
    }
    if (why[0]) {
        if (c)
            redisFree(c);
        l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_FIRST_MS;
        if (l->backoff_ms > BACKOFF_MAX_MS)
            l->backoff_ms = BACKOFF_MAX_MS;
        /* the upper half random: replicas do not all come at once */
        long wait = l->backoff_ms / 2 + random() % (l->backoff_ms / 2 + 1);
        l->retry_at = now_ms() + wait;
        went_down(r, "%s", why);
        return NULL;
    }
    l->c = c;
    l->backoff_ms = 0;
    l->group_ok = false;
    went_up(r);
    return c;
}

/* One command on l.  The reply (freeReplyObject() it), or NULL when the
 * connection failed (it is dropped and the failure recorded).  An error
 * reply is returned: the caller judges it. */
static redisReply *command(serve_redis *r, rlink *l, long extra_ms, int argc,
                           const char **argv, const size_t *lens)
{
    redisContext *c = link_get(r, l, extra_ms);
    if (!c)
        return NULL;
    redisReply *rep = redisCommandArgv(c, argc, argv, lens);
    if (!rep) {
        went_down(r, "%s: %s", argv[0], c->err ? c->errstr : "no reply");
        link_broken(l);
        return NULL;
    }
    went_up(r);
    return rep;
}

/* Takes the submit link, waiting at most timeout_ms for it. */
static bool sub_lock(serve_redis *r)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ms = r->url.timeout_ms;
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(&r->lock, &until) == 0;
}

/* ------------------------------------------------------------ submit */

static int redis_submit(serve_store *s, const serve_queue_key *keys,
                        size_t nkeys, json_t *job)
{
    rstore *st = (rstore *)s;
    serve_redis *r = st->r;
    char *text = job ? json_dumps(job, JSON_COMPACT) : NULL;
    json_decref(job);
    if (job && !text)
        return SERVE_QUEUE_FAILED;
    if (atomic_load(&st->stopping)) {
        free(text);
        return SERVE_QUEUE_BUSY;
    }
    enum { FIXED = 5 };
    const char *argv[FIXED + 8 + 4];
    size_t lens[FIXED + 8 + 4];
    char numkeys[16], ttl[32], max[32];
    char claim[8][200];
    if (nkeys > 8)
        nkeys = 8;               /* two in practice */
    snprintf(numkeys, sizeof numkeys, "%zu", nkeys + 1);
    snprintf(ttl, sizeof ttl, "%lld", (long long)r->url.claim_ttl_s * 1000);
    snprintf(max, sizeof max, "%ld", r->url.max_jobs);
    int argc = 0;
    argv[argc++] = "EVAL";
    argv[argc++] = submit_script;
    argv[argc++] = numkeys;
    argv[argc++] = st->stream;
    for (size_t i = 0; i < nkeys; i++) {
        char hex[SERVE_QUEUE_KEY_HEX];
        serve_queue_key_hex(&keys[i], hex);
        snprintf(claim[i], sizeof claim[i], "%s%s", st->seen_prefix, hex);
        argv[argc++] = claim[i];
    }
    argv[argc++] = ttl;
    argv[argc++] = max;
    argv[argc++] = text ? text : "";
    argv[argc++] = r->consumer;
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);

    int outcome = SERVE_QUEUE_UNAVAILABLE;
    if (!sub_lock(r)) {
        free(text);
        count(&r->m->state_errors);
        return outcome;          /* others hold the link: Redis is slow */
    }
    redisReply *rep = command(r, &r->sub, 0, argc, argv, lens);
    pthread_mutex_unlock(&r->lock);
    char why[WHY_SIZE];
    if (!rep) {
        /* down: recorded by command() */
    } else if (!reply_is(rep, REDIS_REPLY_INTEGER, "EVAL (submit)", why,
                         sizeof why)) {
        /* Redis answered, but not as the script does: out of memory
         * (maxmemory), a read-only replica, scripts disabled, not Redis */
        went_down(r, "%s", why);
        serve_log("%s: %s: %s", st->name, r->where, why);
    } else {
        outcome = rep->integer == 1   ? SERVE_QUEUE_QUEUED
                  : rep->integer == 0 ? SERVE_QUEUE_DUPLICATE
                                      : SERVE_QUEUE_BUSY;
    }
    freeReplyObject(rep);
    free(text);
    return outcome;
}

/* ------------------------------------------------------------ worker */

/* Waits ms, or until stopping; in steps, so a stop is seen soon. */
static void nap(rstore *st, long ms)
{
    long long end = now_ms() + ms;
    while (!atomic_load(&st->stopping)) {
        long long left = end - now_ms();
        if (left <= 0)
            break;
        struct timespec ts = {0, (left < 50 ? left : 50) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The worker link, with the group made (XGROUP CREATE ... 0 MKSTREAM:
 * from the first entry, so none added before it is missed).  NULL when
 * Redis cannot be had. */
static redisContext *worker_link(rstore *st)
{
    serve_redis *r = st->r;
    bool fresh = !st->wl.c;
    if (!link_get(r, &st->wl, BLOCK_MS))
        return NULL;
    if (fresh)               /* see the top: others first after an outage */
        st->sweep_at = now_ms() + r->url.claim_after_ms;
    if (st->wl.group_ok)
        return st->wl.c;
    const char *argv[] = {"XGROUP", "CREATE", st->stream, GROUP, "0",
                          "MKSTREAM"};
    redisReply *rep = command(r, &st->wl, BLOCK_MS, 6, argv, NULL);
    if (!rep)
        return NULL;
    char why[WHY_SIZE];
    bool ok = reply_is(rep, REDIS_REPLY_STATUS, "XGROUP CREATE", why,
                       sizeof why) ||
              (rep->type == REDIS_REPLY_ERROR &&
               !strncmp(rep->str, "BUSYGROUP", 9));
    freeReplyObject(rep);
    if (!ok) {
        count(&r->m->state_errors);
        serve_log("%s: %s: %s", st->name, r->where, why);
        return NULL;
    }
    st->wl.group_ok = true;
    return st->wl.c;
}

static void hold(rstore *st, const char *id)
{
    pthread_mutex_lock(&st->r->keep_lock);
    snprintf(st->held, sizeof st->held, "%s", id);
    st->held_touched = now_ms();
    pthread_mutex_unlock(&st->r->keep_lock);
}

/* XACK and XDEL of id, in one round trip (a script: both or neither).
 * 1 when done, 0 when Redis could not be reached (worth trying again),
 * -1 when it refused (logged; trying again would not help). */
static int acknowledge(rstore *st, const char *id)
{
    static const char script[] =
        "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
        "return redis.call('XDEL', KEYS[1], ARGV[2])\n";
    const char *argv[] = {"EVAL", script, "1", st->stream, GROUP, id};
    redisReply *rep = command(st->r, &st->wl, BLOCK_MS, 6, argv, NULL);
    if (!rep)
        return 0;
    char why[WHY_SIZE];
    int rc = 1;
    if (!reply_is(rep, REDIS_REPLY_INTEGER, "XACK", why, sizeof why)) {
        count(&st->r->m->state_errors);
        serve_log("%s: %s: %s; entry %s stays pending", st->name,
                  st->r->where, why, id);
        rc = -1;
    }
    freeReplyObject(rep);
    return rc;
}

/* An entry that is not a job: kept in the bad stream for a person,
 * acknowledged in the queue. */
static void set_aside(rstore *st, const char *id, const redisReply *fields,
                      const char *why)
{
    const char *text = "";
    size_t len = 0;
    for (size_t i = 0; fields && fields->type == REDIS_REPLY_ARRAY &&
                       i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            !strcmp(k->str, "job")) {
            text = v->str;
            len = v->len;
        }
    }
    const char *argv[] = {"XADD", st->bad, "*", "id", id, "job", text};
    size_t lens[] = {4, strlen(st->bad), 1, 2, strlen(id), 3, len};
    freeReplyObject(command(st->r, &st->wl, BLOCK_MS, 7, argv, lens));
    acknowledge(st, id);
    serve_log("%s: entry %s of %s: %s; kept in %s", st->name, id, st->stream,
              why, st->bad);
}

/* Reads one stream entry ([id, [field, value, ...]]) into *out.  1 when
 * it is a job, 0 when it was set aside or is gone, -1 when it is not an
 * entry at all. */
static int take_entry(rstore *st, const redisReply *e, serve_job *out)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING ||
        e->element[0]->len >= sizeof out->id)
        return -1;
    const char *id = e->element[0]->str;
    const redisReply *fields = e->element[1];
    if (fields->type == REDIS_REPLY_NIL) {
        acknowledge(st, id);     /* deleted meanwhile: nothing to do */
        return 0;
    }
    const redisReply *text = NULL;
    for (size_t i = 0; fields->type == REDIS_REPLY_ARRAY &&
                       i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING &&
            !strcmp(fields->element[i]->str, "job"))
            text = fields->element[i + 1];
    if (!text || text->type != REDIS_REPLY_STRING) {
        set_aside(st, id, fields, "no \"job\" field");
        return 0;
    }
    json_error_t je;
    json_t *job = json_loadb(text->str, text->len, 0, &je);
    if (!json_is_object(job)) {
        char why[200];
        snprintf(why, sizeof why, "not a job: line %d, column %d: %s",
                 je.line, je.column, job ? "not an object" : je.text);
        json_decref(job);
        set_aside(st, id, fields, why);
        return 0;
    }
    *out = (serve_job){.job = job};
    snprintf(out->id, sizeof out->id, "%s", id);
    hold(st, id);
    return 1;
}

/* XAUTOCLAIM: one entry left idle claim_after_ms by any replica (a dead
 * one, mostly), now ours.  1, 0 (none: the next sweep is later), -1. */
static int sweep(rstore *st, serve_job *out)
{
    serve_redis *r = st->r;
    char idle[32];
    snprintf(idle, sizeof idle, "%ld", r->url.claim_after_ms);
    const char *argv[] = {"XAUTOCLAIM", st->stream, GROUP, r->consumer,
                          idle, st->cursor, "COUNT", "1"};
    redisReply *rep = command(r, &st->wl, BLOCK_MS, 8, argv, NULL);
    if (!rep)
        return -1;
    char why[WHY_SIZE];
    /* [next cursor, [entries], (Redis 7: [deleted ids])] */
    if (!reply_is(rep, REDIS_REPLY_ARRAY, "XAUTOCLAIM", why, sizeof why) ||
        rep->elements < 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_ARRAY) {
        if (rep->type == REDIS_REPLY_ERROR &&
            !strncmp(rep->str, "NOGROUP", 7))
            st->wl.group_ok = false;     /* Redis lost it: made again */
        else if (rep->type == REDIS_REPLY_ARRAY)
            snprintf(why, sizeof why, "XAUTOCLAIM: not [cursor, entries]");
        count(&r->m->state_errors);
        serve_log("%s: %s: %s", st->name, r->where, why);
        freeReplyObject(rep);
        st->sweep_at = now_ms() + r->url.claim_after_ms / 2;
        return -1;
    }
    snprintf(st->cursor, sizeof st->cursor, "%s", rep->element[0]->str);
    int got = 0;
    for (size_t i = 0; i < rep->element[1]->elements && got == 0; i++) {
        int rc = take_entry(st, rep->element[1]->element[i], out);
        if (rc < 0)
            serve_log("%s: XAUTOCLAIM gave a malformed entry", st->name);
        got = rc > 0;
    }
    freeReplyObject(rep);
    if (got) {
        out->reclaimed = true;
        count(&r->m->state_reclaimed);
        serve_log("%s: took over %s, left unfinished by another replica",
                  st->name, out->id);
    } else if (!strcmp(st->cursor, "0-0")) {
        /* a whole pass found nothing: the next in a while */
        st->sweep_at = now_ms() + r->url.claim_after_ms / 2;
    }
    return got;
}

static int redis_next(serve_store *s, long wait_ms, serve_job *out)
{
    rstore *st = (rstore *)s;
    serve_redis *r = st->r;
    if (atomic_load(&st->stopping))
        return 0;                /* the rest is the other replicas' */
    if (!worker_link(st)) {
        long left = st->wl.retry_at - now_ms();
        nap(st, left > 0 && left < wait_ms ? left : wait_ms);
        return -1;
    }
    if (now_ms() >= st->sweep_at) {
        int got = sweep(st, out);
        if (got != 0)
            return got;
    }
    char block[16];
    snprintf(block, sizeof block, "%ld", wait_ms < BLOCK_MS ? wait_ms
                                                            : BLOCK_MS);
    const char *argv[] = {"XREADGROUP", "GROUP", GROUP, r->consumer,
                          "COUNT", "1", "BLOCK", block, "STREAMS",
                          st->stream, ">"};
    redisReply *rep = command(r, &st->wl, BLOCK_MS, 11, argv, NULL);
    if (!rep) {
        nap(st, BACKOFF_FIRST_MS);
        return -1;
    }
    int got = 0;
    char why[WHY_SIZE];
    if (rep->type == REDIS_REPLY_NIL) {
        got = 0;                 /* nothing came within block */
    } else if (!reply_is(rep, REDIS_REPLY_ARRAY, "XREADGROUP", why,
                         sizeof why)) {
        if (rep->type == REDIS_REPLY_ERROR &&
            !strncmp(rep->str, "NOGROUP", 7)) {
            st->wl.group_ok = false;     /* Redis lost it: made again */
            got = -1;
        } else {
            count(&r->m->state_errors);
            serve_log("%s: %s: %s", st->name, r->where, why);
            got = -1;
            nap(st, BLOCK_MS);   /* not worth a line more than once a s */
        }
    } else {
        /* [[stream, [entry, ...]]] */
        const redisReply *sr = rep->elements ? rep->element[0] : NULL;
        const redisReply *entries = sr && sr->type == REDIS_REPLY_ARRAY &&
                                            sr->elements == 2
                                        ? sr->element[1] : NULL;
        if (!entries || entries->type != REDIS_REPLY_ARRAY) {
            count(&r->m->state_errors);
            serve_log("%s: %s: XREADGROUP: expected [[stream, [entries]]]",
                      st->name, r->where);
            got = -1;
            nap(st, BLOCK_MS);
        } else {
            for (size_t i = 0; i < entries->elements && got == 0; i++) {
                int rc = take_entry(st, entries->element[i], out);
                if (rc < 0)
                    serve_log("%s: XREADGROUP gave a malformed entry",
                              st->name);
                got = rc > 0;
            }
        }
    }
    freeReplyObject(rep);
    return got;
}

static void redis_done(serve_store *s, serve_job *j, bool handled)
{
    rstore *st = (rstore *)s;
    hold(st, "");
    json_decref(j->job);
    j->job = NULL;
    /* not handled (stopping): it stays pending, and a replica takes it
     * over after claim_after_ms */
    if (!handled)
        return;
    /* Redis may be down just now: try until it is back or we stop, or
     * another replica would answer this job again */
    while (acknowledge(st, j->id) == 0 && !atomic_load(&st->stopping)) {
        if (!worker_link(st))
            nap(st, BACKOFF_FIRST_MS);
    }
}

static void redis_stop(serve_store *s)
{
    atomic_store(&((rstore *)s)->stopping, true);
}

static size_t redis_remembered(serve_store *s)
{
    (void)s;
    return (size_t)-1;           /* in Redis, with an expiry */
}

static const char *redis_where(serve_store *s)
{
    return ((rstore *)s)->r->where;
}

static size_t redis_recovered(serve_store *s)
{
    (void)s;
    return 0;
}

static void rstore_free(rstore *st)
{
    if (!st)
        return;
    link_drop(&st->wl);
    free(st->name);
    free(st->stream);
    free(st->bad);
    free(st->seen_prefix);
    free(st);
}

static void redis_close(serve_store *s)
{
    rstore *st = (rstore *)s;
    serve_redis *r = st->r;
    pthread_mutex_lock(&r->keep_lock);
    for (int i = 0; i < MAX_STORES; i++)
        if (r->stores[i] == st)
            r->stores[i] = NULL;
    pthread_mutex_unlock(&r->keep_lock);
    rstore_free(st);
}

static const struct serve_store_ops redis_ops = {
    .submit = redis_submit,
    .next = redis_next,
    .done = redis_done,
    .stop = redis_stop,
    .remembered = redis_remembered,
    .where = redis_where,
    .recovered = redis_recovered,
    .close = redis_close,
};

serve_store *serve_store_redis_open(serve_redis *r,
                                    const serve_queue_config *qc, char *err,
                                    size_t errlen)
{
    rstore *st = calloc(1, sizeof *st);
    const char *q = qc->spool_name ? qc->spool_name : qc->name;
    if (!st || !(st->name = strdup(qc->name)) ||
        asprintf(&st->stream, "msfaq:{%s}:jobs", q) < 0 ||
        asprintf(&st->bad, "msfaq:{%s}:bad", q) < 0 ||
        asprintf(&st->seen_prefix, "msfaq:{%s}:seen:", q) < 0) {
        /* asprintf leaves its pointer undefined on failure */
        if (st)
            st->stream = st->bad = st->seen_prefix = NULL;
        rstore_free(st);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->base.ops = &redis_ops;
    st->r = r;
    atomic_init(&st->stopping, false);
    snprintf(st->cursor, sizeof st->cursor, "0-0");
    pthread_mutex_lock(&r->keep_lock);
    int slot = -1;
    for (int i = 0; i < MAX_STORES && slot < 0; i++)
        if (!r->stores[i])
            slot = i;
    if (slot >= 0)
        r->stores[slot] = st;
    pthread_mutex_unlock(&r->keep_lock);
    if (slot < 0) {
        rstore_free(st);
        snprintf(err, errlen, "too many queues");
        return NULL;
    }
    return &st->base;
}

/* ------------------------------------------------------------ keeper */

/* Every claim_after_ms / 3: the job each worker has in hand is touched
 * (XCLAIM to ourselves, JUSTID: its idle time starts again), so it is
 * not taken over while we still work on it. */
static void *keeper_main(void *arg)
{
    serve_redis *r = arg;
    long period = r->url.claim_after_ms / 3;
    pthread_mutex_lock(&r->keep_lock);
    while (!r->keep_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += period / 1000;
        until.tv_nsec += (period % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&r->keep_wake, &r->keep_lock, &until);
        for (int i = 0; i < MAX_STORES && !r->keep_stop; i++) {
            rstore *st = r->stores[i];
            if (!st || !st->held[0] || now_ms() - st->held_touched < period)
                continue;
            char id[48], stream[256];
            snprintf(id, sizeof id, "%s", st->held);
            snprintf(stream, sizeof stream, "%s", st->stream);
            st->held_touched = now_ms();
            /* not under keep_lock: a command may take timeout_ms */
            pthread_mutex_unlock(&r->keep_lock);
            const char *argv[] = {"XCLAIM", stream, GROUP, r->consumer,
                                  "0", id, "JUSTID"};
            if (sub_lock(r)) {
                freeReplyObject(command(r, &r->sub, 0, 7, argv, NULL));
                pthread_mutex_unlock(&r->lock);
            }
            pthread_mutex_lock(&r->keep_lock);
        }
    }
    pthread_mutex_unlock(&r->keep_lock);
    return NULL;
}

/* --------------------------------------------------------- life cycle */

serve_redis *serve_redis_open(const serve_state_url *u, const char *password,
                              serve_metrics *m, char *err, size_t errlen)
{
    serve_redis *r = calloc(1, sizeof *r);
    if (!r || (password && !(r->password = strdup(password)))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->url = *u;
    r->m = m;
    if (u->path[0])
        snprintf(r->where, sizeof r->where, "redis unix:%s db %d", u->path,
                 u->db);
    else
        snprintf(r->where, sizeof r->where, "redis %s%s%s:%d db %d",
                 strchr(u->host, ':') ? "[" : "", u->host,
                 strchr(u->host, ':') ? "]" : "", u->port, u->db);
    char host[64] = "msfaq";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    srandom((unsigned)(t.tv_nsec ^ getpid()));
    /* unique per process: a restarted replica is a new consumer, and
     * takes over what its old self left like anyone else */
    snprintf(r->consumer, sizeof r->consumer, "%s-%ld-%08lx", host,
             (long)getpid(), (unsigned long)random());
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->why_lock, NULL);
    pthread_mutex_init(&r->keep_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->keep_wake, &attr);
    pthread_condattr_destroy(&attr);
    snprintf(r->why, sizeof r->why, "%s: not connected yet", r->where);
    /* a first try, so the log says at once whether Redis is there; down
     * is not fatal: it is tried again, and 503s meanwhile */
    pthread_mutex_lock(&r->lock);
    bool up = link_get(r, &r->sub, 0) != NULL;
    pthread_mutex_unlock(&r->lock);
    if (up)
        serve_log("state: %s, as %s", r->where, r->consumer);
    int rc = pthread_create(&r->keeper, NULL, keeper_main, r);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        serve_redis_close(r);
        return NULL;
    }
    r->keeper_running = true;
    return r;
}

void serve_redis_close(serve_redis *r)
{
    if (!r)
        return;
    if (r->keeper_running) {
        pthread_mutex_lock(&r->keep_lock);
        r->keep_stop = true;
        pthread_cond_signal(&r->keep_wake);
        pthread_mutex_unlock(&r->keep_lock);
        pthread_join(r->keeper, NULL);
    }
    link_drop(&r->sub);
    if (r->password) {
        serve_wipe(r->password, strlen(r->password));
        free(r->password);
    }
    pthread_cond_destroy(&r->keep_wake);
    pthread_mutex_destroy(&r->keep_lock);
    pthread_mutex_destroy(&r->why_lock);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
