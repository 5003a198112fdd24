/*
 * test_post_format.c - what each target is sent, without a network.
 *
 * Checks msfaq_post_format() per target (Slack escaping and blocks, the
 * context block naming the section, Discord's 2000-character cut, the
 * JSON target matching `msfaq ask --json`), the text helpers it rests on
 * (cutting, escaping, redaction), and the version and export basics.
 * Linked with the poster objects, so internal helpers are reachable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "msfaq_post.h"
#include "post_private.h"

static const char *const fu3[] = {"What is CAR T?", "Is it <safe>?",
                                  "Why & how?"};

static msfaq_post_message sample(const char *q, const char *answer,
                                 const char *section)
{
    msfaq_post_message m = MSFAQ_POST_MESSAGE_INIT;
    m.question = q;
    m.kind = section ? MSFAQ_KIND_ANSWER : MSFAQ_KIND_FALLBACK;
    m.intent = "car_t_what";
    m.confidence = 0.75;
    m.answer = answer;
    m.section = section;
    m.follow_ups = fu3;
    m.follow_up_count = 3;
    return m;
}

/* Formats and parses; fails the test when formatting fails. */
static json_t *format(int target, const msfaq_post_message *m)
{
    msfaq_error err;
    char *s = msfaq_post_format(target, m, &err);
    if (!s)
        fail_msg("msfaq_post_format(%d): %s", target, err.text);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    if (!o)
        fail_msg("not JSON (%s): %s", je.text, s);
    msfaq_post_free(s);
    return o;
}

static size_t units(const char *s)
{
    return msfaqp_post_units(s, strlen(s));
}

/* Every mrkdwn text in a Slack body, visited. */
static void each_text(json_t *v, void (*fn)(const char *, void *), void *ud)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_t *type = json_object_get(v, "type");
        if (json_is_string(type) &&
            strcmp(json_string_value(type), "mrkdwn") == 0)
            fn(json_string_value(json_object_get(v, "text")), ud);
        json_object_foreach(v, k, x)
            each_text(x, fn, ud);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            each_text(x, fn, ud);
    }
}

static void no_raw_angle(const char *s, void *ud)
{
    (void)ud;
    assert_null(strchr(s, '<'));
    assert_null(strchr(s, '>'));
    /* every & starts one of the three entities */
    for (const char *p = strchr(s, '&'); p; p = strchr(p + 1, '&'))
        assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
                    !strncmp(p, "&gt;", 4));
}

static void within_slack_limit(const char *s, void *ud)
{
    (void)ud;
    assert_true(units(s) <= 3000);   /* a section or context text */
}

/* ------------------------------------------------------------- Slack */

static void slack_escapes_and_names_section(void **state)
{
    (void)state;
    msfaq_post_message m = sample("is <!channel> & <b>ok</b>?",
                                  "Use <https://evil|this> & that > it.",
                                  "Emerging Therapies & Approaches");
    m.channel = "C0123";
    m.thread_ts = "1700000000.000100";
    json_t *o = format(MSFAQ_POST_SLACK_API, &m);
    const char *text = json_string_value(json_object_get(o, "text"));
    assert_non_null(text);
    assert_non_null(strstr(text, "Use &lt;https://evil|this&gt; &amp; "
                                 "that &gt; it."));
    no_raw_angle(text, NULL);
    assert_string_equal(json_string_value(json_object_get(o, "channel")),
                        "C0123");
    assert_string_equal(json_string_value(json_object_get(o, "thread_ts")),
                        "1700000000.000100");
    json_t *blocks = json_object_get(o, "blocks");
    assert_true(json_array_size(blocks) >= 3);
    each_text(blocks, no_raw_angle, NULL);

    /* a section block with the answer, then a context block naming the
     * section */
    size_t i, sec = 0, ctx = 0;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        const char *type = json_string_value(json_object_get(b, "type"));
        if (!strcmp(type, "section") && !sec)
            sec = i + 1;
        if (!strcmp(type, "context")) {
            const char *t = json_string_value(json_object_get(
                json_array_get(json_object_get(b, "elements"), 0), "text"));
            if (strstr(t, "Emerging Therapies &amp; Approaches")) {
                ctx = i + 1;
                assert_non_null(strstr(t, "Article section"));
            }
        }
    }
    assert_true(sec > 0);
    assert_true(ctx > sec);
    /* the question is shown, escaped */
    char *dump = json_dumps(blocks, 0);
    assert_non_null(strstr(dump, "is &lt;!channel&gt; &amp; &lt;b&gt;ok"));
    assert_non_null(strstr(dump, "Is it &lt;safe&gt;?"));
    free(dump);
    json_decref(o);
}

