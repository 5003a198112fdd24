/*
 * event.c - which Matrix room events get an answer, and the question in
 * them.  Shared by the bot and the application service, so both follow
 * the same rules:
 *
 * - Only m.room.message events with msgtype m.text, from someone else.
 *   State events (anything with a state_key), our own messages, edits
 *   (rel_type m.replace: the original was answered), redacted events and
 *   encrypted ones (not supported) are ignored.
 * - Never an m.notice: the spec reserves notices for automated clients
 *   and says nothing answers them, which is what keeps two bots from
 *   answering each other forever.  Our own replies are notices too.
 * - Mentions: a message carrying m.mentions (spec v1.7 "intentional
 *   mentions", what Element sends) mentions us only when its user_ids
 *   lists us.  For a message without m.mentions (older clients, plain
 *   scripts) our user ID in the text, a matrix.to link to us in the HTML,
 *   or the text starting with our name or localpart and ':' or ',' count.
 *   The caller answers a mention anywhere, and any message in a direct
 *   room (us and one other member; see mx_rooms).
 * - The question: the "> " lines of an old-style reply fallback (clients
 *   before spec v1.13 quoted the message replied to) are dropped before
 *   anything else, so a reply to our answer is not read as a mention or
 *   a question; then our ID and name are removed.
 * - The walk over a /sync reply (mx_sync_walk) is here too, apart from
 *   the bot's network calls, so the fuzzer (tests/fuzz/fuzz_matrix.c)
 *   reaches it without a homeserver.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mx.h"

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The body after an old-style reply fallback ("> " lines, then a blank
 * line), borrowed. */
static const char *skip_fallback(const char *body)
{
    const char *p = body;
    if (strncmp(p, "> ", 2) != 0)
        return body;
    while (*p == '>') {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return p + strlen(p);    /* nothing but the quote */
        p = nl + 1;
    }
    if (*p == '\n')
        p++;
    return p;
}

/* The localpart of "@name:server" into out. */
static void localpart(const char *user_id, char *out, size_t size)
{
    const char *s = user_id[0] == '@' ? user_id + 1 : user_id;
    size_t n = strcspn(s, ":");
    if (n >= size)
        n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Length of name at the start of text (case-insensitive) when a ':' or
 * ',' follows it, else 0. */
static size_t name_prefix(const char *text, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!n || strncasecmp(text, name, n) != 0)
        return 0;
    return text[n] == ':' || text[n] == ',' ? n + 1 : 0;
}

static bool legacy_mention(json_t *content, const char *body,
                           const mx_self *self)
{
    char lp[256];
    localpart(self->user_id, lp, sizeof lp);
    if (strstr(body, self->user_id))
        return true;
    const char *html = str(content, "formatted_body");
    if (html) {
        char link[320];
        snprintf(link, sizeof link, "matrix.to/#/%s", self->user_id);
        if (strstr(html, link))
            return true;
        /* the same with the @ percent-encoded */
        snprintf(link, sizeof link, "matrix.to/#/%%40%s", self->user_id + 1);
        if (strstr(html, link))
            return true;
    }
    while (isspace((unsigned char)*body))
        body++;
    return name_prefix(body, lp) || name_prefix(body, self->display_name);
}

