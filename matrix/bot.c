/*
 * bot.c - msfaq-matrix-bot ("msfaq matrix-bot"): a Matrix bot for people
 * who have only an access token.
 *
 * It answers, from the article, the messages that mention it and every
 * message in a direct room (it and one other person), as m.notice replies
 * (libmsfaq-post's Matrix target); it joins the rooms it is invited to.
 * The work is in bot_sync.c; this file reads the options and settings,
 * opens everything, handles signals and shuts down.
 *
 * Signals: the handlers only set flags.  SIGINT and SIGTERM stop the bot
 * (a /sync long poll in progress is cut within a second through libcurl's
 * progress callback; a reply being sent is finished first); SIGHUP
 * reloads the knowledge base between two rounds of the loop.  The bot is
 * one thread, so the swap can never happen under an answer in progress:
 * the new KB is opened and checked to the side, and only when that
 * succeeds is the old one closed and replaced (as serve/kbref.c does with
 * reference counts for its many threads).
 *
 * Exit status: 0 after a stop signal, 1 when it cannot go on (the token
 * is refused, the KB or the state file cannot be opened), 2 for bad usage
 * or a missing setting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bot.h"
#include "env_secret.h"
#include "program.h"

#define EXIT_USAGE 2

volatile sig_atomic_t bot_stop_signal;
volatile sig_atomic_t bot_reload_signal;

static const char usage_text[] =
    "usage: msfaq matrix-bot [--kb DIR] [--state FILE] [OPTIONS]\n"
    "   or: msfaq-matrix-bot [...]\n"
    "\n"
    "A Matrix bot answering questions about immune therapy for multiple\n"
    "sclerosis from the article \"Immune Therapy Options for MS\n"
    "Management\".  It joins the rooms it is invited to and answers\n"
    "messages that mention it, and every message in a direct room, with\n"
    "an m.notice reply.  General information, not medical advice.\n"
    "\n"
    "settings (environment; NAME_FILE=path reads the value from a file):\n"
    "  MSFAQ_MATRIX_HOMESERVER     https://matrix.example.org (required)\n"
    "  MSFAQ_MATRIX_ACCESS_TOKEN   the bot account's access token (secret;\n"
    "                              its _FILE must be mode 0600 or 0400)\n"
    "  MSFAQ_MATRIX_STATE          the state file (default\n"
    "                              ~/.local/state/msfaq/matrix-bot.json)\n"
    "  MSFAQ_DEAD_LETTER           replies that could not be delivered\n"
    "                              (default ~/.local/state/msfaq/\n"
    "                              dead-letter.jsonl)\n"
    "  MSFAQ_CA_FILE               CA bundle for https (default: system)\n"
    "\n"
    "options:\n"
    "  --kb DIR              knowledge base folder (default: built in);\n"
    "                        SIGHUP reloads it\n"
    "  --state FILE          the state file (overrides MSFAQ_MATRIX_STATE)\n"
    "  --dead-letter FILE    overrides MSFAQ_DEAD_LETTER\n"
    "  --invite-from WHO     accept invites only from WHO: a user ID\n"
    "                        (@alice:example.org) or a server\n"
    "                        (example.org); repeatable; default anyone\n"
    "  --sync-timeout SEC    long-poll wait (default 30)\n"
    "  --timeline-limit N    events per room per sync (default 50)\n"
    "  -h, --help            this help;  -V, --version  the version\n"
    "\n"
    "It prints \"syncing as USER\" on stdout once it is caught up; the log\n"
    "is on stderr.  SIGINT or SIGTERM stops it.  See docs/matrix.md.\n";

void bot_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    program_log(BOT_NAME, fmt, ap);
    va_end(ap);
}

#define usage_error(...) \
    program_usage_error(BOT_NAME, "msfaq matrix-bot", __VA_ARGS__)

/* ------------------------------------------------------------ options */

