/*
 * msfaq_post_cli.c - the msfaq-post program ("msfaq post ...").
 *
 * Asks one question with libmsfaq and posts the reply with libmsfaq-post.
 * Secrets (webhook URLs, the Slack bot token, the Matrix access token)
 * come only from the environment, directly or from a file named by VAR_FILE, never from the
 * command line, where any user could read them in ps or /proc.  Exit
 * status: 0 the target accepted the message; 3 it did not, and the
 * message was saved in the dead-letter file; 2 bad usage, bad question,
 * or a missing or unsafe secret; 1 anything else (the KB does not open,
 * or the message could not be saved either).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env_secret.h"
#include "msfaq.h"
#include "msfaq_post.h"
#include "program.h"

#define EXIT_USAGE 2
#define EXIT_DEAD_LETTERED 3

static const char usage_text[] =
    "usage: msfaq post --to TARGET [OPTIONS] QUESTION\n"
    "\n"
    "Answers QUESTION from the article \"Immune Therapy Options for MS\n"
    "Management\" and posts the reply to a chat service.  General\n"
    "information, not medical advice.\n"
    "\n"
    "targets and the environment variable holding their secret:\n"
    "  slack-webhook  Slack incoming webhook    MSFAQ_SLACK_WEBHOOK_URL\n"
    "  slack          Slack chat.postMessage    MSFAQ_SLACK_BOT_TOKEN\n"
    "  discord        Discord webhook           MSFAQ_DISCORD_WEBHOOK_URL\n"
    "  mattermost     Mattermost webhook        MSFAQ_MATTERMOST_WEBHOOK_URL\n"
    "  json           the reply as JSON, to any URL   MSFAQ_WEBHOOK_URL\n"
    "  matrix         Matrix room (m.notice)    MSFAQ_MATRIX_ACCESS_TOKEN\n"
    "                 and MSFAQ_MATRIX_HOMESERVER (https://matrix.example.org)\n"
    "\n"
    "options:\n"
    "  --to TARGET          where to post (required)\n"
    "  --channel C          slack: channel ID (required);\n"
    "                       mattermost: channel name (optional)\n"
    "  --thread TS          slack: reply in the thread of message TS;\n"
    "                       matrix: the thread root's event ID\n"
    "  --room ROOM          matrix: the room ID, !...:server (required)\n"
    "  --reply-to EVENT     matrix: answer as a reply to event EVENT; the\n"
    "                       transaction id comes from it, so the same reply\n"
    "                       is posted once however often it is sent\n"
    "  --mention USER       matrix: mention (notify) user ID USER\n"
    "  --txn-id ID          matrix: the transaction id to use\n"
    "  --kb DIR             use the knowledge base in DIR\n"
    "  --json               print the outcome as one JSON line\n"
    "  --dry-run            print the body that would be posted; send\n"
    "                       nothing, need no secret\n"
    "  --timeout SEC        limit for one request (default 15)\n"
    "  --connect-timeout SEC  limit for connecting (default 5)\n"
    "  --attempts N         requests per message, 1 = no retry (default 4)\n"
    "  -h, --help           this help;  -V, --version  the version\n"
    "\n"
    "Secrets are read only from the environment: VAR, or VAR_FILE naming a\n"
    "file that only its owner may read (mode 0600 or 0400).  Also:\n"
    "  MSFAQ_SLACK_API_URL  Slack API base (default https://slack.com/api)\n"
    "  MSFAQ_MATRIX_HOMESERVER  the Matrix homeserver's URL (or _FILE)\n"
    "  MSFAQ_DEAD_LETTER    file for undelivered messages (default\n"
    "                       $XDG_STATE_HOME/msfaq/dead-letter.jsonl or\n"
    "                       ~/.local/state/msfaq/dead-letter.jsonl)\n"
    "  MSFAQ_CA_FILE        CA bundle for https (default: the system's)\n"
    "\n"
    "exit status: 0 posted; 3 not delivered, saved to the dead-letter file;\n"
    "2 bad usage or missing secret; 1 other errors.\n";

#define usage_error(...) \
    program_usage_error("msfaq-post", "msfaq post", __VA_ARGS__)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "msfaq-post: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ------------------------------------------------------------ options */

