/*
 * http.c - libmicrohttpd glue: routes, methods, the body cap, the log
 * line and the request metrics.
 *
 * libmicrohttpd calls on_request() once when the headers are in, once per
 * piece of body, and once more at the end; only then does a handler run,
 * on the whole raw body (Slack signatures cover the exact bytes).  The
 * handlers never see libmicrohttpd: they get a serve_request and fill a
 * serve_reply.
 *
 * Bodies are capped (--max-body).  A request announcing a larger body
 * with Expect: 100-continue, or one far larger than the cap, gets its 413
 * at once, before the body is sent, and the connection is closed.
 * Otherwise the excess is read and thrown away, up to DISCARD_MAX, and the
 * 413 comes at the end: a client still busy sending would otherwise see a
 * reset connection instead of the status.  Past DISCARD_MAX the
 * connection is dropped.
 *
 * Unknown routes (404) and wrong methods (405, with Allow) are answered
 * the same way, after the body, so a connection stays usable.
 *
 * The chat page's files (web.c) come from static memory and carry their
 * own ETag, Cache-Control and security headers.  /v1/ask also answers
 * OPTIONS (a CORS preflight); when MSFAQ_WEB_ORIGINS is set, its replies
 * say Vary: Origin, and those to an allowed Origin, errors included, get
 * Access-Control-Allow-Origin, so the site's script can read them.  The
 * Origin is compared here, where the headers are, for every reply of the
 * route (a 413 sent before the body too); handlers never see it.
 *
 * One log line per request, when libmicrohttpd reports it complete:
 * method, route, status, duration (until the reply was sent) and a short
 * note (the reason for a 401, "queued", ...).  Never the body, the query
 * string or a header value.  The metrics count a request when its reply
 * is queued, with the time taken until then.
 *
 * Under load and abuse (tests/serve/test_serve_load.py drives these):
 * - --max-connections: past it, libmicrohttpd stops accepting and new
 *   connections wait in the kernel's backlog until one closes.
 * - --timeout: libmicrohttpd closes a connection silent that long; the
 *   watchdog here closes one that has not sent a whole request (headers
 *   and body) within that time plus a second, however it trickles.
 *   libmicrohttpd's time-out restarts at every byte received, so without
 *   the watchdog a byte every few seconds (slow loris) held a connection
 *   for ever, and --max-connections such clients held the server.
 * - memory: at most CONNECTION_MEMORY (request line and headers) plus
 *   the body cap per connection; the Matrix route's larger cap only for
 *   a request that shows the homeserver's token.
 * - stop: new connections are refused at once, and replies say
 *   "Connection: close", while the requests in progress finish.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>  /* malloc_trim */
#endif
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "serve.h"

/* Body bytes read and thrown away after the cap before giving up. */
#define DISCARD_MAX (1024 * 1024)

/* libmicrohttpd's memory per connection, half of which the request line
 * and headers must fit (about 8 KiB, as nginx and Apache allow; else it
 * answers 414 or 431 and closes).  Half its default: every connection
 * keeps it while open, so it is most of what 256 connections cost, and
 * the clients msfaq serves send headers of a few KiB.  8 KiB would leave
 * 3.8 KB for headers, too little for a browser's cookies
 * (test_serve.py's test_header_cap). */
#define CONNECTION_MEMORY (16 * 1024)

/* The watchdog cuts a connection this long after --timeout: one silent
 * all along is closed by libmicrohttpd's own time-out first, quietly, so
 * only the slow senders reach the watchdog and its log line. */
#define DEADLINE_GRACE_MS 1000

typedef void (*handler_fn)(serve_app *, const serve_request *,
                           serve_reply *);

