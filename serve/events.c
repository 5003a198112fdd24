/*
 * events.c - answering Slack events after the HTTP reply.
 *
 * Slack wants a 2xx within 3 seconds and retries otherwise, so the HTTP
 * handler only queues the event (a queue.c queue, spooled to
 * MSFAQ_SPOOL_DIR/slack-events when that is set, or with --state kept in
 * Redis and shared by the replicas); its worker thread asks
 * the KB and posts the answer with chat.postMessage (libmsfaq-post, which
 * formats it as mrkdwn with Block Kit, retries on 429 and 5xx, and keeps
 * what it cannot deliver in MSFAQ_DEAD_LETTER).  One thread is enough:
 * Slack allows about one message per second, and a single poster reuses
 * one connection.  When the queue is full the event is refused with 503
 * so that Slack delivers it again later.
 *
 * De-duplication: Slack retries a delivery (X-Slack-Retry-Num) when our
 * reply was slow or lost, and has been seen delivering one message twice
 * under different event_ids.  So each event has two keys, its event_id
 * and its channel + ts; an event matching either is answered with 200 and
 * not queued.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#include "msfaq_post.h"
#include "program.h"

struct serve_events {
    serve_app *app;
    msfaq_poster *poster;        /* the worker's */
    serve_queue *queue;
};

int serve_events_submit(serve_events *ev, const serve_event *e)
{
    serve_queue_key keys[2];
    size_t n = 0;
    if (e->event_id)
        serve_queue_key_of(&keys[n++], "event_id", e->event_id, NULL);
    serve_queue_key_of(&keys[n++], "message", e->channel, e->ts);
    json_t *job = json_pack("{s:s,s:s,s:s}", "channel", e->channel,
                            "thread_ts", e->thread_ts,
                            "question", e->question);
    if (!job)
        return SERVE_EVENT_DROPPED;
    int rc = serve_queue_submit(ev->queue, keys, n, job);   /* takes job */
    return rc == SERVE_QUEUE_QUEUED        ? SERVE_EVENT_QUEUED
           : rc == SERVE_QUEUE_DUPLICATE   ? SERVE_EVENT_DUPLICATE
           : rc == SERVE_QUEUE_UNAVAILABLE ? SERVE_EVENT_UNAVAILABLE
                                           : SERVE_EVENT_DROPPED;
}

/* ----------------------------------------------------------- worker */

/* Posts msg; logs and counts the outcome. */
static void post(serve_events *ev, const msfaq_post_message *msg)
{
    msfaq_post_receipt receipt = MSFAQ_POST_RECEIPT_INIT;
    msfaq_error err;
    if (msfaq_post_send(ev->poster, msg, &receipt, &err) < 0) {
        atomic_fetch_add(&ev->app->metrics.posts_failed, 1);
        /* err.text names the target, never the token */
        serve_log("slack event: chat.postMessage failed after %d "
                  "attempt%s: %s%s", receipt.attempts,
                  receipt.attempts == 1 ? "" : "s", err.text,
                  receipt.dead_lettered ? " (dead-lettered)" : "");
    } else {
        atomic_fetch_add(&ev->app->metrics.posts_ok, 1);
        serve_log("slack event: answered in channel %s (HTTP %ld)",
                  receipt.channel[0] ? receipt.channel : msg->channel,
                  receipt.http_status);
    }
}

/* The queue's handler: one event.  Always done with it: what could not
 * be delivered is in the dead-letter file (when set) and in the log. */
static int answer(void *ctx, json_t *job)
{
    serve_events *ev = ctx;
    const char *question = json_string_value(json_object_get(job,
                                                              "question"));
    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    msg.question = question;
    msg.channel = json_string_value(json_object_get(job, "channel"));
    msg.thread_ts = json_string_value(json_object_get(job, "thread_ts"));
    if (!question || !msg.channel || !msg.thread_ts) {
        serve_log("slack event: a queued event without channel, thread_ts "
                  "or question; dropped");
        return 0;
    }
    serve_answer ans;
    msfaq_error err;
    if (serve_ask(ev->app, question, 0, &ans, &err) >= 0) {
        msg.result = ans.result;
        post(ev, &msg);
        serve_answer_free(&ans);
        return 0;
    }
    /* a question we cannot take still gets a reply saying why */
    char why[128];
    program_refusal_message(&msg, err.code, why, sizeof why);
    post(ev, &msg);
    return 0;
}

/* -------------------------------------------------------- life cycle */

serve_events *serve_events_start(serve_app *app, char *err, size_t errlen)
{
    const serve_config *cfg = app->cfg;
    serve_events *ev = calloc(1, sizeof *ev);
    if (!ev) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ev->app = app;
    char why[512];
    ev->poster = serve_poster_open(cfg, MSFAQ_POST_SLACK_API,
                                   cfg->slack_api_url, cfg->slack_bot_token,
                                   0, 0, why, sizeof why);
    if (!ev->poster) {
        snprintf(err, errlen, "chat.postMessage: %s", why);
        goto fail;
    }
    serve_queue_config qc = {
        .name = "slack events",
        .state = app->state,
        .spool_dir = cfg->spool_dir,
        .spool_name = "slack-events",
        .handle = answer,
        .ctx = ev,
    };
    if (!(ev->queue = serve_queue_open(&qc, why, sizeof why)) ||
        serve_queue_run(ev->queue, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s%s",
                 cfg->spool_dir ? "MSFAQ_SPOOL_DIR: " : "", why);
        goto fail;
    }
    return ev;
fail:
    serve_queue_stop(ev->queue);
    msfaq_post_close(ev->poster);
    free(ev);
    return NULL;
}

void serve_events_stop(serve_events *ev)
{
    if (!ev)
        return;
    serve_queue_stop(ev->queue);      /* answers what is queued first */
    msfaq_post_close(ev->poster);
    free(ev);
}
