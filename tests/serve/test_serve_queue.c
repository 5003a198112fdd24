/*
 * test_serve_queue.c - serve/queue.c, the queue behind Slack events and
 * Matrix transactions: order, de-duplication, the bound, and the spool
 * that keeps accepted jobs across a crash (a queue closed without its
 * worker having run is what a killed process leaves behind).
 *
 * The killed server itself is tested by test_serve_spool.py.
 */
#include <dirent.h>
#include <pthread.h>
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

#include "serve.h"

/* What the handler saw, and a gate holding the worker in begin(). */
struct seen_jobs {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;                   /* begin() may return */
    int order[64];
    size_t count;
};

static bool gate(void *ctx)
{
    struct seen_jobs *s = ctx;
    pthread_mutex_lock(&s->lock);
    while (!s->open)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return true;
}

static void open_gate(struct seen_jobs *s)
{
    pthread_mutex_lock(&s->lock);
    s->open = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Records job "n"; a job with "keep" asks to stay in the spool. */
static int record(void *ctx, json_t *job)
{
    struct seen_jobs *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->count < sizeof s->order / sizeof *s->order)
        s->order[s->count++] = (int)json_integer_value(json_object_get(job,
                                                                   "n"));
    pthread_mutex_unlock(&s->lock);
    return json_is_true(json_object_get(job, "keep")) ? -1 : 0;
}

static void seen_init(struct seen_jobs *s, bool open)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->open = open;
}

static void seen_destroy(struct seen_jobs *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

static int submit(serve_queue *q, const char *id, int n, bool keep)
{
    serve_queue_key k;
    serve_queue_key_of(&k, "id", id, NULL);
    json_t *job = n ? json_pack("{s:i,s:b}", "n", n, "keep", keep) : NULL;
    return serve_queue_submit(q, &k, 1, job);   /* takes job */
}

static char dir[] = "/tmp/msfaq-queue-test-XXXXXX";
static char spool[300], seen_file[300];

static size_t count_files(const char *suffix)
{
    DIR *d = opendir(spool);
    assert_non_null(d);
    size_t n = 0, len = strlen(suffix);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > len && !strcmp(de->d_name + l - len, suffix))
            n++;
    }
    closedir(d);
    return n;
}

static serve_queue *open_queue(struct seen_jobs *s, bool spooled,
                               size_t max_jobs, size_t seen_slots)
{
    serve_queue_config qc = {
        .name = "test queue",
        .spool_dir = spooled ? dir : NULL,
        .spool_name = "spool",   /* its seen file: spool/seen */
        .max_jobs = max_jobs,
        .seen_slots = seen_slots,
        .begin = gate,
        .handle = record,
        .ctx = s,
    };
    char err[256];
    serve_queue *q = serve_queue_open(&qc, err, sizeof err);
    if (!q)
        fail_msg("serve_queue_open: %s", err);
    return q;
}

static void run(serve_queue *q)
{
    char err[256];
    assert_int_equal(serve_queue_run(q, err, sizeof err), 0);
}

/* ------------------------------------------------------------ tests */

static void test_order_and_duplicates(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, true);
    serve_queue *q = open_queue(&s, false, 0, 0);
    run(q);
    assert_int_equal(submit(q, "a", 1, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "b", 2, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "a", 9, false), SERVE_QUEUE_DUPLICATE);
    assert_int_equal(submit(q, "c", 3, false), SERVE_QUEUE_QUEUED);
    /* keys alone (an empty Matrix transaction) are remembered too */
    assert_int_equal(submit(q, "d", 0, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "d", 4, false), SERVE_QUEUE_DUPLICATE);
    assert_int_equal(serve_queue_remembered(q), 4);
    serve_queue_stop(q);              /* handles what is queued first */
    assert_int_equal(s.count, 3);
    assert_int_equal(s.order[0], 1);
    assert_int_equal(s.order[1], 2);
    assert_int_equal(s.order[2], 3);
    seen_destroy(&s);
}

static void test_bound(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, false);             /* the worker waits in begin() */
    serve_queue *q = open_queue(&s, false, 2, 0);
    run(q);
    assert_int_equal(submit(q, "a", 1, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "b", 2, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "c", 3, false), SERVE_QUEUE_BUSY);
    /* a refused job is not remembered: its next delivery is taken */
    open_gate(&s);
    serve_queue_stop(q);
    assert_int_equal(s.count, 2);
    seen_destroy(&s);
}

static void test_busy_job_taken_later(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, false);
    serve_queue *q = open_queue(&s, false, 1, 0);
    run(q);
    assert_int_equal(submit(q, "a", 1, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "b", 2, false), SERVE_QUEUE_BUSY);
    open_gate(&s);
    /* the worker empties the queue; then b fits */
    int rc;
    do {
        rc = submit(q, "b", 2, false);
        if (rc == SERVE_QUEUE_BUSY)
            usleep(1000);
    } while (rc == SERVE_QUEUE_BUSY);
    assert_int_equal(rc, SERVE_QUEUE_QUEUED);
    serve_queue_stop(q);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.order[1], 2);
    seen_destroy(&s);
}

/* A process killed with jobs accepted: they are on disk, and the next
 * start handles each once, oldest first; their keys are remembered. */
