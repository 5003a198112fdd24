/*
 * harness.c - start/stop capture_server.py for the C tests (harness.h).
 *
 * Waiting for the port file is a readiness poll, not a timing assert: it
 * gives up only after 30 seconds, for a machine that is very slow indeed.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Servers still running, so a test that fails half-way (cmocka jumps out
 * of it) can still have its server stopped by harness_stop_all(). */
static pid_t live[64];

static void track(pid_t pid, int add)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (add ? live[i] == 0 : live[i] == pid) {
            live[i] = add ? pid : 0;
            return;
        }
}

static void reap(pid_t pid)
{
    int status;
    kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    track(pid, 0);
}

int harness_stop_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i] > 0)
            reap(live[i]);
    return 0;
}

void harness_path(const harness *h, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", h->dir, name);
}

static int start(harness *h, const char *script, const char *cert,
                 const char *key)
{
    memset(h, 0, sizeof *h);
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof h->dir, "%s/msfaq-post-test.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(h->dir)) {
        fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    char port_file[300];
    harness_path(h, "requests.jsonl", h->log, sizeof h->log);
    harness_path(h, "port", port_file, sizeof port_file);
    const char *py = getenv("MSFAQ_TEST_PYTHON");
    if (!py || !*py)
        py = "python3";
    char *argv[] = {(char *)py, (char *)CAPTURE_SERVER, "--log", h->log,
                    "--port-file", port_file, "--script", (char *)script,
                    "--lifetime", "600", NULL, NULL, NULL, NULL, NULL};
    if (cert) {
        argv[10] = "--tls-cert";
        argv[11] = (char *)cert;
        argv[12] = "--tls-key";
        argv[13] = (char *)key;
    }
    /* the server's output goes to a file: a server left behind by a
     * failed test must not hold ctest's pipe open */
    char out[300];
    harness_path(h, "server.log", out, sizeof out);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawnp(&h->pid, py, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == 0)
        track(h->pid, 1);
    if (rc != 0) {
        fprintf(stderr, "harness: cannot run %s: %s\n", py, strerror(rc));
        h->pid = 0;
        return -1;
    }
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int ok = fscanf(f, "%d", &h->port) == 1;
            fclose(f);
            if (ok) {
                snprintf(h->url, sizeof h->url, "%s://127.0.0.1:%d",
                         cert ? "https" : "http", h->port);
                return 0;
            }
        }
        int status;
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            fprintf(stderr, "harness: the capture server exited early "
                    "(see %s)\n", out);
            track(h->pid, 0);
            h->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "harness: the capture server did not start\n");
    harness_stop(h);
    return -1;
}

int harness_start(harness *h, const char *script)
{
    return start(h, script, NULL, NULL);
}

int harness_start_tls(harness *h, const char *script, const char *cert,
                      const char *key)
{
    return start(h, script, cert, key);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void harness_stop(harness *h)
{
    if (h->pid > 0) {
        reap(h->pid);
        h->pid = 0;
    }
    if (h->dir[0] && !getenv("MSFAQ_TEST_KEEP"))
        nftw(h->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

json_t *harness_requests(const harness *h)
{
    json_t *all = json_array();
    FILE *f = fopen(h->log, "r");
    if (!f)
        return all;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *r = json_loads(line, 0, &je);
        if (r)
            json_array_append_new(all, r);
    }
    free(line);
    fclose(f);
    return all;
}