static const struct route {
    const char *path;
    int id;                    /* enum serve_route */
    bool get;                  /* GET and HEAD; else POST */
    bool cors;                 /* OPTIONS preflight, CORS headers */
    handler_fn fn;
} routes[] = {
    {"/v1/ask", SERVE_ROUTE_ASK, false, true, serve_route_ask},
    {"/slack/commands", SERVE_ROUTE_SLACK_COMMANDS, false, false,
     serve_route_slack_commands},
    {"/slack/events", SERVE_ROUTE_SLACK_EVENTS, false, false,
     serve_route_slack_events},
    {"/mattermost", SERVE_ROUTE_MATTERMOST, false, false,
     serve_route_mattermost},
    {"/healthz", SERVE_ROUTE_HEALTHZ, true, false, serve_route_healthz},
    {"/metrics", SERVE_ROUTE_METRICS, true, false, serve_route_metrics},
    {"/", SERVE_ROUTE_WEB_PAGE, true, false, serve_route_web},
    {"/chat.css", SERVE_ROUTE_WEB_CSS, true, false, serve_route_web},
    {"/chat.js", SERVE_ROUTE_WEB_JS, true, false, serve_route_web},
    {"/widget.js", SERVE_ROUTE_WEB_WIDGET, true, false, serve_route_web},
};

/* One request, from its headers to its completion. */
struct conn {
    serve_app *app;
    const struct route *route; /* NULL: no such route */
    struct timespec start;
    char method[16];           /* for the log line */
    char path[72];             /* for the log line, made printable */
    char *body;
    size_t len, cap;
    size_t max;                /* the body cap of this request */
    size_t discarded;          /* body bytes past the cap */
    bool too_large;
    bool replied;
    int status;
    const char *note;
};

/* The Matrix application service (appservice.c) takes every path under
 * /_matrix/app/, answers each method itself with Matrix errors, and
 * takes larger bodies (a homeserver batches up to 100 events). */
static const struct route appservice_route = {
    "/_matrix/app/v1", SERVE_ROUTE_MATRIX, false, false,
    serve_route_appservice};

static const struct route *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(routes[i].path, path))
            return &routes[i];
    return serve_appservice_path(path) ? &appservice_route : NULL;
}

/* true when c shows the homeserver's token, as appservice.c takes it
 * (which checks it again, with the rest of the request). */
static bool from_homeserver(const serve_app *app, struct MHD_Connection *c)
{
    const char *hs = app->cfg->matrix_hs_token;
    if (!app->appservice || !hs)
        return false;
    const char *auth = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *token = auth && !strncasecmp(auth, "Bearer ", 7)
        ? auth + 7
        : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                      "access_token");
    return token && serve_token_equal(token, hs);
}

/* The body cap of a request.  The Matrix route's larger one only for the
 * homeserver: anyone could otherwise make each connection hold 8 MiB. */
static size_t body_cap(const serve_app *app, const struct route *r,
                       struct MHD_Connection *c)
{
    size_t max = app->cfg->max_body;
    if (r == &appservice_route && max < SERVE_APPSERVICE_MAX_BODY &&
        from_homeserver(app, c))
        max = SERVE_APPSERVICE_MAX_BODY;
    return max;
}

/* Copies s into out, printable ASCII only, shortened with "...". */
static void printable(char *out, size_t size, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < size; i++)
        out[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    if (s[i] && size > 4)
        memcpy(out + size - 4, "...", 4);
}