typedef struct options {
    int target;
    const char *target_name;
    const char *channel;
    const char *thread;
    const char *room;
    const char *reply_to;
    const char *mention;
    const char *txn_id;
    const char *kb;
    const char *question;
    bool json;
    bool dry_run;
    long timeout_ms;
    long connect_timeout_ms;
    int attempts;
} options;

/* Seconds (may have a fraction) as milliseconds; -1 when not a positive
 * number of at most a day. */
static long parse_seconds(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 86400)
        return -1;
    long ms = (long)(v * 1000.0 + 0.5);
    return ms > 0 ? ms : 1;
}

/* The value of option argv[*i] ("--name VALUE" or "--name=VALUE"), or
 * NULL when argv[*i] is not that option.  *missing is set when the value
 * is absent. */
static const char *opt_value(int argc, char **argv, int *i, const char *name,
                             bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* Returns -1 to go on, or an exit status (help, version, usage error). */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    bool only_args = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        bool missing = false;
        if (only_args || a[0] != '-' || a[1] == '\0') {
            if (o->question)
                return usage_error("give the question as one argument "
                                   "(quote it): unexpected '%s'", a);
            o->question = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_args = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("msfaq-post %s (libmsfaq %s)\n", msfaq_post_version(),
                   msfaq_version());
            return 0;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if ((v = opt_value(argc, argv, &i, "--to", &missing))) {
            o->target = msfaq_post_target_from_name(v);
            if (o->target < 0)
                return usage_error("unknown target '%s' (slack-webhook, "
                                   "slack, discord, mattermost, json, "
                                   "matrix)", v);
            o->target_name = v;
        } else if ((v = opt_value(argc, argv, &i, "--channel", &missing))) {
            o->channel = v;
        } else if ((v = opt_value(argc, argv, &i, "--thread", &missing))) {
            o->thread = v;
        } else if ((v = opt_value(argc, argv, &i, "--room", &missing))) {
            o->room = v;
        } else if ((v = opt_value(argc, argv, &i, "--reply-to", &missing))) {
            o->reply_to = v;
        } else if ((v = opt_value(argc, argv, &i, "--mention", &missing))) {
            o->mention = v;
        } else if ((v = opt_value(argc, argv, &i, "--txn-id", &missing))) {
            o->txn_id = v;
        } else if ((v = opt_value(argc, argv, &i, "--kb", &missing))) {
            o->kb = v;
        } else if ((v = opt_value(argc, argv, &i, "--timeout", &missing))) {
            if ((o->timeout_ms = parse_seconds(v)) < 0)
                return usage_error("--timeout wants seconds, not '%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--connect-timeout",
                                  &missing))) {
            if ((o->connect_timeout_ms = parse_seconds(v)) < 0)
                return usage_error("--connect-timeout wants seconds, not "
                                   "'%s'", v);
        } else if ((v = opt_value(argc, argv, &i, "--attempts", &missing))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (end == v || *end || n < 1 || n > 100)
                return usage_error("--attempts wants a number from 1 to "
                                   "100, not '%s'", v);
            o->attempts = (int)n;
        } else if (missing) {
            return usage_error("%s needs a value", a);
        } else {
            return usage_error("unknown option '%s'", a);
        }
    }
    if (!o->target_name)
        return usage_error("say where to post with --to (slack-webhook, "
                           "slack, discord, mattermost, json, matrix)");
    if (!o->question)
        return usage_error("no question given");
    const char *q = o->question;
    while (*q == ' ' || *q == '\t')
        q++;
    if (!*q)
        return usage_error("empty question");
    if (o->target == MSFAQ_POST_SLACK_API && (!o->channel || !*o->channel))
        return usage_error("--to slack needs --channel (a channel ID)");
    if (o->channel && o->target != MSFAQ_POST_SLACK_API &&
        o->target != MSFAQ_POST_MATTERMOST)
        return usage_error("--channel applies to --to slack and "
                           "mattermost only");
    bool matrix = o->target == MSFAQ_POST_MATRIX;
    if (o->thread && o->target != MSFAQ_POST_SLACK_API && !matrix)
        return usage_error("--thread applies to --to slack and matrix only");
    if (!matrix && (o->room || o->reply_to || o->mention || o->txn_id))
        return usage_error("--room, --reply-to, --mention and --txn-id "
                           "apply to --to matrix only");
    if (matrix && (!o->room || o->room[0] != '!'))
        return usage_error("--to matrix needs --room with a room ID "
                           "(!abc:example.org, or !abc in newer rooms; in "
                           "Element: Room settings, Advanced)");
    return -1;
}

