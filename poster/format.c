/*
 * format.c - one reply as the JSON each chat surface expects.
 *
 * Slack (webhook and chat.postMessage) gets mrkdwn: every text from the
 * question, the KB or the article is escaped (& < > only, as Slack asks),
 * so a question cannot form <!channel> or a link.  The reply goes in Block
 * Kit section blocks (at most 3000 characters each, so a long answer is
 * split at spaces), then a context block names the article section; the
 * plain "text" is kept as the notification and screen-reader fallback.
 *
 * Discord and Mattermost get markdown with the same parts; text is
 * backslash-escaped so it shows as written and cannot mention anyone
 * (Discord is also told "allowed_mentions": {"parse": []}).  Discord's
 * 2000-character limit is met by shortening the answer at a space and
 * ending it with an ellipsis; the question is capped first and the
 * follow-ups dropped before the section line, which always stays.
 *
 * The json target is `msfaq ask --json` plus "question".  Matrix content
 * is made in matrix.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "post_private.h"

#define SLACK_SECTION_MAX 3000   /* characters in one section text */
#define SLACK_TEXT_MAX 3000      /* the fallback text: Slack asks < 4000 */
#define SLACK_MAX_SECTIONS 40    /* of 50 blocks per message */
#define QUESTION_MAX 300         /* the question as shown in chat */
#define MATTERMOST_MAX 16383     /* post limit since server 5.0 */

/* ------------------------------------------------------------ message */

/* The members every version of msfaq_post_message has, and those of
 * 1.1 (the Matrix reply members). */
#define MESSAGE_V1_SIZE \
    (offsetof(msfaq_post_message, thread_ts) + sizeof(const char *))
#define MESSAGE_V11_SIZE \
    (offsetof(msfaq_post_message, txn_id) + sizeof(const char *))

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

const char *msfaqp_post_msg_follow_up(const msfaqp_post_msg *m, size_t i)
{
    if (m->result)
        return msfaq_result_follow_up(m->result, i);
    return m->follow_ups[i];
}

static int check_text(const char *s, const char *what, msfaq_error *err)
{
    if (s && !msfaqp_post_valid_utf8(s)) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "%s is not valid UTF-8", what);
        return -1;
    }
    return 0;
}

