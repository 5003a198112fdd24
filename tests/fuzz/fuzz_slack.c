/*
 * fuzz_slack.c - libFuzzer harness: Slack request bodies through msfaq
 * serve's real handlers, serve_route_slack_commands() and
 * serve_route_slack_events() (serve/slack.c), and serve/form.c's parser.
 *
 * The first input byte says what to do with the rest, the body:
 *     bit 0      the route: 0 /slack/commands, 1 /slack/events
 *     bits 1-3   the signature: 0-4 signed as Slack signs (most inputs
 *                get past the check to the parsers), 5 no signature
 *                headers, 6 signed but stale, 7 a wrong MAC (bit 4 clear)
 *                or a timestamp that is not a number (bit 4 set)
 *     bit 4      MSFAQ_SLACK_RESPONSE_TYPE=in_channel
 *     bits 5-7   all set: no signing secret configured (503)
 * The app is fuzz_serve_app.h's; the KB is the built-in one.
 *
 * Checked on every reply: a status the route sends, a JSON body that
 * parses when the Content-Type says JSON, {"error", "message"} on every
 * error, an empty 200 without a body.  Beyond that, what the reply must
 * be, worked out here independently of slack.c:
 *   - a refused signature is a 401 naming the reason; an unsigned slash
 *     command with ssl_check=1 an empty 200;
 *   - a form body is decoded by our own reader below and serve_form_parse()
 *     must agree with it field by field; a malformed form is a 400;
 *   - a slash command with command and text is a 200 carrying
 *     response_type and text or blocks (the answer of the same question
 *     asked here, through fuzz_check.h), or the refusal of a question the
 *     library refuses; Slack's limits hold (50 blocks, 3000 characters a
 *     text), and the question shown in chat holds no '<' or '>' (no
 *     <!channel> from a user);
 *   - an event body that is not a JSON object with a type is a 400;
 *     url_verification echoes the challenge; an event_callback is
 *     acknowledged with an empty 200 and counted once in the metrics.
 */
#include <ctype.h>
#include <stdint.h>

#include "fuzz_serve_app.h"

#define NOW 1700000000          /* the request's arrival, Unix seconds */

static serve_app *app;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    app = fz_app_open();
    return 0;
}

/* ------------------------------------------------- our own form reader */

/* One field as we read it: name and value decoded, value of len bytes. */
struct field {
    char *name, *value;
    size_t len;
};

static int hex(int c)
{
    if (!isxdigit(c))
        return -1;
    return isdigit(c) ? c - '0' : (tolower(c) - 'a') + 10;
}

/* Decodes s[0..n) ('+' a space, %XX a byte) into a new string; NULL when
 * an escape is not "%" and two hex digits. */
static char *unescape(const unsigned char *s, size_t n, size_t *out_len)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    FZ_CHECK(out != NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            out[k++] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i] == '+' ? ' ' : (char)s[i];
        }
    }
    out[k] = '\0';
    *out_len = k;
    return out;
}

static void free_fields(struct field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].value);
    }
    free(f);
}

/* Reads body as the form.c comment describes the format: fields split on
 * '&' (empty ones skipped), the name ending at the first '='; a bad
 * escape, an empty name or a name holding a NUL byte make it malformed.
 * Returns the number of fields (in *out), or -1. */
static long read_form(const unsigned char *body, size_t len,
                      struct field **out)
{
    struct field *f = calloc(len / 2 + 1, sizeof *f);
    size_t n = 0, start = 0;
    FZ_CHECK(f != NULL, "out of memory");
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '&')
            continue;
        const unsigned char *p = body + start;
        size_t flen = i - start;
        start = i + 1;
        if (flen == 0)
            continue;
        const unsigned char *eq = memchr(p, '=', flen);
        size_t name_len, nlen = eq ? (size_t)(eq - p) : flen;
        f[n].name = unescape(p, nlen, &name_len);
        f[n].value = eq ? unescape(eq + 1, flen - nlen - 1, &f[n].len)
                        : calloc(1, 1);
        if (!eq)
            f[n].len = 0;
        n++;
        if (!f[n - 1].name || !f[n - 1].value || name_len == 0 ||
            memchr(f[n - 1].name, '\0', name_len)) {
            free_fields(f, n);
            return -1;
        }
    }
    *out = f;
    return (long)n;
}

