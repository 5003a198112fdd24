/*
 * reply.c - building replies, and asking the KB on behalf of a handler.
 *
 * Every error a client can cause gets a JSON body {"error": CODE,
 * "message": TEXT}: CODE is a stable snake_case word for programs, TEXT
 * one English sentence for people.  Neither ever repeats a secret or the
 * request body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msfaq_post.h"
#include "serve.h"

static const char oom_body[] =
    "{\"error\":\"internal\",\"message\":\"out of memory\"}\n";

void serve_reply_json(serve_reply *rp, int status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    free(rp->body);
    rp->content_type = "application/json";
    if (!text) {
        rp->status = 500;
        rp->body = strdup(oom_body);
        rp->len = rp->body ? strlen(rp->body) : 0;
        rp->note = "out of memory";
        return;
    }
    /* a final newline, as `msfaq ask --json` prints: friendlier to curl */
    size_t n = strlen(text);
    char *body = realloc(text, n + 2);
    if (body) {
        body[n++] = '\n';
        body[n] = '\0';
        text = body;
    }
    rp->status = status;
    rp->body = text;
    rp->len = n;
}

void serve_reply_text(serve_reply *rp, int status, const char *content_type,
                      const char *text)
{
    size_t n = strlen(text);
    char *body = malloc(n + 2);
    free(rp->body);
    rp->body = NULL;
    rp->len = 0;
    if (!body) {
        serve_reply_json(rp, 500, NULL);
        return;
    }
    memcpy(body, text, n);
    body[n++] = '\n';
    body[n] = '\0';
    rp->status = status;
    rp->content_type = content_type;
    rp->body = body;
    rp->len = n;
}

void serve_reply_error(serve_reply *rp, int status, const char *code,
                       const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    serve_reply_json(rp, status,
                     json_pack("{s:s,s:s}", "error", code, "message", msg));
    if (!rp->note)
        rp->note = code;
}

void serve_reply_ask_error(serve_reply *rp, const msfaq_error *err)
{
    switch (err->code) {
    case MSFAQ_EUTF8:
        serve_reply_error(rp, 400, "invalid_utf8", "%s", err->text);
        break;
    case MSFAQ_ETOOLONG:
        serve_reply_error(rp, 413, "question_too_long",
                          "the question is longer than %d bytes",
                          MSFAQ_MAX_QUESTION);
        break;
    case MSFAQ_EINVAL:
        serve_reply_error(rp, 400, "invalid_question", "%s", err->text);
        break;
    default:
        serve_reply_error(rp, 500, "internal", "%s",
                          msfaq_strerror(err->code));
        break;
    }
}

int serve_ask(serve_app *app, const char *question, unsigned flags,
              serve_answer *ans, msfaq_error *err)
{
    ans->kb = serve_kb_acquire(&app->kb);
    ans->result = NULL;
    int rc = msfaq_ask(ans->kb->kb, question, flags, &ans->result, err);
    if (rc < 0) {
        serve_kb_release(ans->kb);
        ans->kb = NULL;
        serve_metrics_answer(&app->metrics, -1);
        return rc;
    }
    serve_metrics_answer(&app->metrics, msfaq_result_kind(ans->result));
    return rc;
}

void serve_answer_free(serve_answer *ans)
{
    msfaq_result_free(ans->result);
    serve_kb_release(ans->kb);
    ans->result = NULL;
    ans->kb = NULL;
}

json_t *serve_format_json(int target, const char *question,
                          const msfaq_result *r)
{
    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    msg.question = question;
    msg.result = r;
    char *text = msfaq_post_format(target, &msg, NULL);
    json_t *obj = text ? json_loads(text, 0, NULL) : NULL;
    msfaq_post_free(text);
    return obj;
}

msfaq_poster *serve_poster_open(const serve_config *cfg, int target,
                                const char *url, const char *token,
                                int max_attempts, long timeout_ms,
                                char *err, size_t errlen)
{
    msfaq_post_config pc = MSFAQ_POST_CONFIG_INIT;
    pc.target = target;
    pc.url = url;
    pc.token = token;
    pc.dead_letter = cfg->dead_letter;
    pc.user_agent = SERVE_NAME "/" MSFAQ_VERSION_STRING;
    pc.max_attempts = max_attempts;
    pc.timeout_ms = timeout_ms;
    msfaq_error perr;
    msfaq_poster *p = msfaq_post_open(&pc, &perr);
    if (!p)
        snprintf(err, errlen, "%s", perr.text);
    return p;
}
