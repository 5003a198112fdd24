/*
 * bot.h - msfaq-matrix-bot's own parts, shared by matrix/bot*.c only.
 *
 *     bot.c        options, settings, signals, start-up and shut-down
 *     bot_sync.c   the /sync loop: invites, messages, answers, gaps
 *     bot_state.c  the state file (sync token, first start, pending joins)
 */
#ifndef MSFAQ_MATRIX_BOT_H
#define MSFAQ_MATRIX_BOT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "msfaq.h"
#include "msfaq_post.h"
#include "mx.h"

#define BOT_NAME "msfaq-matrix-bot"

/* One line on stderr: "TIME msfaq-matrix-bot: TEXT", written whole.  No
 * message text and no secret ever goes in. */
void bot_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --------------------------------------------------------- bot_state.c */

/*
 * The state file, JSON, mode 0600, replaced atomically (write a temporary
 * file, fsync, rename, fsync the folder) so a crash leaves the old or the
 * new state, never half of one:
 *
 *     {"version": 1, "user_id": "@faqbot:example.org",
 *      "started_ms": 1700000000000, "since": "s72595_4483_1934",
 *      "pending_joins": ["!room:example.org"]}
 *
 * A lock file next to it (STATE.lock, flock) keeps a second bot off the
 * same state.
 */
typedef struct bot_state {
    char *path;
    int lock_fd;
    char *user_id;             /* whose state this is */
    long long started_ms;      /* the bot's first start: older messages
                                  are never answered */
    char *since;               /* the sync token, NULL before the first */
    char **pending;            /* rooms invited to, not joined yet */
    size_t n_pending;
    char *saved;               /* the JSON last written, to skip
                                  rewriting an unchanged state */
} bot_state;

/* Locks and loads path (a missing file is a fresh state started now).
 * user_id is who the token belongs to: a state file of another user is
 * refused.  Returns 0, or -1 with err set. */
int bot_state_open(bot_state *s, const char *path, const char *user_id,
                   char *err, size_t errlen);
/* Writes the state when it changed.  Returns 0, or -1 with err set. */
int bot_state_save(bot_state *s, char *err, size_t errlen);
/* Sets the sync token (copied). */
int bot_state_set_since(bot_state *s, const char *since);
/* Adds or removes a pending join (a room ID). */
int bot_state_add_pending(bot_state *s, const char *room_id);
void bot_state_drop_pending(bot_state *s, const char *room_id);
/* Frees everything and releases the lock. */
void bot_state_close(bot_state *s);

/* ---------------------------------------------------------- bot_sync.c */

typedef struct bot {
    /* settings */
    const char *kb_dir;
    long sync_timeout_ms;      /* the long poll's server-side wait */
    int timeline_limit;        /* events per room per sync */
    char **invite_from;        /* users (@a:b) or servers (b) whose
                                  invites are accepted; NULL: anyone */
    size_t n_invite_from;
    /* running */
    msfaq_kb *kb;
    mx_client *mx;
    msfaq_poster *poster;
    mx_rooms *rooms;
    mx_self self;
    bot_state state;
    bool announced;            /* "syncing as ..." printed */
    bool in_poll;              /* in the /sync long poll: a reload
                                  signal may cut it short */
    long long join_not_before; /* monotonic ms; after a 429 on a join */
    unsigned long answered, failed;
} bot;

/* Set by the signal handlers; read by the loop and libcurl's abort
 * callback. */
extern volatile sig_atomic_t bot_stop_signal;
extern volatile sig_atomic_t bot_reload_signal;

/* Runs until a stop signal (returns 0) or a fatal error such as a
 * refused access token (returns 1 after logging why). */
int bot_run(bot *b);

/* Opens the KB from b->kb_dir and swaps it in; on failure the old one
 * stays and a line says why. */
void bot_reload(bot *b);

#endif