static double elapsed(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* -------------------------------------------------- the request deadline */

/* One open connection, libmicrohttpd's socket context for it. */
struct watched {
    struct watched *prev, *next;
    MHD_socket fd;
    long long since_ms;        /* waiting for a request since */
    bool busy;                 /* a request is in: being answered */
    bool cut;                  /* shut down by the watchdog */
};

/* The open connections and the thread cutting those too slow to send a
 * request.  One daemon per process (serve_main.c), so one watchdog,
 * static for serve_http_stop() to find. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* CLOCK_MONOTONIC */
    struct watched ring;       /* the list head */
    long long limit_ms;        /* --timeout plus DEADLINE_GRACE_MS */
    bool stop;
    unsigned open, burst;      /* connections open; most open at once
                                  since the last trim */
    long long trim_at_ms;      /* a trim is due then (0: none) */
    pthread_t thread;
    atomic_bool draining;      /* stopping: every reply closes */
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Each connection's libmicrohttpd memory (CONNECTION_MEMORY) comes from
 * malloc on the thread that serves it, and glibc keeps what is freed in
 * that thread's arena: after a burst of connections the process would
 * keep the burst's memory for good.  So once a burst of at least
 * TRIM_AFTER_BURST connections has ended (none open for TRIM_DELAY_MS,
 * which also lets libmicrohttpd free the last one's memory after telling
 * us), the watchdog hands the free pages back to the kernel, off the
 * request threads.  A client that opens one connection per request never
 * makes a burst: malloc_trim() walks and locks every arena, and must not
 * run after every request. */
#define TRIM_AFTER_BURST 16
#define TRIM_DELAY_MS 10

static void give_back_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wd.lock);
    while (!wd.stop) {
        long long now = now_ms(), next = now + wd.limit_ms;
        unsigned cut = 0;
        for (struct watched *w = wd.ring.next; w != &wd.ring; w = w->next) {
            if (w->busy || w->cut)
                continue;
            long long due = w->since_ms + wd.limit_ms;
            if (due > now) {
                next = due < next ? due : next;
                continue;
            }
            /* libmicrohttpd reads the end of the stream and closes the
             * connection on its own thread.  The descriptor cannot be
             * another's yet: it is closed after on_connection() has
             * taken w out, under the lock held here. */
            shutdown(w->fd, SHUT_RDWR);
            w->cut = true;
            cut++;
        }
        if (cut) {
            pthread_mutex_unlock(&wd.lock);
            serve_log("closed %u connection%s that sent no whole request "
                      "in %llds", cut, cut == 1 ? "" : "s",
                      (wd.limit_ms - DEADLINE_GRACE_MS) / 1000);
            pthread_mutex_lock(&wd.lock);
            continue;
        }
        if (wd.trim_at_ms && wd.open) {
            wd.trim_at_ms = 0;     /* not over: the next quiet moment */
        } else if (wd.trim_at_ms && wd.trim_at_ms <= now) {
            wd.trim_at_ms = 0;
            wd.burst = 0;
            pthread_mutex_unlock(&wd.lock);
            give_back_memory();
            pthread_mutex_lock(&wd.lock);
            continue;
        } else if (wd.trim_at_ms && wd.trim_at_ms < next) {
            next = wd.trim_at_ms;
        }
        struct timespec ts = {.tv_sec = next / 1000,
                              .tv_nsec = next % 1000 * 1000000};
        pthread_cond_timedwait(&wd.wake, &wd.lock, &ts);
    }
    pthread_mutex_unlock(&wd.lock);
    return NULL;
}

static bool watchdog_start(unsigned timeout_s)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&wd.wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc)
        return false;
    wd.ring.next = wd.ring.prev = &wd.ring;
    wd.limit_ms = (long long)timeout_s * 1000 + DEADLINE_GRACE_MS;
    wd.stop = false;
    wd.open = wd.burst = 0;
    wd.trim_at_ms = 0;
    atomic_store(&wd.draining, false);
    if (pthread_create(&wd.thread, NULL, watchdog_main, NULL)) {
        pthread_cond_destroy(&wd.wake);
        return false;
    }
    return true;
}

/* After MHD_stop_daemon(): no connection is left. */
static void watchdog_stop(void)
{
    pthread_mutex_lock(&wd.lock);
    wd.stop = true;
    pthread_cond_signal(&wd.wake);
    pthread_mutex_unlock(&wd.lock);
    pthread_join(wd.thread, NULL);
    pthread_cond_destroy(&wd.wake);
}

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION: a connection opened or
 * closed.  The close comes before libmicrohttpd closes the socket. */
