/*
 * fuzz_matrix.c - libFuzzer harness: Matrix bodies as msfaq reads them.
 *
 * The first input byte says what the rest is, and how the world answers:
 *     bit 0      0: a client-server /sync reply, walked as the access-token
 *                bot walks it (mx_sync_walk, matrix/event.c); 1: an
 *                application-service transaction body, read by msfaq
 *                serve's serve_appservice_parse_transaction() (appservice.c)
 *     bit 1      sync: the previous sync's token is known (gaps are
 *                fetched)
 *     bits 2-3   sync: a gap is 0 refused for good, 1 empty, 2 the room's
 *                timeline once more, 3 not to be had now (the walk must
 *                end asking to retry)
 *     bit 4      sync: rooms are direct (us and one other member)
 *     bit 5      we have no display name
 *     bits 6-7   sync: 3 stops the walk (a stop signal) after a few
 *                events; 2 makes whether a room is direct unknowable now
 *                (the walk must end asking to retry)
 * Every event goes through mx_event_invites(), mx_event_is_member(),
 * mx_message_parse() and, when it is to be answered, mx_message_question().
 *
 * What is checked is worked out here independently of event.c, from the
 * rules in its header comment and the spec (docs/matrix.md):
 *   - an event is answerable exactly when it is an m.room.message with
 *     msgtype m.text and a text without NUL bytes, with event_id and
 *     sender, from someone else, not a state event, not redacted, not an
 *     edit; mx_message_parse() must agree and fill m from the event;
 *     with m.mentions, "mentioned" is whether user_ids lists us;
 *   - a question is the text trimmed: no white space at either end, no
 *     longer than the text;
 *   - the sync walk reports the invites of us (in order), every left and
 *     joined room (in order), every member event, asks for a gap exactly
 *     when a limited timeline has prev_batch and we know the previous
 *     token, and judges every event of the gap and the timeline exactly
 *     once, in order: ignored, answered, or left (a group room that does
 *     not mention us); nothing sent before the bot's first start is
 *     answered; a stop ends it with MX_WALK_STOPPED; a callback that
 *     cannot do its part now ends it at once with MX_WALK_RETRY;
 *   - a transaction body gives its events (or none) when it is a JSON
 *     object whose "events", if any, is an array, and otherwise a 400 with
 *     a Matrix error ({"errcode", "error"}).
 */
#include <ctype.h>
#include <stdint.h>

#include "fuzz_serve_app.h"
#include "mx.h"

#define NOT_BEFORE 1700000000000LL   /* the bot's first start, in ms */

static const char *const user_id = "@faqbot:hs";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ------------------------------------------------------ one event */

static bool is_member(json_t *ev)
{
    const char *type = fz_get(ev, "type");
    return type && !strcmp(type, "m.room.member") &&
           json_object_get(ev, "state_key") != NULL;
}

static bool invites_us(json_t *ev)
{
    const char *key = fz_get(ev, "state_key");
    const char *ms = fz_get(json_object_get(ev, "content"), "membership");
    return is_member(ev) && key && !strcmp(key, user_id) && ms &&
           !strcmp(ms, "invite");
}

/* Why ev is never answered, or NULL when it may be (a mention, the room
 * and the time it was sent then decide). */
static const char *never_answered(json_t *ev)
{
    if (!json_is_object(ev))
        return "not an object";
    if (json_object_get(ev, "state_key"))
        return "state event";
    const char *type = fz_get(ev, "type");
    if (!type || strcmp(type, "m.room.message") != 0)
        return "not m.room.message";
    const char *sender = fz_get(ev, "sender");
    if (!fz_get(ev, "event_id") || !sender)
        return "no event_id or sender";
    if (!strcmp(sender, user_id))
        return "ours";
    if (json_object_get(json_object_get(ev, "unsigned"),
                        "redacted_because"))
        return "redacted";
    json_t *content = json_object_get(ev, "content");
    const char *msgtype = fz_get(content, "msgtype");
    if (!msgtype || strcmp(msgtype, "m.text") != 0)
        return "not m.text";
    json_t *rel = json_object_get(content, "m.relates_to");
    const char *rel_type = fz_get(rel, "rel_type");
    if (rel_type && !strcmp(rel_type, "m.replace"))
        return "an edit";
    json_t *body = json_object_get(content, "body");
    if (!json_is_string(body) ||
        strlen(json_string_value(body)) != json_string_length(body))
        return "no text";
    return NULL;
}