static void slack_webhook_has_no_channel(void **state)
{
    (void)state;
    msfaq_post_message m = sample(NULL, "An answer.", "Some Section");
    m.channel = "C1";   /* ignored by the webhook */
    json_t *o = format(MSFAQ_POST_SLACK_WEBHOOK, &m);
    assert_null(json_object_get(o, "channel"));
    assert_null(json_object_get(o, "thread_ts"));
    assert_true(json_is_array(json_object_get(o, "blocks")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "text")),
                           "Some Section"));
    json_decref(o);
}

static void slack_api_needs_channel(void **state)
{
    (void)state;
    msfaq_post_message m = sample("q", "a", "s");
    msfaq_error err;
    assert_null(msfaq_post_format(MSFAQ_POST_SLACK_API, &m, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    assert_non_null(strstr(err.text, "channel"));
}

static void slack_fallback_context_without_section(void **state)
{
    (void)state;
    msfaq_post_message m = sample("q", "I cannot answer that.", NULL);
    m.follow_up_count = 0;
    json_t *o = format(MSFAQ_POST_SLACK_WEBHOOK, &m);
    char *dump = json_dumps(o, 0);
    assert_non_null(strstr(dump, "not from an article section"));
    assert_null(strstr(dump, "Article section"));
    free(dump);
    json_decref(o);
}

/* A long answer is split into section blocks of at most 3000 characters
 * whose texts, put back together, are the whole escaped answer. */
static void slack_long_answer_split(void **state)
{
    (void)state;
    size_t n = 9000;
    char *ans = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        ans[i] = (i % 7 == 6) ? ' ' : (i % 50 == 3 ? '&' : 'x');
    ans[n] = '\0';
    msfaq_post_message m = sample("q", ans, "S");
    json_t *o = format(MSFAQ_POST_SLACK_WEBHOOK, &m);
    json_t *blocks = json_object_get(o, "blocks");
    size_t i, sections = 0, total = 0;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        if (strcmp(json_string_value(json_object_get(b, "type")), "section"))
            continue;
        const char *t = json_string_value(
            json_object_get(json_object_get(b, "text"), "text"));
        if (t[0] == '*')   /* the follow-ups */
            continue;
        sections++;
        assert_true(units(t) <= 3000);
        no_raw_angle(t, NULL);
        total += strlen(t);
    }
    assert_true(sections >= 4);
    char *esc = msfaqp_post_slack_escape(ans);
    /* only the spaces at the splits are dropped */
    assert_true(total <= strlen(esc));
    assert_true(total + sections >= strlen(esc) - sections);
    assert_true(units(json_string_value(json_object_get(o, "text"))) <=
                3000);
    free(esc);
    free(ans);
    json_decref(o);
}

/* --------------------------------------------------- Discord, Mattermost */

static void discord_short_message(void **state)
{
    (void)state;
    msfaq_post_message m = sample("**bold** @everyone <@123> [x](y)",
                                  "Plain answer_with_underscores.",
                                  "Current Therapies");
    json_t *o = format(MSFAQ_POST_DISCORD, &m);
    const char *c = json_string_value(json_object_get(o, "content"));
    assert_non_null(strstr(c, "\\*\\*bold\\*\\* \\@everyone \\<\\@123\\> "
                              "\\[x\\](y)"));
    assert_non_null(strstr(c, "answer\\_with\\_underscores"));
    assert_non_null(strstr(c, "*Article section: Current Therapies*"));
    assert_non_null(strstr(c, "- What is CAR T?"));
    json_t *am = json_object_get(o, "allowed_mentions");
    assert_true(json_is_array(json_object_get(am, "parse")));
    assert_int_equal(json_array_size(json_object_get(am, "parse")), 0);
    json_decref(o);
}

/* Answers of many lengths around the limit, some with characters outside
 * the BMP (two UTF-16 units each) right where the cut falls: content
 * stays within 2000 characters, keeps the section line, and marks the cut
 * with an ellipsis. */
static void discord_truncates_cleanly(void **state)
{
    (void)state;
    const char *words[] = {"relapse ", "\xF0\x9F\xA7\xA0", "MS* ", "é"};
    for (size_t len = 1950; len <= 2450; len += 37) {
        char *ans = malloc(len * 4 + 1);
        size_t o = 0, k = 0;
        while (o == 0 || units(ans) < len) {
            const char *w = words[k++ % 4];
            memcpy(ans + o, w, strlen(w));
            o += strlen(w);
            ans[o] = '\0';
        }
        msfaq_post_message m = sample("why?", ans, "Current Therapies");
        json_t *j = format(MSFAQ_POST_DISCORD, &m);
        const char *c = json_string_value(json_object_get(j, "content"));
        assert_non_null(c);   /* jansson refuses invalid UTF-8 */
        assert_true(units(c) <= MSFAQ_POST_DISCORD_MAX);
        assert_non_null(strstr(c, "*Article section: Current Therapies*"));
        assert_non_null(strstr(c, "\xE2\x80\xA6"));
        /* no lone backslash before the ellipsis */
        const char *el = strstr(c, "\xE2\x80\xA6");
        assert_true(el == c || el[-1] != '\\' || el[-2] == '\\');
        json_decref(j);
        free(ans);
    }
    /* a short answer is not cut */
    msfaq_post_message m = sample("why?", "Short.", "S");
    json_t *j = format(MSFAQ_POST_DISCORD, &m);
    assert_null(strstr(json_string_value(json_object_get(j, "content")),
                       "\xE2\x80\xA6"));
    json_decref(j);
}

static void mattermost_markdown(void **state)
{
    (void)state;
    msfaq_post_message m = sample("what is _it_?", "An answer.",
                                  "Challenges and Future Prospects");
    m.channel = "town-square";
    json_t *o = format(MSFAQ_POST_MATTERMOST, &m);
    const char *t = json_string_value(json_object_get(o, "text"));
    assert_non_null(strstr(t, "**Question:** what is \\_it\\_?"));
    assert_non_null(strstr(t, "Article section: "
                              "Challenges and Future Prospects"));
    assert_string_equal(json_string_value(json_object_get(o, "channel")),
                        "town-square");
    json_decref(o);
}

/* ---------------------------------------------------------------- JSON */

/* The json target, from a real result, has exactly the fields of
 * `msfaq ask --json` (msfaq_result_json) plus the question. */
static void json_matches_ask_json(void **state)
{
    (void)state;
    msfaq_error err;
    msfaq_kb *kb = msfaq_kb_open(NULL, 0, &err);
    assert_non_null(kb);
    msfaq_result *r;
    assert_true(msfaq_ask(kb, "what is CAR T?", 0, &r, &err) >= 0);
    msfaq_post_message m = MSFAQ_POST_MESSAGE_INIT;
    m.question = "what is CAR T?";
    m.result = r;
    json_t *o = format(MSFAQ_POST_JSON, &m);
    json_error_t je;
    json_t *ask = json_loads(msfaq_result_json(r), 0, &je);
    assert_non_null(ask);
    assert_string_equal(json_string_value(json_object_get(o, "question")),
                        "what is CAR T?");
    json_object_del(o, "question");
    assert_true(json_equal(o, ask));
    /* and the same reply given field by field formats the same */
    const char *fus[8];
    size_t n = msfaq_result_follow_up_count(r);
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        fus[i] = msfaq_result_follow_up(r, i);
    msfaq_post_message f = MSFAQ_POST_MESSAGE_INIT;
    f.question = "what is CAR T?";
    f.kind = msfaq_result_kind(r);
    f.intent = msfaq_result_intent(r);
    f.confidence = msfaq_result_confidence(r);
    f.answer = msfaq_result_answer(r);
    f.section = msfaq_result_section(r);
    f.follow_ups = fus;
    f.follow_up_count = n;
    char *a = msfaq_post_format(MSFAQ_POST_SLACK_WEBHOOK, &m, &err);
    char *b = msfaq_post_format(MSFAQ_POST_SLACK_WEBHOOK, &f, &err);
    assert_string_equal(a, b);
    msfaq_post_free(a);
    msfaq_post_free(b);
    json_decref(ask);
    json_decref(o);
    msfaq_result_free(r);
    msfaq_kb_close(kb);
}

static void json_null_question_and_section(void **state)
{
    (void)state;
    msfaq_post_message m = sample(NULL, "fallback text", NULL);
    m.follow_up_count = 0;
    json_t *o = format(MSFAQ_POST_JSON, &m);
    assert_true(json_is_null(json_object_get(o, "question")));
    assert_true(json_is_null(json_object_get(o, "section")));
    assert_string_equal(json_string_value(json_object_get(o, "kind")),
                        "fallback");
    json_decref(o);
}

/* Many generated messages (fixed seed) made of the characters that need
 * care: escapes, markdown, spaces, 2-, 3- and 4-byte UTF-8.  Every body
 * is JSON (so valid UTF-8), Discord stays within its limit, every Slack
 * text within its own, and no Slack text has a raw < or >. */
static void generated_messages(void **state)
{
    (void)state;
    static const char *const atoms[] = {
        "&", "<", ">", "*", "_", "\\", "@", "#", "`", " ", " ", " ", "\n",
        "word", "MS", "\xC3\xA9", "\xE2\x80\x99", "\xF0\x9F\xA7\xA0",
        "&amp;", "<!channel>", "\\*"};
    const size_t n_atoms = sizeof atoms / sizeof atoms[0];
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int round = 0; round < 300; round++) {
        char *parts[3];
        for (int k = 0; k < 3; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t len = (size_t)(x % (k == 1 ? 9000 : 400));
            msfaqp_post_buf b = {NULL, 0, 0, 1};
            msfaqp_post_buf_add(&b, "", 0);
            while (b.len < len) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                msfaqp_post_buf_puts(&b, atoms[x % n_atoms]);
            }
            assert_true(b.ok);
            parts[k] = b.s;
        }
        msfaq_post_message m = sample(parts[0], parts[1],
                                      round % 3 ? parts[2] : NULL);
        m.channel = "C1";
        for (int t = MSFAQ_POST_SLACK_WEBHOOK; t <= MSFAQ_POST_JSON; t++) {
            json_t *o = format(t, &m);
            if (t == MSFAQ_POST_DISCORD)
                assert_true(units(json_string_value(
                                json_object_get(o, "content"))) <=
                            MSFAQ_POST_DISCORD_MAX);
            if (t == MSFAQ_POST_SLACK_WEBHOOK || t == MSFAQ_POST_SLACK_API) {
                each_text(json_object_get(o, "blocks"), no_raw_angle, NULL);
                each_text(json_object_get(o, "blocks"), within_slack_limit,
                          NULL);
                no_raw_angle(json_string_value(json_object_get(o, "text")),
                             NULL);
                assert_true(units(json_string_value(
                                json_object_get(o, "text"))) <= 3000);
                assert_true(json_array_size(json_object_get(o, "blocks")) <=
                            50);
            }
            json_decref(o);
        }
        for (int k = 0; k < 3; k++)
            free(parts[k]);
    }
}

