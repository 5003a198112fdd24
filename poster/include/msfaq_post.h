/*
 * msfaq_post.h - post msfaq replies to chat services over HTTP (libcurl).
 *
 * libmsfaq-post turns one msfaq reply (a question plus the fields of an
 * msfaq_result) into the JSON a chat service expects, and delivers it:
 *
 *     target                     what is sent
 *     MSFAQ_POST_SLACK_WEBHOOK   Slack incoming webhook: mrkdwn text +
 *                                Block Kit (section, context naming the
 *                                article section)
 *     MSFAQ_POST_SLACK_API       Slack chat.postMessage with a bot token
 *                                (Authorization: Bearer), channel and
 *                                optional thread_ts; the reply's "ok" field
 *                                is checked
 *     MSFAQ_POST_DISCORD         Discord webhook: markdown content of at
 *                                most 2000 characters, mentions disabled
 *     MSFAQ_POST_MATTERMOST      Mattermost incoming webhook: markdown text
 *     MSFAQ_POST_JSON            any URL: the fields of `msfaq ask --json`
 *                                plus "question"
 *     MSFAQ_POST_MATRIX          Matrix client-server API with an access
 *                                token: an m.notice (plain body and
 *                                escaped HTML) in a room, as a rich reply
 *                                with m.mentions; PUT with a transaction
 *                                id derived from the event replied to, so
 *                                a retried or repeated send posts once
 *
 * Life cycle:
 *
 *     msfaq_post_global_init(NULL);               // once, in main()
 *     msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
 *     cfg.target = MSFAQ_POST_SLACK_API;
 *     cfg.token = getenv("MSFAQ_SLACK_BOT_TOKEN");
 *     cfg.dead_letter = "/var/lib/msfaq/dead-letter.jsonl";
 *     msfaq_error err;
 *     msfaq_poster *p = msfaq_post_open(&cfg, &err);
 *
 *     msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
 *     msg.question = question;
 *     msg.result = r;                   // from msfaq_ask()
 *     msg.channel = "C0123456";
 *     msg.thread_ts = parent_ts;        // NULL: not threaded
 *     msfaq_post_receipt rc = MSFAQ_POST_RECEIPT_INIT;
 *     if (msfaq_post_send(p, &msg, &rc, &err) < 0)
 *         log("%s%s", err.text, rc.dead_lettered ? " (dead-lettered)" : "");
 *     msfaq_post_close(p);
 *     msfaq_post_global_cleanup();                // once, at exit
 *
 * Delivery policy (all targets): 2xx is success (for chat.postMessage only
 * with "ok":true); 5xx, transport errors and time-outs are retried with
 * exponential backoff plus jitter, bounded by backoff_max_ms; HTTP 429 (and
 * 503 with Retry-After) waits Retry-After seconds, capped at
 * retry_after_max_ms, then retries; any other 4xx, a 3xx (redirects are not
 * followed), or "ok":false is a permanent refusal and is not retried
 * (chat.postMessage "ratelimited" and Slack's transient server errors are
 * retried; Matrix's 429 waits its retry_after_ms when the body has one).
 * Every attempt counts towards max_attempts.  Matrix retries reuse the
 * message's transaction id, so the homeserver posts it once even when an
 * attempt that timed out had in fact arrived.  A message that is
 * still not delivered is appended to the dead-letter file (when one is
 * configured) as one JSON line; see docs/posting.md for its format.
 *
 * Secrets: the token and the webhook URLs (every URL but the Slack API
 * base and a Matrix homeserver's, which are public) never appear in error text or in the dead-letter
 * file: messages name the target, not the URL, and any copy of the token,
 * the URL or its path that libcurl or a server's reply brings along is
 * replaced by "[redacted]" before the text is cut to length.
 *
 * TLS: certificate and host-name verification stay on for every https URL;
 * the library never turns them off.  ca_file may name another CA bundle.
 * Plain http:// URLs are accepted (local tests, internal servers) and are
 * not encrypted: do not send a token or a secret URL over them outside
 * 127.0.0.1.  Only the http and https protocols are enabled.
 *
 * Threads: msfaq_post_global_init() runs curl_global_init() once
 * (pthread_once); call it in main() before starting threads.  A poster is
 * internally locked: any number of threads may call msfaq_post_send() on
 * one poster, and the calls run one at a time (including their retry
 * waits), reusing one connection.  For parallel delivery open one poster
 * per thread.  msfaq_post_format() is thread-safe.  Hosts with threads
 * should ignore SIGPIPE (libcurl runs with CURLOPT_NOSIGNAL).
 *
 * Errors: as in msfaq.h.  Functions returning a pointer return NULL on
 * failure, functions returning int return MSFAQ_OK (0) or a negative code:
 * an enum msfaq_code or an enum msfaq_post_code below.  When an msfaq_error
 * pointer is given it is cleared on entry and filled on failure.  The
 * library never prints and never exits.
 *
 * Structs the caller passes in begin with a size member: initialise them
 * with their *_INIT macro (all other members zero, meaning "default").
 * New members are only ever appended, and the library reads only the
 * members that size covers, so a program built against an older header
 * keeps working with a newer library.
 */
