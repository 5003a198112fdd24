/*
 * metrics.c - counters for GET /metrics, in the Prometheus text format.
 *
 * Every counter is a fixed slot in serve_metrics, updated with one relaxed
 * atomic add: no lock on the request path, and no allocation.  Routes,
 * statuses and reply kinds are small closed sets, so the label values are
 * bounded and a scraper never sees a client-chosen label.  The latency
 * histogram keeps per-bucket counts and makes them cumulative when
 * rendered; its _count is the sum of its buckets, so the two always agree
 * even while requests finish during a scrape.
 */
#include <stdio.h>
#include <stdlib.h>

#include "serve.h"

/* Statuses counted on their own; anything else is "other". */
static const int statuses[SERVE_STATUS_SLOTS - 1] = {
    200, 204, 304, 400, 401, 403, 404, 405, 413, 500, 503};

/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[SERVE_LATENCY_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,   0.025,   0.05,   0.1,   0.25,   1.0};

static const char *const event_outcomes[SERVE_EVENT_OUTCOME_COUNT] = {
    "queued", "duplicate", "ignored", "dropped", "unavailable"};

static const char *const route_paths[SERVE_ROUTE_COUNT] = {
    "/v1/ask", "/slack/commands", "/slack/events", "/mattermost",
    "/healthz", "/metrics", "/", "/chat.css", "/chat.js", "/widget.js",
    "/_matrix/app/v1", "other"};

const char *serve_route_path(int route)
{
    return route >= 0 && route < SERVE_ROUTE_COUNT ? route_paths[route]
                                                   : "other";
}

void serve_metrics_init(serve_metrics *m)
{
    /* atomic_init on each slot: a plain memset is not a valid way to
     * initialise atomic objects */
    for (int r = 0; r < SERVE_ROUTE_COUNT; r++) {
        for (int s = 0; s < SERVE_STATUS_SLOTS; s++)
            atomic_init(&m->requests[r][s], 0);
        for (int b = 0; b <= SERVE_LATENCY_BUCKETS; b++)
            atomic_init(&m->latency[r][b], 0);
        atomic_init(&m->latency_us[r], 0);
    }
    for (int k = 0; k < SERVE_KIND_SLOTS; k++)
        atomic_init(&m->answers[k], 0);
    for (int e = 0; e < SERVE_EVENT_OUTCOME_COUNT; e++)
        atomic_init(&m->events[e], 0);
    atomic_init(&m->posts_ok, 0);
    atomic_init(&m->posts_failed, 0);
    atomic_init(&m->reloads_ok, 0);
    atomic_init(&m->reloads_failed, 0);
    atomic_init(&m->state_up, 1);
    m->state_shared = false;
    atomic_init(&m->state_errors, 0);
    atomic_init(&m->state_reconnects, 0);
    atomic_init(&m->state_reclaimed, 0);
}

