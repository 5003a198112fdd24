/*
 * events.c - answering Slack events after the HTTP reply.
 *
 * Slack wants a 2xx within 3 seconds and retries otherwise, so the HTTP
 * handler only queues the event; one thread takes events off the queue,
 * asks the KB and posts the answer with chat.postMessage (libmsfaq-post,
 * which formats it as mrkdwn with Block Kit and retries on 429 and 5xx).
 * One thread is enough: Slack allows about one message per second, and a
 * single poster reuses one connection.  The queue is bounded; when it is
 * full the event is refused with 503 so that Slack delivers it again
 * later.
 *
 * De-duplication: Slack retries a delivery (X-Slack-Retry-Num) when our
 * reply was slow or lost, and has been seen delivering one message twice
 * under different event_ids.  So each queued event leaves two keys, its
 * event_id and its channel + ts, in a ring of the last DEDUP_SLOTS keys;
 * an event matching either is answered with 200 and not queued.  Keys are
 * stored as SHA-256 digests: fixed size, whatever Slack sends.  The ring
 * and the queue share one lock, so "not seen, room left, remember,
 * queue" is one step and a refused event is not remembered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#include "msfaq_post.h"
#include "program.h"

#define QUEUE_MAX 256
#define DEDUP_SLOTS 4096

struct job {
    struct job *next;
    char *channel;
    char *thread_ts;
    char *question;
};

struct serve_events {
    serve_app *app;
    msfaq_poster *poster;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *head, *tail;
    size_t queued;
    bool stopping;
    unsigned char (*seen)[SERVE_SHA256_SIZE];   /* ring of digests */
    size_t seen_next, seen_count;
};

/* ------------------------------------------------------------ dedup */

/* The digest of a key made of two strings (b may be NULL). */
static void key_digest(const char *kind, const char *a, const char *b,
                       unsigned char out[SERVE_SHA256_SIZE])
{
    serve_sha256 c;
    serve_sha256_init(&c);
    /* the NULs keep ("ab", "c") and ("a", "bc") apart */
    serve_sha256_update(&c, kind, strlen(kind) + 1);
    serve_sha256_update(&c, a, strlen(a) + 1);
    if (b)
        serve_sha256_update(&c, b, strlen(b) + 1);
    serve_sha256_final(&c, out);
}

static bool seen(const serve_events *ev, const unsigned char *key)
{
    for (size_t i = 0; i < ev->seen_count; i++)
        if (!memcmp(ev->seen[i], key, SERVE_SHA256_SIZE))
            return true;
    return false;
}

static void remember(serve_events *ev, const unsigned char *key)
{
    memcpy(ev->seen[ev->seen_next], key, SERVE_SHA256_SIZE);
    ev->seen_next = (ev->seen_next + 1) % DEDUP_SLOTS;
    if (ev->seen_count < DEDUP_SLOTS)
        ev->seen_count++;
}

/* ------------------------------------------------------------- jobs */

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->channel);
    free(j->thread_ts);
    free(j->question);
    free(j);
}

static struct job *job_new(const serve_event *e)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->channel = strdup(e->channel);
    j->thread_ts = strdup(e->thread_ts);
    j->question = strdup(e->question);
    if (!j->channel || !j->thread_ts || !j->question) {
        job_free(j);
        return NULL;
    }
    return j;
}

int serve_events_submit(serve_events *ev, const serve_event *e)
{
    unsigned char id_key[SERVE_SHA256_SIZE], msg_key[SERVE_SHA256_SIZE];
    if (e->event_id)
        key_digest("event_id", e->event_id, NULL, id_key);
    key_digest("message", e->channel, e->ts, msg_key);
    struct job *j = job_new(e);
    int outcome;

    pthread_mutex_lock(&ev->lock);
    if ((e->event_id && seen(ev, id_key)) || seen(ev, msg_key)) {
        outcome = SERVE_EVENT_DUPLICATE;
    } else if (!j || ev->stopping || ev->queued >= QUEUE_MAX) {
        outcome = SERVE_EVENT_DROPPED;
    } else {
        if (e->event_id)
            remember(ev, id_key);
        remember(ev, msg_key);
        if (ev->tail)
            ev->tail->next = j;
        else
            ev->head = j;
        ev->tail = j;
        ev->queued++;
        j = NULL;
        outcome = SERVE_EVENT_QUEUED;
        pthread_cond_signal(&ev->wake);
    }
    pthread_mutex_unlock(&ev->lock);
    job_free(j);
    return outcome;
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

static void answer(serve_events *ev, const struct job *j)
{
    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    msg.question = j->question;
    msg.channel = j->channel;
    msg.thread_ts = j->thread_ts;
    serve_answer ans;
    msfaq_error err;
    if (serve_ask(ev->app, j->question, 0, &ans, &err) >= 0) {
        msg.result = ans.result;
        post(ev, &msg);
        serve_answer_free(&ans);
        return;
    }
    /* a question we cannot take still gets a reply saying why */
    char why[128];
    program_refusal(err.code, why, sizeof why);
    msg.kind = MSFAQ_KIND_FALLBACK;
    msg.answer = why;
    post(ev, &msg);
}

static void *worker(void *arg)
{
    serve_events *ev = arg;
    for (;;) {
        pthread_mutex_lock(&ev->lock);
        while (!ev->head && !ev->stopping)
            pthread_cond_wait(&ev->wake, &ev->lock);
        struct job *j = ev->head;
        if (j) {
            ev->head = j->next;
            if (!ev->head)
                ev->tail = NULL;
            ev->queued--;
        }
        pthread_mutex_unlock(&ev->lock);
        if (!j)
            break;               /* stopping, and the queue is empty */
        answer(ev, j);
        job_free(j);
    }
    return NULL;
}

/* -------------------------------------------------------- life cycle */

serve_events *serve_events_start(serve_app *app, char *err, size_t errlen)
{
    serve_events *ev = calloc(1, sizeof *ev);
    if (ev)
        ev->seen = calloc(DEDUP_SLOTS, sizeof *ev->seen);
    if (!ev || !ev->seen) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    ev->app = app;
    msfaq_post_config pc = MSFAQ_POST_CONFIG_INIT;
    pc.target = MSFAQ_POST_SLACK_API;
    pc.url = app->cfg->slack_api_url;
    pc.token = app->cfg->slack_bot_token;
    pc.user_agent = SERVE_NAME "/" MSFAQ_VERSION_STRING;
    msfaq_error perr;
    ev->poster = msfaq_post_open(&pc, &perr);
    if (!ev->poster) {
        snprintf(err, errlen, "chat.postMessage: %s", perr.text);
        goto fail;
    }
    pthread_mutex_init(&ev->lock, NULL);
    pthread_cond_init(&ev->wake, NULL);
    int rc = pthread_create(&ev->thread, NULL, worker, ev);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start a thread: %s", strerror(rc));
        pthread_cond_destroy(&ev->wake);
        pthread_mutex_destroy(&ev->lock);
        goto fail;
    }
    return ev;
fail:
    if (ev) {
        msfaq_post_close(ev->poster);
        free(ev->seen);
        free(ev);
    }
    return NULL;
}

void serve_events_stop(serve_events *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->lock);
    ev->stopping = true;
    pthread_cond_broadcast(&ev->wake);
    pthread_mutex_unlock(&ev->lock);
    pthread_join(ev->thread, NULL);   /* it empties the queue first */
    pthread_cond_destroy(&ev->wake);
    pthread_mutex_destroy(&ev->lock);
    msfaq_post_close(ev->poster);
    free(ev->seen);
    free(ev);
}