/* serve_form_parse() on body, held to read_form().  Returns whether the
 * body is a well-formed form; the fields stay in *form (free them). */
static bool check_form(const uint8_t *body, size_t len, serve_form *form)
{
    struct field *want = NULL;
    long n = read_form(body, len, &want);
    int rc = serve_form_parse((const char *)body, len, form);
    FZ_CHECK((rc == 0) == (n >= 0), "serve_form_parse %d, ours %ld", rc, n);
    if (rc < 0) {
        FZ_CHECK(form->count == 0 && form->fields == NULL,
                 "a failed parse left %zu fields", form->count);
        return false;
    }
    FZ_CHECK(form->count == (size_t)n, "%zu fields, ours %ld", form->count,
             n);
    for (size_t i = 0; i < form->count; i++) {
        const serve_form_field *g = &form->fields[i];
        FZ_CHECK(strcmp(g->name, want[i].name) == 0, "field %zu name", i);
        FZ_CHECK(g->len == want[i].len &&
                     memcmp(g->value, want[i].value, g->len + 1) == 0,
                 "field %zu (%s) value", i, g->name);
    }
    /* serve_form_get() returns the first field of a name */
    for (long i = n - 1; i >= 0; i--) {
        size_t got_len = 0;
        const char *v = serve_form_get(form, want[i].name, &got_len);
        long first = 0;
        while (strcmp(want[first].name, want[i].name) != 0)
            first++;
        FZ_CHECK(v == form->fields[first].value &&
                     got_len == want[first].len,
                 "serve_form_get(%s) is not the first such field",
                 want[i].name);
    }
    free_fields(want, (size_t)n);
    return true;
}

/* ------------------------------------------------------------- replies */

/* An error reply: status and {"error": code, "message": ...}. */
static void check_error(const serve_reply *rp, json_t *o, int status,
                        const char *code)
{
    FZ_CHECK(rp->status == status, "status %d, expected %d (%s)",
             rp->status, status, code);
    FZ_CHECK(o && fz_get(o, "error") && fz_get(o, "message"),
             "error reply without error and message: %.200s",
             rp->body ? rp->body : "(none)");
    FZ_CHECK(strcmp(fz_get(o, "error"), code) == 0, "error %s, expected %s",
             fz_get(o, "error"), code);
}

static void check_empty_ok(const serve_reply *rp, json_t *o)
{
    FZ_CHECK(rp->status == 200 && !rp->body && !o && rp->len == 0 &&
                 !rp->content_type,
             "not an empty 200: status %d, body %.200s", rp->status,
             rp->body ? rp->body : "(none)");
}

/* UTF-16 code units in a UTF-8 string, as Slack counts characters. */
static size_t units(const char *s)
{
    size_t u = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            u += *p >= 0xF0 ? 2 : 1;
    return u;
}

/* The text of a text object, checked against Slack's limit. */
static const char *text_of(json_t *t, size_t max)
{
    const char *s = fz_get(t, "text");
    FZ_CHECK(s && fz_get(t, "type") && units(s) <= max,
             "a text object without type, or over %zu characters", max);
    return s;
}

/* A 200 answer to a slash command, as Slack reads it. */
static void check_answer(json_t *o, const char *type)
{
    const char *rt = fz_get(o, "response_type");
    FZ_CHECK(rt && strcmp(rt, type) == 0, "response_type %s, expected %s",
             rt ? rt : "(none)", type);
    const char *text = fz_get(o, "text");
    json_t *blocks = json_object_get(o, "blocks");
    FZ_CHECK(text || json_is_array(blocks), "neither text nor blocks");
    FZ_CHECK(!text || units(text) < 4000, "text over 4000 characters");
    FZ_CHECK(json_array_size(blocks) <= 50, "%zu blocks",
             json_array_size(blocks));
    size_t i, k;
    json_t *b, *e;
    json_array_foreach(blocks, i, b) {
        const char *bt = fz_get(b, "type");
        FZ_CHECK(bt != NULL, "block %zu without a type", i);
        if (!strcmp(bt, "section")) {
            text_of(json_object_get(b, "text"), 3000);
        } else if (!strcmp(bt, "context")) {
            json_t *els = json_object_get(b, "elements");
            FZ_CHECK(json_array_size(els) >= 1 &&
                         json_array_size(els) <= 10,
                     "context block with %zu elements",
                     json_array_size(els));
            json_array_foreach(els, k, e) {
                const char *s = text_of(e, 3000);
                /* the question as shown: what the user typed, escaped */
                if (!strncmp(s, "*Question:* ", 12))
                    FZ_CHECK(!strpbrk(s, "<>"),
                             "unescaped mrkdwn in the question: %.200s",
                             s);
            }
        }
    }
}

