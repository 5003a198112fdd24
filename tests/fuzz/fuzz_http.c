/*
 * fuzz_http.c - libFuzzer harness: raw HTTP requests through
 * libmicrohttpd into msfaq serve's routing and handlers (serve/http.c).
 *
 * The server runs as msfaq serve runs it: serve_http_start() on a
 * listening socket (127.0.0.1, an ephemeral port), with its internal
 * thread, and the app of fuzz_serve_app.h; started once per process.
 * Each input is one connection: the bytes are written as they are (any
 * number of requests, pipelined, or garbage), the write side is shut
 * down once the server has read them, and the reply is read until the
 * server closes the connection.  Requests are answered on
 * libmicrohttpd's thread; coverage counters are global, so libFuzzer
 * sees those edges too.
 *
 * Why not connect() to the listening socket: libmicrohttpd 0.9.75 (epoll,
 * edge-triggered) takes a read shorter than its buffer as "all read" and
 * does not look again until the next event, so when the request and the
 * end of the stream arrive together it never sees the end: the
 * connection stays open until --timeout, and each such input would take
 * seconds.  The end of the stream must come after the server has read
 * the request, which a TCP client cannot tell.  So each connection is a
 * socketpair handed to the same daemon with MHD_add_connection() (the
 * daemon's own accept is all it skips), and SIOCOUTQ on our end says
 * when the server has read everything.  libmicrohttpd logs that it cannot
 * set TCP options on it; that is all.
 *
 * The server logs a line or more per request: run with -close_fd_mask=2
 * (ctest_fuzz.sh and run_long.sh do), and broken invariants still reach
 * the log through fz_report, a copy of stderr.  -max_len around 8192:
 * bodies are capped at 64 KiB anyway, and short inputs keep it fast.
 *
 * Checked: the server closes the connection (it answers or gives up; it
 * never hangs on what it was sent: libFuzzer's -timeout reports one that
 * does, and ctest_fuzz.sh tells a stalled machine from a hang), and what it
 * sends, if anything, starts with "HTTP/1.1 " and a status from 100 to
 * 599.  Past interim 100 Continue replies, a JSON reply of a request that
 * is not HEAD parses, when the whole of its Content-Length came.  Crashes
 * and leaks on the server's thread are the sanitizers' to find.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "fuzz_serve_app.h"

/* How long a reply may take, whole, before it is a broken invariant.
 * Far above libFuzzer's -timeout (2 s in ctest_fuzz.sh and run_long.sh):
 * a hang is reported as a timeout, which ctest_fuzz.sh runs again alone
 * to tell a hang from a machine that stalled.  This limit is for runs
 * without -timeout. */
#define HANG_MS 30000
/* Replies are read up to this much and the rest thrown away: pipelined
 * requests for the chat page add up. */
#define KEEP_MAX (256 * 1024)

static serve_app *app;
static struct MHD_Daemon *server_daemon;
static struct sockaddr_in server;
/* the address connections are said to come from */
static struct sockaddr_in client;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stop_server(void)
{
    serve_http_stop(app, server_daemon, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* a copy of stderr for broken invariants: run with -close_fd_mask=2,
     * libFuzzer closes stderr after this, and with it the server's log */
    int err_fd = dup(STDERR_FILENO);
    if (err_fd >= 0 && (fz_report = fdopen(err_fd, "w")) != NULL)
        setvbuf(fz_report, NULL, _IONBF, 0);
    app = fz_app_open();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t alen = sizeof server;
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&server, sizeof server) ||
        listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&server, &alen)) {
        perror("fuzz_http: listening socket");
        abort();
    }
    char err[256];
    server_daemon = serve_http_start(app, fd, err, sizeof err);
    if (!server_daemon) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    client = server;
    client.sin_port = htons(40000);
    atexit(stop_server);
    return 0;
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The end of the header block of the reply at r (past its blank line), or
 * NULL when it has not all come. */
static const char *headers_end(const char *r, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(r + i, "\r\n\r\n", 4))
            return r + i + 4;
    return NULL;
}

/* The value of header name in the header block [r, end), or NULL; points
 * into r, which is NUL-terminated after the whole reply. */
