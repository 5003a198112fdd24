/*
 * state.h - the inside of serve_state and serve_store, shared by queue.c
 * and the backends (state_local.c, state_redis.c) only; everything else
 * in serve/ sees them through serve.h.
 *
 * A store is one queue's durable part: the keys seen (de-duplication)
 * and the jobs accepted and not yet handled.  queue.c runs the worker
 * thread on top of a store through these operations and never knows
 * which backend it has.  Every operation is thread-safe unless it says
 * otherwise; next() and done() are called by the one worker thread.
 */
#ifndef MSFAQ_SERVE_STATE_H
#define MSFAQ_SERVE_STATE_H

#include "serve.h"

/* One job handed to the worker. */
typedef struct serve_job {
    json_t *job;               /* ours until done() */
    unsigned long long seq;    /* local: its spool file; 0: none */
    char id[48];               /* redis: the stream entry id */
    bool reclaimed;            /* redis: taken over from a replica that
                                  did not finish it */
} serve_job;

struct serve_store_ops {
    /* Queues job (NULL: only remember the keys) unless a key was seen
     * before; an enum serve_queue_outcome.  Takes job's reference,
     * whatever the outcome.  Only QUEUED remembers the keys. */
    int (*submit)(serve_store *s, const serve_queue_key *keys, size_t n,
                  json_t *job);
    /* The next job, waiting at most wait_ms: 1 with *out filled, 0 when
     * none came (or the store is stopping and has nothing more for this
     * process), -1 when the backend failed (already waited out a
     * backoff).  Worker thread only. */
    int (*next)(serve_store *s, long wait_ms, serve_job *out);
    /* Done with j: handled (forgotten for good), or not (false: kept for
     * the next start, or for another replica).  Frees j->job.  Worker
     * thread only. */
    void (*done)(serve_store *s, serve_job *j, bool handled);
    /* From now on submit() refuses (BUSY) and next() returns what this
     * process still has to hand, then 0; a waiting next() returns. */
    void (*stop)(serve_store *s);
    /* Keys remembered now, for log lines; (size_t)-1 when not known
     * (kept elsewhere). */
    size_t (*remembered)(serve_store *s);
    /* A log line's worth on where the store is; static or s's. */
    const char *(*where)(serve_store *s);
    /* Jobs found at open (local) or left by others (redis: 0). */
    size_t (*recovered)(serve_store *s);
    void (*close)(serve_store *s);
};

struct serve_store {
    const struct serve_store_ops *ops;
};

/* The store of the queue qc names, in st: local, or Redis.  NULL with
 * err filled. */
serve_store *serve_state_store(serve_state *st, const serve_queue_config *qc,
                               char *err, size_t errlen);

/* The local backend: memory, and with qc->spool_dir a spool on disk. */
serve_store *serve_store_local_open(const serve_queue_config *qc, char *err,
                                    size_t errlen);

/* What the Redis backend's stores share: the parsed URL, the password,
 * the link the HTTP threads submit on, health and metrics.  Defined in
 * state_redis.c. */
typedef struct serve_redis serve_redis;

/* The Redis backend: one stream and its keys, for qc->spool_name. */
serve_store *serve_store_redis_open(serve_redis *r,
                                    const serve_queue_config *qc, char *err,
                                    size_t errlen);

serve_redis *serve_redis_open(const serve_state_url *u, const char *password,
                              serve_metrics *m, char *err, size_t errlen);
bool serve_redis_up(serve_redis *r, char *why, size_t len);
void serve_redis_close(serve_redis *r);

#endif /* MSFAQ_SERVE_STATE_H */
