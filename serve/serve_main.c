/*
 * serve_main.c - msfaq-serve: options, start-up, signals, shut-down.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked in every thread (the
 * mask is set before any thread starts) and taken by the main thread with
 * sigwait(), so no work happens in a signal handler.  SIGHUP reloads the
 * KB; SIGINT and SIGTERM stop accepting, let the requests in progress
 * finish (at most DRAIN_SECONDS), stop libmicrohttpd, answer the Slack
 * events still queued, and exit 0.
 *
 * Start-up prints exactly one line on stdout, "listening on HOST:PORT",
 * once the socket is bound and the server answers, so a caller that gave
 * port 0 learns the port.  Everything else goes to stderr.
 *
 * Exit status: 0 after a clean stop, 1 when the server cannot start (bad
 * settings, KB, address), 2 for bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve.h"

#include "msfaq_post.h"
#include "program.h"

#define EXIT_USAGE 2
#define DRAIN_SECONDS 10
#define DEFAULT_LISTEN "127.0.0.1:8080"

static const char usage_text[] =
    "usage: msfaq-serve [--kb DIR] [--listen HOST:PORT] [--config FILE]\n"
    "                   [OPTIONS]\n"
    "   or: msfaq serve [...]\n"
    "\n"
    "Answers questions about immune therapy for multiple sclerosis over\n"
    "HTTP: Slack slash commands and events, Mattermost outgoing webhooks,\n"
    "a JSON API and a web chat page.  General information, not medical\n"
    "advice.\n"
    "\n"
    "routes:\n"
    "  POST /v1/ask           {\"question\": \"...\"} -> msfaq ask --json\n"
    "  POST /slack/commands   Slack slash command (signed)\n"
    "  POST /slack/events     Slack Events API (signed)\n"
    "  POST /mattermost       Mattermost outgoing webhook (token)\n"
    "  GET  /healthz          liveness;  GET /metrics  Prometheus text\n"
    "  GET  /                 the chat page;  GET /widget.js  its widget\n"
    "  PUT  /_matrix/app/v1/transactions/ID  Matrix application service\n"
    "\n"
    "options:\n"
    "  --kb DIR              knowledge base folder (default: built in);\n"
    "                        SIGHUP reloads it\n"
    "  --listen HOST:PORT    address to listen on (default " DEFAULT_LISTEN
    ");\n"
    "                        port 0 picks a free port; [::1]:PORT for IPv6\n"
    "  --config FILE         NAME=VALUE settings (see below)\n"
    "  --threads N           HTTP threads (default 4)\n"
    "  --max-connections N   open connections at most (default 256)\n"
    "  --timeout SECONDS     idle time-out; a request must also arrive\n"
    "                        whole within it (default 15)\n"
    "  --max-body BYTES      request body cap (default 65536)\n"
    "  --state URL           keep Slack event ids, Matrix transaction ids\n"
    "                        and accepted work in Redis, shared by replicas:\n"
    "                        redis://HOST[:PORT][/DB] or\n"
    "                        redis+unix:///PATH[?db=N] (default: this\n"
    "                        process and MSFAQ_SPOOL_DIR)\n"
    "  -h, --help            this help;  -V, --version  the version\n"
    "\n"
    "settings (environment, NAME_FILE=path, or --config FILE):\n"
    "  MSFAQ_SLACK_SIGNING_SECRET  checks Slack's request signatures\n"
    "  MSFAQ_SLACK_BOT_TOKEN       posts event answers (chat.postMessage)\n"
    "  MSFAQ_SLACK_BOT_USER_ID     the bot's user id, never answered\n"
    "  MSFAQ_SLACK_API_URL         default https://slack.com/api\n"
    "  MSFAQ_SLACK_RESPONSE_TYPE   ephemeral (default) or in_channel\n"
    "  MSFAQ_MATTERMOST_TOKEN      the outgoing webhook's token\n"
    "  MSFAQ_WEB_ORIGINS           sites that may embed the chat widget\n"
    "                              and call /v1/ask (https://a.example,...)\n"
    "  MSFAQ_MATRIX_HS_TOKEN, MSFAQ_MATRIX_AS_TOKEN, MSFAQ_MATRIX_HOMESERVER\n"
    "                              be a Matrix application service (msfaq\n"
    "                              matrix-registration writes them)\n"
    "  MSFAQ_MATRIX_AS_ID          the registration's id (pinged at start)\n"
    "  MSFAQ_MATRIX_AS_STATE       file remembering Matrix transactions\n"
    "  MSFAQ_SPOOL_DIR             keeps accepted Slack events and Matrix\n"
    "                              transactions until answered, across\n"
    "                              restarts and crashes (recommended)\n"
    "  MSFAQ_DEAD_LETTER           replies that could not be sent\n"
    "  MSFAQ_REDIS_PASSWORD        the password of --state's Redis\n"
    "See docs/serve.md.\n";

#define usage_error(...) \
    program_usage_error(SERVE_NAME, SERVE_NAME, __VA_ARGS__)

/* Parses a whole decimal number in [min, max]. */
static bool parse_number(const char *s, unsigned long min, unsigned long max,
                         unsigned long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* ---------------------------------------------------------- options */

/* Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, serve_config *cfg,
                         const char **config_file)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        char name[32];
        const char *eq = strchr(arg, '=');
        if (!strncmp(arg, "--", 2) && eq && (size_t)(eq - arg) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - arg), arg);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", arg);
        }
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
            printf(SERVE_NAME " %s (libmsfaq %s, libmicrohttpd %s)\n",
                   MSFAQ_VERSION_STRING, msfaq_version(),
                   serve_http_version());
            return 0;
        }
        static const char *const with_value[] = {
            "--kb", "--listen", "--config", "--threads", "--max-connections",
            "--timeout", "--max-body", "--state"};
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(name, with_value[k]);
        if (!known)
            return usage_error("unknown option '%s'", arg);
        if (!val) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            val = argv[++i];
        }
        unsigned long n = 0;
        if (!strcmp(name, "--kb") || !strcmp(name, "--listen") ||
            !strcmp(name, "--state")) {
            char **slot = name[2] == 'k'   ? &cfg->kb_dir
                          : name[2] == 'l' ? &cfg->listen
                                           : &cfg->state_url;
            free(*slot);
            if (!(*slot = strdup(val)))
                return 1;
        } else if (!strcmp(name, "--config")) {
            *config_file = val;
        } else if (!strcmp(name, "--threads")) {
            if (!parse_number(val, 1, 256, &n))
                return usage_error("--threads takes 1 to 256");
            cfg->threads = (unsigned)n;
        } else if (!strcmp(name, "--max-connections")) {
            if (!parse_number(val, 1, 100000, &n))
                return usage_error("--max-connections takes 1 to 100000");
            cfg->max_connections = (unsigned)n;
        } else if (!strcmp(name, "--timeout")) {
            if (!parse_number(val, 1, 3600, &n))
                return usage_error("--timeout takes 1 to 3600 seconds");
            cfg->timeout_s = (unsigned)n;
        } else {
            if (!parse_number(val, 1, 64UL << 20, &n))
                return usage_error("--max-body takes 1 to %lu bytes",
                                   64UL << 20);
            cfg->max_body = n;
        }
    }
    return -1;
}

/* ----------------------------------------------------------- socket */

/* Splits "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT"; an empty host is
 * 127.0.0.1.  Returns false when there is no port. */
static bool split_listen(const char *s, char *host, size_t hsize,
                         char *port, size_t psize)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || !close[2])
            return false;
        snprintf(host, hsize, "%.*s", (int)(close - s - 1), s + 1);
        snprintf(port, psize, "%s", close + 2);
        return true;
    }
    colon = strrchr(s, ':');
    if (colon && strchr(s, ':') != colon)
        return false;           /* bare IPv6: needs brackets */
    snprintf(host, hsize, "%.*s", colon ? (int)(colon - s) : 0, s);
    snprintf(port, psize, "%s", colon ? colon + 1 : s);
    if (!host[0])
        snprintf(host, hsize, "127.0.0.1");
    unsigned long n;
    return parse_number(port, 0, 65535, &n);
}