/* The question slack.c should read in a command's text: mentions
 * ("<@U123>") dropped, &lt; &gt; &amp; decoded.  A new string. */
static char *question_of(const char *text)
{
    static const struct {
        const char *entity;
        char c;
    } ents[] = {{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}};
    char *q = malloc(strlen(text) + 1), *o = q;
    FZ_CHECK(q != NULL, "out of memory");
    while (*text) {
        const char *close = NULL;
        if (!strncmp(text, "<@", 2) && (close = strchr(text, '>'))) {
            text = close + 1;
            continue;
        }
        size_t e = 0;
        while (e < 3 && strncmp(text, ents[e].entity,
                                strlen(ents[e].entity)))
            e++;
        if (e < 3) {
            *o++ = ents[e].c;
            text += strlen(ents[e].entity);
        } else {
            *o++ = *text++;
        }
    }
    *o = '\0';
    return q;
}

static void check_command(const uint8_t *body, size_t len, int sig,
                          const serve_reply *rp, json_t *o)
{
    serve_form form;
    bool ok = check_form(body, len, &form);
    if (sig != SERVE_SIG_OK) {
        const char *check = ok ? serve_form_get(&form, "ssl_check", NULL)
                               : NULL;
        if (sig == SERVE_SIG_MISSING && check && !strcmp(check, "1"))
            check_empty_ok(rp, o);
        else
            check_error(rp, o, 401, "unauthorized");
        serve_form_free(&form);
        return;
    }
    if (!ok) {
        check_error(rp, o, 400, "invalid_form");
        return;
    }
    size_t tlen = 0;
    const char *text = serve_form_get(&form, "text", &tlen);
    if (!text || !serve_form_get(&form, "command", NULL)) {
        check_error(rp, o, 400, "invalid_form");
        serve_form_free(&form);
        return;
    }
    int rc = MSFAQ_EUTF8;        /* a NUL byte in the text */
    if (strlen(text) == tlen) {
        char *q = question_of(text);
        serve_kbref *kb = serve_kb_acquire(&app->kb);
        msfaq_result_free(fz_ask(kb->kb, q, 0, &rc));
        serve_kb_release(kb);
        free(q);
    }
    if (rc >= 0) {
        FZ_CHECK(rp->status == 200 && o, "status %d for an answer",
                 rp->status);
        check_answer(o, fz_cfg.slack_in_channel ? "in_channel"
                                                : "ephemeral");
    } else if (rc == MSFAQ_EUTF8 || rc == MSFAQ_ETOOLONG) {
        FZ_CHECK(rp->status == 200 && o, "status %d for a refusal",
                 rp->status);
        check_answer(o, "ephemeral");
    } else {
        FZ_CHECK(rp->status == 400 || rp->status == 500,
                 "status %d for ask error %d", rp->status, rc);
        check_error(rp, o, rp->status,
                    rp->status == 400 ? "invalid_question" : "internal");
    }
    serve_form_free(&form);
}

static unsigned long events_counted(void)
{
    unsigned long n = 0;
    for (int i = 0; i < SERVE_EVENT_OUTCOME_COUNT; i++)
        n += atomic_load(&app->metrics.events[i]);
    return n;
}

