/*
 * queue.c - the work accepted over HTTP and answered afterwards: Slack
 * events (events.c) and Matrix transactions (appservice.c).
 *
 * Both senders want their 2xx at once and send again when they do not get
 * it, so a handler accepts a job, replies, and one worker thread handles
 * the job later.  What the two need from that is the same, and lives here
 * and in the store under it (state.h): a bounded queue (full: the route
 * answers 503 and the sender delivers again later), de-duplication by
 * keys (SHA-256 digests of a job's ids), and keeping each accepted job
 * until it was handled, so that a crash loses none.
 *
 * The store is the local one (state_local.c: memory, and the spool of
 * MSFAQ_SPOOL_DIR) or Redis (state_redis.c: shared by the replicas, so a
 * job accepted by one is handled by whichever is free, and one a dead
 * replica left is taken over).  This file only runs the worker thread on
 * it, and knows neither.
 *
 * Stopping: the worker handles what the store still has for this process
 * (the local store: everything queued; Redis: the job in hand, the rest
 * being the other replicas' or the next start's), then ends.  A handler
 * cut short by the stop returns -1, and its job is kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* How long the worker waits for a job before it looks again: a bound on
 * how late a Redis store notices a stop. */
#define NEXT_WAIT_MS 1000

struct serve_queue {
    serve_queue_config cfg;
    char *name;                  /* our copy */
    serve_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* a stop request */
    bool running;                /* the worker thread was started */
    bool stopping;
    struct timespec stop_at;     /* CLOCK_MONOTONIC of the stop request */
};

int serve_queue_submit(serve_queue *q, const serve_queue_key *keys,
                       size_t nkeys, json_t *job)
{
    /* the store checks again under its own lock: this only spares a
     * round trip once stopping */
    pthread_mutex_lock(&q->lock);
    bool stopping = q->stopping;
    pthread_mutex_unlock(&q->lock);
    if (stopping && job) {
        json_decref(job);
        return SERVE_QUEUE_BUSY;
    }
    return q->store->ops->submit(q->store, keys, nkeys, job);
}

/* -------------------------------------------------------------- worker */

static long long ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - t->tv_sec) * 1000 +
           (now.tv_nsec - t->tv_nsec) / 1000000;
}

bool serve_queue_stopping(serve_queue *q, long long *since_ms)
{
    pthread_mutex_lock(&q->lock);
    bool stopping = q->stopping;
    if (stopping && since_ms)
        *since_ms = ms_since(&q->stop_at);
    pthread_mutex_unlock(&q->lock);
    return stopping;
}

bool serve_queue_pause(serve_queue *q, long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    while (!q->stopping &&
           pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0) {
        /* woken, but not stopping: keep waiting out the pause */
    }
    bool go_on = !q->stopping;
    pthread_mutex_unlock(&q->lock);
    return go_on;
}

static void *worker(void *arg)
{
    serve_queue *q = arg;
    serve_store *s = q->store;
    /* not begun (stopping first): the store keeps every job */
    if (q->cfg.begin && !q->cfg.begin(q->cfg.ctx))
        return NULL;
    for (;;) {
        serve_job j;
        int got = s->ops->next(s, NEXT_WAIT_MS, &j);
        if (got > 0) {
            int rc = q->cfg.handle(q->cfg.ctx, j.job);
            s->ops->done(s, &j, rc == 0);
            continue;
        }
        /* none came (or the store failed and waited): stop once asked,
         * the store having handed out what it still had for us */
        if (got == 0 && serve_queue_stopping(q, NULL))
            break;
        if (got < 0 && serve_queue_stopping(q, NULL))
            break;
    }
    return NULL;
}

/* ---------------------------------------------------------- life cycle */

serve_queue *serve_queue_open(const serve_queue_config *qc, char *err,
                              size_t errlen)
{
    serve_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->name = strdup(qc->name))) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->cfg = *qc;
    q->cfg.name = q->name;
    q->store = qc->state ? serve_state_store(qc->state, qc, err, errlen)
                         : serve_store_local_open(qc, err, errlen);
    if (!q->store) {
        free(q->name);
        free(q);
        return NULL;
    }
    /* the store keeps its own copies of the rest */
    q->cfg.spool_dir = q->cfg.spool_name = q->cfg.seen_file = NULL;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    return q;
}

int serve_queue_run(serve_queue *q, char *err, size_t errlen)
{
    int rc = pthread_create(&q->thread, NULL, worker, q);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        return -1;
    }
    q->running = true;
    serve_store *s = q->store;
    size_t recovered = s->ops->recovered(s);
    size_t seen = s->ops->remembered(s);
    if (seen != (size_t)-1 && strcmp(s->ops->where(s), "memory"))
        serve_log("%s: spool %s, %zu job%s waiting from before, %zu "
                  "deliveries remembered", q->name, s->ops->where(s),
                  recovered, recovered == 1 ? "" : "s", seen);
    else if (seen == (size_t)-1)
        serve_log("%s: kept in %s, shared with the other replicas",
                  q->name, s->ops->where(s));
    return 0;
}

size_t serve_queue_remembered(serve_queue *q)
{
    return q->store->ops->remembered(q->store);
}

void serve_queue_stop(serve_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    clock_gettime(CLOCK_MONOTONIC, &q->stop_at);
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    q->store->ops->stop(q->store);
    if (q->running)
        pthread_join(q->thread, NULL);   /* it handles what is queued */
    q->store->ops->close(q->store);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    free(q->name);
    free(q);
}