int msfaqp_post_msg_resolve(const msfaq_post_message *msg, msfaqp_post_msg *m,
                       msfaq_error *err)
{
    memset(m, 0, sizeof *m);
    if (!msg) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "no message given");
        return MSFAQ_EINVAL;
    }
    if (msg->size < MESSAGE_V1_SIZE) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "message size not set: "
                          "initialise it with MSFAQ_POST_MESSAGE_INIT");
        return MSFAQ_EINVAL;
    }
    m->question = msg->question && *msg->question ? msg->question : NULL;
    m->channel = msg->channel && *msg->channel ? msg->channel : NULL;
    m->thread_ts = msg->thread_ts && *msg->thread_ts ? msg->thread_ts
                                                     : NULL;
    if (msg->size >= MESSAGE_V11_SIZE) {
        m->reply_to = nonempty(msg->reply_to);
        m->reply_sender = nonempty(msg->reply_sender);
        m->txn_id = nonempty(msg->txn_id);
    }
    if (msg->result) {
        const msfaq_result *r = msg->result;
        m->result = r;
        m->kind = msfaq_result_kind(r);
        m->intent = msfaq_result_intent(r);
        m->confidence = msfaq_result_confidence(r);
        m->answer = msfaq_result_answer(r);
        m->section = msfaq_result_section(r);
        m->n_follow_ups = msfaq_result_follow_up_count(r);
    } else {
        m->kind = msg->kind;
        m->intent = msg->intent;
        m->confidence = msg->confidence;
        m->answer = msg->answer;
        m->section = msg->section;
        m->follow_ups = msg->follow_ups;
        m->n_follow_ups = msg->follow_ups ? msg->follow_up_count : 0;
    }
    if (!m->intent)
        m->intent = "";
    if (!m->answer) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "message has no answer text");
        return MSFAQ_EINVAL;
    }
    if (m->kind < MSFAQ_KIND_ANSWER || m->kind > MSFAQ_KIND_CLARIFY) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "message kind %d is unknown",
                          m->kind);
        return MSFAQ_EINVAL;
    }
    if (!(m->confidence >= 0.0 && m->confidence <= 1.0))
        m->confidence = m->confidence > 1.0 ? 1.0 : 0.0;  /* and NaN */
    if (check_text(m->question, "question", err) ||
        check_text(m->intent, "intent", err) ||
        check_text(m->answer, "answer", err) ||
        check_text(m->section, "section", err) ||
        check_text(m->channel, "channel", err) ||
        check_text(m->thread_ts, "thread_ts", err) ||
        check_text(m->reply_to, "reply_to", err) ||
        check_text(m->reply_sender, "reply_sender", err))
        return MSFAQ_EINVAL;
    if (m->reply_to && strlen(m->reply_to) > MSFAQP_POST_MATRIX_ID_MAX) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "reply_to is longer than %d "
                          "bytes", MSFAQP_POST_MATRIX_ID_MAX);
        return MSFAQ_EINVAL;
    }
    if (m->txn_id && !msfaqp_post_matrix_txn_ok(m->txn_id)) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "txn_id must be 1 to %d of "
                          "A-Z a-z 0-9 . _ ~ -", MSFAQP_POST_MATRIX_ID_MAX);
        return MSFAQ_EINVAL;
    }
    for (size_t i = 0; i < m->n_follow_ups; i++) {
        const char *f = msfaqp_post_msg_follow_up(m, i);
        if (!f) {
            msfaqp_post_error(err, MSFAQ_EINVAL, "follow-up %zu is NULL", i);
            return MSFAQ_EINVAL;
        }
        if (check_text(f, "a follow-up", err))
            return MSFAQ_EINVAL;
    }
    return 0;
}

/* --------------------------------------------------------- JSON bits */

/* json_object_set_new that remembers a failure in *ok. */
static void put(json_t *o, const char *key, json_t *v, int *ok)
{
    if (!v || json_object_set_new(o, key, v))
        *ok = 0;
}

static void push(json_t *a, json_t *v, int *ok)
{
    if (!v || json_array_append_new(a, v))
        *ok = 0;
}

/* A mrkdwn text object; takes ownership of text (may be NULL). */
static json_t *mrkdwn(char *text, int *ok)
{
    json_t *o = text ? json_object() : NULL;
    if (o) {
        put(o, "type", json_string("mrkdwn"), ok);
        put(o, "text", json_string(text), ok);
    } else {
        *ok = 0;
    }
    free(text);
    return o;
}

static json_t *section_block(char *text, int *ok)
{
    json_t *b = json_object();
    if (!b) {
        free(text);
        *ok = 0;
        return NULL;
    }
    put(b, "type", json_string("section"), ok);
    put(b, "text", mrkdwn(text, ok), ok);
    return b;
}

static json_t *context_block(char *text, int *ok)
{
    json_t *b = json_object(), *els = json_array();
    if (!b || !els) {
        json_decref(b);
        json_decref(els);
        free(text);
        *ok = 0;
        return NULL;
    }
    push(els, mrkdwn(text, ok), ok);
    put(b, "type", json_string("context"), ok);
    put(b, "elements", els, ok);
    return b;
}

/* Builds text from a printf format; NULL when out of memory. */
static char *str_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* Escaped then cut: s as mrkdwn of at most max characters, or NULL. */
static char *slack_text(const char *s, size_t max)
{
    char *e = msfaqp_post_slack_escape(s);
    char *t = e ? msfaqp_post_truncate(e, max) : NULL;
    free(e);
    return t;
}

static const char *follow_up_heading(const msfaqp_post_msg *m)
{
    return m->kind == MSFAQ_KIND_CLARIFY ? "Did you mean:"
                                         : "You could also ask:";
}