/* ------------------------------------------------------------ secrets */

/* The environment variable holding target's secret. */
static const char *secret_var(int target)
{
    switch (target) {
    case MSFAQ_POST_SLACK_WEBHOOK: return "MSFAQ_SLACK_WEBHOOK_URL";
    case MSFAQ_POST_SLACK_API: return "MSFAQ_SLACK_BOT_TOKEN";
    case MSFAQ_POST_DISCORD: return "MSFAQ_DISCORD_WEBHOOK_URL";
    case MSFAQ_POST_MATTERMOST: return "MSFAQ_MATTERMOST_WEBHOOK_URL";
    case MSFAQ_POST_MATRIX: return "MSFAQ_MATRIX_ACCESS_TOKEN";
    default: return "MSFAQ_WEBHOOK_URL";
    }
}

/* The secret of target from VAR or VAR_FILE (env_secret.c); NULL after
 * printing why. */
static char *get_secret(const char *var)
{
    return msfaq_env_get("msfaq-post", var, true, true, NULL);
}

/* ------------------------------------------------------- dead letters */

/* The dead-letter file: MSFAQ_DEAD_LETTER, or under $XDG_STATE_HOME, or
 * ~/.local/state.  A new string, or NULL when no home is known. */
static char *dead_letter_path(void)
{
    return msfaq_env_state_path("MSFAQ_DEAD_LETTER", "dead-letter.jsonl");
}

/* ---------------------------------------------------------------- main */

static void print_outcome_json(const options *o, const msfaq_result *r,
                               int rc, const msfaq_post_receipt *rec,
                               const msfaq_error *err, const char *dl)
{
    json_error_t je;
    json_t *reply = json_loads(msfaq_result_json(r), 0, &je);
    json_t *out = json_pack(
        "{s:s,s:b,s:b,s:s?,s:i,s:I,s:s?,s:s?,s:s?,s:s?,s:s?,s:o?}",
        "target", o->target_name, "delivered", rc == MSFAQ_OK,
        "dead_lettered", rec->dead_lettered != 0, "dead_letter",
        rec->dead_lettered ? dl : NULL, "attempts", rec->attempts,
        "http_status", (json_int_t)rec->http_status, "ts",
        rec->ts[0] ? rec->ts : NULL, "channel",
        rec->channel[0] ? rec->channel : NULL, "event_id",
        rec->event_id[0] ? rec->event_id : NULL, "txn_id",
        rec->txn_id[0] ? rec->txn_id : NULL, "error",
        rc == MSFAQ_OK ? NULL : err->text, "reply", reply);
    char *s = out ? json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(4))
                  : NULL;
    printf("%s\n", s ? s : "{\"error\":\"out of memory\"}");
    free(s);
    json_decref(out);
}