static void test_spool_survives_a_crash(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, true);
    serve_queue *q = open_queue(&s, true, 0, 0);
    /* not run: nothing is handled, as if killed before the worker ran */
    assert_int_equal(submit(q, "a", 1, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "b", 2, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "c", 3, false), SERVE_QUEUE_QUEUED);
    assert_int_equal(count_files(".job"), 3);
    serve_queue_stop(q);
    assert_int_equal(s.count, 0);
    assert_int_equal(count_files(".job"), 3);

    /* an unfinished write and an unreadable job, as a crash or a person
     * may leave them */
    char path[400];
    snprintf(path, sizeof path, "%s/00000000000000000007.tmp", spool);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"keys\": [", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/00000000000000000009.job", spool);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"keys\": [], \"job\": 7", f);
    fclose(f);

    q = open_queue(&s, true, 0, 0);
    assert_int_equal(count_files(".tmp"), 0);
    assert_int_equal(count_files(".bad"), 1);
    /* the keys came back: a repeated delivery is recognised */
    assert_int_equal(submit(q, "b", 2, false), SERVE_QUEUE_DUPLICATE);
    /* a new job goes after the ones found, past the highest number */
    assert_int_equal(submit(q, "d", 4, false), SERVE_QUEUE_QUEUED);
    snprintf(path, sizeof path, "%s/00000000000000000010.job", spool);
    assert_int_equal(access(path, F_OK), 0);
    run(q);
    serve_queue_stop(q);
    assert_int_equal(s.count, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.order[i], i + 1);
    assert_int_equal(count_files(".job"), 0);
    assert_int_equal(count_files(".bad"), 1);

    /* with only the .bad file left, new jobs are numbered after it, so
     * none can later be set aside over it */
    q = open_queue(&s, true, 0, 0);
    assert_int_equal(submit(q, "e", 5, false), SERVE_QUEUE_QUEUED);
    snprintf(path, sizeof path, "%s/00000000000000000010.job", spool);
    assert_int_equal(access(path, F_OK), 0);
    run(q);
    serve_queue_stop(q);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.order[4], 5);

    /* handled jobs are remembered across restarts too */
    s.count = 0;
    q = open_queue(&s, true, 0, 0);
    run(q);
    assert_int_equal(submit(q, "a", 1, false), SERVE_QUEUE_DUPLICATE);
    assert_int_equal(submit(q, "d", 4, false), SERVE_QUEUE_DUPLICATE);
    serve_queue_stop(q);
    assert_int_equal(s.count, 0);
    seen_destroy(&s);
}

/* A job its handler could not finish stays for the next start. */
static void test_kept_job(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, true);
    serve_queue *q = open_queue(&s, true, 0, 0);
    run(q);
    assert_int_equal(submit(q, "k1", 5, true), SERVE_QUEUE_QUEUED);
    assert_int_equal(submit(q, "k2", 6, false), SERVE_QUEUE_QUEUED);
    serve_queue_stop(q);
    assert_int_equal(s.count, 2);
    assert_int_equal(count_files(".job"), 1);

    s.count = 0;
    q = open_queue(&s, true, 0, 0);
    run(q);
    serve_queue_stop(q);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.order[0], 5);
    assert_int_equal(count_files(".job"), 1);    /* it asked again */
    seen_destroy(&s);
}

/* The seen file is rewritten to the last seen_slots keys when it has
 * grown to twice that. */
static void test_seen_file_compaction(void **state)
{
    (void)state;
    struct seen_jobs s;
    seen_init(&s, true);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -f '%s'/*.job '%s'", spool, seen_file);
    assert_int_equal(system(cmd), 0);
    serve_queue *q = open_queue(&s, true, 0, 4);
    run(q);
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "x%d", i);
        assert_int_equal(submit(q, id, 0, false), SERVE_QUEUE_QUEUED);
    }
    serve_queue_stop(q);
    FILE *f = fopen(seen_file, "r");
    assert_non_null(f);
    char line[128];
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    if (lines < 4 || lines >= 8)
        fail_msg("%d lines in the seen file", lines);

    q = open_queue(&s, true, 0, 4);
    assert_int_equal(submit(q, "x19", 0, false), SERVE_QUEUE_DUPLICATE);
    assert_int_equal(submit(q, "x16", 0, false), SERVE_QUEUE_DUPLICATE);
    assert_int_equal(submit(q, "x0", 0, false), SERVE_QUEUE_QUEUED);
    serve_queue_stop(q);
    seen_destroy(&s);
}

static void test_bad_spool(void **state)
{
    (void)state;
    serve_queue_config qc = {
        .name = "test queue",
        .spool_dir = "/nonexistent/dir",
        .spool_name = "spool",
        .handle = record,
    };
    char err[256];
    assert_null(serve_queue_open(&qc, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/dir/spool"));
    assert_non_null(strstr(err, "No such file"));
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(spool, sizeof spool, "%s/spool", dir);
    snprintf(seen_file, sizeof seen_file, "%s/spool/seen", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_duplicates),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_busy_job_taken_later),
        cmocka_unit_test(test_spool_survives_a_crash),
        cmocka_unit_test(test_kept_job),
        cmocka_unit_test(test_seen_file_compaction),
        cmocka_unit_test(test_bad_spool),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