typedef struct options {
    const char *state;
    const char *dead_letter;
} options;

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, bot *b, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (!strncmp(a, "--", 2) && eq && (size_t)(eq - a) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
            printf(BOT_NAME " %s (libmsfaq %s, libmsfaq-post %s)\n",
                   MSFAQ_VERSION_STRING, msfaq_version(),
                   msfaq_post_version());
            return 0;
        }
        static const char *const with_value[] = {
            "--kb", "--state", "--dead-letter", "--invite-from",
            "--sync-timeout", "--timeline-limit"};
        bool known = false;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            known |= !strcmp(name, with_value[k]);
        if (!known)
            return usage_error("unknown option '%s'", a);
        if (!v) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", name);
            v = argv[++i];
        }
        long n;
        if (!strcmp(name, "--kb")) {
            b->kb_dir = v;
        } else if (!strcmp(name, "--state")) {
            o->state = v;
        } else if (!strcmp(name, "--dead-letter")) {
            o->dead_letter = v;
        } else if (!strcmp(name, "--invite-from")) {
            if (!*v || strchr(v, ' '))
                return usage_error("--invite-from wants a user ID "
                                   "(@name:server) or a server name");
            char **list = realloc(b->invite_from,
                                  (b->n_invite_from + 1) * sizeof *list);
            if (!list)
                return 1;
            b->invite_from = list;
            list[b->n_invite_from++] = (char *)v;
        } else if (!strcmp(name, "--sync-timeout")) {
            if (!parse_long(v, 1, 300, &n))
                return usage_error("--sync-timeout takes 1 to 300 seconds");
            b->sync_timeout_ms = n * 1000;
        } else {
            if (!parse_long(v, 1, 1000, &n))
                return usage_error("--timeline-limit takes 1 to 1000");
            b->timeline_limit = (int)n;
        }
    }
    return -1;
}

/* ------------------------------------------------------------ signals */

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        bot_reload_signal = 1;
    else
        bot_stop_signal = sig;
}

static void set_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: a sleep ends at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* libcurl runs with CURLOPT_NOSIGNAL */
}

/* libcurl's abort check: a stop ends any call; a reload only the long
 * poll (a call made to answer a message is let finish). */
static int should_abort(void *ud)
{
    const bot *b = ud;
    return bot_stop_signal || (b->in_poll && bot_reload_signal);
}

/* ---------------------------------------------------------------- KB */

static void log_kb_error(const char *what, const msfaq_error *e)
{
    if (e->file[0] && e->line > 0)
        bot_log("%s: %s:%d:%d: %s", what, e->file, e->line, e->column,
                e->text);
    else if (e->file[0])
        bot_log("%s: %s: %s", what, e->file, e->text);
    else
        bot_log("%s: %s", what, e->text);
}

void bot_reload(bot *b)
{
    msfaq_error err;
    msfaq_kb *fresh = msfaq_kb_open(b->kb_dir, 0, &err);
    if (!fresh) {
        log_kb_error("reload failed, still answering from the previous "
                     "knowledge base", &err);
        return;
    }
    msfaq_kb *old = b->kb;
    b->kb = fresh;      /* no answer is running: this is the only thread */
    msfaq_kb_close(old);
    bot_log("reloaded the knowledge base from %s (%zu intents)",
            msfaq_kb_source(fresh), msfaq_kb_intent_count(fresh));
}

/* ---------------------------------------------------------------- main */

/* Asks the homeserver who the token belongs to, waiting out network
 * trouble (the homeserver may still be starting).  Returns 0, 1 (fatal,
 * logged) or -1 (stopped by a signal). */