/* ------------------------------------------------------- bad messages */

static void bad_messages(void **state)
{
    (void)state;
    msfaq_error err;
    msfaq_post_message m = sample("q", "a", "s");
    assert_null(msfaq_post_format(99, &m, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    assert_null(msfaq_post_format(MSFAQ_POST_JSON, NULL, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    msfaq_post_message z;
    memset(&z, 0, sizeof z);
    z.answer = "a";
    assert_null(msfaq_post_format(MSFAQ_POST_JSON, &z, &err));
    assert_non_null(strstr(err.text, "MSFAQ_POST_MESSAGE_INIT"));
    m.answer = NULL;
    assert_null(msfaq_post_format(MSFAQ_POST_JSON, &m, &err));
    assert_non_null(strstr(err.text, "answer"));
    m.answer = "bad \xC3( utf-8";
    assert_null(msfaq_post_format(MSFAQ_POST_JSON, &m, &err));
    assert_non_null(strstr(err.text, "UTF-8"));
    m.answer = "a";
    m.kind = 42;
    assert_null(msfaq_post_format(MSFAQ_POST_JSON, &m, &err));
    assert_int_equal(err.code, MSFAQ_EINVAL);
    /* err may be NULL */
    assert_null(msfaq_post_format(99, &m, NULL));
}

/* -------------------------------------------------------- text helpers */

static void cut_is_clean(void **state)
{
    (void)state;
    /* never inside an entity */
    const char *s = "aaaa&amp;bbbb";
    size_t c = msfaqp_post_cut(s, strlen(s), 7);
    assert_int_equal(c, 4);
    /* never right after a lone backslash */
    s = "abc\\*def";
    assert_int_equal(msfaqp_post_cut(s, strlen(s), 4), 3);
    /* at a space when one is near the end */
    s = "hello world again";
    assert_int_equal(msfaqp_post_cut(s, strlen(s), 14), 11);
    /* whole characters: U+1F9E0 is 4 bytes, 2 units */
    s = "ab\xF0\x9F\xA7\xA0" "cd";
    assert_int_equal(msfaqp_post_units(s, strlen(s)), 6);
    assert_int_equal(msfaqp_post_cut(s, strlen(s), 3), 2);
    assert_int_equal(msfaqp_post_cut(s, strlen(s), 4), 6);
    /* fits: untouched */
    assert_int_equal(msfaqp_post_cut(s, strlen(s), 6), strlen(s));
    char *t = msfaqp_post_truncate("one two three four", 10);
    assert_string_equal(t, "one two\xE2\x80\xA6");
    assert_true(msfaqp_post_units(t, strlen(t)) <= 10);
    free(t);
}

static void escapes(void **state)
{
    (void)state;
    char *e = msfaqp_post_slack_escape("a&b<c>d *e* &amp;");
    assert_string_equal(e, "a&amp;b&lt;c&gt;d *e* &amp;amp;");
    free(e);
    e = msfaqp_post_md_escape("a*b_c~d`e|f[g]h<i>j#k@l\\m.n");
    assert_string_equal(e, "a\\*b\\_c\\~d\\`e\\|f\\[g\\]h\\<i\\>j\\#k\\@l"
                           "\\\\m.n");
    free(e);
}

static void redaction(void **state)
{
    (void)state;
    const char *secrets[] = {"xoxb-123-SECRET", NULL,
                             "/services/T0/B0/abcdef"};
    char text[256] = "token xoxb-123-SECRET and "
                     "http://h/services/T0/B0/abcdef?x xoxb-123-SECRET";
    msfaqp_post_redact(text, sizeof text, secrets, 3);
    assert_string_equal(text, "token [redacted] and http://h[redacted]?x "
                              "[redacted]");
    /* a buffer too small for the mark: the text ends there instead */
    char small[12] = "ab SECRETXY";
    const char *one[] = {"SECRETXY"};
    msfaqp_post_redact(small, sizeof small, one, 1);
    assert_null(strstr(small, "SECRET"));
    char *d = msfaqp_post_redact_dup("xx SECRETXY yy SECRETXY", one, 1);
    assert_string_equal(d, "xx [redacted] yy [redacted]");
    free(d);
}

/* ------------------------------------------------------------ basics */

static void names_versions_errors(void **state)
{
    (void)state;
    const char *names[] = {"slack-webhook", "slack", "discord",
                           "mattermost", "json", "matrix"};
    for (size_t i = 0; i < 6; i++) {
        int t = msfaq_post_target_from_name(names[i]);
        assert_true(t > 0);
        assert_string_equal(msfaq_post_target_name(t), names[i]);
    }
    assert_int_equal(msfaq_post_target_from_name("matrix"),
                     MSFAQ_POST_MATRIX);
    assert_int_equal(msfaq_post_target_from_name("irc"), MSFAQ_EINVAL);
    assert_int_equal(msfaq_post_target_from_name(NULL), MSFAQ_EINVAL);
    assert_null(msfaq_post_target_name(0));
    assert_string_equal(msfaq_post_version(), MSFAQ_POST_VERSION_STRING);
    assert_int_equal(msfaq_post_version_hex(), MSFAQ_POST_VERSION_HEX);
    assert_string_equal(msfaq_post_strerror(MSFAQ_POST_EREFUSED),
                        "target refused the message");
    assert_string_equal(msfaq_post_strerror(MSFAQ_EINVAL),
                        msfaq_strerror(MSFAQ_EINVAL));
    assert_string_equal(msfaq_post_strerror(-999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slack_escapes_and_names_section),
        cmocka_unit_test(slack_webhook_has_no_channel),
        cmocka_unit_test(slack_api_needs_channel),
        cmocka_unit_test(slack_fallback_context_without_section),
        cmocka_unit_test(slack_long_answer_split),
        cmocka_unit_test(discord_short_message),
        cmocka_unit_test(discord_truncates_cleanly),
        cmocka_unit_test(mattermost_markdown),
        cmocka_unit_test(json_matches_ask_json),
        cmocka_unit_test(json_null_question_and_section),
        cmocka_unit_test(generated_messages),
        cmocka_unit_test(bad_messages),
        cmocka_unit_test(cut_is_clean),
        cmocka_unit_test(escapes),
        cmocka_unit_test(redaction),
        cmocka_unit_test(names_versions_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