const char *mx_message_parse(json_t *ev, const mx_self *self,
                             mx_message *m)
{
    memset(m, 0, sizeof *m);
    m->ts = -1;
    if (!json_is_object(ev))
        return "malformed event";
    if (json_object_get(ev, "state_key"))
        return "state event";
    const char *type = str(ev, "type");
    if (!type)
        return "malformed event";
    if (strcmp(type, "m.room.message") != 0)
        return strcmp(type, "m.room.encrypted") ? "not a message"
                                                : "encrypted (not supported)";
    m->event_id = str(ev, "event_id");
    m->sender = str(ev, "sender");
    if (!m->event_id || !m->sender)
        return "malformed event";
    if (!strcmp(m->sender, self->user_id))
        return "own message";
    json_t *uns = json_object_get(ev, "unsigned");
    if (json_object_get(uns, "redacted_because"))
        return "redacted";
    json_t *content = json_object_get(ev, "content");
    const char *msgtype = str(content, "msgtype");
    if (!msgtype)
        return "redacted or malformed";
    if (!strcmp(msgtype, "m.notice"))
        return "notice (no bot answers a notice)";
    if (strcmp(msgtype, "m.text") != 0)
        return "not text";
    json_t *rel = json_object_get(content, "m.relates_to");
    const char *rel_type = str(rel, "rel_type");
    if (rel_type && !strcmp(rel_type, "m.replace"))
        return "edit";
    if (rel_type && !strcmp(rel_type, "m.thread"))
        m->thread_root = str(rel, "event_id");
    json_t *body = json_object_get(content, "body");
    if (!json_is_string(body))
        return "malformed event";
    m->body = json_string_value(body);
    if (strlen(m->body) != json_string_length(body))
        return "NUL byte in the text";
    m->room_id = str(ev, "room_id");
    json_t *ts = json_object_get(ev, "origin_server_ts");
    if (json_is_integer(ts))
        m->ts = (long long)json_integer_value(ts);

    json_t *mm = json_object_get(content, "m.mentions");
    if (json_is_object(mm)) {
        size_t i;
        json_t *id;
        json_array_foreach(json_object_get(mm, "user_ids"), i, id)
            if (json_is_string(id) &&
                !strcmp(json_string_value(id), self->user_id))
                m->mentioned = true;
    } else {
        m->mentioned = legacy_mention(content, skip_fallback(m->body),
                                      self);
    }
    return NULL;
}

/* Removes every copy of needle from s (in place). */
static void remove_all(char *s, const char *needle)
{
    size_t n = needle ? strlen(needle) : 0;
    char *p;
    while (n && (p = strstr(s, needle)) != NULL)
        memmove(p, p + n, strlen(p + n) + 1);
}

char *mx_message_question(const mx_message *m, const mx_self *self)
{
    char *q = strdup(skip_fallback(m->body));
    if (!q)
        return NULL;
    char lp[256];
    localpart(self->user_id, lp, sizeof lp);
    remove_all(q, self->user_id);
    char *p = q;
    while (isspace((unsigned char)*p))
        p++;
    size_t pre = name_prefix(p, self->display_name);
    if (!pre)
        pre = name_prefix(p, lp);
    p += pre;
    if (m->mentioned && self->display_name)
        remove_all(p, self->display_name);
    /* what a removed mention leaves: "  : what is..." */
    while (isspace((unsigned char)*p) || *p == ':' || *p == ',')
        p++;
    size_t n = strlen(p);
    while (n && isspace((unsigned char)p[n - 1]))
        p[--n] = '\0';
    memmove(q, p, n + 1);
    return q;
}

bool mx_event_invites(json_t *ev, const char *user_id)
{
    const char *type = str(ev, "type"), *key = str(ev, "state_key");
    const char *ms = str(json_object_get(ev, "content"), "membership");
    return type && key && ms && !strcmp(type, "m.room.member") &&
           !strcmp(key, user_id) && !strcmp(ms, "invite");
}

bool mx_event_is_member(json_t *ev)
{
    const char *type = str(ev, "type");
    return type && !strcmp(type, "m.room.member") &&
           json_object_get(ev, "state_key");
}

/* ------------------------------------------------------------- sync */

/* One timeline event of room_id. */
/* Judges one event; MX_WALK_RETRY when whether to answer it cannot be
 * told now, else MX_WALK_DONE. */
