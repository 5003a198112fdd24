/*
 * post_private.h - shared by the poster sources only (names msfaqp_post_*).
 *
 * A target is a row of the table in target.c: how to format a message,
 * where to send it and how to read the reply.  Matrix is one such row,
 * with a PUT method and a per-message URL hook (room and transaction
 * id); the send loop only reads the table.
 */
#ifndef MSFAQ_POST_PRIVATE_H
#define MSFAQ_POST_PRIVATE_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

#include "msfaq_post.h"

/* How every body and dead-letter line is written: one line, confidence
 * with 4 digits as in `msfaq ask --json`. */
#define MSFAQP_POST_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(4))

/* A message with its reply fields resolved, whether they came from an
 * msfaq_result or from the struct members.  All strings borrowed. */
typedef struct msfaqp_post_msg {
    const char *question;        /* never NULL ("" when none) */
    int kind;
    const char *intent;          /* never NULL */
    double confidence;
    const char *answer;          /* never NULL */
    const char *section;         /* NULL when none */
    size_t n_follow_ups;
    const msfaq_result *result;  /* follow-ups come from here when set */
    const char *const *follow_ups;
    const char *channel;         /* NULL when none */
    const char *thread_ts;       /* NULL when none */
    const char *reply_to;        /* Matrix: event replied to, or NULL */
    const char *reply_sender;    /* Matrix: user to mention, or NULL */
    const char *txn_id;          /* Matrix: as given, or NULL */
} msfaqp_post_msg;

/* Longest Matrix event ID or transaction id accepted (the spec's limit
 * for event IDs), and the size of a derived transaction id. */
#define MSFAQP_POST_MATRIX_ID_MAX 255
#define MSFAQP_POST_TXN_SIZE (16 + 3 * MSFAQP_POST_MATRIX_ID_MAX + 1)

const char *msfaqp_post_msg_follow_up(const msfaqp_post_msg *m, size_t i);

/* Fills m from msg; returns 0 or MSFAQ_EINVAL with err filled. */
int msfaqp_post_msg_resolve(const msfaq_post_message *msg, msfaqp_post_msg *m,
                       msfaq_error *err);

/* How one reply was judged. */
enum msfaqp_post_verdict {
    MSFAQP_POST_DELIVERED = 0,
    MSFAQP_POST_RETRY = 1,      /* 5xx, 429, transient Slack error */
    MSFAQP_POST_REFUSED = 2,    /* permanent */
    MSFAQP_POST_PROTOCOL = 3    /* nonsense reply: permanent */
};

typedef struct msfaqp_post_reply {
    long status;           /* HTTP status */
    const char *body;      /* NUL-terminated, possibly cut short */
    size_t len;
    long retry_after_s;    /* CURLINFO_RETRY_AFTER; 0: none */
    /* filled by the target's check() */
    int verdict;
    long retry_after_ms;   /* > 0: wait this long (before the cap) */
    char detail[160];      /* why, for the error text */
    char ts[64];
    char channel[64];
    char event_id[256];    /* Matrix: the event ID of the message */
} msfaqp_post_reply;

typedef struct msfaqp_post_target {
    int id;                          /* enum msfaq_post_target */
    const char *name;                /* "slack-webhook", ... */
    const char *method;              /* "POST"; Matrix will send "PUT" */
    int needs_token;                 /* sends Authorization: Bearer */
    int url_is_base;                 /* url is an API base, not secret */
    const char *default_url;         /* NULL: a URL is required */
    const char *path;                /* appended to the base URL, or NULL */
    const char *query;               /* added to the URL's query, or NULL */
    /* The body for m, as a new JSON value; NULL with err filled. */
    json_t *(*format)(const msfaqp_post_msg *m, msfaq_error *err);
    /* Judges r (status, body) and fills its verdict fields. */
    void (*check)(msfaqp_post_reply *r);
    /* When set: the URL of one message (base is the configured URL), a
     * new string; NULL with err filled.  txn is the message's
     * transaction id. */
    char *(*message_url)(const char *base, const msfaqp_post_msg *m,
                         const char *txn, msfaq_error *err);
} msfaqp_post_target;

const msfaqp_post_target *msfaqp_post_target_find(int id);

/* The per-target formatters (format.c). */
json_t *msfaqp_post_format_slack_webhook(const msfaqp_post_msg *m,
                                         msfaq_error *err);
json_t *msfaqp_post_format_slack_api(const msfaqp_post_msg *m,
                                     msfaq_error *err);
json_t *msfaqp_post_format_discord(const msfaqp_post_msg *m,
                                   msfaq_error *err);
json_t *msfaqp_post_format_mattermost(const msfaqp_post_msg *m,
                                      msfaq_error *err);
