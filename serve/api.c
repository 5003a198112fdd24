/*
 * api.c - the plain HTTP routes: POST /v1/ask, GET /healthz, GET /metrics.
 *
 * /v1/ask takes {"question": "..."} (and optionally "explain": true) and
 * answers with exactly the JSON `msfaq ask --json` prints, so scripts can
 * switch between the command and the server.  Unknown members are
 * ignored, so clients may send more in future.
 */
#include <stdlib.h>
#include <string.h>

#include "serve.h"

void serve_route_ask(serve_app *app, const serve_request *rq,
                     serve_reply *rp)
{
    json_error_t je;
    json_t *in = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES,
                            &je);
    if (!in) {
        if (json_error_code(&je) == json_error_invalid_utf8)
            serve_reply_error(rp, 400, "invalid_utf8",
                              "the body is not valid UTF-8");
        else
            serve_reply_error(rp, 400, "invalid_json",
                              "line %d, column %d: %s", je.line, je.column,
                              je.text);
        return;
    }
    json_t *q = json_object_get(in, "question");
    json_t *why = json_object_get(in, "explain");
    if (!json_is_object(in)) {
        serve_reply_error(rp, 400, "invalid_json",
                          "the body must be a JSON object");
    } else if (!json_is_string(q)) {
        serve_reply_error(rp, 400, "missing_question",
                          "\"question\" must be a string");
    } else if (why && !json_is_boolean(why)) {
        serve_reply_error(rp, 400, "invalid_json",
                          "\"explain\" must be true or false");
    } else {
        serve_answer ans;
        msfaq_error err;
        unsigned flags = json_is_true(why) ? MSFAQ_ASK_EXPLAIN : 0;
        if (serve_ask(app, json_string_value(q), flags, &ans, &err) < 0) {
            serve_reply_ask_error(rp, &err);
        } else {
            serve_reply_text(rp, 200, "application/json",
                             msfaq_result_json(ans.result));
            serve_answer_free(&ans);
        }
    }
    json_decref(in);
}

void serve_route_healthz(serve_app *app, const serve_request *rq,
                         serve_reply *rp)
{
    (void)rq;
    serve_kbref *kb = serve_kb_acquire(&app->kb);
    json_int_t intents = (json_int_t)msfaq_kb_intent_count(kb->kb);
    serve_kb_release(kb);
    /* a replica that cannot keep what it accepts is out of rotation:
     * a load balancer or Kubernetes' readiness probe sends elsewhere */
    char why[300];
    if (!serve_state_up(app->state, why, sizeof why)) {
        serve_reply_json(rp, 503,
                         json_pack("{s:s,s:s,s:s,s:I}", "status",
                                   "unavailable", "reason", why, "version",
                                   msfaq_version(), "intents", intents));
        rp->note = "state down";
        return;
    }
    serve_reply_json(rp, 200,
                     json_pack("{s:s,s:s,s:I}", "status", "ok", "version",
                               msfaq_version(), "intents", intents));
}

void serve_route_metrics(serve_app *app, const serve_request *rq,
                         serve_reply *rp)
{
    (void)rq;
    size_t len;
    char *text = serve_metrics_render(
        &app->metrics, atomic_load(&app->inflight), &len);
    if (!text) {
        serve_reply_error(rp, 500, "internal", "out of memory");
        return;
    }
    free(rp->body);
    rp->status = 200;
    rp->body = text;
    rp->len = len;
    rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