static int walk_event(json_t *ev, const char *room_id, const mx_self *self,
                      long long not_before_ms, const mx_sync_ops *ops,
                      void *ud)
{
    if (mx_event_is_member(ev))
        ops->members_changed(ud, room_id);
    mx_message m;
    const char *why = mx_message_parse(ev, self, &m);
    if (why) {
        ops->ignored(ud, room_id, &m, why);
        return MX_WALK_DONE;
    }
    if (m.ts >= 0 && m.ts < not_before_ms) {
        ops->ignored(ud, room_id, &m, "sent before the bot first started");
        return MX_WALK_DONE;
    }
    if (!m.mentioned) {
        int direct = ops->is_direct(ud, room_id);
        if (direct < 0)
            return MX_WALK_RETRY;  /* a question in a direct room, maybe */
        if (!direct)
            return MX_WALK_DONE;   /* a group room, not addressed to us */
    }
    ops->answer(ud, room_id, &m);
    return MX_WALK_DONE;
}

int mx_sync_walk(json_t *body, const mx_self *self, long long not_before_ms,
                 const char *since, const mx_sync_ops *ops, void *ud)
{
    json_t *rooms = json_object_get(body, "rooms");
    const char *room_id;
    json_t *room;

    json_object_foreach(json_object_get(rooms, "invite"), room_id, room) {
        json_t *events = json_object_get(
            json_object_get(room, "invite_state"), "events");
        size_t i;
        json_t *ev;
        json_array_foreach(events, i, ev) {
            if (!mx_event_invites(ev, self->user_id))
                continue;
            ops->invited(ud, room_id, str(ev, "sender"));
            break;
        }
    }
    json_object_foreach(json_object_get(rooms, "leave"), room_id, room)
        ops->left(ud, room_id);
    json_object_foreach(json_object_get(rooms, "join"), room_id, room) {
        ops->joined(ud, room_id);
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(json_object_get(room, "state"),
                                           "events"), i, ev)
            if (mx_event_is_member(ev))
                ops->members_changed(ud, room_id);
        json_t *tl = json_object_get(room, "timeline");
        const char *prev = str(tl, "prev_batch");
        if (json_is_true(json_object_get(tl, "limited")) && since && prev) {
            json_t *gap = NULL;
            if (ops->fetch_gap(ud, room_id, prev, since, &gap) < 0)
                return MX_WALK_RETRY;
            int rc = MX_WALK_DONE;
            json_array_foreach(gap, i, ev) {
                if (ops->stopped(ud) ||
                    (rc = walk_event(ev, room_id, self, not_before_ms, ops,
                                     ud)) != MX_WALK_DONE)
                    break;
            }
            json_decref(gap);
            if (rc != MX_WALK_DONE)
                return rc;
        }
        json_array_foreach(json_object_get(tl, "events"), i, ev) {
            if (ops->stopped(ud))
                return MX_WALK_STOPPED;
            if (walk_event(ev, room_id, self, not_before_ms, ops, ud) !=
                MX_WALK_DONE)
                return MX_WALK_RETRY;
        }
    }
    return ops->stopped(ud) ? MX_WALK_STOPPED : MX_WALK_DONE;
}

/* ------------------------------------------------------------ rooms */

struct room_count {
    char *room_id;
    int count;
};

struct mx_rooms {
    struct room_count *v;
    size_t n, cap;
};

mx_rooms *mx_rooms_new(void)
{
    return calloc(1, sizeof(mx_rooms));
}

void mx_rooms_free(mx_rooms *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].room_id);
    free(r->v);
    free(r);
}

static struct room_count *find(const mx_rooms *r, const char *room_id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].room_id, room_id))
            return &r->v[i];
    return NULL;
}

int mx_rooms_get(const mx_rooms *r, const char *room_id)
{
    const struct room_count *rc = find(r, room_id);
    return rc ? rc->count : -1;
}

int mx_rooms_set(mx_rooms *r, const char *room_id, int count)
{
    struct room_count *rc = find(r, room_id);
    if (rc) {
        rc->count = count;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct room_count *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    char *id = strdup(room_id);
    if (!id)
        return -1;
    r->v[r->n].room_id = id;
    r->v[r->n].count = count;
    r->n++;
    return 0;
}

void mx_rooms_forget(mx_rooms *r, const char *room_id)
{
    struct room_count *rc = find(r, room_id);
    if (!rc)
        return;
    free(rc->room_id);
    *rc = r->v[--r->n];
}
