/*
 * bot_sync.c - the bot's /sync loop.
 *
 * One thread does everything, in this order, round after round:
 *   1. a pending SIGHUP reloads the knowledge base (between rounds, so no
 *      answer is ever half-way through when the KB is swapped);
 *   2. rooms we were invited to are joined (a 429 is waited out; the
 *      invite stays pending, also across restarts, until it works or the
 *      homeserver says no for good);
 *   3. GET /sync with our filter, the saved token and a 30 s long poll;
 *   4. the batch is handled: invites noted, then each joined room's new
 *      events in order, each question answered before the next event
 *      (the walk is mx_sync_walk() in event.c, free of I/O so that it can
 *      be tested and fuzzed on its own; the callbacks below do the I/O);
 *   5. only then is next_batch saved (bot_state.c says why).
 * Errors back off: 1 s, doubling, at most 60 s, with jitter; a 429 waits
 * what the homeserver asked.  A refused access token ends the bot: no
 * retry can mend it.
 *
 * The filter asks only for what is used: m.room.message and member
 * events in timelines (members, to know which rooms are direct), member
 * state lazily, no presence, no account data, no typing or receipts.
 *
 * Gaps: when a room had more new events than the timeline limit, /sync
 * marks the timeline "limited" and skips the rest.  The skipped events
 * are fetched with /rooms/{id}/messages back from the timeline's
 * prev_batch to the token of the previous sync, so a bot that was down
 * while many questions came still answers each of them once (up to
 * GAP_PAGES pages; a larger gap is logged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot.h"

#define SYNC_MARGIN_MS 15000     /* client time-out beyond the long poll */
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 60000
#define GAP_PAGE 100
#define GAP_PAGES 20

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms, or less when a signal asks for attention. */
static void nap(long ms)
{
    long long end = mono_ms() + ms;
    while (!bot_stop_signal && !bot_reload_signal) {
        long long left = end - mono_ms();
        if (left <= 0)
            break;
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The wait after the n-th failure in a row: 1 s doubling to 60 s, the
 * upper half random so that many bots do not retry together. */
static long backoff_ms(int n)
{
    long w = BACKOFF_FIRST_MS;
    for (int i = 1; i < n && w < BACKOFF_MAX_MS; i++)
        w *= 2;
    if (w > BACKOFF_MAX_MS)
        w = BACKOFF_MAX_MS;
    return w / 2 + random() % (w / 2 + 1);
}

/* -------------------------------------------------------------- joins */

static bool invite_allowed(const bot *b, const char *inviter)
{
    if (!b->n_invite_from)
        return true;
    const char *server = inviter ? strchr(inviter, ':') : NULL;
    for (size_t i = 0; i < b->n_invite_from; i++) {
        const char *w = b->invite_from[i];
        if (inviter && !strcmp(w, inviter))
            return true;
        if (server && w[0] != '@' && !strcmp(w, server + 1))
            return true;
    }
    return false;
}

static void decline(bot *b, const char *room_id)
{
    char *e = mx_escape(room_id), *path = NULL;
    if (e && asprintf(&path, "/_matrix/client/v3/rooms/%s/leave", e) > 0) {
        mx_reply r;
        if (mx_call(b->mx, "POST", path, NULL, 30000, &r) < 0)
            bot_log("could not decline the invite to %s: %s", room_id,
                    r.error);
        mx_reply_clear(&r);
    }
    free(path);
    free(e);
}

static void join_pending(bot *b)
{
    if (mono_ms() < b->join_not_before)
        return;
    for (size_t i = 0; i < b->state.n_pending && !bot_stop_signal;) {
        const char *room = b->state.pending[i];
        mx_reply r;
        if (mx_join(b->mx, room, &r) == 0) {
            bot_log("joined %s", room);
            mx_rooms_forget(b->rooms, room);
            bot_state_drop_pending(&b->state, room);   /* i now holds
                                                         another room */
        } else if (r.aborted) {
            mx_reply_clear(&r);
            return;
        } else if (mx_reply_transient(&r)) {
            bot_log("joining %s failed, will try again: %s", room, r.error);
            if (r.retry_after_ms > 0)
                b->join_not_before = mono_ms() + r.retry_after_ms;
            mx_reply_clear(&r);
            return;
        } else {
            bot_log("cannot join %s, giving up on that invite: %s", room,
                    r.error);
            bot_state_drop_pending(&b->state, room);
        }
        mx_reply_clear(&r);
    }
}

/* ------------------------------------------------------------ answers */

/* Is room a direct room: the bot and one other member?  -1 when the
 * count cannot be had now: the batch is then synced again, since a
 * question in a direct room must not be taken for group chatter. */
static int is_direct(void *ud, const char *room_id)
{
    bot *b = ud;
    int n = mx_rooms_get(b->rooms, room_id);
    if (n < 0) {
        mx_reply r;
        if (mx_joined_count(b->mx, room_id, &n, &r) < 0) {
            bool later = r.aborted || mx_reply_transient(&r);
            if (!r.aborted)
                bot_log("cannot count the members of %s%s: %s", room_id,
                        later ? " now" : "; taken as a group room",
                        r.error);
            mx_reply_clear(&r);
            return later ? -1 : 0;
        }
        mx_reply_clear(&r);
        mx_rooms_set(b->rooms, room_id, n);
    }
    return n == 2;
}

static void answer(bot *b, const char *room_id, const mx_message *m,
                   const char *question)
{
    msfaq_result *res = NULL;
    msfaq_error err = {0};
    /* a question we cannot take still gets a reply saying why */
    int rc = msfaq_ask(b->kb, question, 0, &res, &err);
    msfaq_post_receipt rec;
    msfaq_error perr;
    if (mx_send_reply(b->poster, room_id, m, question, res,
                      rc < 0 ? err.code : 0, &rec, &perr) == 0) {
        b->answered++;
        bot_log("answered %s in %s: %s%s%s, reply %s", m->event_id, room_id,
                msfaq_kind_name(res ? msfaq_result_kind(res)
                                    : MSFAQ_KIND_FALLBACK),
                res && *msfaq_result_intent(res) ? " " : "",
                res ? msfaq_result_intent(res) : "", rec.event_id);
    } else {
        b->failed++;
        bot_log("reply to %s in %s not delivered: %s%s", m->event_id,
                room_id, perr.text,
                rec.dead_lettered ? " (saved to the dead-letter file)" : "");
    }
    msfaq_result_free(res);
}

/* The events of a gap before a limited timeline, oldest first, as a new
 * array in *events.  0, or 1 when the homeserver refused them (logged;
 * they are skipped), or -1 when they may be had later (no reply, 429,
 * 5xx, out of memory, a stop): the batch is then synced again. */
static int fetch_gap(void *ud, const char *room_id, const char *from,
                     const char *to, json_t **events)
{
    bot *b = ud;
    static const char filter[] =
        "{\"types\":[\"m.room.message\",\"m.room.member\"]}";
    char *room = mx_escape(room_id), *f = mx_escape(filter);
    char *t = mx_escape(to), *cur = strdup(from);
    json_t *all = json_array();
    bool complete = false;
    int rc = -1;                 /* what a failure below returns */
    *events = NULL;
    if (!room || !f || !t || !cur || !all)
        goto fail;
    for (int page = 0; page < GAP_PAGES && !bot_stop_signal; page++) {
        char *c = mx_escape(cur), *path = NULL;
        if (!c || asprintf(&path, "/_matrix/client/v3/rooms/%s/messages?"
                           "dir=b&limit=%d&from=%s&to=%s&filter=%s", room,
                           GAP_PAGE, c, t, f) < 0) {
            free(c);
            goto fail;
        }
        free(c);
        mx_reply r;
        int got = mx_call(b->mx, "GET", path, NULL, 30000, &r);
        free(path);
        if (got < 0) {
            bool later = r.aborted || mx_reply_transient(&r);
            if (!r.aborted)
                bot_log("cannot fetch the gap in %s%s: %s", room_id,
                        later ? " now; this batch will be synced again"
                              : "; its events are skipped", r.error);
            mx_reply_clear(&r);
            rc = later ? -1 : 1;
            goto fail;
        }
        json_t *chunk = json_object_get(r.body, "chunk");
        const char *end = json_string_value(json_object_get(r.body, "end"));
        size_t i;
        json_t *ev;
        json_array_foreach(chunk, i, ev)
            json_array_append(all, ev);
        if (!json_array_size(chunk) || !end) {
            complete = true;
            mx_reply_clear(&r);
            break;
        }
        char *next = strdup(end);
        mx_reply_clear(&r);
        if (!next)
            goto fail;
        free(cur);
        cur = next;
    }
    if (bot_stop_signal)
        goto fail;
    if (!complete)
        bot_log("the gap in %s holds more than %d events: only the last "
                "%d are handled", room_id, GAP_PAGE * GAP_PAGES,
                GAP_PAGE * GAP_PAGES);
    /* newest first from /messages: turn it round */
    size_t n = json_array_size(all);
    json_t *ordered = json_array();
    for (size_t i = n; ordered && i > 0; i--)
        json_array_append(ordered, json_array_get(all, i - 1));
    json_decref(all);
    free(room);
    free(f);
    free(t);
    free(cur);
    if (ordered && n)
        bot_log("fetched %zu events skipped by /sync in %s", n, room_id);
    *events = ordered;
    return ordered ? 0 : -1;
fail:
    json_decref(all);
    free(room);
    free(f);
    free(t);
    free(cur);
    return rc;
}

/* -------------------------------------------- the walk's callbacks */

static void on_invited(void *ud, const char *room_id, const char *from)
{
    bot *b = ud;
    if (invite_allowed(b, from)) {
        bot_log("invited to %s by %s", room_id, from ? from : "?");
        if (bot_state_add_pending(&b->state, room_id) < 0)
            bot_log("out of memory noting the invite to %s", room_id);
    } else {
        bot_log("declining the invite to %s from %s: not in "
                "--invite-from", room_id, from ? from : "?");
        decline(b, room_id);
    }
}

static void on_left(void *ud, const char *room_id)
{
    bot *b = ud;
    mx_rooms_forget(b->rooms, room_id);
    bot_state_drop_pending(&b->state, room_id);
}

static void on_joined(void *ud, const char *room_id)
{
    bot *b = ud;
    bot_state_drop_pending(&b->state, room_id);
}

static void on_members_changed(void *ud, const char *room_id)
{
    bot *b = ud;
    mx_rooms_forget(b->rooms, room_id);   /* count again when needed */
}

static void on_answer(void *ud, const char *room_id, const mx_message *m)
{
    bot *b = ud;
    char *q = mx_message_question(m, &b->self);
    if (!q) {
        bot_log("out of memory reading %s", m->event_id);
        return;
    }
    answer(b, room_id, m, q);
    free(q);
}

static void on_ignored(void *ud, const char *room_id, const mx_message *m,
                       const char *why)
{
    (void)ud;
    /* our own replies come back in every sync: not worth a line */
    if (m->event_id && strcmp(why, "own message") &&
        strcmp(why, "not a message") && strcmp(why, "state event"))
        bot_log("ignored %s in %s: %s", m->event_id, room_id, why);
}

static bool on_stopped(void *ud)
{
    (void)ud;
    return bot_stop_signal != 0;
}

static const mx_sync_ops sync_ops = {
    .invited = on_invited,
    .left = on_left,
    .joined = on_joined,
    .members_changed = on_members_changed,
    .fetch_gap = fetch_gap,
    .is_direct = is_direct,
    .answer = on_answer,
    .ignored = on_ignored,
    .stopped = on_stopped,
};

/* Handles one /sync reply.  Returns false when a stop signal cut it
 * short (its token must then not be saved). */
static int handle_sync(bot *b, json_t *body, const char *old_since)
{
    return mx_sync_walk(body, &b->self, b->state.started_ms, old_since,
                        &sync_ops, b);
}

/* The sync filter, percent-encoded for the query string. */
static char *sync_filter(int limit)
{
    json_t *f = json_pack(
        "{s:{s:[s]},s:{s:[s]},s:{s:{s:[s]},s:{s:[s]},"
        "s:{s:[s],s:b},s:{s:[s,s,s],s:i}}}",
        "presence", "not_types", "*",
        "account_data", "not_types", "*",
        "room",
        "account_data", "not_types", "*",
        "ephemeral", "not_types", "*",
        "state", "types", "m.room.member", "lazy_load_members", 1,
        "timeline", "types", "m.room.message", "m.room.member",
        "m.room.encrypted", "limit", limit);
    char *text = f ? json_dumps(f, JSON_COMPACT) : NULL;
    json_decref(f);
    char *esc = text ? mx_escape(text) : NULL;
    free(text);
    return esc;
}

int bot_run(bot *b)
{
    char *filter = sync_filter(b->timeline_limit);
    if (!filter) {
        bot_log("out of memory");
        return 1;
    }
    int failures = 0, status = 0;
    int walk_failures = 0;       /* batches in a row not handled whole */
    char err[512];
    while (!bot_stop_signal) {
        if (bot_reload_signal) {
            bot_reload_signal = 0;
            bot_reload(b);
        }
        join_pending(b);
        if (bot_stop_signal)
            break;

        const char *since = b->state.since;
        long wait = since ? b->sync_timeout_ms : 0;
        char *s = since ? mx_escape(since) : NULL, *path = NULL;
        if ((since && !s) ||
            asprintf(&path, "/_matrix/client/v3/sync?filter=%s&timeout=%ld"
                     "&set_presence=offline%s%s", filter, wait,
                     s ? "&since=" : "", s ? s : "") < 0) {
            free(s);
            bot_log("out of memory");
            status = 1;
            break;
        }
        free(s);
        mx_reply r;
        b->in_poll = true;
        int rc = mx_call(b->mx, "GET", path, NULL, wait + SYNC_MARGIN_MS, &r);
        b->in_poll = false;
        free(path);
        if (rc < 0) {
            if (r.aborted) {               /* a signal: stop or reload */
                mx_reply_clear(&r);
                continue;
            }
            if (mx_reply_bad_token(&r)) {
                bot_log("the homeserver refused the access token (%s): "
                        "log in again for a new one (docs/matrix.md)",
                        r.error);
                mx_reply_clear(&r);
                status = 1;
                break;
            }
            failures++;
            long ms = r.retry_after_ms > 0 ? r.retry_after_ms
                                           : backoff_ms(failures);
            bot_log("sync failed (%s); trying again in %.1f s", r.error,
                    ms / 1000.0);
            mx_reply_clear(&r);
            nap(ms);
            continue;
        }
        failures = 0;
        const char *next = json_string_value(json_object_get(r.body,
                                                             "next_batch"));
        if (!next) {
            bot_log("sync reply without next_batch; trying again");
            mx_reply_clear(&r);
            nap(backoff_ms(1));
            continue;
        }
        int walked = handle_sync(b, r.body, since);
        if (walked == MX_WALK_STOPPED) {
            mx_reply_clear(&r);
            break;                  /* stopped half-way: keep the token */
        }
        if (walked == MX_WALK_RETRY) {
            /* a member count or a gap could not be had: the same batch
             * again later, so that no question in it is lost */
            mx_reply_clear(&r);
            if (bot_stop_signal)
                break;
            long ms = backoff_ms(++walk_failures);
            bot_log("this batch could not be handled whole; syncing it "
                    "again in %.1f s", ms / 1000.0);
            nap(ms);
            continue;
        }
        walk_failures = 0;
        if (bot_state_set_since(&b->state, next) < 0)
            snprintf(err, sizeof err, "out of memory");
        else if (bot_state_save(&b->state, err, sizeof err) == 0)
            err[0] = '\0';
        if (err[0])
            bot_log("cannot save the state, so a restart may see this "
                    "batch again (its replies are not posted twice): %s",
                    err);
        mx_reply_clear(&r);
        if (!b->announced) {
            b->announced = true;
            printf("syncing as %s\n", b->self.user_id);
            fflush(stdout);
            bot_log("synced as %s; answering mentions and direct messages",
                    b->self.user_id);
        }
    }
    /* pending joins and anything else noted on the way out */
    if (bot_state_save(&b->state, err, sizeof err) < 0)
        bot_log("cannot save the state: %s", err);
    free(filter);
    return status;
}
