/*
 * slack.c - Slack: slash commands and the Events API.
 *
 * Every request is checked against its v0 signature on the raw body
 * before anything in it is parsed (slack_sign.c).  A refused signature
 * gets the same opaque 401 whatever the reason; the reason goes to the
 * log line only.
 *
 * Slash commands are answered in the HTTP reply itself: answering takes
 * microseconds, far inside Slack's 3-second limit, so response_url is not
 * needed.  The reply is formatted by libmsfaq-post, as the answers to
 * events are, so both look the same: mrkdwn-escaped Block Kit sections
 * and a context block naming the article section, plus response_type
 * (MSFAQ_SLACK_RESPONSE_TYPE).  A question we cannot take (too long, not
 * UTF-8) still gets a 200 with an explanation, because Slack shows the
 * user nothing useful for an error status.
 *
 * Events are acknowledged with an empty 200 at once and answered later by
 * events.c with chat.postMessage in the message's thread.  We answer
 * app_mention events and direct messages (message events in an "im"
 * channel) written by people: anything carrying bot_id or a subtype
 * (bot_message, message_changed, ...) or sent by our own bot user is
 * ignored, so the bot never answers itself or another bot.
 */
#include <stdlib.h>
#include <string.h>

#include "msfaq_post.h"
#include "serve.h"
#include "program.h"

/* ----------------------------------------------------------- common */

/* Checks the signature; on failure sets the reply and returns false. */
static bool verified(serve_app *app, const serve_request *rq,
                     serve_reply *rp, int *sig_out)
{
    const char *secret = app->cfg->slack_signing_secret;
    if (!secret) {
        serve_reply_error(rp, 503, "not_configured",
                          "Slack is not configured on this server");
        return false;
    }
    int sig = serve_slack_verify(secret, rq->slack_timestamp,
                                 rq->slack_signature, rq->body,
                                 rq->body_len, rq->now);
    if (sig_out)
        *sig_out = sig;
    if (sig == SERVE_SIG_OK)
        return true;
    serve_reply_error(rp, 401, "unauthorized",
                      "the request does not carry a valid Slack signature");
    rp->note = serve_sig_reason(sig);
    return false;
}

/* An empty 200: the acknowledgement Slack waits for. */
static void empty_ok(serve_reply *rp, const char *note)
{
    free(rp->body);
    rp->body = NULL;
    rp->len = 0;
    rp->status = 200;
    rp->content_type = NULL;
    rp->note = note;
}

/* The question in a message's text: user mentions such as "<@U123>" are
 * dropped, and the three entities Slack escapes are decoded. */
