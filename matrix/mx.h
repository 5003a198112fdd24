/*
 * mx.h - the Matrix pieces shared by msfaq-matrix-bot (a client with an
 * access token) and msfaq-serve's application service (serve/appservice.c):
 *
 *     client.c   a small JSON client for the client-server API over
 *                libcurl: whoami, join, joined_members, profile, and any
 *                other call (the bot's /sync); errcode, retry_after_ms
 *     event.c    which room events to answer, and the question in them;
 *                the walk over the bot's /sync replies; a cache of
 *                rooms' joined-member counts (direct rooms)
 *     reply.c    the reply to a question, sent with libmsfaq-post
 *
 * Replies are formatted and sent by libmsfaq-post's Matrix target
 * (m.notice, rich reply, transaction id from the event); reply.c only
 * fills in the message, the same way for both programs.
 *
 * Not thread-safe per object: one mx_client and one mx_rooms per thread.
 * Names: mx_*.  Built as the static library msfaq_matrix_core.
 */
#ifndef MSFAQ_MX_H
#define MSFAQ_MX_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "msfaq_post.h"

/* ----------------------------------------------------------- client.c */

typedef struct mx_client mx_client;

/* Returns nonzero to abort the transfer in progress (a stop signal). */
typedef int (*mx_abort_fn)(void *ud);

typedef struct mx_client_config {
    const char *homeserver;    /* base URL, http:// or https:// */
    const char *token;         /* access token or as_token (secret) */
    const char *user_agent;    /* NULL: "msfaq-matrix" */
    const char *ca_file;       /* NULL: the system's CAs */
    long connect_timeout_ms;   /* 0: 5000 */
    mx_abort_fn abort_fn;      /* NULL: never aborted */
    void *abort_ud;
} mx_client_config;

/* The outcome of one call. */
typedef struct mx_reply {
    long status;               /* HTTP status; 0 when none came */
    json_t *body;              /* the reply's JSON object, or NULL */
    char errcode[64];          /* "M_FORBIDDEN", ... or "" */
    long retry_after_ms;       /* > 0: the server asked to wait this long
                                  (retry_after_ms, else Retry-After) */
    bool aborted;              /* abort_fn stopped it */
    char error[256];           /* one line saying what went wrong (no
                                  secret); "" after a 2xx */
} mx_reply;

/* Opens a client (one libcurl handle, reused).  NULL with err set. */
mx_client *mx_client_open(const mx_client_config *cfg, char *err,
                          size_t errlen);
/* Wipes the token copies and frees.  NULL is a no-op. */
void mx_client_close(mx_client *c);

/*
 * One request: method "GET", "POST" or "PUT"; path from "/_matrix/..."
 * with any query already percent-encoded; body sent as JSON (NULL: none;
 * POST and PUT then send "{}").  timeout_ms limits the whole request.
 * Returns 0 for a 2xx, else -1; out is always filled (clear it with
 * mx_reply_clear()).
 */
int mx_call(mx_client *c, const char *method, const char *path,
            json_t *body, long timeout_ms, mx_reply *out);
void mx_reply_clear(mx_reply *r);

/* Worth trying again later: no reply (network, time-out; not an abort),
 * 429 or 5xx. */
bool mx_reply_transient(const mx_reply *r);
/* The token itself was refused (401, M_UNKNOWN_TOKEN, M_MISSING_TOKEN). */
bool mx_reply_bad_token(const mx_reply *r);

/* s percent-encoded for a path segment or query value; NULL when out of
 * memory. */
char *mx_escape(const char *s);

/* GET /account/whoami: our user ID, a new string. */
int mx_whoami(mx_client *c, char **user_id, mx_reply *r);
/* POST /join/{room} {}. */
int mx_join(mx_client *c, const char *room_id, mx_reply *r);
/* GET /rooms/{room}/joined_members: how many are joined. */
int mx_joined_count(mx_client *c, const char *room_id, int *count,
                    mx_reply *r);
/* GET /profile/{user}/displayname: a new string, or NULL (none, or the
 * call failed; this is only ever a convenience). */
char *mx_displayname(mx_client *c, const char *user_id);

/* ------------------------------------------------------------ event.c */

/* Who we are, for recognising our own messages and mentions of us. */
typedef struct mx_self {
    const char *user_id;       /* "@faqbot:example.org" */
    const char *display_name;  /* "FAQ bot", or NULL */
} mx_self;

/* A room message worth considering, borrowed from its event. */
typedef struct mx_message {
    const char *event_id;
    const char *sender;
    const char *room_id;       /* from the event (application service
                                  transactions carry it), or NULL */
    const char *body;
    const char *thread_root;   /* in a thread: the root's event ID */
    long long ts;              /* origin_server_ts in ms, or -1 */
    bool mentioned;            /* mentions us (m.mentions, or for older
                                  clients our ID or name in the text) */
} mx_message;

/*
 * Judges one timeline event.  Returns NULL when it is an m.text message
 * from someone else that could be answered (m filled), else a short
 * static reason it is not: a state event, not m.room.message, our own,
 * an m.notice (no bot answers a notice, so bots never answer each other),
 * not m.text, an edit, redacted, malformed.  Whether to answer also
 * depends on m->mentioned, the room (direct or not) and m->ts.
 */