/* The question in m, checked; a new string. */
static char *question(const mx_message *m, const mx_self *self)
{
    char *q = mx_message_question(m, self);
    FZ_CHECK(q != NULL, "no question in %s", m->event_id);
    size_t n = strlen(q);
    FZ_CHECK(n <= strlen(m->body), "question longer than the text");
    FZ_CHECK(n == 0 || (!isspace((unsigned char)q[0]) &&
                        !isspace((unsigned char)q[n - 1])),
             "question not trimmed: \"%s\"", q);
    return q;
}

/*
 * Judges ev as event.c should, and checks m, what mx_message_parse() made
 * of it (why its answer).  Returns whether ev may be answered.
 */
static bool judge(json_t *ev, const mx_self *self, const char *why,
                  const mx_message *m)
{
    const char *never = never_answered(ev);
    FZ_CHECK(!never == !why, "event.c says %s, we say %s",
             why ? why : "answer", never ? never : "answer");
    if (why) {
        FZ_CHECK(why[0] != '\0', "an empty reason");
        return false;
    }
    json_t *content = json_object_get(ev, "content");
    FZ_CHECK(m->event_id == fz_get(ev, "event_id") &&
                 m->sender == fz_get(ev, "sender") &&
                 m->body == fz_get(content, "body") &&
                 m->room_id == fz_get(ev, "room_id"),
             "mx_message is not borrowed from its event");
    json_t *ts = json_object_get(ev, "origin_server_ts");
    FZ_CHECK(m->ts == (json_is_integer(ts) ? json_integer_value(ts) : -1),
             "ts %lld", m->ts);
    json_t *rel = json_object_get(content, "m.relates_to");
    const char *rel_type = fz_get(rel, "rel_type");
    FZ_CHECK(m->thread_root == (rel_type && !strcmp(rel_type, "m.thread")
                                    ? fz_get(rel, "event_id") : NULL),
             "thread root");
    json_t *mm = json_object_get(content, "m.mentions");
    if (json_is_object(mm)) {
        bool listed = false;
        size_t i;
        json_t *id;
        json_array_foreach(json_object_get(mm, "user_ids"), i, id)
            listed |= json_is_string(id) &&
                      !strcmp(json_string_value(id), self->user_id);
        FZ_CHECK(m->mentioned == listed, "m.mentions says %d, event.c %d",
                 listed, m->mentioned);
    }
    return true;
}

/* ------------------------------------------------------------- sync */

struct walk {
    json_t *body;
    mx_self self;
    const char *since;
    unsigned gap_mode;
    bool direct;
    bool direct_unknown;        /* is_direct answers -1 */
    bool retry;                 /* a callback answered -1 */
    long stop_after;            /* -1: never */
    /* the invites we expect, in order */
    const char *invite_room[64], *invite_from[64];
    size_t n_invites, invites_seen;
    void *leave_it, *join_it;   /* the next room expected */
    size_t left, joined;
    /* the joined room being walked */
    const char *room_id;
    json_t *timeline, *gap;     /* gap: our own reference */
    size_t tl_i, gap_i, state_members;
    bool gap_expected, gap_asked, direct_asked;
    size_t handled;             /* events judged (all three ways) */
};

static json_t *rooms_of(json_t *body, const char *kind)
{
    return json_object_get(json_object_get(body, "rooms"), kind);
}

/* The event the walk is at; FZ_CHECK fails when there is none. */
static json_t *current(struct walk *w)
{
    if (w->gap && w->gap_i < json_array_size(w->gap))
        return json_array_get(w->gap, w->gap_i);
    json_t *events = json_object_get(w->timeline, "events");
    FZ_CHECK(w->tl_i < json_array_size(events),
             "an event past the end of %s's timeline", w->room_id);
    return json_array_get(events, w->tl_i);
}