static char *question_from_text(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = text; *p;) {
        const char *close;
        if (p[0] == '<' && p[1] == '@' && (close = strchr(p, '>'))) {
            p = close + 1;
        } else if (!strncmp(p, "&lt;", 4)) {
            *o++ = '<';
            p += 4;
        } else if (!strncmp(p, "&gt;", 4)) {
            *o++ = '>';
            p += 4;
        } else if (!strncmp(p, "&amp;", 5)) {
            *o++ = '&';
            p += 5;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* ---------------------------------------------------- slash command */

void serve_route_slack_commands(serve_app *app, const serve_request *rq,
                                serve_reply *rp)
{
    serve_form form;
    int sig = -1;
    if (!verified(app, rq, rp, &sig)) {
        /* Slack checks a command's TLS setup with an unsigned ssl_check=1
         * post; it wants an empty 200 and gets nothing else */
        const char *check;
        if (sig == SERVE_SIG_MISSING &&
            serve_form_parse(rq->body, rq->body_len, &form) == 0) {
            check = serve_form_get(&form, "ssl_check", NULL);
            if (check && !strcmp(check, "1"))
                empty_ok(rp, "ssl_check");
            serve_form_free(&form);
        }
        return;
    }
    if (serve_form_parse(rq->body, rq->body_len, &form) < 0) {
        serve_reply_error(rp, 400, "invalid_form",
                          "the body is not application/x-www-form-urlencoded");
        return;
    }
    size_t len;
    const char *command = serve_form_get(&form, "command", NULL);
    const char *text = serve_form_get(&form, "text", &len);
    const char *type = app->cfg->slack_in_channel ? "in_channel"
                                                  : "ephemeral";
    if (!command || !text) {
        serve_reply_error(rp, 400, "invalid_form",
                          "a slash command needs the fields command and "
                          "text");
        goto done;
    }
    serve_answer ans;
    msfaq_error err = {.code = MSFAQ_EUTF8};   /* a NUL byte: not text */
    char *question = NULL;
    int rc = MSFAQ_EUTF8;
    if (strlen(text) == len) {
        question = question_from_text(text);
        rc = err.code = MSFAQ_ENOMEM;
        if (question)
            rc = serve_ask(app, question, 0, &ans, &err);
    }
    if (rc >= 0) {
        json_t *msg = serve_format_json(MSFAQ_POST_SLACK_WEBHOOK, question,
                                        ans.result);
        serve_answer_free(&ans);
        if (msg && json_object_set_new(msg, "response_type",
                                       json_string(type)) < 0) {
            json_decref(msg);
            msg = NULL;
        }
        serve_reply_json(rp, 200, msg);
    } else if (err.code == MSFAQ_EUTF8 || err.code == MSFAQ_ETOOLONG) {
        char why[128];
        program_refusal(err.code, why, sizeof why);
        serve_reply_json(rp, 200,
                         json_pack("{s:s,s:s}", "response_type", "ephemeral",
                                   "text", why));
        rp->note = err.code == MSFAQ_EUTF8 ? "invalid_utf8"
                                           : "question_too_long";
    } else {
        serve_reply_ask_error(rp, &err);
    }
    free(question);
done:
    serve_form_free(&form);
}

/* ------------------------------------------------------------ events */

static const char *str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Why the inner event is not ours to answer, or NULL when it is. */
static const char *ignore_reason(const serve_config *cfg, json_t *ev)
{
    const char *type = str(ev, "type");
    if (!type)
        return "ignored: event without type";
    bool mention = !strcmp(type, "app_mention");
    bool dm = !strcmp(type, "message") && str(ev, "channel_type") &&
              !strcmp(str(ev, "channel_type"), "im");
    if (!mention && !dm)
        return "ignored: not a mention or direct message";
    json_t *bot_id = json_object_get(ev, "bot_id");
    json_t *subtype = json_object_get(ev, "subtype");
    if ((bot_id && !json_is_null(bot_id)) ||
        (subtype && !json_is_null(subtype)))
        return "ignored: bot or edited message";
    const char *user = str(ev, "user");
    if (!user)
        return "ignored: no user";
    if (cfg->slack_bot_user_id && !strcmp(user, cfg->slack_bot_user_id))
        return "ignored: own message";
    if (!str(ev, "channel") || !str(ev, "ts") || !str(ev, "text"))
        return "ignored: incomplete event";
    return NULL;
}

/* An event_callback: queues its event, or says why not. */
static void take_event(serve_app *app, json_t *in, json_t *ev,
                       serve_reply *rp)
{
    const char *why = ignore_reason(app->cfg, ev);
    if (why || !app->events) {
        serve_metrics_event(&app->metrics, why ? SERVE_EVENT_IGNORED
                                               : SERVE_EVENT_DROPPED);
        empty_ok(rp, why ? why : "dropped: no bot token");
        return;
    }
    const char *thread = str(ev, "thread_ts");
    char *question = question_from_text(str(ev, "text"));
    serve_event e = {
        .event_id = str(in, "event_id"),
        .channel = str(ev, "channel"),
        .ts = str(ev, "ts"),
        .thread_ts = thread ? thread : str(ev, "ts"),
        .question = question,
    };
    int outcome = question ? serve_events_submit(app->events, &e)
                           : SERVE_EVENT_DROPPED;
    free(question);
    serve_metrics_event(&app->metrics, outcome);
    if (outcome == SERVE_EVENT_DROPPED) {
        /* a 503 makes Slack deliver it again later */
        serve_reply_error(rp, 503, "busy", "too many events queued");
        rp->note = "dropped: queue full";
    } else if (outcome == SERVE_EVENT_UNAVAILABLE) {
        /* not kept, so not acknowledged: Slack delivers it again */
        serve_reply_error(rp, 503, "unavailable",
                          "the event cannot be kept now; deliver it again "
                          "later");
        rp->note = "state unavailable";
    } else {
        empty_ok(rp, outcome == SERVE_EVENT_QUEUED ? "queued" : "duplicate");
    }
}

void serve_route_slack_events(serve_app *app, const serve_request *rq,
                              serve_reply *rp)
{
    if (!verified(app, rq, rp, NULL))
        return;
    json_error_t je;
    json_t *in = json_loadb(rq->body, rq->body_len, 0, &je);
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
    const char *type = str(in, "type");
    json_t *ev = json_object_get(in, "event");
    if (!json_is_object(in) || !type) {
        serve_reply_error(rp, 400, "invalid_event",
                          "the body must be a JSON object with a type");
    } else if (!strcmp(type, "url_verification")) {
        const char *challenge = str(in, "challenge");
        if (challenge)
            serve_reply_json(rp, 200,
                             json_pack("{s:s}", "challenge", challenge));
        else
            serve_reply_error(rp, 400, "invalid_event",
                              "url_verification without a challenge");
        rp->note = "url_verification";
    } else if (strcmp(type, "event_callback") != 0) {
        serve_metrics_event(&app->metrics, SERVE_EVENT_IGNORED);
        empty_ok(rp, "ignored: envelope type");
    } else if (!json_is_object(ev)) {
        serve_reply_error(rp, 400, "invalid_event",
                          "event_callback without an event object");
    } else {
        take_event(app, in, ev, rp);
    }
    json_decref(in);
}