static void add(atomic_ulong *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static unsigned long get(atomic_ulong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void serve_metrics_request(serve_metrics *m, int route, int status,
                           double seconds)
{
    if (route < 0 || route >= SERVE_ROUTE_COUNT)
        route = SERVE_ROUTE_OTHER;
    int s = 0;
    while (s < SERVE_STATUS_SLOTS - 1 && statuses[s] != status)
        s++;
    add(&m->requests[route][s]);
    int b = 0;
    while (b < SERVE_LATENCY_BUCKETS && seconds > bounds[b])
        b++;
    add(&m->latency[route][b]);
    if (seconds < 0)
        seconds = 0;
    atomic_fetch_add_explicit(&m->latency_us[route],
                              (unsigned long long)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
}

void serve_metrics_answer(serve_metrics *m, int kind)
{
    add(&m->answers[kind >= 0 && kind < SERVE_KIND_SLOTS - 1
                        ? kind : SERVE_KIND_SLOTS - 1]);
}

void serve_metrics_event(serve_metrics *m, int outcome)
{
    if (outcome >= 0 && outcome < SERVE_EVENT_OUTCOME_COUNT)
        add(&m->events[outcome]);
}

char *serve_metrics_render(serve_metrics *m, int inflight, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;

    fputs("# HELP msfaq_http_requests_total HTTP requests answered, by "
          "route and status.\n"
          "# TYPE msfaq_http_requests_total counter\n", f);
    for (int r = 0; r < SERVE_ROUTE_COUNT; r++)
        for (int s = 0; s < SERVE_STATUS_SLOTS; s++) {
            unsigned long n = get(&m->requests[r][s]);
            if (!n)
                continue;
            if (s < SERVE_STATUS_SLOTS - 1)
                fprintf(f, "msfaq_http_requests_total{route=\"%s\","
                           "status=\"%d\"} %lu\n", route_paths[r],
                        statuses[s], n);
            else
                fprintf(f, "msfaq_http_requests_total{route=\"%s\","
                           "status=\"other\"} %lu\n", route_paths[r], n);
        }

    fputs("# HELP msfaq_http_request_duration_seconds Time from the "
          "request's headers to its reply being queued.\n"
          "# TYPE msfaq_http_request_duration_seconds histogram\n", f);
    for (int r = 0; r < SERVE_ROUTE_COUNT; r++) {
        unsigned long cum = 0;
        for (int b = 0; b <= SERVE_LATENCY_BUCKETS; b++) {
            cum += get(&m->latency[r][b]);
            if (b < SERVE_LATENCY_BUCKETS)
                fprintf(f, "msfaq_http_request_duration_seconds_bucket{"
                           "route=\"%s\",le=\"%g\"} %lu\n", route_paths[r],
                        bounds[b], cum);
            else
                fprintf(f, "msfaq_http_request_duration_seconds_bucket{"
                           "route=\"%s\",le=\"+Inf\"} %lu\n",
                        route_paths[r], cum);
        }
        unsigned long long us =
            atomic_load_explicit(&m->latency_us[r], memory_order_relaxed);
        fprintf(f, "msfaq_http_request_duration_seconds_sum{route=\"%s\"} "
                   "%.6f\n", route_paths[r], (double)us / 1e6);
        fprintf(f, "msfaq_http_request_duration_seconds_count{route=\"%s\"} "
                   "%lu\n", route_paths[r], cum);
    }

    fprintf(f, "# HELP msfaq_http_requests_in_flight HTTP requests being "
               "handled.\n"
               "# TYPE msfaq_http_requests_in_flight gauge\n"
               "msfaq_http_requests_in_flight %d\n", inflight);

    fputs("# HELP msfaq_answers_total Questions answered, by reply kind "
          "(error: refused input).\n"
          "# TYPE msfaq_answers_total counter\n", f);
    for (int k = 0; k < SERVE_KIND_SLOTS; k++)
        fprintf(f, "msfaq_answers_total{kind=\"%s\"} %lu\n",
                k < SERVE_KIND_SLOTS - 1 ? msfaq_kind_name(k) : "error",
                get(&m->answers[k]));

    fputs("# HELP msfaq_slack_events_total Slack event deliveries, by "
          "outcome.\n"
          "# TYPE msfaq_slack_events_total counter\n", f);
    for (int e = 0; e < SERVE_EVENT_OUTCOME_COUNT; e++)
        fprintf(f, "msfaq_slack_events_total{outcome=\"%s\"} %lu\n",
                event_outcomes[e], get(&m->events[e]));

    fprintf(f, "# HELP msfaq_slack_posts_total Answers to Slack events "
               "sent with chat.postMessage, by result.\n"
               "# TYPE msfaq_slack_posts_total counter\n"
               "msfaq_slack_posts_total{result=\"ok\"} %lu\n"
               "msfaq_slack_posts_total{result=\"failed\"} %lu\n",
            get(&m->posts_ok), get(&m->posts_failed));
    fprintf(f, "# HELP msfaq_kb_reloads_total Knowledge base reloads "
               "(SIGHUP), by result.\n"
               "# TYPE msfaq_kb_reloads_total counter\n"
               "msfaq_kb_reloads_total{result=\"ok\"} %lu\n"
               "msfaq_kb_reloads_total{result=\"failed\"} %lu\n",
            get(&m->reloads_ok), get(&m->reloads_failed));

    fprintf(f, "# HELP msfaq_state_up 1 when the state (--state) takes "
               "events and transactions, 0 when they get 503.\n"
               "# TYPE msfaq_state_up gauge\n"
               "msfaq_state_up{backend=\"%s\"} %d\n"
               "# HELP msfaq_state_errors_total Failed connections to and "
               "commands of the state (Redis).\n"
               "# TYPE msfaq_state_errors_total counter\n"
               "msfaq_state_errors_total %lu\n"
               "# HELP msfaq_state_reconnects_total Times the state came "
               "back after being down.\n"
               "# TYPE msfaq_state_reconnects_total counter\n"
               "msfaq_state_reconnects_total %lu\n"
               "# HELP msfaq_state_reclaimed_total Jobs taken over from a "
               "replica that did not finish them.\n"
               "# TYPE msfaq_state_reclaimed_total counter\n"
               "msfaq_state_reclaimed_total %lu\n",
            m->state_shared ? "redis" : "local",
            atomic_load(&m->state_up), get(&m->state_errors),
            get(&m->state_reconnects), get(&m->state_reclaimed));

    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