int main(int argc, char **argv)
{
    options o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0)
        return status;
    /* libcurl runs with CURLOPT_NOSIGNAL: a closed peer must not kill us */
    signal(SIGPIPE, SIG_IGN);

    char *secret = NULL, *dl = NULL, *homeserver = NULL;
    msfaq_kb *kb = NULL;
    msfaq_result *r = NULL;
    msfaq_poster *p = NULL;
    msfaq_error err;
    status = 1;

    if (!o.dry_run && !(secret = get_secret(secret_var(o.target)))) {
        status = EXIT_USAGE;
        goto done;
    }
    /* the homeserver's URL is not a secret, but may come from a file */
    if (!o.dry_run && o.target == MSFAQ_POST_MATRIX &&
        !(homeserver = msfaq_env_get("msfaq-post", "MSFAQ_MATRIX_HOMESERVER",
                                     false, true, NULL))) {
        status = EXIT_USAGE;
        goto done;
    }
    if (!(kb = msfaq_kb_open(o.kb, 0, &err))) {
        if (err.file[0] && err.line > 0)
            fail("%s:%d:%d: %s", err.file, err.line, err.column, err.text);
        else if (err.file[0])
            fail("%s: %s", err.file, err.text);
        else
            fail("%s", err.text);
        goto done;
    }
    if (msfaq_ask(kb, o.question, 0, &r, &err) < 0) {
        fail("%s", err.text);
        status = err.code == MSFAQ_ENOMEM ? 1 : EXIT_USAGE;
        goto done;
    }

    msfaq_post_message msg = MSFAQ_POST_MESSAGE_INIT;
    msg.question = o.question;
    msg.result = r;
    msg.channel = o.target == MSFAQ_POST_MATRIX ? o.room : o.channel;
    msg.thread_ts = o.thread;
    msg.reply_to = o.reply_to;
    msg.reply_sender = o.mention;
    msg.txn_id = o.txn_id;

    if (o.dry_run) {
        char *body = msfaq_post_format(o.target, &msg, &err);
        if (!body) {
            fail("%s", err.text);
            status = err.code == MSFAQ_EINVAL ? EXIT_USAGE : 1;
            goto done;
        }
        printf("%s\n", body);
        msfaq_post_free(body);
        status = 0;
        goto done;
    }

    if (msfaq_post_global_init(&err) != MSFAQ_OK) {
        fail("%s", err.text);
        goto done;
    }
    dl = dead_letter_path();
    msfaq_post_config cfg = MSFAQ_POST_CONFIG_INIT;
    cfg.target = o.target;
    if (o.target == MSFAQ_POST_SLACK_API) {
        cfg.token = secret;
        cfg.url = getenv("MSFAQ_SLACK_API_URL");
    } else if (o.target == MSFAQ_POST_MATRIX) {
        cfg.token = secret;
        cfg.url = homeserver;
    } else {
        cfg.url = secret;
    }
    cfg.dead_letter = dl;
    cfg.ca_file = getenv("MSFAQ_CA_FILE");
    cfg.timeout_ms = o.timeout_ms;
    cfg.connect_timeout_ms = o.connect_timeout_ms;
    cfg.max_attempts = o.attempts;
    if (!(p = msfaq_post_open(&cfg, &err))) {
        fail("%s", err.text);
        status = err.code == MSFAQ_EINVAL ? EXIT_USAGE : 1;
        goto done;
    }
    msfaq_post_receipt rec = MSFAQ_POST_RECEIPT_INIT;
    int rc = msfaq_post_send(p, &msg, &rec, &err);
    if (o.json)
        print_outcome_json(&o, r, rc, &rec, &err, dl);
    if (rc == MSFAQ_OK) {
        if (!o.json)
            printf("posted to %s (HTTP %ld, %d attempt%s%s%s)\n",
                   o.target_name, rec.http_status, rec.attempts,
                   rec.attempts == 1 ? "" : "s",
                   rec.event_id[0] ? ", event " : "", rec.event_id);
        status = 0;
    } else if (rec.dead_lettered) {
        fail("%s; saved to the dead-letter file %s", err.text, dl);
        status = EXIT_DEAD_LETTERED;
    } else {
        fail("%s%s", err.text,
             dl ? "" : "; no dead-letter file (set MSFAQ_DEAD_LETTER)");
        status = rc == MSFAQ_EINVAL ? EXIT_USAGE : 1;
    }
done:
    msfaq_post_close(p);
    msfaq_post_global_cleanup();
    msfaq_result_free(r);
    msfaq_kb_close(kb);
    msfaq_env_free(secret);
    msfaq_env_free(homeserver);
    free(dl);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fail("writing output: %s", strerror(errno));
        return 1;
    }
    return status;
}