static int who_am_i(bot *b, char **user_id)
{
    for (int n = 1;; n++) {
        mx_reply r;
        if (mx_whoami(b->mx, user_id, &r) == 0) {
            mx_reply_clear(&r);
            return 0;
        }
        if (r.aborted || bot_stop_signal) {
            mx_reply_clear(&r);
            return -1;
        }
        if (!mx_reply_transient(&r) || n >= 8) {
            bot_log("cannot learn who the access token belongs to "
                    "(whoami): %s%s", r.error,
                    mx_reply_bad_token(&r)
                        ? "; log in again for a new token (docs/matrix.md)"
                        : "");
            mx_reply_clear(&r);
            return 1;
        }
        long ms = r.retry_after_ms > 0 ? r.retry_after_ms
                                       : 1000L << (n < 6 ? n - 1 : 5);
        bot_log("whoami failed (%s); trying again in %ld s", r.error,
                ms / 1000);
        mx_reply_clear(&r);
        for (long t = 0; t < ms && !bot_stop_signal; t += 100) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

int main(int argc, char **argv)
{
    bot b;
    memset(&b, 0, sizeof b);
    b.sync_timeout_ms = 30000;
    b.timeline_limit = 50;
    b.state.lock_fd = -1;
    options o = {0};
    int status = parse_args(argc, argv, &b, &o);
    if (status >= 0) {
        free(b.invite_from);
        return status;
    }
    status = EXIT_USAGE;
    char *hs = NULL, *token = NULL, *state_path = NULL, *dl = NULL;
    char *user_id = NULL, *name = NULL;
    bool post_init = false;
    char err[512];

    if (!(hs = msfaq_env_get(BOT_NAME, "MSFAQ_MATRIX_HOMESERVER", false,
                             true, NULL)) ||
        !(token = msfaq_env_get(BOT_NAME, "MSFAQ_MATRIX_ACCESS_TOKEN", true,
                                true, NULL)))
        goto done;
    status = 1;
    set_signals();
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) < 0) {
        /* time and pid will do for spreading retries */
    }
    srandom(seed);

    msfaq_error kerr;
    if (!(b.kb = msfaq_kb_open(b.kb_dir, 0, &kerr))) {
        log_kb_error("cannot open the knowledge base", &kerr);
        goto done;
    }
    if (msfaq_post_global_init(&kerr) < 0) {
        bot_log("%s", kerr.text);
        goto done;
    }
    post_init = true;
    mx_client_config mc = {
        .homeserver = hs,
        .token = token,
        .user_agent = BOT_NAME "/" MSFAQ_VERSION_STRING,
        .ca_file = getenv("MSFAQ_CA_FILE"),
        .abort_fn = should_abort,
        .abort_ud = &b,
    };
    if (!(b.mx = mx_client_open(&mc, err, sizeof err))) {
        bot_log("MSFAQ_MATRIX_HOMESERVER / _ACCESS_TOKEN: %s", err);
        status = EXIT_USAGE;
        goto done;
    }
    int rc = who_am_i(&b, &user_id);
    if (rc != 0) {
        status = rc < 0 ? 0 : 1;
        goto done;
    }
    name = mx_displayname(b.mx, user_id);
    b.self.user_id = user_id;
    b.self.display_name = name;

    state_path = o.state ? strdup(o.state)
                         : msfaq_env_state_path("MSFAQ_MATRIX_STATE",
                                                "matrix-bot.json");
    dl = o.dead_letter ? strdup(o.dead_letter)
                       : msfaq_env_state_path("MSFAQ_DEAD_LETTER",
                                              "dead-letter.jsonl");
    if (!state_path) {
        bot_log("no place for the state file: set MSFAQ_MATRIX_STATE or "
                "use --state FILE");
        goto done;
    }
    if (bot_state_open(&b.state, state_path, user_id, err, sizeof err) < 0) {
        bot_log("%s", err);
        goto done;
    }
    if (!(b.rooms = mx_rooms_new())) {
        bot_log("out of memory");
        goto done;
    }
    msfaq_post_config pc = MSFAQ_POST_CONFIG_INIT;
    pc.target = MSFAQ_POST_MATRIX;
    pc.url = hs;
    pc.token = token;
    pc.dead_letter = dl;
    pc.ca_file = getenv("MSFAQ_CA_FILE");
    pc.user_agent = BOT_NAME "/" MSFAQ_VERSION_STRING;
    if (!(b.poster = msfaq_post_open(&pc, &kerr))) {
        bot_log("%s", kerr.text);
        goto done;
    }
    bot_log("started as %s%s%s%s on %s; knowledge base %s (%zu intents); "
            "state %s", user_id, name ? " (" : "", name ? name : "",
            name ? ")" : "", hs, msfaq_kb_source(b.kb),
            msfaq_kb_intent_count(b.kb), state_path);
    status = bot_run(&b);
    if (bot_stop_signal)
        bot_log("%s: stopped after %lu answer%s (%lu not delivered)",
                bot_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", b.answered,
                b.answered == 1 ? "" : "s", b.failed);
done:
    msfaq_post_close(b.poster);
    mx_client_close(b.mx);
    mx_rooms_free(b.rooms);
    bot_state_close(&b.state);
    if (post_init)
        msfaq_post_global_cleanup();
    msfaq_kb_close(b.kb);
    msfaq_env_free(token);
    free(hs);
    free(state_path);
    free(dl);
    free(user_id);
    free(name);
    free(b.invite_from);
    return status;
}