static void check_event(const uint8_t *body, size_t len, int sig,
                        const serve_reply *rp, json_t *o,
                        unsigned long counted)
{
    if (sig != SERVE_SIG_OK) {
        check_error(rp, o, 401, "unauthorized");
        return;
    }
    json_error_t je;
    json_t *in = json_loadb((const char *)body, len, 0, &je);
    const char *type = fz_get(in, "type");
    json_t *ev = json_object_get(in, "event");
    if (!in) {
        check_error(rp, o, 400,
                    json_error_code(&je) == json_error_invalid_utf8
                        ? "invalid_utf8" : "invalid_json");
    } else if (!json_is_object(in) || !type) {
        check_error(rp, o, 400, "invalid_event");
    } else if (!strcmp(type, "url_verification")) {
        const char *challenge = fz_get(in, "challenge");
        if (challenge) {
            FZ_CHECK(rp->status == 200 && o && fz_get(o, "challenge") &&
                         !strcmp(fz_get(o, "challenge"), challenge),
                     "the challenge is not echoed");
        } else {
            check_error(rp, o, 400, "invalid_event");
        }
    } else if (strcmp(type, "event_callback") != 0 || json_is_object(ev)) {
        /* no event queue here: every event is ignored or dropped */
        check_empty_ok(rp, o);
        FZ_CHECK(events_counted() == counted + 1,
                 "an event counted %lu times", events_counted() - counted);
    } else {
        check_error(rp, o, 400, "invalid_event");
    }
    json_decref(in);
}

/* -------------------------------------------------------------- input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned ctl = data[0];
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    bool events = ctl & 1, alt = ctl & 16;
    unsigned how = (ctl >> 1) & 7;
    bool no_secret = (ctl & 0xE0) == 0xE0;

    /* the handlers read a NUL-terminated body, as http.c gives it */
    char *copy = malloc(len + 1);
    FZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, body, len);
    copy[len] = '\0';

    char ts[24], sig[SERVE_SLACK_SIG_SIZE];
    int want = SERVE_SIG_OK;
    snprintf(ts, sizeof ts, "%lld", (long long)NOW);
    if (how == 6) {        /* just outside the five-minute window */
        snprintf(ts, sizeof ts, "%lld",
                 (long long)NOW + (alt ? 1 : -1) * (SERVE_SLACK_MAX_SKEW + 1));
        want = SERVE_SIG_STALE;
    } else if (how == 7 && alt) {
        snprintf(ts, sizeof ts, "17e8");
        want = SERVE_SIG_BAD_TIMESTAMP;
    }
    serve_slack_sign(how == 7 && !alt ? "not the secret" : FZ_SLACK_SECRET,
                     ts, copy, len, sig);
    if (how == 7 && !alt)
        want = SERVE_SIG_MISMATCH;
    if (how == 5)
        want = SERVE_SIG_MISSING;

    serve_request rq = {
        .route = events ? SERVE_ROUTE_SLACK_EVENTS
                        : SERVE_ROUTE_SLACK_COMMANDS,
        .body = copy,
        .body_len = len,
        .content_type = events ? "application/json"
                               : "application/x-www-form-urlencoded",
        .slack_timestamp = how == 5 ? NULL : ts,
        .slack_signature = how == 5 ? NULL : sig,
        .now = NOW,
        .method = "POST",
        .path = events ? "/slack/events" : "/slack/commands",
    };
    char *secret = fz_cfg.slack_signing_secret;
    if (no_secret)
        fz_cfg.slack_signing_secret = NULL;
    fz_cfg.slack_in_channel = alt;
    unsigned long counted = events_counted();

    serve_reply rp = {.status = 500};
    (events ? serve_route_slack_events
            : serve_route_slack_commands)(app, &rq, &rp);
    fz_cfg.slack_signing_secret = secret;

    json_t *o = fz_reply_json(&rp);
    if (no_secret) {
        check_error(&rp, o, 503, "not_configured");
    } else {
        if (want != SERVE_SIG_OK && rp.status == 401)
            FZ_CHECK(rp.note && !strcmp(rp.note, serve_sig_reason(want)),
                     "401 noted as %s, expected %s",
                     rp.note ? rp.note : "(none)", serve_sig_reason(want));
        if (events)
            check_event(body, len, want, &rp, o, counted);
        else
            check_command(body, len, want, &rp, o);
    }
    json_decref(o);
    free(rp.body);             /* http.c hands it to libmicrohttpd: free */
    free(copy);
    return 0;
}