#ifndef MSFAQ_POST_H
#define MSFAQ_POST_H

#include <stddef.h>

#include "msfaq.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MSFAQ_POST_VERSION_MAJOR 1
#define MSFAQ_POST_VERSION_MINOR 1
#define MSFAQ_POST_VERSION_PATCH 0
#define MSFAQ_POST_VERSION_STRING "1.1.0"
#define MSFAQ_POST_VERSION_HEX \
    ((MSFAQ_POST_VERSION_MAJOR << 16) | (MSFAQ_POST_VERSION_MINOR << 8) | \
     MSFAQ_POST_VERSION_PATCH)

/* Run-time version of the built library: "1.1.0" and its hex form.
 * 1.1 added MSFAQ_POST_MATRIX and the message and receipt members marked
 * "1.1" below. */
MSFAQ_API const char *msfaq_post_version(void);
MSFAQ_API unsigned msfaq_post_version_hex(void);

/* Result codes of this library, below the msfaq_code range.  The functions
 * here also return MSFAQ_EINVAL, MSFAQ_ENOMEM and MSFAQ_EIO. */
enum msfaq_post_code {
    MSFAQ_POST_ENETWORK = -101,   /* connect, DNS, TLS or transfer failed
                                     on the last attempt */
    MSFAQ_POST_ETIMEOUT = -102,   /* the last attempt timed out */
    MSFAQ_POST_EUNAVAILABLE = -103, /* the last attempt got 5xx or 429 */
    MSFAQ_POST_EREFUSED = -104,   /* permanent: 3xx or 4xx other than 429,
                                     or Slack "ok":false; not retried */
    MSFAQ_POST_EPROTOCOL = -105   /* the target's reply makes no sense
                                     (chat.postMessage not JSON) */
};

/* Static English text for any msfaq_code or msfaq_post_code; never NULL. */
MSFAQ_API const char *msfaq_post_strerror(int code);

/*
 * Open libcurl and run curl_global_init() exactly once per process
 * (pthread_once).  libcurl is loaded here, not when the host starts, so a
 * host that never posts never loads it.  Call it in main() before threads
 * start.  msfaq_post_open() calls it too, so forgetting is safe with
 * libcurl >= 7.84 (thread-safe global init), but the early call is the
 * documented practice.  Returns MSFAQ_OK, or MSFAQ_EINVAL with err filled
 * when libcurl cannot be opened or initialised (later calls give the same
 * answer).
 */
MSFAQ_API int msfaq_post_global_init(msfaq_error *err);

/* curl_global_cleanup(), once at exit after every poster is closed.  No
 * poster may be opened afterwards. */
MSFAQ_API void msfaq_post_global_cleanup(void);

/* --------------------------------------------------------------- targets */

/* Where a message goes.  New targets (Matrix) are appended. */
enum msfaq_post_target {
    MSFAQ_POST_SLACK_WEBHOOK = 1,  /* "slack-webhook" */
    MSFAQ_POST_SLACK_API = 2,      /* "slack": chat.postMessage */
    MSFAQ_POST_DISCORD = 3,        /* "discord" */
    MSFAQ_POST_MATTERMOST = 4,     /* "mattermost" */
    MSFAQ_POST_JSON = 5,           /* "json" */
    MSFAQ_POST_MATRIX = 6          /* "matrix" (1.1) */
};

/* The target's name as the msfaq-post --to option spells it, or NULL for
 * an unknown target.  Static string. */
MSFAQ_API const char *msfaq_post_target_name(int target);

/* The target called name ("slack-webhook", "slack", "discord",
 * "mattermost", "json", "matrix"), or MSFAQ_EINVAL when there is none. */
MSFAQ_API int msfaq_post_target_from_name(const char *name);

/* ---------------------------------------------------------------- config */

/* Default time limits and retry policy (used where a member is 0). */
#define MSFAQ_POST_DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define MSFAQ_POST_DEFAULT_TIMEOUT_MS 15000L
#define MSFAQ_POST_DEFAULT_MAX_ATTEMPTS 4
#define MSFAQ_POST_DEFAULT_BACKOFF_MS 500L
#define MSFAQ_POST_DEFAULT_BACKOFF_MAX_MS 8000L
#define MSFAQ_POST_DEFAULT_RETRY_AFTER_MAX_MS 60000L
#define MSFAQ_POST_DEFAULT_SLACK_API_URL "https://slack.com/api"
/* Discord refuses content longer than this many characters. */
#define MSFAQ_POST_DISCORD_MAX 2000
/* Matrix: the answer is cut to this many characters in body and in
 * formatted_body, which keeps an event well under the homeserver's
 * 65536-byte limit. */