static void next(struct walk *w)
{
    if (w->gap && w->gap_i < json_array_size(w->gap))
        w->gap_i++;
    else
        w->tl_i++;
    w->handled++;
    w->direct_asked = false;
}

/* The walk ended early: a stop, or a callback asked for a retry. */
static bool stopped_now(const struct walk *w)
{
    return w->retry ||
           (w->stop_after >= 0 && (long)w->handled >= w->stop_after);
}

/* The joined room walked so far is done: everything in it was seen. */
static void room_done(struct walk *w)
{
    if (!w->room_id)
        return;
    if (!stopped_now(w)) {
        FZ_CHECK(w->state_members == 0, "%zu state member events not "
                 "reported in %s", w->state_members, w->room_id);
        FZ_CHECK(w->gap_asked == w->gap_expected, "gap %s in %s",
                 w->gap_asked ? "fetched, not expected" : "not fetched",
                 w->room_id);
        FZ_CHECK(w->gap_i == json_array_size(w->gap) &&
                     w->tl_i == json_array_size(json_object_get(
                                    w->timeline, "events")),
                 "events of %s not judged", w->room_id);
    }
    json_decref(w->gap);
    w->gap = NULL;
    w->room_id = NULL;
}

static void on_invited(void *ud, const char *room_id, const char *sender)
{
    struct walk *w = ud;
    FZ_CHECK(!w->retry, "invite to %s reported after a retry", room_id);
    size_t i = w->invites_seen++;
    FZ_CHECK(i < w->n_invites, "invite %zu to %s not expected", i, room_id);
    FZ_CHECK(!strcmp(room_id, w->invite_room[i]) &&
                 sender == w->invite_from[i],
             "invite to %s from %s; expected %s from %s", room_id,
             sender ? sender : "?", w->invite_room[i],
             w->invite_from[i] ? w->invite_from[i] : "?");
}

static void on_left(void *ud, const char *room_id)
{
    struct walk *w = ud;
    FZ_CHECK(w->leave_it && !strcmp(room_id,
                                    json_object_iter_key(w->leave_it)),
             "left %s, not the next room of rooms.leave", room_id);
    w->leave_it = json_object_iter_next(rooms_of(w->body, "leave"),
                                        w->leave_it);
    w->left++;
}

static void on_joined(void *ud, const char *room_id)
{
    struct walk *w = ud;
    FZ_CHECK(!w->retry, "%s joined after a retry", room_id);
    room_done(w);
    FZ_CHECK(w->join_it && !strcmp(room_id, json_object_iter_key(w->join_it)),
             "joined %s, not the next room of rooms.join", room_id);
    json_t *room = json_object_iter_value(w->join_it);
    w->join_it = json_object_iter_next(rooms_of(w->body, "join"),
                                       w->join_it);
    w->joined++;
    w->room_id = room_id;
    w->timeline = json_object_get(room, "timeline");
    w->tl_i = w->gap_i = w->state_members = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(json_object_get(room, "state"),
                                       "events"), i, ev) {
        FZ_CHECK(mx_event_is_member(ev) == is_member(ev),
                 "mx_event_is_member");
        w->state_members += is_member(ev);
    }
    w->gap_expected = w->since &&
                      json_is_true(json_object_get(w->timeline, "limited")) &&
                      fz_get(w->timeline, "prev_batch");
    w->gap_asked = false;
}

static void on_members_changed(void *ud, const char *room_id)
{
    struct walk *w = ud;
    FZ_CHECK(!w->retry, "members of %s changed after a retry", room_id);
    FZ_CHECK(w->room_id && !strcmp(room_id, w->room_id),
             "members of %s changed outside its walk", room_id);
    if (w->state_members) {
        w->state_members--;
        return;
    }
    FZ_CHECK(is_member(current(w)), "members changed, but not by a "
             "member event");
}