static const char *header(const char *r, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r; p && p < end; p = memchr(p, '\n', end - p)) {
        p += *p == '\n';
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            p += n + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Checks the status line at r; returns the status. */
static int status_of(const char *r, size_t n)
{
    FZ_CHECK(n >= 13 && !memcmp(r, "HTTP/1.1 ", 9),
             "the reply does not start with \"HTTP/1.1 \": %.40s", r);
    int s = 0;
    for (int i = 9; i < 12; i++) {
        FZ_CHECK(r[i] >= '0' && r[i] <= '9', "status is not 3 digits: "
                 "%.20s", r);
        s = s * 10 + (r[i] - '0');
    }
    FZ_CHECK(r[12] == ' ' && s >= 100 && s <= 599, "status line %.20s", r);
    return s;
}

static void check_reply(const uint8_t *req, size_t req_len, const char *r,
                        size_t n)
{
    if (n == 0)
        return;                 /* closed without a word: allowed */
    status_of(r, n);
    /* past any "100 Continue" */
    const char *end = headers_end(r, n);
    while (end && status_of(r, n) == 100) {
        n -= (size_t)(end - r);
        r = end;
        if (n == 0)
            return;
        end = headers_end(r, n);
    }
    size_t skip = 0;
    while (skip < req_len && (req[skip] == '\r' || req[skip] == '\n'))
        skip++;
    if (!end || (req_len - skip >= 5 && !memcmp(req + skip, "HEAD ", 5)))
        return;
    const char *type = header(r, end, "Content-Type");
    const char *cl = header(r, end, "Content-Length");
    if (!type || strncmp(type, "application/json", 16) || !cl)
        return;
    size_t len = strtoul(cl, NULL, 10);
    if (len > n - (size_t)(end - r))
        return;                 /* cut short (KEEP_MAX) */
    json_error_t je;
    json_t *o = json_loadb(end, len, 0, &je);
    FZ_CHECK(o != NULL, "a JSON reply does not parse: %s: %.200s", je.text,
             end);
    json_decref(o);
}

/* Waits until the server has read all we sent, or closed (our unread
 * bytes in its queue, SIOCOUTQ, are none), or deadline passed. */
static void wait_read(int s, long long deadline)
{
    int queued = 1;
    while (ioctl(s, SIOCOUTQ, &queued) == 0 && queued > 0 &&
           now_ms() < deadline) {
        struct timespec nap = {0, 20 * 1000};
        nanosleep(&nap, NULL);
    }
}

/* Waits until the server has freed the connection (it does after it closed
 * it), or deadline passed: libFuzzer counts the mallocs and frees of each
 * input, and runs every input that seems to keep memory once more to look
 * for a leak. */
static void wait_freed(long long deadline)
{
    const union MHD_DaemonInfo *info;
    while ((info = MHD_get_daemon_info(server_daemon,
                                       MHD_DAEMON_INFO_CURRENT_CONNECTIONS)) &&
           info->num_connections > 0 && now_ms() < deadline) {
        struct timespec nap = {0, 20 * 1000};
        nanosleep(&nap, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
             "socketpair: %s", strerror(errno));
    /* libmicrohttpd closes sv[1], also when it refuses it */
    FZ_CHECK(MHD_add_connection(server_daemon, sv[1],
                                (const struct sockaddr *)&client,
                                sizeof client) == MHD_YES,
             "MHD_add_connection: %s", strerror(errno));
    long long deadline = now_ms() + HANG_MS;
    /* the server may answer and close before it has read everything */
    for (size_t off = 0; off < size;) {
        ssize_t w = send(sv[0], data + off, size - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    wait_read(sv[0], deadline);
    shutdown(sv[0], SHUT_WR);

    static char reply[KEEP_MAX + 1];
    size_t n = 0;
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = {.fd = sv[0], .events = POLLIN};
        int ready = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        FZ_CHECK(ready > 0, "no close from the server within %d ms (%zu "
                 "bytes in)", HANG_MS, n);
        char buf[16384];
        ssize_t r = recv(sv[0], buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;              /* closed, or reset: both end it */
        size_t keep = (size_t)r < KEEP_MAX - n ? (size_t)r : KEEP_MAX - n;
        memcpy(reply + n, buf, keep);
        n += keep;
    }
    close(sv[0]);
    wait_freed(deadline);
    reply[n] = '\0';
    check_reply(data, size, reply, n);
    return 0;
}
