/*
 * target.c - the table of targets, and how each one's reply is judged.
 *
 * One row per target: name, whether it needs a bearer token, its default
 * URL, its formatter and its reply check.  The send loop in poster.c only
 * reads this table; Matrix is one more row, with a PUT method and a hook
 * giving each message its own URL (room and transaction id; matrix.c).
 *
 * Judging a reply: 2xx delivered; 429 and 5xx retried (Retry-After, when
 * present, says how long to wait); everything else refused.  Slack's
 * chat.postMessage answers HTTP 200 even when it fails, so its "ok" field
 * decides; "ratelimited" and Slack's own server trouble are retried.
 * Discord puts a finer retry_after (float seconds) in its 429 body, and
 * Matrix a retry_after_ms (matrix.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "post_private.h"

static const msfaqp_post_target targets[] = {
    {.id = MSFAQ_POST_SLACK_WEBHOOK, .name = "slack-webhook",
     .method = "POST", .format = msfaqp_post_format_slack_webhook,
     .check = msfaqp_post_check_http},
    {.id = MSFAQ_POST_SLACK_API, .name = "slack", .method = "POST",
     .needs_token = 1, .url_is_base = 1,
     .default_url = MSFAQ_POST_DEFAULT_SLACK_API_URL,
     .path = "/chat.postMessage", .format = msfaqp_post_format_slack_api,
     .check = msfaqp_post_check_slack_api},
    /* wait=true: Discord then reports messages it failed to save, which
     * it otherwise drops silently after answering 204 */
    {.id = MSFAQ_POST_DISCORD, .name = "discord", .method = "POST",
     .query = "wait=true", .format = msfaqp_post_format_discord,
     .check = msfaqp_post_check_discord},
    {.id = MSFAQ_POST_MATTERMOST, .name = "mattermost", .method = "POST",
     .format = msfaqp_post_format_mattermost,
     .check = msfaqp_post_check_http},
    {.id = MSFAQ_POST_JSON, .name = "json", .method = "POST",
     .format = msfaqp_post_format_json, .check = msfaqp_post_check_http},
    /* url is the homeserver (public); the token is the access token */
    {.id = MSFAQ_POST_MATRIX, .name = "matrix", .method = "PUT",
     .needs_token = 1, .url_is_base = 1,
     .format = msfaqp_post_format_matrix, .check = msfaqp_post_check_matrix,
     .message_url = msfaqp_post_matrix_url},
};

const msfaqp_post_target *msfaqp_post_target_find(int id)
{
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (targets[i].id == id)
            return &targets[i];
    return NULL;
}

const char *msfaq_post_target_name(int target)
{
    const msfaqp_post_target *t = msfaqp_post_target_find(target);
    return t ? t->name : NULL;
}

int msfaq_post_target_from_name(const char *name)
{
    if (!name)
        return MSFAQ_EINVAL;
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        if (strcmp(targets[i].name, name) == 0)
            return targets[i].id;
    return MSFAQ_EINVAL;
}

/* ------------------------------------------------------------ checks */

/* The start of a reply body as one printable ASCII line, for error text
 * (which must stay valid UTF-8 whatever a server sends: other bytes show
 * as '?'). */
static void excerpt(const char *body, size_t len, char *out, size_t size)
{
    size_t o = 0, i = 0;
    int space = 0;
    for (; i < len && o + 5 < size; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c < 0x20 || c == 0x7F) {
            space = o > 0;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            space = 0;
        }
        out[o++] = c < 0x80 ? (char)c : '?';
    }
    if (i < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void msfaqp_post_check_http(msfaqp_post_reply *r)
{
    char ex[128];
    r->retry_after_ms = 0;
    if (r->status >= 200 && r->status < 300) {
        r->verdict = MSFAQP_POST_DELIVERED;
        return;
    }
    excerpt(r->body, r->len, ex, sizeof ex);
    snprintf(r->detail, sizeof r->detail, "HTTP %ld%s%s", r->status,
             ex[0] ? ": " : "", ex);
    if (r->status == 429 || r->status >= 500) {
        r->verdict = MSFAQP_POST_RETRY;
        if (r->retry_after_s > 0 && (r->status == 429 || r->status == 503))
            r->retry_after_ms = r->retry_after_s * 1000;
    } else {
        r->verdict = MSFAQP_POST_REFUSED;
    }
}

/* Slack error codes that say "try again", not "you are wrong". */
static int slack_transient(const char *e)
{
    static const char *const codes[] = {
        "ratelimited", "rate_limited", "internal_error", "fatal_error",
        "service_unavailable", "request_timeout"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(e, codes[i]) == 0)
            return 1;
    return 0;
}

static void copy_str(char *dst, size_t size, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, size, "%s", s ? s : "");
}

void msfaqp_post_check_slack_api(msfaqp_post_reply *r)
{
    if (r->status < 200 || r->status >= 300) {
        msfaqp_post_check_http(r);
        return;
    }
    json_error_t je;
    json_t *o = json_loadb(r->body, r->len, 0, &je);
    json_t *ok = json_object_get(o, "ok");
    if (!json_is_object(o) || !json_is_boolean(ok)) {
        char ex[128];
        excerpt(r->body, r->len, ex, sizeof ex);
        snprintf(r->detail, sizeof r->detail,
                 "HTTP %ld, reply is not Slack API JSON%s%s", r->status,
                 ex[0] ? ": " : "", ex);
        r->verdict = MSFAQP_POST_PROTOCOL;
        json_decref(o);
        return;
    }
    if (json_is_true(ok)) {
        r->verdict = MSFAQP_POST_DELIVERED;
        copy_str(r->ts, sizeof r->ts, json_object_get(o, "ts"));
        copy_str(r->channel, sizeof r->channel,
                 json_object_get(o, "channel"));
        json_decref(o);
        return;
    }
    const char *e = json_string_value(json_object_get(o, "error"));
    char code[64];
    excerpt(e ? e : "unknown", strlen(e ? e : "unknown"), code, sizeof code);
    snprintf(r->detail, sizeof r->detail, "HTTP %ld, ok=false, error=%s",
             r->status, code);
    r->verdict = slack_transient(code) ? MSFAQP_POST_RETRY
                                       : MSFAQP_POST_REFUSED;
    if (r->verdict == MSFAQP_POST_RETRY && r->retry_after_s > 0)
        r->retry_after_ms = r->retry_after_s * 1000;
    json_decref(o);
}

void msfaqp_post_check_discord(msfaqp_post_reply *r)
{
    msfaqp_post_check_http(r);
    if (r->status != 429)
        return;
    json_error_t je;
    json_t *o = json_loadb(r->body, r->len, 0, &je);
    json_t *ra = json_object_get(o, "retry_after");
    if (json_is_number(ra)) {
        double s = json_number_value(ra);
        if (s > 0 && s < 86400)
            r->retry_after_ms = msfaqp_post_ms_up(s * 1000.0);
    }
    json_decref(o);
}
