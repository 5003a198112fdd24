/*
 * state_local.c - the local store: one process's jobs and seen keys, in
 * memory and, with a spool directory (MSFAQ_SPOOL_DIR), on disk.
 *
 * This is what msfaq serve does without --state (state.h has the
 * interface; queue.c runs the worker on it):
 *
 * - A bounded queue: when it is full the job is refused (the route
 *   answers 503) and the sender delivers it again later.
 * - De-duplication: the last seen_slots keys are kept in a ring; "not
 *   seen, room left, remember, queue" is one step under the lock, and a
 *   refused job is not remembered.
 * - A spool (optional): each accepted job is written to its own file,
 *   fsync'ed and renamed into place before the sender gets its 200, and
 *   removed only after the worker handled it.  A process killed with
 *   jobs queued or in flight finds their files when it starts again and
 *   handles them then: nothing accepted is lost.  The keys are appended
 *   to a "seen" file too, so a delivery repeated after a restart is still
 *   recognised.
 *
 * What is not promised: a job whose answer was sent but whose file was
 * not yet removed when the process died is handled again after the
 * restart.  Matrix replies carry a transaction id made from the event, so
 * the homeserver drops the repeat; a Slack chat.postMessage has no such
 * id and can then appear twice.  The window is the time between the
 * target's reply and one unlink().
 *
 * Spool files: NNNNNNNNNNNNNNNNNNNN.job (a sequence number; handled in
 * that order) holding {"keys": [hex, ...], "job": {...}}.  A ".tmp" file
 * is a write that never finished, so never acknowledged: removed at
 * start.  A .job file that cannot be read is renamed to .bad and logged,
 * never deleted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define JOB_SUFFIX ".job"
#define TMP_SUFFIX ".tmp"
#define BAD_SUFFIX ".bad"
#define SEQ_DIGITS 20

struct entry {
    struct entry *next;
    json_t *job;
    unsigned long long seq;      /* its spool file; 0: none */
};

typedef struct local {
    serve_store base;
    serve_queue_config cfg;      /* strings below are our copies */
    char *name, *spool, *seen_path;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* a job came, or stopping */
    struct entry *head, *tail;
    size_t queued;
    bool stopping;
    unsigned long long next_seq;
    serve_keyring ring;          /* seen keys */
    int seen_fd;                 /* the seen file, or -1 */
    size_t seen_lines;
    size_t recovered;            /* jobs found in the spool at start */
} local;

/* ------------------------------------------------------------- keys */

void serve_queue_key_of(serve_queue_key *k, const char *kind, const char *a,
                        const char *b)
{
    serve_sha256 c;
    serve_sha256_init(&c);
    /* the NULs keep ("ab", "c") and ("a", "bc") apart */
    serve_sha256_update(&c, kind, strlen(kind) + 1);
    serve_sha256_update(&c, a, strlen(a) + 1);
    if (b)
        serve_sha256_update(&c, b, strlen(b) + 1);
    serve_sha256_final(&c, k->d);
}

int serve_keyring_init(serve_keyring *r, size_t slots)
{
    r->keys = calloc(slots, sizeof *r->keys);
    r->slots = slots;
    r->next = r->count = 0;
    return r->keys ? 0 : -1;
}

bool serve_keyring_has(const serve_keyring *r, const serve_queue_key *k)
{
    for (size_t i = 0; i < r->count; i++)
        if (!memcmp(r->keys[i].d, k->d, sizeof k->d))
            return true;
    return false;
}

void serve_keyring_add(serve_keyring *r, const serve_queue_key *k)
{
    r->keys[r->next] = *k;
    r->next = (r->next + 1) % r->slots;
    if (r->count < r->slots)
        r->count++;
}

void serve_keyring_free(serve_keyring *r)
{
    free(r->keys);
    r->keys = NULL;
    r->count = r->next = 0;
}

