/*
 * fuzz_serve_app.h - the msfaq serve application the serve harnesses
 * (fuzz_slack, fuzz_http) send their inputs to, and checks shared by the
 * harnesses that read serve replies (fuzz_slack, fuzz_matrix).
 *
 * One app per process, set up as msfaq serve sets it up, minus what would
 * reach the network: a Slack signing secret, a Mattermost token, one web
 * origin (so the CORS code runs), the built-in KB, metrics, no Slack event
 * queue (app.events NULL: events are acknowledged and dropped) and no
 * Matrix application service (app.appservice NULL: /_matrix/app/ gets 404).
 */
#ifndef FUZZ_SERVE_APP_H
#define FUZZ_SERVE_APP_H

#include "fuzz_check.h"
#include "serve.h"

/* Slack's own test vector secret (docs: "verifying requests") */
#define FZ_SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define FZ_MATTERMOST_TOKEN "fuzz-mattermost-token"
#define FZ_BOT_USER "UBOTFUZZ"

static serve_config fz_cfg;
static serve_app fz_app;

static inline void fz_app_close(void)
{
    serve_kb_destroy(&fz_app.kb);
    free(fz_app.web_csp);
}

/* Sets up fz_app once; aborts when it cannot. */
static inline serve_app *fz_app_open(void)
{
    /* serve_config holds char *, not const char * */
    static char secret[] = FZ_SLACK_SECRET;
    static char mm_token[] = FZ_MATTERMOST_TOKEN;
    static char bot_token[] = "xoxb-fuzz";
    static char api_url[] = "http://127.0.0.1:9/api/";
    static char bot_user[] = FZ_BOT_USER;
    static char origin[] = "https://chat.example.org";
    static char *origins[] = {origin, NULL};

    fz_cfg.threads = 1;
    fz_cfg.max_connections = 64;
    fz_cfg.timeout_s = 5;
    fz_cfg.max_body = 64 * 1024;   /* msfaq serve's default */
    fz_cfg.slack_signing_secret = secret;
    fz_cfg.slack_bot_token = bot_token;
    fz_cfg.mattermost_token = mm_token;
    fz_cfg.slack_api_url = api_url;
    fz_cfg.slack_bot_user_id = bot_user;
    fz_cfg.web_origins = origins;
    fz_cfg.web_origin_count = 1;

    fz_app.cfg = &fz_cfg;
    msfaq_error err;
    if (serve_kb_init(&fz_app.kb, NULL, &err) != MSFAQ_OK) {
        fprintf(stderr, "fuzz: embedded KB: %s\n", err.text);
        abort();
    }
    serve_metrics_init(&fz_app.metrics);
    fz_app.events = NULL;
    fz_app.appservice = NULL;
    fz_app.web_csp = serve_web_csp(&fz_cfg);
    FZ_CHECK(fz_app.web_csp != NULL, "serve_web_csp: out of memory");
    atomic_init(&fz_app.inflight, 0);
    atexit(fz_app_close);
    return &fz_app;
}

/*
 * The body of rp parsed, after checking what every reply keeps: a body of
 * len bytes (text without NUL bytes) ending in a newline when it is JSON,
 * or no body at all; a JSON body is one object.  Returns a new reference,
 * or NULL when rp has no JSON body.
 */
static inline json_t *fz_reply_json(const serve_reply *rp)
{
    FZ_CHECK(rp->status >= 100 && rp->status <= 599, "status %d",
             rp->status);
    if (!rp->body) {
        FZ_CHECK(rp->data || rp->len == 0, "no body, but len %zu",
                 rp->len);
        return NULL;
    }
    FZ_CHECK(strlen(rp->body) == rp->len, "len %zu for a body of %zu",
             rp->len, strlen(rp->body));
    FZ_CHECK(rp->content_type != NULL, "a body without a Content-Type");
    if (strcmp(rp->content_type, "application/json") != 0)
        return NULL;
    FZ_CHECK(rp->len > 0 && rp->body[rp->len - 1] == '\n',
             "JSON body without its final newline");
    json_error_t je;
    json_t *o = json_loadb(rp->body, rp->len, JSON_REJECT_DUPLICATES, &je);
    FZ_CHECK(o != NULL, "reply is not JSON: %s: %.200s", je.text, rp->body);
    FZ_CHECK(json_is_object(o), "reply is not a JSON object: %.200s",
             rp->body);
    return o;
}

/* A string member of o, or NULL. */
static inline const char *fz_get(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

#endif /* FUZZ_SERVE_APP_H */
