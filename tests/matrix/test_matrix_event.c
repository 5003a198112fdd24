/*
 * test_matrix_event.c - which Matrix events the bot and the application
 * service answer, and the question they read in them (matrix/event.c);
 * the member-count cache that tells direct rooms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "mx.h"

static const mx_self self = {"@faqbot:hs", "FAQ Bot"};

/* An m.room.message event from @alice:hs with content given as JSON. */
static json_t *message(const char *content)
{
    json_error_t je;
    json_t *c = json_loads(content, JSON_ALLOW_NUL, &je);
    if (!c)
        fail_msg("bad test JSON: %s", je.text);
    return json_pack("{s:s,s:s,s:s,s:I,s:s,s:o}", "type", "m.room.message",
                     "event_id", "$e1", "sender", "@alice:hs",
                     "origin_server_ts", (json_int_t)1700000000000,
                     "room_id", "!r:hs", "content", c);
}

/* The reason ev is ignored, or NULL; and the question when answered. */
static const char *judge(json_t *ev, mx_message *m, char **question)
{
    const char *why = mx_message_parse(ev, &self, m);
    *question = why ? NULL : mx_message_question(m, &self);
    return why;
}

static void ignored_events(void **state)
{
    (void)state;
    static const struct {
        const char *content;
        const char *why;
    } cases[] = {
        {"{\"msgtype\":\"m.notice\",\"body\":\"what is CAR T?\"}",
         "notice (no bot answers a notice)"},
        {"{\"msgtype\":\"m.emote\",\"body\":\"waves\"}", "not text"},
        {"{\"msgtype\":\"m.image\",\"body\":\"x.png\"}", "not text"},
        {"{}", "redacted or malformed"},
        {"{\"msgtype\":\"m.text\",\"body\":\"* fixed\",\"m.new_content\":{},"
         "\"m.relates_to\":{\"rel_type\":\"m.replace\",\"event_id\":"
         "\"$0\"}}", "edit"},
        {"{\"msgtype\":\"m.text\",\"body\":5}", "malformed event"},
        {"{\"msgtype\":\"m.text\",\"body\":\"a\\u0000b\"}",
         "NUL byte in the text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ev = message(cases[i].content);
        mx_message m;
        char *q;
        const char *why = judge(ev, &m, &q);
        assert_non_null(why);
        assert_string_equal(why, cases[i].why);
        assert_null(q);
        json_decref(ev);
    }
    /* our own message, a state event, another type, encrypted, junk */
    json_t *ev = message("{\"msgtype\":\"m.text\",\"body\":\"hi\"}");
    json_object_set_new(ev, "sender", json_string("@faqbot:hs"));
    mx_message m;
    assert_string_equal(mx_message_parse(ev, &self, &m), "own message");
    json_object_set_new(ev, "sender", json_string("@alice:hs"));
    json_object_set_new(ev, "state_key", json_string(""));
    assert_string_equal(mx_message_parse(ev, &self, &m), "state event");
    json_object_del(ev, "state_key");
    json_object_set_new(ev, "type", json_string("m.reaction"));
    assert_string_equal(mx_message_parse(ev, &self, &m), "not a message");
    json_object_set_new(ev, "type", json_string("m.room.encrypted"));
    assert_string_equal(mx_message_parse(ev, &self, &m),
                        "encrypted (not supported)");
    json_object_set_new(ev, "type", json_string("m.room.message"));
    json_object_set_new(ev, "unsigned", json_pack("{s:{}}",
                                                  "redacted_because"));
    assert_string_equal(mx_message_parse(ev, &self, &m), "redacted");
    json_decref(ev);
    assert_string_equal(mx_message_parse(NULL, &self, &m),
                        "malformed event");
}

static void mentions(void **state)
{
    (void)state;
    static const struct {
        const char *content;
        bool mentioned;
        const char *question;
    } cases[] = {
        /* m.mentions decides whenever it is there */
        {"{\"msgtype\":\"m.text\",\"body\":\"FAQ Bot: what is CAR T?\","
         "\"m.mentions\":{\"user_ids\":[\"@faqbot:hs\"]}}", true,
         "what is CAR T?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"@faqbot:hs what is CAR T?\","
         "\"m.mentions\":{}}", false, "what is CAR T?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"what is CAR T?\","
         "\"m.mentions\":{\"user_ids\":[\"@carol:hs\"]}}", false,
         "what is CAR T?"},
        /* older clients: our ID, our localpart or name first, a link */
        {"{\"msgtype\":\"m.text\",\"body\":\"hey @faqbot:hs, what is a "
         "DMT?\"}", true, "hey , what is a DMT?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"faqbot: what is a DMT?\"}",
         true, "what is a DMT?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"  FAQ bot, what is a DMT?\"}",
         true, "what is a DMT?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"Bot: what?\","
         "\"format\":\"org.matrix.custom.html\",\"formatted_body\":"
         "\"<a href=\\\"https://matrix.to/#/@faqbot:hs\\\">Bot</a>: what?\"}",
         true, "Bot: what?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"faqbotty: no\"}", false,
         "faqbotty: no"},
        {"{\"msgtype\":\"m.text\",\"body\":\"what is a DMT?\"}", false,
         "what is a DMT?"},
        /* an old-style reply quoting us: the quote is not a mention, and
         * not part of the question */
        {"{\"msgtype\":\"m.text\",\"body\":\"> <@faqbot:hs> CAR T is ...\\n"
         "> more\\n\\nand the side effects?\"}", false,
         "and the side effects?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"> <@carol:hs> hm\\n\\n"
         "faqbot: and the side effects?\"}", true, "and the side effects?"},
        {"{\"msgtype\":\"m.text\",\"body\":\"@faqbot:hs\"}", true, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *ev = message(cases[i].content);
        mx_message m;
        char *q;
        const char *why = judge(ev, &m, &q);
        if (why)
            fail_msg("case %zu ignored: %s", i, why);
        if (m.mentioned != cases[i].mentioned)
            fail_msg("case %zu: mentioned %d", i, m.mentioned);
        assert_non_null(q);
        if (strcmp(q, cases[i].question))
            fail_msg("case %zu: question \"%s\"", i, q);
        assert_string_equal(m.event_id, "$e1");
        assert_string_equal(m.sender, "@alice:hs");
        assert_string_equal(m.room_id, "!r:hs");
        assert_true(m.ts == 1700000000000LL);
        free(q);
        json_decref(ev);
    }
}

static void threads_invites_members(void **state)
{
    (void)state;
    json_t *ev = message("{\"msgtype\":\"m.text\",\"body\":\"q\","
                         "\"m.relates_to\":{\"rel_type\":\"m.thread\","
                         "\"event_id\":\"$root\"}}");
    mx_message m;
    assert_null(mx_message_parse(ev, &self, &m));
    assert_string_equal(m.thread_root, "$root");
    assert_false(mx_event_invites(ev, self.user_id));
    assert_false(mx_event_is_member(ev));
    json_decref(ev);

    ev = json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "m.room.member",
                   "state_key", "@faqbot:hs", "sender", "@alice:hs",
                   "content", "membership", "invite");
    assert_true(mx_event_invites(ev, self.user_id));
    assert_false(mx_event_invites(ev, "@other:hs"));
    assert_true(mx_event_is_member(ev));
    json_object_set_new(json_object_get(ev, "content"), "membership",
                        json_string("join"));
    assert_false(mx_event_invites(ev, self.user_id));
    assert_string_equal(mx_message_parse(ev, &self, &m), "state event");
    json_decref(ev);
}

static void room_counts(void **state)
{
    (void)state;
    mx_rooms *r = mx_rooms_new();
    assert_non_null(r);
    assert_int_equal(mx_rooms_get(r, "!a"), -1);
    char name[16];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "!r%d", i);
        assert_int_equal(mx_rooms_set(r, name, i), 0);
    }
    assert_int_equal(mx_rooms_get(r, "!r7"), 7);
    assert_int_equal(mx_rooms_set(r, "!r7", 2), 0);
    assert_int_equal(mx_rooms_get(r, "!r7"), 2);
    mx_rooms_forget(r, "!r7");
    mx_rooms_forget(r, "!nothing");
    assert_int_equal(mx_rooms_get(r, "!r7"), -1);
    assert_int_equal(mx_rooms_get(r, "!r39"), 39);
    mx_rooms_free(r);
    mx_rooms_free(NULL);
}

static void escape(void **state)
{
    (void)state;
    char *e = mx_escape("!room:hs.example/x y");
    assert_string_equal(e, "%21room%3Ahs.example%2Fx%20y");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ignored_events),
        cmocka_unit_test(mentions),
        cmocka_unit_test(threads_invites_members),
        cmocka_unit_test(room_counts),
        cmocka_unit_test(escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