static int on_fetch_gap(void *ud, const char *room_id, const char *from,
                        const char *to, json_t **events)
{
    struct walk *w = ud;
    FZ_CHECK(!w->retry, "gap of %s asked for after a retry", room_id);
    FZ_CHECK(w->room_id && !strcmp(room_id, w->room_id) && !w->gap_asked,
             "gap of %s asked for twice or outside its walk", room_id);
    FZ_CHECK(w->gap_expected, "gap of %s not expected", room_id);
    FZ_CHECK(!strcmp(from, fz_get(w->timeline, "prev_batch")) &&
                 !strcmp(to, w->since), "gap from %s to %s", from, to);
    w->gap_asked = true;
    if (w->gap_mode == 0)
        return 1;
    if (w->gap_mode == 3) {
        w->retry = true;
        return -1;
    }
    w->gap = w->gap_mode == 1
                 ? json_array()
                 : json_deep_copy(json_object_get(w->timeline, "events"));
    if (!json_is_array(w->gap)) {   /* events that are not an array */
        json_decref(w->gap);
        w->gap = json_array();
    }
    FZ_CHECK(w->gap != NULL, "out of memory");
    *events = json_incref(w->gap);
    return 0;
}

/* The event the walk judges now, parsed again here: the walk's reason
 * (NULL when its parse let the event through) and its m must be what
 * that parse gives, and judge() must agree.  Returns whether the event
 * may be answered. */
static bool judged(struct walk *w, const char *room_id, const char *why,
                   const mx_message *m)
{
    FZ_CHECK(!w->retry, "an event of %s judged after a retry", room_id);
    FZ_CHECK(w->room_id && !strcmp(room_id, w->room_id),
             "event of %s judged outside its walk", room_id);
    json_t *ev = current(w);
    mx_message again;
    const char *why_again = mx_message_parse(ev, &w->self, &again);
    FZ_CHECK(!why == !why_again && (!why || !strcmp(why, why_again)),
             "the walk says %s, mx_message_parse() %s",
             why ? why : "answer", why_again ? why_again : "answer");
    FZ_CHECK(!m || (m->event_id == again.event_id &&
                    m->body == again.body && m->ts == again.ts),
             "judged with the mx_message of another event");
    return judge(ev, &w->self, why_again, &again);
}

static int on_is_direct(void *ud, const char *room_id)
{
    struct walk *w = ud;
    bool may = judged(w, room_id, NULL, NULL);
    FZ_CHECK(may && !w->direct_asked, "is_direct for an event that is "
             "never answered, or twice");
    if (w->direct_unknown) {
        w->retry = true;
        return -1;
    }
    if (!w->direct)
        next(w);                /* a group room: left unanswered */
    else
        w->direct_asked = true;
    return w->direct;
}

static void on_answer(void *ud, const char *room_id, const mx_message *m)
{
    struct walk *w = ud;
    bool may = judged(w, room_id, NULL, m);
    FZ_CHECK(may, "answered %s, which is never answered", m->event_id);
    FZ_CHECK(m->ts < 0 || m->ts >= NOT_BEFORE, "answered %s, sent before "
             "the bot first started", m->event_id);
    FZ_CHECK(m->mentioned || w->direct_asked, "answered %s: no mention, "
             "not asked whether the room is direct", m->event_id);
    free(question(m, &w->self));
    next(w);
}

static void on_ignored(void *ud, const char *room_id, const mx_message *m,
                       const char *why)
{
    struct walk *w = ud;
    bool old = why && !strcmp(why, "sent before the bot first started");
    bool may = judged(w, room_id, old ? NULL : why, m);
    FZ_CHECK(may == old, "ignored for \"%s\"", why ? why : "(null)");
    if (old)
        FZ_CHECK(m->ts >= 0 && m->ts < NOT_BEFORE, "ts %lld is not old",
                 m->ts);
    next(w);
}

static bool on_stopped(void *ud)
{
    return stopped_now(ud);
}

static const mx_sync_ops ops = {
    .invited = on_invited,
    .left = on_left,
    .joined = on_joined,
    .members_changed = on_members_changed,
    .fetch_gap = on_fetch_gap,
    .is_direct = on_is_direct,
    .answer = on_answer,
    .ignored = on_ignored,
    .stopped = on_stopped,
};

