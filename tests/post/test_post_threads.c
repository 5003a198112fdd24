/*
 * test_post_threads.c - one poster shared by threads; dead letters from
 * many writers at once.
 *
 * Threads share one poster (its lock serialises the sends); every message
 * must arrive.  Then threads and forked processes append long lines
 * (larger than PIPE_BUF, so O_APPEND alone would not keep them whole) to
 * one dead-letter file at once; every line must come out whole and valid
 * JSON.  Labelled "threads": also run under ThreadSanitizer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "msfaq_post.h"

#define THREADS 4
#define PER_THREAD 5
#define BIG 70000   /* bytes of answer: well over PIPE_BUF (4096) */

typedef struct job {
    msfaq_poster *p;
    const char *answer;
    int id;
    int ok;        /* sends that returned MSFAQ_OK */
    int dead;      /* sends that were dead-lettered */
} job;

static void *sender(void *arg)
{
    job *j = arg;
    char q[64];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(q, sizeof q, "question %d.%d", j->id, i);
        msfaq_post_message m = MSFAQ_POST_MESSAGE_INIT;
        m.question = q;
        m.answer = j->answer;
        m.kind = MSFAQ_KIND_ANSWER;
        m.section = "Current Therapies";
        msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
        msfaq_error err;
        if (msfaq_post_send(j->p, &m, &rec, &err) == MSFAQ_OK)
            j->ok++;
        if (rec.dead_lettered)
            j->dead++;
    }
    return NULL;
}

static msfaq_poster *poster(const harness *h, const char *dl)
{
    char url[256];
    snprintf(url, sizeof url, "%s/hook/abcdefgh", h->url);
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = MSFAQ_POST_JSON;
    cfg.url = url;
    cfg.max_attempts = 1;
    cfg.dead_letter = dl;
    msfaq_error err;
    msfaq_poster *p = msfaq_post_open(&cfg, &err);
    if (!p)
        fail_msg("msfaq_post_open: %s", err.text);
    return p;
}

static void run_threads(msfaq_poster *p, const char *answer, job *jobs)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){p, answer, i, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, sender, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
}

static void shared_poster_delivers_all(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h, "[{\"status\":200}]"), 0);
    msfaq_poster *p = poster(&h, NULL);
    job jobs[THREADS];
    run_threads(p, "short answer", jobs);
    int ok = 0;
    for (int i = 0; i < THREADS; i++)
        ok += jobs[i].ok;
    assert_int_equal(ok, THREADS * PER_THREAD);
    json_t *reqs = harness_requests(&h);
    assert_int_equal(json_array_size(reqs), THREADS * PER_THREAD);
    json_decref(reqs);
    msfaq_post_close(p);
    harness_stop(&h);
}

/* Counts the lines of path and checks each is whole JSON with an answer
 * of BIG bytes. */
static size_t check_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o)
            fail_msg("line %zu is not JSON (%s)", n + 1, je.text);
        const char *a = json_string_value(
            json_object_get(json_object_get(o, "message"), "answer"));
        assert_non_null(a);
        assert_int_equal(strlen(a), BIG);
        json_decref(o);
        n++;
    }
    free(line);
    fclose(f);
    return n;
}

static void dead_letters_do_not_interleave(void **state)
{
    (void)state;
    harness h;
    assert_int_equal(harness_start(&h, "[{\"status\":400}]"), 0);
    char dl[320];
    harness_path(&h, "dead-letter.jsonl", dl, sizeof dl);
    char *answer = malloc(BIG + 1);
    for (size_t i = 0; i < BIG; i++)
        answer[i] = (char)('a' + i % 26);
    answer[BIG] = '\0';

    /* PROCS processes, each with THREADS threads on its own poster */
    enum { PROCS = 3 };
    pid_t kids[PROCS];
    for (int k = 0; k < PROCS; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            msfaq_poster *p = poster(&h, dl);
            job jobs[THREADS];
            run_threads(p, answer, jobs);
            int dead = 0;
            for (int i = 0; i < THREADS; i++)
                dead += jobs[i].dead;
            msfaq_post_close(p);
            _exit(dead == THREADS * PER_THREAD ? 0 : 1);
        }
    }
    for (int k = 0; k < PROCS; k++) {
        int status;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(check_lines(dl), PROCS * THREADS * PER_THREAD);
    free(answer);
    harness_stop(&h);
}

int main(void)
{
    setenv("NO_PROXY", "*", 1);
    setenv("no_proxy", "*", 1);
    if (msfaq_post_global_init(NULL) != MSFAQ_OK)
        return 1;
#define T(f) cmocka_unit_test_teardown(f, harness_stop_all)
    const struct CMUnitTest tests[] = {
        T(shared_poster_delivers_all),
        T(dead_letters_do_not_interleave),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    msfaq_post_global_cleanup();
    return rc;
}