/* The context line under the answer: the section it came from. */
static char *slack_context(const msfaqp_post_msg *m)
{
    if (!m->section)
        return str_printf("msfaq %s reply: not from an article section",
                          msfaq_kind_name(m->kind));
    char *sec = slack_text(m->section, 200);
    char *t = sec ? str_printf("Article section: *%s*", sec) : NULL;
    free(sec);
    return t;
}

/* --------------------------------------------------------------- Slack */

/* Adds the answer as section blocks of at most SLACK_SECTION_MAX
 * characters each, split at spaces. */
static void slack_answer_blocks(json_t *blocks, const char *answer, int *ok)
{
    char *e = msfaqp_post_slack_escape(answer);
    if (!e) {
        *ok = 0;
        return;
    }
    const char *p = e;
    size_t len = strlen(e);
    int n = 0;
    for (;;) {
        while (len > 0 && (*p == ' ' || *p == '\n')) {
            p++;
            len--;
        }
        if (len == 0 || !*ok)
            break;
        char *chunk;
        size_t take;
        if (n == SLACK_MAX_SECTIONS - 1) {   /* the last one we send */
            chunk = msfaqp_post_truncate(p, SLACK_SECTION_MAX);
            take = len;
        } else {
            take = msfaqp_post_cut(p, len, SLACK_SECTION_MAX);
            if (take == 0)   /* cannot happen for sane text; progress */
                take = 1;
            while (take < len && ((unsigned char)p[take] & 0xC0) == 0x80)
                take++;
            chunk = msfaqp_post_strndup(p, take);
        }
        push(blocks, section_block(chunk, ok), ok);
        n++;
        p += take;
        len -= take;
    }
    if (n == 0)   /* Slack refuses an empty section text */
        push(blocks, section_block(msfaqp_post_strndup(" ", 1), ok), ok);
    free(e);
}

static json_t *slack_common(const msfaqp_post_msg *m, msfaq_error *err)
{
    int ok = 1;
    json_t *o = json_object(), *blocks = json_array();
    char *ctx = slack_context(m);
    char *ans = NULL;
    msfaqp_post_buf fb = {NULL, 0, 0, 1};
    if (!o || !blocks || !ctx)
        goto nomem;

    /* the fallback: answer cut to leave room for the section line */
    char *foot = str_printf("\n\n%s", ctx);
    if (!foot)
        goto nomem;
    size_t room = SLACK_TEXT_MAX - msfaqp_post_units(foot, strlen(foot));
    ans = slack_text(m->answer, room);
    msfaqp_post_buf_puts(&fb, ans ? ans : "");
    msfaqp_post_buf_puts(&fb, foot);
    free(foot);
    if (!ans || !fb.ok)
        goto nomem;
    put(o, "text", json_string(fb.s), &ok);

    if (m->question) {
        char *q = slack_text(m->question, QUESTION_MAX);
        char *t = q ? str_printf("*Question:* %s", q) : NULL;
        free(q);
        push(blocks, context_block(t, &ok), &ok);
    }
    slack_answer_blocks(blocks, m->answer, &ok);
    push(blocks, context_block(ctx, &ok), &ok);
    ctx = NULL;
    if (m->n_follow_ups) {
        msfaqp_post_buf b = {NULL, 0, 0, 1};
        msfaqp_post_buf_printf(&b, "*%s*", follow_up_heading(m));
        for (size_t i = 0; i < m->n_follow_ups; i++) {
            const char *raw = msfaqp_post_msg_follow_up(m, i);
            char *f = msfaqp_post_slack_escape(raw);
            msfaqp_post_buf_printf(&b, "\n\xE2\x80\xA2 %s", f ? f : "");
            if (!f)
                b.ok = 0;
            free(f);
        }
        char *t = b.ok ? msfaqp_post_truncate(b.s, SLACK_SECTION_MAX) : NULL;
        free(b.s);
        push(blocks, section_block(t, &ok), &ok);
    }
    put(o, "blocks", blocks, &ok);
    blocks = NULL;
    put(o, "unfurl_links", json_false(), &ok);
    put(o, "unfurl_media", json_false(), &ok);
    if (!ok)
        goto nomem;
    free(ans);
    free(fb.s);
    return o;
nomem:
    msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
    free(fb.s);
    free(ans);
    free(ctx);
    json_decref(blocks);
    json_decref(o);
    return NULL;
}