/* Binds and listens; writes the bound address to shown.  Returns the
 * socket, or -1 with the reason logged. */
static int open_listener(const char *listen_on, char *shown, size_t size)
{
    char host[256], port[16];
    if (!split_listen(listen_on, host, sizeof host, port, sizeof port)) {
        serve_log("--listen %s: expected HOST:PORT ([ADDRESS]:PORT for "
                  "IPv6)", listen_on);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE},
                    *res, *ai;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) {
        serve_log("--listen %s: %s", listen_on, gai_strerror(rc));
        return -1;
    }
    int fd = -1, saved = 0;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        serve_log("--listen %s: %s", listen_on, strerror(saved));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned short p = 0;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof addr);
        p = ntohs(s6->sin6_port);
        snprintf(shown, size, "[%s]:%u", addr, p);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof addr);
        p = ntohs(s4->sin_port);
        snprintf(shown, size, "%s:%u", addr, p);
    }
    return fd;
}

/* ------------------------------------------------------------- main */

static void log_kb_error(const char *what, const msfaq_error *e)
{
    if (e->file[0] && e->line > 0)
        serve_log("%s: %s:%d:%d: %s", what, e->file, e->line, e->column,
                  e->text);
    else if (e->file[0])
        serve_log("%s: %s: %s", what, e->file, e->text);
    else
        serve_log("%s: %s", what, e->text);
}

static void reload(serve_app *app)
{
    msfaq_error err;
    const char *dir = app->cfg->kb_dir;
    if (serve_kb_reload(&app->kb, dir, &err) < 0) {
        atomic_fetch_add(&app->metrics.reloads_failed, 1);
        log_kb_error("reload failed, still serving the previous knowledge "
                     "base", &err);
        return;
    }
    atomic_fetch_add(&app->metrics.reloads_ok, 1);
    serve_kbref *kb = serve_kb_acquire(&app->kb);
    serve_log("reloaded the knowledge base from %s (%zu intents)",
              msfaq_kb_source(kb->kb), msfaq_kb_intent_count(kb->kb));
    serve_kb_release(kb);
}

