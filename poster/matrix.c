/*
 * matrix.c - the Matrix target: the m.notice content, transaction ids,
 * the send URL, and how the homeserver's reply is judged.
 *
 * What is sent (PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/
 * {txnId}, Authorization: Bearer):
 *
 *     {"msgtype": "m.notice", "body": PLAIN,
 *      "format": "org.matrix.custom.html", "formatted_body": HTML,
 *      "m.relates_to": {"m.in_reply_to": {"event_id": "$question"}},
 *      "m.mentions": {"user_ids": ["@asker:example.org"]}}
 *
 * - m.notice, because the spec says automated clients send notices and
 *   nothing answers a notice automatically: two bots cannot loop.
 * - A rich reply without the old "> quote" fallback (dropped in spec
 *   v1.13); the asker is listed in m.mentions so they are notified, and
 *   m.mentions is always present ({} when nobody) so the text itself can
 *   never ping anyone (no legacy body-matching push rule fires).
 * - body is plain text; formatted_body is the same text as minimal HTML
 *   (p, br, em, strong, ul, li) with & < > " ' escaped in everything
 *   inserted, so a question cannot inject markup.
 * - In a thread (thread_ts holds the thread root's event ID) the reply
 *   stays in the thread: rel_type m.thread with m.in_reply_to inside.
 *
 * Transaction ids: the homeserver treats a second PUT with the same
 * transaction id (same access token) as a retransmission and returns the
 * first event's ID instead of posting again.  The id of a reply is
 * derived from the event replied to, so a retry after a time-out, or a
 * restarted bot that sees the same question again, posts one answer.
 * The derivation keeps the event ID readable and is injective: every
 * byte outside A-Z a-z 0-9 . ~ - (including "_" itself) becomes _XX.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "post_private.h"

#define QUESTION_MAX 300          /* the question as shown, when no reply */
#define EVENT_BYTES_MAX 60000     /* under the 65536-byte event limit */

/* ------------------------------------------------------ transactions */

static int txn_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '~' || c == '-';
}

void msfaqp_post_matrix_txn_for(const char *event_id, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    memcpy(out, "msfaq.r.", 8);
    o = 8;
    for (size_t i = 0; event_id[i] && i < MSFAQP_POST_MATRIX_ID_MAX; i++) {
        unsigned char c = (unsigned char)event_id[i];
        if (txn_char(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '_';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

void msfaqp_post_matrix_txn_new(char *out, size_t size)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)out;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, size, "msfaq.n.%lld.%016llx",
             (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
             (unsigned long long)r);
}

int msfaqp_post_matrix_txn_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!txn_char((unsigned char)s[n]) && s[n] != '_')
            return 0;
    return n > 0 && n <= MSFAQP_POST_MATRIX_ID_MAX;
}

/* Percent-encodes s for one path segment (unreserved characters stay). */
static void add_segment(msfaqp_post_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            msfaqp_post_buf_add(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            msfaqp_post_buf_add(b, e, 3);
        }
    }
}

char *msfaqp_post_matrix_url(const char *base, const msfaqp_post_msg *m,
                             const char *txn, msfaq_error *err)
{
    if (!m->channel) {
        msfaqp_post_error(err, MSFAQ_EINVAL,
                          "matrix: no room given (a room ID, !...:server)");
        return NULL;
    }
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    msfaqp_post_buf b = {NULL, 0, 0, 1};
    msfaqp_post_buf_add(&b, base, n);
    msfaqp_post_buf_puts(&b, "/_matrix/client/v3/rooms/");
    add_segment(&b, m->channel);
    msfaqp_post_buf_puts(&b, "/send/m.room.message/");
    add_segment(&b, txn);
    if (!b.ok) {
        free(b.s);
        msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory");
        return NULL;
    }
    return b.s;
}

/* ---------------------------------------------------------- content */

/* Adds text (plain, already cut) to b as HTML paragraphs: a blank line
 * starts a new <p>, a single line break is <br>. */
