/*
 * harness.h - run capture_server.py for a C test and read what it saw.
 *
 * Each test gets its own server (own port, own log) in a fresh temporary
 * folder, so tests share nothing and may run in parallel under ctest -j.
 * The server is Python (MSFAQ_TEST_PYTHON, else python3) in a child
 * process; CAPTURE_SERVER (a compile definition) is its path.
 */
#ifndef POST_TEST_HARNESS_H
#define POST_TEST_HARNESS_H

#include <jansson.h>
#include <sys/types.h>

typedef struct harness {
    char dir[256];        /* temporary folder, removed by harness_stop */
    char log[300];        /* requests, JSON lines */
    char url[128];        /* http://127.0.0.1:PORT */
    int port;
    pid_t pid;
} harness;

/* Starts a server playing script (a JSON list of replies, see
 * capture_server.py).  Returns 0, or -1 after printing why. */
int harness_start(harness *h, const char *script);
/* The same over https with cert and key (PEM files); url is then
 * https://127.0.0.1:PORT. */
int harness_start_tls(harness *h, const char *script, const char *cert,
                      const char *key);
/* Stops the server and removes the folder (with any file made in it). */
void harness_stop(harness *h);
/* Stops every server still running (a cmocka teardown: a failed test
 * jumps past its own harness_stop).  Returns 0. */
int harness_stop_all(void **state);
/* The requests recorded so far, as a JSON array (caller decrefs). */
json_t *harness_requests(const harness *h);
/* A path inside the harness folder. */
void harness_path(const harness *h, const char *name, char *out, size_t n);

#endif