int main(int argc, char **argv)
{
    serve_config cfg = {
        .threads = 4,
        .max_connections = 256,
        .timeout_s = 15,
        .max_body = 64 * 1024,
    };
    const char *config_file = NULL;
    int status = 1, fd = -1;
    bool kb_open = false, post_init = false;
    struct MHD_Daemon *d = NULL;
    serve_app app = {.cfg = &cfg};
    char err[512], shown[300];

    int rc = parse_options(argc, argv, &cfg, &config_file);
    if (rc >= 0) {
        serve_config_free(&cfg);
        return rc;
    }
    if (!cfg.listen && !(cfg.listen = strdup(DEFAULT_LISTEN)))
        goto done;
    if (serve_config_load(&cfg, config_file, err, sizeof err) < 0) {
        serve_log("%s", err);
        goto done;
    }

    /* before any thread exists: they all inherit this mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(app.web_csp = serve_web_csp(&cfg))) {
        serve_log("out of memory");
        goto done;
    }
    serve_metrics_init(&app.metrics);
    atomic_init(&app.inflight, 0);
    msfaq_error kerr;
    if (serve_kb_init(&app.kb, cfg.kb_dir, &kerr) < 0) {
        log_kb_error("cannot open the knowledge base", &kerr);
        goto done;
    }
    kb_open = true;

    /* before the queues: they keep their jobs in it */
    if (!(app.state = serve_state_open(cfg.state_url, cfg.redis_password,
                                       &app.metrics, err, sizeof err))) {
        serve_log("%s", err);
        goto done;
    }
    if (cfg.redis_password && !cfg.state_url)
        serve_log("MSFAQ_REDIS_PASSWORD is set but there is no --state "
                  "redis://...: not used");
    if (cfg.state_url && cfg.spool_dir)
        serve_log("--state %s: MSFAQ_SPOOL_DIR is not used",
                  serve_state_where(app.state));

    /* the queues make their own sub-directories in it */
    if (cfg.spool_dir && !cfg.state_url && mkdir(cfg.spool_dir, 0700) != 0 &&
        errno != EEXIST) {
        serve_log("MSFAQ_SPOOL_DIR: %s: %s", cfg.spool_dir, strerror(errno));
        goto done;
    }
    if (cfg.slack_bot_token) {
        msfaq_error perr;
        if (msfaq_post_global_init(&perr) < 0) {
            serve_log("%s", perr.text);
            goto done;
        }
        post_init = true;
        app.events = serve_events_start(&app, err, sizeof err);
        if (!app.events) {
            serve_log("cannot answer Slack events: %s", err);
            goto done;
        }
    }
    if (serve_appservice_configured(&cfg)) {   /* Matrix (appservice.c) */
        msfaq_error perr;
        if (!post_init && msfaq_post_global_init(&perr) < 0) {
            serve_log("%s", perr.text);
            goto done;
        }
        post_init = true;
        app.appservice = serve_appservice_start(&app, err, sizeof err);
        if (!app.appservice) {
            serve_log("cannot be a Matrix application service: %s", err);
            goto done;
        }
    }

    if (!cfg.spool_dir && !cfg.state_url && (app.events || app.appservice))
        serve_log("MSFAQ_SPOOL_DIR is not set: events accepted but not yet "
                  "answered are lost if this process dies");

    fd = open_listener(cfg.listen, shown, sizeof shown);
    if (fd < 0)
        goto done;
    d = serve_http_start(&app, fd, err, sizeof err);
    if (!d) {
        serve_log("%s", err);
        close(fd);
        goto done;
    }
    printf("listening on %s\n", shown);
    fflush(stdout);
    serve_appservice_listening(app.appservice);
    {
        serve_kbref *kb = serve_kb_acquire(&app.kb);
        serve_log("listening on %s; knowledge base %s (%zu intents); "
                  "slack %s, events %s; mattermost %s; web page on, "
                  "%zu embedding origin%s", shown,
                  msfaq_kb_source(kb->kb), msfaq_kb_intent_count(kb->kb),
                  cfg.slack_signing_secret ? "on" : "off (no signing secret)",
                  app.events ? "answered" : "not answered (no bot token)",
                  cfg.mattermost_token ? "on" : "off (no token)",
                  cfg.web_origin_count,
                  cfg.web_origin_count == 1 ? "" : "s");
        serve_kb_release(kb);
    }

    for (;;) {
        int sig;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(&app);
            continue;
        }
        serve_log("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        break;
    }
    serve_http_stop(&app, d, DRAIN_SECONDS);
    status = 0;
done:
    serve_events_stop(app.events);
    serve_appservice_stop(app.appservice);
    serve_state_close(app.state);     /* after the queues it holds */
    if (kb_open)
        serve_kb_destroy(&app.kb);
    if (post_init)
        msfaq_post_global_cleanup();
    serve_config_free(&cfg);
    free(app.web_csp);
    if (status == 0)
        serve_log("stopped");
    return status;
}