static void on_connection(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode what)
{
    struct watched *w = *socket_context;
    (void)cls;
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || !(w = calloc(1, sizeof *w)))
            return;            /* only libmicrohttpd's time-out, then */
        w->fd = ci->connect_fd;
        w->since_ms = now_ms();
        pthread_mutex_lock(&wd.lock);
        w->prev = wd.ring.prev;
        w->next = &wd.ring;
        w->prev->next = w->next->prev = w;
        if (++wd.open > wd.burst)
            wd.burst = wd.open;
        pthread_mutex_unlock(&wd.lock);
        *socket_context = w;
        return;
    }
    if (!w)
        return;
    pthread_mutex_lock(&wd.lock);
    w->prev->next = w->next;
    w->next->prev = w->prev;
    if (--wd.open == 0 && wd.burst >= TRIM_AFTER_BURST) {
        wd.trim_at_ms = now_ms() + TRIM_DELAY_MS;
        pthread_cond_signal(&wd.wake);
    }
    pthread_mutex_unlock(&wd.lock);
    free(w);
    *socket_context = NULL;
}

/* busy: a request is in (or comes from the homeserver, which may be slow
 * to send a large one): no deadline until it is answered.  Otherwise the
 * connection waits for its next request from now on.  Returns true when
 * the watchdog cut the connection. */
static bool watch_set(struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct watched *w = ci ? ci->socket_context : NULL;
    if (!w)
        return false;
    pthread_mutex_lock(&wd.lock);
    w->busy = busy;
    if (!busy)
        w->since_ms = now_ms();
    bool cut = w->cut;
    pthread_mutex_unlock(&wd.lock);
    return cut;
}

/* The CORS headers of a reply on a route that has them. */
static void add_cors(struct MHD_Response *res, struct MHD_Connection *c,
                     const serve_config *cfg, const serve_reply *rp)
{
    if (!cfg->web_origin_count)
        return;                 /* the reply does not depend on Origin */
    MHD_add_response_header(res, MHD_HTTP_HEADER_VARY, "Origin");
    const char *origin = serve_web_allowed_origin(
        cfg, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"));
    if (!origin)
        return;
    MHD_add_response_header(res, "Access-Control-Allow-Origin", origin);
    if (rp->preflight) {
        MHD_add_response_header(res, "Access-Control-Allow-Methods",
                                "POST");
        MHD_add_response_header(res, "Access-Control-Allow-Headers",
                                "Content-Type");
        MHD_add_response_header(res, "Access-Control-Max-Age", "600");
    }
}

/* Queues rp (taking its body), counts it in the metrics and keeps the
 * status for the log line.  Counting here rather than on completion means
 * a client that has its reply also sees it in /metrics. */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct conn *cn,
                                  serve_reply *rp, const char *allow,
                                  bool close)
{
    struct MHD_Response *res =
        rp->body ? MHD_create_response_from_buffer(rp->len, rp->body,
                                                   MHD_RESPMEM_MUST_FREE)
        : rp->data ? MHD_create_response_from_buffer(rp->len,
                                                     (void *)rp->data,
                                                     MHD_RESPMEM_PERSISTENT)
                   : MHD_create_response_from_buffer(0, NULL,
                                                     MHD_RESPMEM_PERSISTENT);
    if (!res) {
        free(rp->body);
        return MHD_NO;
    }
    rp->body = NULL;        /* the response owns it now */
    if (rp->content_type)
        MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE,
                                rp->content_type);
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL,
                            rp->cache_control ? rp->cache_control
                                              : "no-store");
    if (rp->etag)
        MHD_add_response_header(res, MHD_HTTP_HEADER_ETAG, rp->etag);
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    if (rp->web) {
        if (cn->app->web_csp)
            MHD_add_response_header(res, "Content-Security-Policy",
                                    cn->app->web_csp);
        MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
    }
    if (cn->route && cn->route->cors)
        add_cors(res, c, cn->app->cfg, rp);
    if (allow)
        MHD_add_response_header(res, MHD_HTTP_HEADER_ALLOW, allow);
    /* stopping: a keep-alive client takes its next request to a new
     * connection, refused, rather than into the stop */
    if (close || atomic_load(&wd.draining))
        MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rp->status, res);
    MHD_destroy_response(res);
    cn->replied = true;
    cn->status = rp->status;
    cn->note = rp->note;
    serve_metrics_request(&cn->app->metrics,
                          cn->route ? cn->route->id : SERVE_ROUTE_OTHER,
                          cn->status, elapsed(&cn->start));
    return ok;
}