json_t *msfaqp_post_format_slack_webhook(const msfaqp_post_msg *m,
                                         msfaq_error *err)
{
    return slack_common(m, err);
}

json_t *msfaqp_post_format_slack_api(const msfaqp_post_msg *m,
                                     msfaq_error *err)
{
    if (!m->channel) {
        msfaqp_post_error(err, MSFAQ_EINVAL,
                          "slack chat.postMessage needs a channel");
        return NULL;
    }
    json_t *o = slack_common(m, err);
    if (!o)
        return NULL;
    /* channel first in the body is only cosmetic; jansson keeps order */
    int ok = 1;
    put(o, "channel", json_string(m->channel), &ok);
    if (m->thread_ts)
        put(o, "thread_ts", json_string(m->thread_ts), &ok);
    if (!ok) {
        json_decref(o);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
        return NULL;
    }
    return o;
}

/* ------------------------------------------------ Discord, Mattermost */

/* The markdown message: question, answer, section, follow-ups, in at most
 * limit characters.  Returns a new string or NULL. */
static char *markdown(const msfaqp_post_msg *m, size_t limit)
{
    char *head = NULL, *foot = NULL, *fu = NULL, *ans = NULL, *e = NULL;
    msfaqp_post_buf out = {NULL, 0, 0, 1};

    if (m->question) {
        e = msfaqp_post_md_escape(m->question);
        char *q = e ? msfaqp_post_truncate(e, QUESTION_MAX) : NULL;
        head = q ? str_printf("**Question:** %s\n\n", q) : NULL;
        free(q);
        free(e);
        e = NULL;
    } else {
        head = str_printf("%s", "");
    }
    if (m->section) {
        e = msfaqp_post_md_escape(m->section);
        foot = e ? str_printf("\n\n*Article section: %s*", e) : NULL;
        free(e);
        e = NULL;
    } else {
        foot = str_printf("%s", "");
    }
    msfaqp_post_buf b = {NULL, 0, 0, 1};
    msfaqp_post_buf_add(&b, "", 0);
    if (m->n_follow_ups)
        msfaqp_post_buf_printf(&b, "\n\n%s", follow_up_heading(m));
    for (size_t i = 0; i < m->n_follow_ups; i++) {
        char *f = msfaqp_post_md_escape(msfaqp_post_msg_follow_up(m, i));
        msfaqp_post_buf_printf(&b, "\n- %s", f ? f : "");
        if (!f)
            b.ok = 0;
        free(f);
    }
    fu = b.ok ? b.s : (free(b.s), NULL);
    if (!head || !foot || !fu)
        goto fail;

    /* What the answer may use; the parts around it give way first. */
#define UNITS(s) msfaqp_post_units((s), strlen(s))
    const size_t want = limit / 4;   /* keep at least this for the answer */
    size_t around = UNITS(head) + UNITS(foot) + UNITS(fu);
    if (around + want > limit) {
        fu[0] = '\0';
        around = UNITS(head) + UNITS(foot);
    }
    if (around + want > limit) {
        head[0] = '\0';
        around = UNITS(foot);
    }
    if (around + want > limit) {
        /* a section name longer than the message: cut it too */
        char *f2 = msfaqp_post_truncate(foot, limit - want);
        if (!f2)
            goto fail;
        free(foot);
        foot = f2;
        around = UNITS(foot);
    }
#undef UNITS
    e = msfaqp_post_md_escape(m->answer);
    ans = e ? msfaqp_post_truncate(e, limit - around) : NULL;
    if (!ans)
        goto fail;
    msfaqp_post_buf_puts(&out, head);
    msfaqp_post_buf_puts(&out, ans);
    msfaqp_post_buf_puts(&out, foot);
    msfaqp_post_buf_puts(&out, fu);
    if (!out.ok)
        goto fail;
    free(head);
    free(foot);
    free(fu);
    free(ans);
    free(e);
    return out.s;
fail:
    free(out.s);
    free(head);
    free(foot);
    free(fu);
    free(ans);
    free(e);
    return NULL;
}