static void add_paragraphs(msfaqp_post_buf *b, const char *text)
{
    while (*text == '\n' || *text == ' ' || *text == '\r')
        text++;
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' ||
                       text[len - 1] == '\r'))
        len--;
    msfaqp_post_buf_puts(b, "<p>");
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r')
            continue;
        if (text[i] == '\n') {
            size_t j = i, breaks = 0;
            while (j < len && (text[j] == '\n' || text[j] == '\r')) {
                breaks += text[j] == '\n';
                j++;
            }
            msfaqp_post_buf_puts(b, breaks > 1 ? "</p><p>" : "<br>");
            i = j - 1;
            continue;
        }
        const char *r = msfaqp_post_html_repl((unsigned char)text[i]);
        if (r)
            msfaqp_post_buf_puts(b, r);
        else
            msfaqp_post_buf_add(b, text + i, 1);
    }
    msfaqp_post_buf_puts(b, "</p>");
}

/* The escaped form of s, for an HTML element's text; NULL when out of
 * memory (and b marked failed). */
static void add_escaped(msfaqp_post_buf *b, const char *s)
{
    char *e = msfaqp_post_html_escape(s);
    if (!e) {
        b->ok = 0;
        return;
    }
    msfaqp_post_buf_puts(b, e);
    free(e);
}

static const char *follow_up_heading(const msfaqp_post_msg *m)
{
    return m->kind == MSFAQ_KIND_CLARIFY ? "Did you mean:"
                                         : "You could also ask:";
}

static void put(json_t *o, const char *key, json_t *v, int *ok)
{
    if (!v || json_object_set_new(o, key, v))
        *ok = 0;
}

/* m.relates_to for a reply (and a thread), or NULL when there is none. */
static json_t *relates_to(const msfaqp_post_msg *m, int *ok)
{
    if (!m->reply_to && !m->thread_ts)
        return NULL;
    json_t *r = json_object();
    if (!r) {
        *ok = 0;
        return NULL;
    }
    if (m->thread_ts) {
        put(r, "rel_type", json_string("m.thread"), ok);
        put(r, "event_id", json_string(m->thread_ts), ok);
        put(r, "is_falling_back", json_boolean(!m->reply_to), ok);
    }
    if (m->reply_to || m->thread_ts) {
        json_t *irt = json_object();
        put(irt, "event_id",
            json_string(m->reply_to ? m->reply_to : m->thread_ts), ok);
        put(r, "m.in_reply_to", irt, ok);
    }
    return r;
}