/* The 413 for a body over the cap. */
static enum MHD_Result send_too_large(struct MHD_Connection *c,
                                      struct conn *cn, bool close)
{
    serve_reply rp = {0};
    serve_reply_error(&rp, 413, "body_too_large",
                      "the body is larger than %zu bytes", cn->max);
    return send_reply(c, cn, &rp, NULL, close);
}

/* Parses a Content-Length header; -1 when absent or not a number. */
static long long content_length(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v || !*v)
        return -1;
    long long n = 0;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (1LL << 50))
            return -1;
        n = n * 10 + (*v - '0');
    }
    return n;
}

/* The first call: headers are in, no body yet. */
static enum MHD_Result begin(serve_app *app, struct MHD_Connection *c,
                             const char *url, const char *method,
                             void **con_cls)
{
    struct conn *cn = calloc(1, sizeof *cn);
    if (!cn)
        return MHD_NO;
    clock_gettime(CLOCK_MONOTONIC, &cn->start);
    cn->app = app;
    cn->route = find_route(url);
    printable(cn->method, sizeof cn->method, method);
    printable(cn->path, sizeof cn->path, url);
    atomic_fetch_add(&app->inflight, 1);
    *con_cls = cn;

    cn->max = body_cap(app, cn->route, c);
    if (cn->max > app->cfg->max_body)
        watch_set(c, true);    /* the homeserver may be slow to send */
    long long cl = content_length(c);
    if (cl < 0 || (size_t)cl <= cn->max)
        return MHD_YES;
    cn->too_large = true;
    const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_EXPECT);
    if ((expect && !strcasecmp(expect, "100-continue")) || cl > DISCARD_MAX)
        return send_too_large(c, cn, true);
    return MHD_YES;
}

/* One piece of body. */
static enum MHD_Result take_body(struct conn *cn, const char *data,
                                 size_t n)
{
    size_t max = cn->max;
    if (!cn->too_large && n <= max - cn->len) {
        if (cn->len + n + 1 > cn->cap) {
            size_t cap = cn->cap ? cn->cap : 1024;
            while (cap < cn->len + n + 1)
                cap *= 2;
            if (cap > max + 1)
                cap = max + 1;
            char *b = realloc(cn->body, cap);
            if (!b)
                return MHD_NO;
            cn->body = b;
            cn->cap = cap;
        }
        memcpy(cn->body + cn->len, data, n);
        cn->len += n;
        return MHD_YES;
    }
    cn->too_large = true;
    free(cn->body);
    cn->body = NULL;
    cn->len = cn->cap = 0;
    cn->discarded += n;
    return cn->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
}

/* The last call: the whole body is in. */
static enum MHD_Result finish(serve_app *app, struct MHD_Connection *c,
                              struct conn *cn, const char *url,
                              const char *method)
{
    const struct route *r = cn->route;
    serve_reply rp = {.status = 500};
    if (!r) {
        serve_reply_error(&rp, 404, "not_found", "no route %s", cn->path);
        return send_reply(c, cn, &rp, NULL, false);
    }
    bool preflight = r->cors && !strcmp(method, "OPTIONS");
    bool allowed = r->get ? !strcmp(method, "GET") || !strcmp(method, "HEAD")
                          : !strcmp(method, "POST") || preflight;
    allowed |= r == &appservice_route;   /* it checks methods itself */
    const char *allow = r->get ? "GET, HEAD"
                        : r->cors ? "OPTIONS, POST" : "POST";
    if (!allowed) {
        serve_reply_error(&rp, 405, "method_not_allowed", "use %s",
                          r->get ? "GET" : "POST");
        return send_reply(c, cn, &rp, allow, false);
    }
    if (cn->too_large)
        return send_too_large(c, cn, false);
    serve_request rq = {
        .route = r->id,
        .body = cn->body ? cn->body : "",
        .body_len = cn->len,
        .now = time(NULL),
    };
    if (cn->body)
        cn->body[cn->len] = '\0';   /* room was kept for it */
#define HEADER(name) MHD_lookup_connection_value(c, MHD_HEADER_KIND, name)
    rq.content_type = HEADER(MHD_HTTP_HEADER_CONTENT_TYPE);
    rq.slack_timestamp = HEADER("X-Slack-Request-Timestamp");
    rq.slack_signature = HEADER("X-Slack-Signature");
    rq.if_none_match = HEADER(MHD_HTTP_HEADER_IF_NONE_MATCH);
    rq.method = method;
    rq.path = url;
    rq.authorization = HEADER(MHD_HTTP_HEADER_AUTHORIZATION);
    rq.access_token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                  "access_token");