#define MSFAQ_POST_MATRIX_TEXT_MAX 8000

/*
 * How to reach one target.  msfaq_post_open() copies every string, so the
 * config may be freed or changed once it returns.
 */
typedef struct msfaq_post_config {
    size_t size;               /* sizeof(msfaq_post_config): use
                                  MSFAQ_POST_CONFIG_INIT */
    int target;                /* enum msfaq_post_target */
    const char *url;           /* webhook URL (secret), or for
                                  MSFAQ_POST_SLACK_API the API base URL
                                  (NULL: https://slack.com/api; the library
                                  appends "/chat.postMessage"), or for
                                  MSFAQ_POST_MATRIX the homeserver's base
                                  URL (required; "https://matrix.org": the
                                  library appends /_matrix/client/v3/...).
                                  http:// or https:// only. */
    const char *token;         /* MSFAQ_POST_SLACK_API: the bot token;
                                  MSFAQ_POST_MATRIX: the access token
                                  (an application service's as_token
                                  too).  Secret; required by those two;
                                  ignored otherwise */
    const char *dead_letter;   /* file that undelivered messages are
                                  appended to, or NULL for none.  Its
                                  folder must exist; the file is created
                                  mode 0600 (an existing file is tightened
                                  to 0600). */
    const char *ca_file;       /* CA bundle to verify https peers with, or
                                  NULL for the system's */
    const char *user_agent;    /* NULL: "msfaq-post/VERSION" */
    long connect_timeout_ms;   /* 0: MSFAQ_POST_DEFAULT_CONNECT_TIMEOUT_MS */
    long timeout_ms;           /* whole request, 0: ..._DEFAULT_TIMEOUT_MS */
    int max_attempts;          /* requests per message, 1 = no retry;
                                  0: MSFAQ_POST_DEFAULT_MAX_ATTEMPTS */
    long backoff_ms;           /* wait before the 2nd attempt, doubled for
                                  each further one; 0: ..._BACKOFF_MS */
    long backoff_max_ms;       /* upper bound of one backoff wait, jitter
                                  included; 0: ..._BACKOFF_MAX_MS */
    long retry_after_max_ms;   /* cap on a Retry-After wait; 0:
                                  ..._RETRY_AFTER_MAX_MS */
    unsigned flags;            /* must be 0 (reserved) */
} msfaq_post_config;

#define MSFAQ_POST_CONFIG_INIT {sizeof(msfaq_post_config), 0, NULL, NULL, \
    NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0u}

/* --------------------------------------------------------------- message */

/*
 * One reply to post.  All strings are UTF-8 and borrowed: they must stay
 * valid during the call that receives the message; nothing is kept.
 *
 * The reply comes either from result (an msfaq_ask() result: its kind,
 * intent, confidence, answer, section and follow-ups are used and the
 * fields below it are ignored) or, when result is NULL, from the fields
 * kind .. follow_up_count (answer is then required).
 */
typedef struct msfaq_post_message {
    size_t size;               /* sizeof(msfaq_post_message): use
                                  MSFAQ_POST_MESSAGE_INIT */
    const char *question;      /* the question asked, or NULL */
    const msfaq_result *result; /* the reply, or NULL: use the fields */
    int kind;                  /* enum msfaq_kind */
    const char *intent;        /* intent id; NULL or "" for none */
    double confidence;         /* in [0, 1] */
    const char *answer;        /* the reply text */
    const char *section;       /* article section heading, or NULL */
    const char *const *follow_ups; /* follow_up_count questions, or NULL */
    size_t follow_up_count;
    /* target options */
    const char *channel;       /* MSFAQ_POST_SLACK_API: channel ID
                                  (required); MSFAQ_POST_MATTERMOST: channel
                                  name overriding the webhook's (optional);
                                  MSFAQ_POST_MATRIX: the room ID
                                  ("!abc:example.org"; required to send);
                                  ignored by the other targets */
    const char *thread_ts;     /* MSFAQ_POST_SLACK_API: the parent
                                  message's ts to reply in its thread;
                                  MSFAQ_POST_MATRIX: the thread root's
                                  event ID when the question was asked in
                                  a thread (m.thread); or NULL; ignored by
                                  the other targets */
    /* 1.1: MSFAQ_POST_MATRIX only; ignored by the other targets */
    const char *reply_to;      /* event ID of the question: the message is
                                  a rich reply to it (m.in_reply_to), and
                                  the transaction id is derived from it,
                                  so sending the reply to one event twice
                                  (a retry, a restarted bot) posts once.
                                  NULL: not a reply. */
    const char *reply_sender;  /* user ID of the question's sender,
                                  listed in m.mentions (notifies them), or
                                  NULL: m.mentions is {} (nobody) */
    const char *txn_id;        /* the transaction id, overriding the one
                                  derived from reply_to; NULL: derived, or
                                  a new one per msfaq_post_send() call when
                                  there is no reply_to.  Characters
                                  A-Z a-z 0-9 . _ ~ - only, at most 255. */
} msfaq_post_message;