json_t *msfaqp_post_format_matrix(const msfaqp_post_msg *m, msfaq_error *err)
{
    int ok = 1;
    msfaqp_post_buf plain = {NULL, 0, 0, 1}, html = {NULL, 0, 0, 1};
    char *q = NULL;
    char *ans = msfaqp_post_truncate(m->answer, MSFAQ_POST_MATRIX_TEXT_MAX);
    json_t *o = json_object(), *mentions = json_object();
    if (!ans || !o || !mentions)
        goto nomem;
    msfaqp_post_buf_add(&plain, "", 0);
    msfaqp_post_buf_add(&html, "", 0);

    /* a reply shows the question above it; a lone message says it */
    if (m->question && !m->reply_to) {
        if (!(q = msfaqp_post_truncate(m->question, QUESTION_MAX)))
            goto nomem;
        msfaqp_post_buf_printf(&plain, "Question: %s\n\n", q);
        msfaqp_post_buf_puts(&html, "<p><strong>Question:</strong> ");
        add_escaped(&html, q);
        msfaqp_post_buf_puts(&html, "</p>");
    }
    msfaqp_post_buf_puts(&plain, ans);
    add_paragraphs(&html, ans);
    if (m->section) {
        msfaqp_post_buf_printf(&plain, "\n\nArticle section: %s", m->section);
        msfaqp_post_buf_puts(&html, "<p><em>Article section: ");
        add_escaped(&html, m->section);
        msfaqp_post_buf_puts(&html, "</em></p>");
    }
    if (m->n_follow_ups) {
        msfaqp_post_buf_printf(&plain, "\n\n%s", follow_up_heading(m));
        msfaqp_post_buf_printf(&html, "<p>%s</p><ul>", follow_up_heading(m));
        for (size_t i = 0; i < m->n_follow_ups; i++) {
            const char *f = msfaqp_post_msg_follow_up(m, i);
            msfaqp_post_buf_printf(&plain, "\n- %s", f);
            msfaqp_post_buf_puts(&html, "<li>");
            add_escaped(&html, f);
            msfaqp_post_buf_puts(&html, "</li>");
        }
        msfaqp_post_buf_puts(&html, "</ul>");
    }
    if (!plain.ok || !html.ok)
        goto nomem;

    put(o, "msgtype", json_string("m.notice"), &ok);
    put(o, "body", json_string(plain.s), &ok);
    put(o, "format", json_string("org.matrix.custom.html"), &ok);
    put(o, "formatted_body", json_string(html.s), &ok);
    json_t *rel = relates_to(m, &ok);
    if (rel)
        put(o, "m.relates_to", rel, &ok);
    if (m->reply_sender) {
        json_t *ids = json_array();
        if (!ids || json_array_append_new(ids, json_string(m->reply_sender)))
            ok = 0;
        put(mentions, "user_ids", ids, &ok);
    }
    put(o, "m.mentions", mentions, &ok);
    mentions = NULL;
    if (!ok)
        goto nomem;

    /* A knowledge base with enormous answers (every character escaped to
     * six) could pass the homeserver's event limit: then the plain text
     * alone, which is never more than a third of that. */
    char *all = json_dumps(o, MSFAQP_POST_JSON_FLAGS);
    if (!all)
        goto nomem;
    size_t size = strlen(all);
    free(all);
    if (size > EVENT_BYTES_MAX) {
        json_object_del(o, "format");
        json_object_del(o, "formatted_body");
    }
    free(plain.s);
    free(html.s);
    free(ans);
    free(q);
    return o;
nomem:
    msfaqp_post_error(err, MSFAQ_ENOMEM, "out of memory formatting");
    free(plain.s);
    free(html.s);
    free(ans);
    free(q);
    json_decref(mentions);
    json_decref(o);
    return NULL;
}

/* ------------------------------------------------------------ reply */

/* Printable ASCII of s, at most size - 1 bytes (other bytes as '?'). */
static void printable(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; s && *s && o + 4 < size; s++) {
        unsigned char c = (unsigned char)*s;
        out[o++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    }
    if (s && *s) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

void msfaqp_post_check_matrix(msfaqp_post_reply *r)
{
    json_error_t je;
    json_t *o = json_loadb(r->body, r->len, 0, &je);
    r->retry_after_ms = 0;
    if (r->status >= 200 && r->status < 300) {
        const char *id = json_string_value(json_object_get(o, "event_id"));
        if (id && strlen(id) < sizeof r->event_id) {
            r->verdict = MSFAQP_POST_DELIVERED;
            snprintf(r->event_id, sizeof r->event_id, "%s", id);
        } else {
            r->verdict = MSFAQP_POST_PROTOCOL;
            snprintf(r->detail, sizeof r->detail,
                     "HTTP %ld without an event_id", r->status);
        }
        json_decref(o);
        return;
    }
    const char *code = json_string_value(json_object_get(o, "errcode"));
    const char *text = json_string_value(json_object_get(o, "error"));
    if (code) {
        char c[48], t[96];
        printable(code, c, sizeof c);
        printable(text, t, sizeof t);
        snprintf(r->detail, sizeof r->detail, "HTTP %ld %s%s%s", r->status,
                 c, t[0] ? ": " : "", t);
    } else {
        msfaqp_post_check_http(r);   /* fills detail from the body */
    }
    if (r->status == 429 || r->status >= 500) {
        r->verdict = MSFAQP_POST_RETRY;
        json_t *ms = json_object_get(o, "retry_after_ms");
        if (r->status == 429 && json_is_number(ms) &&
            json_number_value(ms) > 0 && json_number_value(ms) < 86400e3)
            r->retry_after_ms = msfaqp_post_ms_up(json_number_value(ms));
        else if (r->retry_after_s > 0 &&
                 (r->status == 429 || r->status == 503))
            r->retry_after_ms = r->retry_after_s * 1000;
    } else {
        r->verdict = MSFAQP_POST_REFUSED;
    }
    json_decref(o);
}