#undef HEADER
    (preflight ? serve_route_preflight : r->fn)(app, &rq, &rp);
    return send_reply(c, cn, &rp, preflight ? allow : NULL, false);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    serve_app *app = cls;
    struct conn *cn = *con_cls;
    (void)version;
    if (!cn)
        return begin(app, c, url, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return cn->replied ? MHD_YES : take_body(cn, upload_data, n);
    }
    watch_set(c, true);        /* the whole request is in */
    return cn->replied ? MHD_YES : finish(app, c, cn, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    serve_app *app = cls;
    struct conn *cn = *con_cls;
    /* the connection waits for its next request from now on */
    bool cut = watch_set(c, false);
    if (!cn)
        return;
    double secs = elapsed(&cn->start);
    const char *route = cn->route ? cn->route->path : cn->path;
    if (cn->replied) {
        serve_log("%s %s %d %.3fms%s%s", cn->method, route, cn->status,
                  secs * 1e3, cn->note ? " " : "", cn->note ? cn->note : "");
    } else {
        static const char *const why[] = {
            "completed", "error", "timeout", "shutdown", "read error",
            "client closed"};
        serve_log("%s %s - %.3fms aborted: %s", cn->method, route,
                  secs * 1e3, cut ? "too slow"
                  : (unsigned)toe < sizeof why / sizeof why[0] ? why[toe]
                                                             : "unknown");
    }
    free(cn->body);
    free(cn);
    *con_cls = NULL;
    atomic_fetch_sub(&app->inflight, 1);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char text[512];
    (void)cls;
    vsnprintf(text, sizeof text, fmt, ap);
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    serve_log("libmicrohttpd: %s", text);
}

struct MHD_Daemon *serve_http_start(serve_app *app, int fd, char *err,
                                    size_t errlen)
{
    const serve_config *cfg = app->cfg;
    /* MHD_USE_ITC: needed by MHD_quiesce_daemon() with internal threads */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (!watchdog_start(cfg->timeout_s)) {
        snprintf(err, errlen, "cannot start the connection watchdog");
        return NULL;
    }
    /* No MHD_OPTION_PER_IP_CONNECTION_LIMIT: behind the reverse proxy
     * that docs/serve.md asks for, every client has the proxy's address,
     * and one limit would be shared by all. */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, app,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_END);
    if (!d) {
        watchdog_stop();
        snprintf(err, errlen, "libmicrohttpd did not start (threads %u, "
                 "connections %u)", cfg->threads, cfg->max_connections);
    }
    return d;
}

void serve_http_stop(serve_app *app, struct MHD_Daemon *d, unsigned drain_s)
{
    atomic_store(&wd.draining, true);
    /* stop accepting; the socket is ours to close after the stop */
    MHD_socket fd = MHD_quiesce_daemon(d);
    /* On Linux a listening socket shut down stops listening: new
     * connections are refused at once instead of waiting in the backlog
     * through the drain to be reset (as are those already waiting there,
     * never accepted).  The descriptor itself stays open until the stop,
     * as libmicrohttpd asks. */
    if (fd != MHD_INVALID_SOCKET)
        shutdown(fd, SHUT_RDWR);
    for (unsigned waited_ms = 0;
         atomic_load(&app->inflight) > 0 && waited_ms < drain_s * 1000;
         waited_ms += 10)
        usleep(10 * 1000);
    MHD_stop_daemon(d);
    watchdog_stop();
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

const char *serve_http_version(void)
{
    return MHD_get_version();
}