void serve_queue_key_hex(const serve_queue_key *k,
                         char out[SERVE_QUEUE_KEY_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SERVE_SHA256_SIZE; i++) {
        out[2 * i] = digits[k->d[i] >> 4];
        out[2 * i + 1] = digits[k->d[i] & 15];
    }
    out[2 * SERVE_SHA256_SIZE] = '\0';
}

static bool from_hex(const char *s, serve_queue_key *k)
{
    for (size_t i = 0; i < 2 * SERVE_SHA256_SIZE; i++) {
        char c = s[i];
        unsigned v;
        if (c >= '0' && c <= '9')
            v = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (i % 2 == 0)
            k->d[i / 2] = (unsigned char)(v << 4);
        else
            k->d[i / 2] |= (unsigned char)v;
    }
    return true;
}

/* ------------------------------------------------------ the seen file */

static int open_append(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
                0600);
}

/* Loads the keys of the seen file into the ring and keeps it open for
 * appending.  -1 with err. */
static int seen_open(local *q, char *err, size_t errlen)
{
    FILE *f = fopen(q->seen_path, "re");
    if (!f && errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", q->seen_path, strerror(errno));
        return -1;
    }
    if (f) {
        char line[128];
        serve_queue_key k;
        while (fgets(line, sizeof line, f))
            if (from_hex(line, &k)) {
                serve_keyring_add(&q->ring, &k);
                q->seen_lines++;
            }
        fclose(f);
    }
    q->seen_fd = open_append(q->seen_path);
    if (q->seen_fd < 0) {
        snprintf(err, errlen, "%s: %s", q->seen_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes the ring to a new seen file that replaces the old one by
 * rename(), so a crash in the middle leaves one or the other whole. */
static void seen_compact(local *q)
{
    char *tmp;
    if (asprintf(&tmp, "%s" TMP_SUFFIX, q->seen_path) < 0)
        return;
    FILE *f = fopen(tmp, "we");
    bool ok = f != NULL;
    const serve_keyring *r = &q->ring;
    size_t first = (r->next + r->slots - r->count) % r->slots;
    char hex[2 * SERVE_SHA256_SIZE + 1];
    for (size_t i = 0; ok && i < r->count; i++) {
        serve_queue_key_hex(&r->keys[(first + i) % r->slots], hex);
        ok = fprintf(f, "%s\n", hex) > 0;
    }
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    int fd = ok && rename(tmp, q->seen_path) == 0 ? open_append(q->seen_path)
                                                  : -1;
    if (fd >= 0) {
        close(q->seen_fd);
        q->seen_fd = fd;
        q->seen_lines = r->count;
    } else {
        unlink(tmp);
        serve_log("%s: cannot compact %s: %s", q->name, q->seen_path,
                  strerror(errno));
    }
    free(tmp);
}

/* Appends keys to the seen file (under lock).  Failure is logged, not
 * fatal: the ring still holds them until the process ends. */
static void seen_append(local *q, const serve_queue_key *keys,
                        size_t n)
{
    if (q->seen_fd < 0 || n == 0)
        return;
    char line[2 * SERVE_SHA256_SIZE + 2];
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        serve_queue_key_hex(&keys[i], line);
        strcat(line, "\n");
        ok = write(q->seen_fd, line, strlen(line)) ==
             (ssize_t)strlen(line);
    }
    if (ok)
        ok = fdatasync(q->seen_fd) == 0;
    if (!ok)
        serve_log("%s: cannot record a delivery in %s: %s", q->name,
                  q->seen_path, strerror(errno));
    q->seen_lines += n;
    if (q->seen_lines >= 2 * q->cfg.seen_slots)
        seen_compact(q);
}

/* ----------------------------------------------------------- the spool */

static char *spool_path(const local *q, unsigned long long seq,
                        const char *suffix)
{
    char *p;
    if (asprintf(&p, "%s/%0*llu%s", q->spool, SEQ_DIGITS, seq, suffix) < 0)
        return NULL;
    return p;
}

/* fsync of the directory: makes a rename in it durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Writes a job and its keys to its spool file, durably.  -1 with errno. */
static int spool_write(local *q, unsigned long long seq,
                       const serve_queue_key *keys, size_t nkeys,
                       json_t *job)
{
    json_t *doc = json_object(), *hexes = json_array();
    char hex[2 * SERVE_SHA256_SIZE + 1];
    for (size_t i = 0; hexes && i < nkeys; i++) {
        serve_queue_key_hex(&keys[i], hex);
        json_array_append_new(hexes, json_string(hex));
    }
    char *text = NULL;
    if (doc && hexes && !json_object_set(doc, "keys", hexes) &&
        !json_object_set(doc, "job", job))
        text = json_dumps(doc, JSON_COMPACT);
    json_decref(hexes);
    json_decref(doc);
    char *tmp = spool_path(q, seq, TMP_SUFFIX);
    char *path = spool_path(q, seq, JOB_SUFFIX);
    int rc = -1, fd = -1;
    if (!text || !tmp || !path) {
        errno = ENOMEM;
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        goto done;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto done;
        off += (size_t)w;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        goto done;
    if (close(fd) != 0) {
        fd = -1;
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0 || sync_dir(q->spool) != 0)
        goto done;
    rc = 0;
done:
    if (rc < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        if (tmp)
            unlink(tmp);
        errno = e;
    }
    free(text);
    free(tmp);
    free(path);
    return rc;
}

static void spool_remove(local *q, unsigned long long seq)
{
    char *path = spool_path(q, seq, JOB_SUFFIX);
    /* not followed by a directory fsync: if the removal is lost in a
     * crash, the job is handled once more, which the keys and the
     * targets' own ids make harmless or rare (see the top) */
    if (path && unlink(path) != 0 && errno != ENOENT)
        serve_log("%s: cannot remove %s: %s", q->name, path,
                  strerror(errno));
    free(path);
}

static void enqueue(local *q, struct entry *e)
{
    if (q->tail)
        q->tail->next = e;
    else
        q->head = e;
    q->tail = e;
    q->queued++;
}

/* A spool file that cannot be taken is kept as NNN.bad, for a person. */
static void spool_set_aside(local *q, const char *path, const char *why)
{
    char *bad;
    if (asprintf(&bad, "%.*s" BAD_SUFFIX,
                 (int)(strlen(path) - strlen(JOB_SUFFIX)), path) >= 0 &&
        rename(path, bad) == 0)
        serve_log("%s: %s: %s; kept as %s", q->name, path, why, bad);
    else
        serve_log("%s: %s: %s", q->name, path, why);
    free(bad);
}

/* Reads one spool file back: its keys into the ring, its job onto the
 * queue. */
static void spool_take(local *q, unsigned long long seq)
{
    char *path = spool_path(q, seq, JOB_SUFFIX);
    if (!path)
        return;
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    json_t *keys = json_object_get(doc, "keys");
    json_t *job = json_object_get(doc, "job");
    char why[256];
    if (!doc) {
        snprintf(why, sizeof why, "line %d, column %d: %s", je.line,
                 je.column, je.text);
        spool_set_aside(q, path, why);
    } else if (!json_is_array(keys) || !json_is_object(job)) {
        spool_set_aside(q, path, "expected {\"keys\": [...], \"job\": {...}}");
    } else {
        size_t i;
        json_t *v;
        serve_queue_key k;
        json_array_foreach(keys, i, v) {
            const char *s = json_string_value(v);
            if (s && strlen(s) == 2 * SERVE_SHA256_SIZE && from_hex(s, &k) &&
                !serve_keyring_has(&q->ring, &k)) {
                serve_keyring_add(&q->ring, &k);
                /* not in the seen file: the process died between
                 * spool_write() and seen_append().  Written now, or it
                 * is forgotten at the next start, and the sender's
                 * repeat (it never got its 200) is handled again */
                seen_append(q, &k, 1);
            }
        }
        struct entry *e = calloc(1, sizeof *e);
        if (e) {
            e->job = json_incref(job);
            e->seq = seq;
            enqueue(q, e);
            q->recovered++;
        } else {
            serve_log("%s: out of memory reading %s; it stays for the next "
                      "start", q->name, path);
        }
    }
    json_decref(doc);
    free(path);
}

static int cmp_seq(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a;
    unsigned long long y = *(const unsigned long long *)b;
    return (x > y) - (x < y);
}

/* true when name is NNN + suffix; *seq gets NNN. */
static bool spool_name(const char *name, const char *suffix,
                       unsigned long long *seq)
{
    size_t n = strlen(name), s = strlen(suffix);
    if (n != SEQ_DIGITS + s || strcmp(name + SEQ_DIGITS, suffix))
        return false;
    *seq = 0;
    for (size_t i = 0; i < SEQ_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        *seq = *seq * 10 + (unsigned long long)(name[i] - '0');
    }
    return true;
}

/* Removes unfinished writes from the spool and queues what is left,
 * oldest first.  -1 with err. */
static int spool_open(local *q, char *err, size_t errlen)
{
    DIR *d = opendir(q->spool);
    if (!d) {
        snprintf(err, errlen, "%s: %s", q->spool, strerror(errno));
        return -1;
    }
    unsigned long long *seqs = NULL, seq;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (spool_name(de->d_name, TMP_SUFFIX, &seq)) {
            /* never renamed into place, so never acknowledged: the
             * sender still has it and delivers it again */
            char *tmp = spool_path(q, seq, TMP_SUFFIX);
            if (tmp)
                unlink(tmp);
            free(tmp);
            continue;
        }
        if (spool_name(de->d_name, BAD_SUFFIX, &seq)) {
            /* numbers go past it, so no later job is set aside over it */
            if (seq >= q->next_seq)
                q->next_seq = seq + 1;
            continue;
        }
        if (!spool_name(de->d_name, JOB_SUFFIX, &seq))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            unsigned long long *more = realloc(seqs, cap * sizeof *seqs);
            if (!more) {
                snprintf(err, errlen, "%s: out of memory", q->spool);
                rc = -1;
                break;
            }
            seqs = more;
        }
        seqs[n++] = seq;
        if (seq >= q->next_seq)
            q->next_seq = seq + 1;
    }
    closedir(d);
    if (rc == 0 && n > 0) {
        qsort(seqs, n, sizeof *seqs, cmp_seq);
        for (size_t i = 0; i < n; i++)
            spool_take(q, seqs[i]);
    }
    free(seqs);
    return rc;
}

/* ------------------------------------------------------ operations */

static void entry_free(struct entry *e)
{
    json_decref(e->job);
    free(e);
}

static int local_submit(serve_store *s, const serve_queue_key *keys,
                        size_t nkeys, json_t *job)
{
    local *q = (local *)s;
    struct entry *e = NULL;
    if (job && !(e = calloc(1, sizeof *e))) {
        json_decref(job);
        return SERVE_QUEUE_FAILED;
    }
    if (e)
        e->job = job;              /* ours now (see serve.h) */
    int outcome = SERVE_QUEUE_QUEUED;
    pthread_mutex_lock(&q->lock);
    for (size_t i = 0; i < nkeys; i++)
        if (serve_keyring_has(&q->ring, &keys[i]))
            outcome = SERVE_QUEUE_DUPLICATE;
    if (outcome == SERVE_QUEUE_DUPLICATE)
        goto out;
    if (job && (q->stopping || q->queued >= q->cfg.max_jobs)) {
        outcome = SERVE_QUEUE_BUSY;
        goto out;
    }
    if (job && q->spool) {
        /* on disk before the sender hears "accepted" */
        if (spool_write(q, q->next_seq, keys, nkeys, job) < 0) {
            serve_log("%s: cannot write to the spool %s: %s", q->name,
                      q->spool, strerror(errno));
            outcome = SERVE_QUEUE_FAILED;
            goto out;
        }
        e->seq = q->next_seq++;
    }
    for (size_t i = 0; i < nkeys; i++)
        serve_keyring_add(&q->ring, &keys[i]);
    seen_append(q, keys, nkeys);
    if (e) {
        enqueue(q, e);
        e = NULL;
        pthread_cond_signal(&q->wake);
    }
out:
    pthread_mutex_unlock(&q->lock);
    if (e)
        entry_free(e);
    return outcome;
}

static int local_next(serve_store *s, long wait_ms, serve_job *out)
{
    local *q = (local *)s;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    /* stopping: what is queued is still handled, then no more */
    while (!q->head && !q->stopping &&
           pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0) {
    }
    struct entry *e = q->head;
    if (e) {
        q->head = e->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
    }
    pthread_mutex_unlock(&q->lock);
    if (!e)
        return 0;
    *out = (serve_job){.job = e->job, .seq = e->seq};
    free(e);
    return 1;
}

static void local_done(serve_store *s, serve_job *j, bool handled)
{
    local *q = (local *)s;
    /* not handled (stopping): the spool keeps it for the next start */
    if (handled && j->seq)
        spool_remove(q, j->seq);
    json_decref(j->job);
    j->job = NULL;
}

static void local_stop(serve_store *s)
{
    local *q = (local *)s;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
}

static size_t local_remembered(serve_store *s)
{
    local *q = (local *)s;
    pthread_mutex_lock(&q->lock);
    size_t n = q->ring.count;
    pthread_mutex_unlock(&q->lock);
    return n;
}

static const char *local_where(serve_store *s)
{
    local *q = (local *)s;
    return q->spool ? q->spool : "memory";
}

static size_t local_recovered(serve_store *s)
{
    return ((local *)s)->recovered;
}

static void local_free(local *q)
{
    if (!q)
        return;
    for (struct entry *e = q->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    if (q->seen_fd >= 0)
        close(q->seen_fd);
    serve_keyring_free(&q->ring);
    free(q->name);
    free(q->spool);
    free(q->seen_path);
    free(q);
}

static void local_close(serve_store *s)
{
    local *q = (local *)s;
    if (!q)
        return;
    /* jobs never handled stay in the spool for the next start */
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    local_free(q);
}

static const struct serve_store_ops local_ops = {
    .submit = local_submit,
    .next = local_next,
    .done = local_done,
    .stop = local_stop,
    .remembered = local_remembered,
    .where = local_where,
    .recovered = local_recovered,
    .close = local_close,
};

serve_store *serve_store_local_open(const serve_queue_config *qc, char *err,
                                    size_t errlen)
{
    local *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->base.ops = &local_ops;
    q->cfg = *qc;
    q->seen_fd = -1;
    q->next_seq = 1;
    if (!q->cfg.max_jobs)
        q->cfg.max_jobs = 256;
    if (!q->cfg.seen_slots)
        q->cfg.seen_slots = 4096;
    q->name = strdup(qc->name);
    bool ok = q->name && serve_keyring_init(&q->ring, q->cfg.seen_slots) == 0;
    /* on failure asprintf() leaves its pointer undefined: reset it */
    if (ok && qc->spool_dir &&
        asprintf(&q->spool, "%s/%s", qc->spool_dir, qc->spool_name) < 0)
        q->spool = NULL, ok = false;
    if (ok && qc->seen_file)
        ok = (q->seen_path = strdup(qc->seen_file)) != NULL;
    else if (ok && q->spool && asprintf(&q->seen_path, "%s/seen",
                                        q->spool) < 0)
        q->seen_path = NULL, ok = false;
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* our copies, not the caller's strings */
    q->cfg.name = q->name;
    q->cfg.spool_dir = q->cfg.spool_name = q->cfg.seen_file = NULL;
    /* the seen file may be in it */
    if (q->spool && mkdir(q->spool, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", q->spool, strerror(errno));
        goto fail;
    }
    if (q->seen_path && seen_open(q, err, errlen) < 0)
        goto fail;
    if (q->spool && spool_open(q, err, errlen) < 0)
        goto fail;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&q->lock, NULL);
    return &q->base;
fail:
    local_free(q);
    return NULL;
}