json_t *msfaqp_post_format_discord(const msfaqp_post_msg *m, msfaq_error *err)
{
    int ok = 1;
    char *text = markdown(m, MSFAQ_POST_DISCORD_MAX);
    json_t *o = text ? json_object() : NULL;
    json_t *am = o ? json_object() : NULL;
    if (o && am) {
        put(o, "content", json_string(text), &ok);
        put(am, "parse", json_array(), &ok);
        put(o, "allowed_mentions", am, &ok);
        am = NULL;
    }
    free(text);
    json_decref(am);
    if (!o || !ok) {
        json_decref(o);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
        return NULL;
    }
    return o;
}

json_t *msfaqp_post_format_mattermost(const msfaqp_post_msg *m,
                                      msfaq_error *err)
{
    int ok = 1;
    char *text = markdown(m, MATTERMOST_MAX);
    json_t *o = text ? json_object() : NULL;
    if (o) {
        put(o, "text", json_string(text), &ok);
        if (m->channel)
            put(o, "channel", json_string(m->channel), &ok);
    }
    free(text);
    if (!o || !ok) {
        json_decref(o);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- JSON */

/* The fields of `msfaq ask --json`, in its order, after "question". */
static json_t *reply_json(const msfaqp_post_msg *m, int *ok)
{
    json_t *o = json_object(), *fu = json_array();
    if (!o || !fu) {
        json_decref(o);
        json_decref(fu);
        *ok = 0;
        return NULL;
    }
    put(o, "question", m->question ? json_string(m->question) : json_null(),
        ok);
    put(o, "kind", json_string(msfaq_kind_name(m->kind)), ok);
    put(o, "intent", json_string(m->intent), ok);
    put(o, "confidence", json_real(m->confidence), ok);
    put(o, "section", m->section ? json_string(m->section) : json_null(),
        ok);
    put(o, "answer", json_string(m->answer), ok);
    for (size_t i = 0; i < m->n_follow_ups; i++)
        push(fu, json_string(msfaqp_post_msg_follow_up(m, i)), ok);
    put(o, "follow_ups", fu, ok);
    return o;
}

json_t *msfaqp_post_format_json(const msfaqp_post_msg *m, msfaq_error *err)
{
    int ok = 1;
    json_t *o = reply_json(m, &ok);
    if (!ok) {
        json_decref(o);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
        return NULL;
    }
    return o;
}

json_t *msfaqp_post_msg_to_json(const msfaqp_post_msg *m)
{
    int ok = 1;
    json_t *o = reply_json(m, &ok);
    if (ok && m->channel)
        put(o, "channel", json_string(m->channel), &ok);
    if (ok && m->thread_ts)
        put(o, "thread_ts", json_string(m->thread_ts), &ok);
    if (ok && m->reply_to)
        put(o, "reply_to", json_string(m->reply_to), &ok);
    if (ok && m->reply_sender)
        put(o, "reply_sender", json_string(m->reply_sender), &ok);
    if (ok && m->txn_id)
        put(o, "txn_id", json_string(m->txn_id), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ----------------------------------------------------------- public */

char *msfaq_post_format(int target, const msfaq_post_message *msg,
                        msfaq_error *err)
{
    msfaqp_post_error_clear(err);
    const msfaqp_post_target *t = msfaqp_post_target_find(target);
    if (!t) {
        msfaqp_post_error(err, MSFAQ_EINVAL, "unknown target %d", target);
        return NULL;
    }
    msfaqp_post_msg m;
    if (msfaqp_post_msg_resolve(msg, &m, err))
        return NULL;
    json_t *body = t->format(&m, err);
    if (!body)
        return NULL;
    char *s = json_dumps(body, MSFAQP_POST_JSON_FLAGS);
    json_decref(body);
    if (!s)
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
    return s;
}

void msfaq_post_free(void *p)
{
    free(p);
}