static void fuzz_sync(unsigned ctl, const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_ALLOW_NUL,
                              NULL);
    struct walk w = {
        .body = body,
        .self = {user_id, (ctl & 32) ? NULL : "FAQ Bot"},
        .since = (ctl & 2) ? "s1_prev" : NULL,
        .gap_mode = (ctl >> 2) & 3,
        .direct = ctl & 16,
        .direct_unknown = (ctl >> 6) == 2,
        .stop_after = (ctl >> 6) == 3 ? (long)(size % 4) : -1,
    };
    const char *room_id;
    json_t *room;
    json_object_foreach(rooms_of(body, "invite"), room_id, room) {
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(json_object_get(room,
                                                           "invite_state"),
                                           "events"), i, ev) {
            FZ_CHECK(mx_event_invites(ev, user_id) == invites_us(ev),
                     "mx_event_invites");
            if (invites_us(ev) && w.n_invites < 64) {
                w.invite_room[w.n_invites] = room_id;
                w.invite_from[w.n_invites++] = fz_get(ev, "sender");
                break;
            }
        }
    }
    if (w.n_invites == 64)
        goto done;              /* too many to follow: not worth it */
    w.leave_it = json_object_iter(rooms_of(body, "leave"));
    w.join_it = json_object_iter(rooms_of(body, "join"));

    int walked = mx_sync_walk(body, &w.self, NOT_BEFORE, w.since, &ops, &w);
    bool stopped = stopped_now(&w);
    room_done(&w);
    FZ_CHECK(walked == (w.retry ? MX_WALK_RETRY
                        : stopped ? MX_WALK_STOPPED : MX_WALK_DONE),
             "walk returned %d, stopped %d, retry %d", walked, stopped,
             w.retry);
    FZ_CHECK(w.invites_seen == w.n_invites, "%zu invites, expected %zu",
             w.invites_seen, w.n_invites);
    FZ_CHECK(w.left == json_object_size(rooms_of(body, "leave")),
             "%zu rooms left", w.left);
    if (!stopped)
        FZ_CHECK(w.joined == json_object_size(rooms_of(body, "join")),
                 "%zu rooms joined", w.joined);
done:
    json_decref(body);
}

/* ------------------------------------------------------ transactions */

static void fuzz_transaction(unsigned ctl, const uint8_t *data, size_t size)
{
    mx_self self = {user_id, (ctl & 32) ? NULL : "FAQ Bot"};
    json_t *events = (json_t *)&events;     /* must be set */
    serve_reply rp = {.status = 0};
    int rc = serve_appservice_parse_transaction((const char *)data, size,
                                                &events, &rp);
    json_t *in = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    json_t *want = json_object_get(in, "events");
    json_t *o = rc ? fz_reply_json(&rp) : NULL;
    if (!in || !json_is_object(in) || (want && !json_is_array(want))) {
        FZ_CHECK(rc == -1 && events == NULL, "rc %d for a bad body", rc);
        FZ_CHECK(rp.status == 400 && o && fz_get(o, "errcode") &&
                     fz_get(o, "error") &&
                     !strcmp(fz_get(o, "errcode"),
                             in ? "M_BAD_JSON" : "M_NOT_JSON"),
                 "status %d, reply %.200s", rp.status,
                 rp.body ? rp.body : "(none)");
        goto done;
    }
    FZ_CHECK(rc == 0 && json_is_array(events), "rc %d for a good body", rc);
    FZ_CHECK(rp.status == 0 && !rp.body, "a reply set on success");
    FZ_CHECK(want ? json_equal(events, want) : !json_array_size(events),
             "not the body's events");
    /* each event as the application service's worker takes it */
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        if (!fz_get(ev, "room_id"))
            continue;
        FZ_CHECK(mx_event_invites(ev, user_id) == invites_us(ev),
                 "mx_event_invites");
        FZ_CHECK(mx_event_is_member(ev) == is_member(ev),
                 "mx_event_is_member");
        mx_message m;
        const char *why = mx_message_parse(ev, &self, &m);
        if (judge(ev, &self, why, &m))
            free(question(&m, &self));
    }
done:
    json_decref(o);
    json_decref(in);
    if (rc == 0)
        json_decref(events);
    free(rp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_transaction(data[0], data + 1, size - 1);
    else
        fuzz_sync(data[0], data + 1, size - 1);
    return 0;
}