#define MSFAQ_POST_MESSAGE_INIT {sizeof(msfaq_post_message), NULL, NULL, 0, \
    NULL, 0.0, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL}

/*
 * The JSON body msfaq_post_send() would post for msg to target, as a
 * NUL-terminated string the caller frees with msfaq_post_free().  No
 * network access; useful for tests, dry runs, and hosts that answer with
 * the body themselves (a Slack slash command's response).  For
 * MSFAQ_POST_MATRIX it is the event content (the room and transaction id
 * go in the URL).  Returns NULL
 * with err filled on failure: MSFAQ_EINVAL (unknown target, no answer,
 * chat.postMessage without channel, bad size), MSFAQ_ENOMEM.  Thread-safe.
 */
MSFAQ_API char *msfaq_post_format(int target, const msfaq_post_message *msg,
                                  msfaq_error *err);

/* Free memory returned by this library.  NULL is a no-op. */
MSFAQ_API void msfaq_post_free(void *p);

/* ---------------------------------------------------------------- poster */

typedef struct msfaq_poster msfaq_poster;  /* opaque; one target */

/*
 * Open a poster for cfg->target.  Checks the config (a URL of http:// or
 * https://, a token for MSFAQ_POST_SLACK_API and MSFAQ_POST_MATRIX, a
 * homeserver URL for MSFAQ_POST_MATRIX, non-negative limits, flags 0)
 * and makes the libcurl handle; nothing is sent.  Returns a poster to free
 * with msfaq_post_close(), or NULL with err filled: MSFAQ_EINVAL (bad or
 * missing setting; the text never quotes a secret), MSFAQ_ENOMEM.
 * Thread-safe.
 */
MSFAQ_API msfaq_poster *msfaq_post_open(const msfaq_post_config *cfg,
                                        msfaq_error *err);

/* Free a poster and wipe its copies of the token and URL.  NULL is a
 * no-op.  No msfaq_post_send() may be running on it. */
MSFAQ_API void msfaq_post_close(msfaq_poster *p);

/* What happened to one message.  Filled by msfaq_post_send() on success
 * and on failure. */
typedef struct msfaq_post_receipt {
    size_t size;               /* sizeof(msfaq_post_receipt): use
                                  MSFAQ_POST_RECEIPT_INIT */
    int attempts;              /* HTTP requests made (>= 1 once sending
                                  started) */
    long http_status;          /* status of the last reply; 0 if none */
    int dead_lettered;         /* 1: appended to the dead-letter file */
    char ts[64];               /* MSFAQ_POST_SLACK_API: the posted
                                  message's ts (thread on it); else "" */
    char channel[64];          /* MSFAQ_POST_SLACK_API: channel ID Slack
                                  reports; else "" */
    /* 1.1 */
    char event_id[256];        /* MSFAQ_POST_MATRIX: the event ID the
                                  homeserver gave the message (the same
                                  one again for a repeated transaction);
                                  else "" */
    char txn_id[256];          /* MSFAQ_POST_MATRIX: the transaction id
                                  used; else "" */
} msfaq_post_receipt;

#define MSFAQ_POST_RECEIPT_INIT {sizeof(msfaq_post_receipt), 0, 0, 0, "", \
    "", "", ""}

/*
 * Format msg for the poster's target and deliver it, retrying as described
 * at the top of this file; may block for up to about max_attempts *
 * (timeout_ms + the longest wait).  out may be NULL.  Returns MSFAQ_OK
 * when the target accepted the message.  Otherwise returns a negative
 * code with err filled (one line naming the target, the HTTP status and
 * the start of the reply body or the libcurl error; secrets redacted):
 * MSFAQ_EINVAL or MSFAQ_ENOMEM before anything is sent (nothing is
 * dead-lettered), or MSFAQ_POST_ENETWORK, MSFAQ_POST_ETIMEOUT,
 * MSFAQ_POST_EUNAVAILABLE, MSFAQ_POST_EREFUSED, MSFAQ_POST_EPROTOCOL,
 * after which the message is appended to the dead-letter file and
 * out->dead_lettered set to 1; when that append fails too, err->text says
 * so and out->dead_lettered stays 0.  Thread-safe: calls on one poster are
 * serialised.
 */
MSFAQ_API int msfaq_post_send(msfaq_poster *p, const msfaq_post_message *msg,
                              msfaq_post_receipt *out, msfaq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* MSFAQ_POST_H */