json_t *msfaqp_post_format_json(const msfaqp_post_msg *m, msfaq_error *err);
json_t *msfaqp_post_format_matrix(const msfaqp_post_msg *m,
                                  msfaq_error *err);
/* The message's own fields (the dead-letter "message" member). */
json_t *msfaqp_post_msg_to_json(const msfaqp_post_msg *m);

/* Reply checks (target.c). */
void msfaqp_post_check_http(msfaqp_post_reply *r);
void msfaqp_post_check_slack_api(msfaqp_post_reply *r);
void msfaqp_post_check_discord(msfaqp_post_reply *r);
void msfaqp_post_check_matrix(msfaqp_post_reply *r);
/* A wait a server asked for, ms > 0 and under a day, in whole
 * milliseconds rounded up (never cut short): ceil() without libm, which
 * nothing else in a host that posts needs (it is 300 KiB of memory). */
static inline long msfaqp_post_ms_up(double ms)
{
    long whole = (long)ms;
    return whole + (ms > (double)whole);
}

/* --- matrix.c: what only the Matrix target needs ---------------------- */

/* The transaction id of a reply to event_id: "msfaq.r." and the event ID
 * with every byte outside A-Z a-z 0-9 . ~ - written as _XX (hex), so
 * different events give different ids and the id needs no escaping in a
 * URL.  out must have MSFAQP_POST_TXN_SIZE bytes. */
void msfaqp_post_matrix_txn_for(const char *event_id, char *out);
/* A fresh transaction id ("msfaq.n." + time + random), for a message
 * that replies to nothing. */
void msfaqp_post_matrix_txn_new(char *out, size_t size);
/* 1 when s may be used as a transaction id as it is. */
int msfaqp_post_matrix_txn_ok(const char *s);
/* base + /_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}. */
char *msfaqp_post_matrix_url(const char *base, const msfaqp_post_msg *m,
                             const char *txn, msfaq_error *err);
/* HTML-escapes & < > " ' (a new string, or NULL). */
char *msfaqp_post_html_escape(const char *s);
/* The HTML entity for byte c, or NULL when c stands for itself. */
const char *msfaqp_post_html_repl(unsigned char c);

/* --- text.c: escaping and cutting, all on UTF-8 ---------------------- */

/* Slack mrkdwn: & -> &amp; < -> &lt; > -> &gt;, nothing else.  Returns a
 * malloc'd string or NULL (out of memory). */
char *msfaqp_post_slack_escape(const char *s);
/* Markdown (Discord, Mattermost): backslash before the characters that
 * would format, link or mention, so the text shows literally. */
char *msfaqp_post_md_escape(const char *s);
/* Length in UTF-16 code units, how chat services count characters. */
size_t msfaqp_post_units(const char *s, size_t len);
/* The byte length of the longest clean prefix of s[0, len) of at most
 * max_units: whole characters, not inside an &entity; or after a lone
 * backslash, and at a space or line break when one is in the last
 * quarter.  Returns len when all of s fits. */
size_t msfaqp_post_cut(const char *s, size_t len, size_t max_units);
/* s cut to max_units including a trailing "..." (U+2026) when cut.  A new
 * string or NULL. */
char *msfaqp_post_truncate(const char *s, size_t max_units);

/* 1 when s is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int msfaqp_post_valid_utf8(const char *s);
char *msfaqp_post_strndup(const char *s, size_t n);

/* A growing string; ok goes false on the first failed allocation. */
typedef struct msfaqp_post_buf {
    char *s;
    size_t len, cap;
    int ok;
} msfaqp_post_buf;
void msfaqp_post_buf_add(msfaqp_post_buf *b, const char *s, size_t n);
void msfaqp_post_buf_puts(msfaqp_post_buf *b, const char *s);
void msfaqp_post_buf_printf(msfaqp_post_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- error.c --------------------------------------------------------- */

void msfaqp_post_error_clear(msfaq_error *err);
/* First error wins, as in libmsfaq. */
void msfaqp_post_error(msfaq_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replaces every occurrence of each non-NULL secret (n of them) in text
 * by "[redacted]", in place, keeping text NUL-terminated within size. */
void msfaqp_post_redact(char *text, size_t size, const char *const *secrets,
                   size_t n);
/* The same on a copy of any length; NULL when out of memory. */
char *msfaqp_post_redact_dup(const char *text, const char *const *secrets,
                        size_t n);

/* --- dead_letter.c --------------------------------------------------- */

/* Appends line (no newline; one is added) to path under an exclusive
 * flock, creating the file 0600.  Returns 0, or -1 with why filled. */
int msfaqp_post_dead_letter_append(const char *path, const char *line,
                              size_t len, char *why, size_t why_size);

#endif /* MSFAQ_POST_PRIVATE_H */