const char *mx_message_parse(json_t *ev, const mx_self *self,
                             mx_message *m);

/* The question in m: the quoted lines of an old-style reply fallback
 * dropped, mentions of us removed, white space trimmed.  A new string,
 * or NULL when out of memory. */
char *mx_message_question(const mx_message *m, const mx_self *self);

/* 1 when ev invites user_id (m.room.member, state_key user_id,
 * membership invite). */
bool mx_event_invites(json_t *ev, const char *user_id);
/* 1 when ev is an m.room.member state event (membership may change). */
bool mx_event_is_member(json_t *ev);

/*
 * What a /sync reply holds for the access-token bot, and which of its
 * events get an answer: the walk of mx_sync_walk(), which does no I/O
 * itself.  Whatever needs the network or the bot's state (joining,
 * declining, counting members, fetching a gap, answering, logging) is a
 * callback, called in the order of the reply.  Every member is required.
 */
typedef struct mx_sync_ops {
    /* rooms.invite: the first invite of us (mx_event_invites) in
     * room_id's invite_state; sender is the inviter, or NULL */
    void (*invited)(void *ud, const char *room_id, const char *sender);
    /* rooms.leave: we left room_id, or were removed */
    void (*left)(void *ud, const char *room_id);
    /* rooms.join: room_id, before any of its events */
    void (*joined)(void *ud, const char *room_id);
    /* a member event of room_id (state or timeline): who is in it may
     * have changed */
    void (*members_changed)(void *ud, const char *room_id);
    /* room_id's timeline is limited: the events skipped between the
     * tokens from (its prev_batch) and to (the previous sync's), oldest
     * first, as a new array in *events.  0 when fetched; 1 when given up
     * for good (a refusal: the walk goes on without them); -1 when it may
     * work later (no reply, 429, 5xx): the walk ends with MX_WALK_RETRY,
     * so the batch is walked again rather than its questions lost */
    int (*fetch_gap)(void *ud, const char *room_id, const char *from,
                     const char *to, json_t **events);
    /* whether room_id is direct (us and one other member): 1 or 0; -1
     * when it cannot be told now (ends the walk with MX_WALK_RETRY).
     * Asked only for a message that does not mention us */
    int (*is_direct)(void *ud, const char *room_id);
    /* m (borrowed from its event) is to be answered in room_id */
    void (*answer)(void *ud, const char *room_id, const mx_message *m);
    /* the event m was parsed from is not answered, for the static reason
     * why (m->event_id may be NULL); messages in group rooms that do not
     * mention us are left out silently */
    void (*ignored)(void *ud, const char *room_id, const mx_message *m,
                    const char *why);
    /* true when the walk must stop (a stop signal) */
    bool (*stopped)(void *ud);
} mx_sync_ops;

/* How a walk ended.  Only after MX_WALK_DONE may the reply's next_batch
 * be saved: otherwise the same batch must be synced and walked again
 * (answers already sent are sent again with the same transaction ids,
 * which the homeserver drops). */
enum mx_walk {
    MX_WALK_DONE,              /* every event seen */
    MX_WALK_STOPPED,           /* ops->stopped() cut it short */
    MX_WALK_RETRY              /* a callback could not do its part now */
};

/*
 * Walks a /sync reply: rooms.invite, rooms.leave, then each room of
 * rooms.join (its state's member events; the gap before a limited
 * timeline when since, the previous sync's token, is given; its timeline
 * events in order).  Each timeline event is judged by mx_message_parse();
 * one sent before not_before_ms (origin_server_ts) is ignored.  Returns
 * an enum mx_walk.
 */
int mx_sync_walk(json_t *body, const mx_self *self, long long not_before_ms,
                 const char *since, const mx_sync_ops *ops, void *ud);

/* Joined-member counts by room, to tell direct rooms (us and one other
 * person) from group rooms.  Unknown counts are -1. */
typedef struct mx_rooms mx_rooms;
mx_rooms *mx_rooms_new(void);
void mx_rooms_free(mx_rooms *r);
int mx_rooms_get(const mx_rooms *r, const char *room_id);
/* Returns 0, or -1 when out of memory (the count is then not kept). */
int mx_rooms_set(mx_rooms *r, const char *room_id, int count);
void mx_rooms_forget(mx_rooms *r, const char *room_id);

/* ------------------------------------------------------------ reply.c */

/* Sends the reply to m, asked in room_id: the answer r, or when r is NULL
 * the refusal of a question msfaq_ask() refused with ask_code (as
 * program_refusal() words it).  An m.notice rich reply to m's event, in
 * its thread, mentioning its sender, with a transaction id derived from
 * the event.  Fills *rec (reset first); returns what msfaq_post_send()
 * returns, with perr filled on failure (no secret in it). */
int mx_send_reply(msfaq_poster *p, const char *room_id, const mx_message *m,
                  const char *question, const msfaq_result *r, int ask_code,
                  msfaq_post_receipt *rec, msfaq_error *perr);

#endif /* MSFAQ_MX_H */
