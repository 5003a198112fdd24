#!/usr/bin/env python3
"""make_seeds_chat.py - the seeds of fuzz_slack, fuzz_matrix and fuzz_http.

Usage: make_seeds_chat.py CORPUS_DIR (make_seeds.sh runs it).  Rewrites
CORPUS_DIR/fuzz_slack, fuzz_matrix and fuzz_http.

Slack and Matrix seeds are bodies as the services document them
(../shared/docs/chat-protocols.md: Slack's signing test vector, slash
command fields, url_verification and event_callback envelopes; the /sync
reply and transaction shapes of the Matrix spec), plus malformed ones.  A
fuzz_slack or fuzz_matrix input starts with a control byte (see the
harnesses' header comments); the constants below name its bits.
"""
import json
import os
import shutil
import sys
from urllib.parse import urlencode

# fuzz_slack's control byte
COMMANDS, EVENTS = 0x00, 0x01
SIGNED, UNSIGNED, STALE, BAD_MAC = 0 << 1, 5 << 1, 6 << 1, 7 << 1
BAD_TS = BAD_MAC | 0x10
IN_CHANNEL = 0x10
NO_SECRET = 0xE0

# fuzz_matrix's control byte
SYNC, TXN = 0x00, 0x01
SINCE = 0x02
GAP_EMPTY, GAP_AGAIN = 1 << 2, 2 << 2
DIRECT = 0x10
NO_NAME = 0x20
STOP = 0xC0

BOT = "@faqbot:hs"
TS = 1700000100000          # after fuzz_matrix's "first start"


def write(folder, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def ctl(byte, body):
    if not isinstance(body, bytes):
        body = body.encode("utf-8") if isinstance(body, str) \
            else json.dumps(body).encode("utf-8")
    return bytes([byte]) + body


# ------------------------------------------------------------------ Slack

# Slack's own example (the signing test vector's body, 362 bytes)
VECTOR = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain="
          "testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id="
          "U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
          "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J"
          "%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015"
          ".47445629121.803a0bc887a14d10d2c447fce8b6703c")


def command(text, **extra):
    fields = {"token": "xyzz0WbapA4vBCDEFasx0q6G", "team_id": "T1DC2JH3J",
              "team_domain": "testteamnow", "channel_id": "C2147483705",
              "channel_name": "general", "user_id": "U2147483697",
              "user_name": "steve", "command": "/msfaq", "text": text,
              "api_app_id": "A123456",
              "response_url": "https://hooks.slack.com/commands/1234/5678",
              "trigger_id": "13345224609.738474920.8088930838d88f008e0"}
    fields.update(extra)
    return urlencode({k: v for k, v in fields.items() if v is not None})


def envelope(event, **extra):
    o = {"token": "XXYYZZ", "team_id": "T123ABC456", "api_app_id": "A123",
         "event": event, "type": "event_callback",
         "event_id": "Ev123ABC456", "event_time": 1700000000,
         "authorizations": [{"team_id": "T123ABC456", "user_id": "UBOTFUZZ",
                             "is_bot": True}]}
    o.update(extra)
    return o


def message(**fields):
    ev = {"type": "message", "channel": "D0PNCRP9N", "channel_type": "im",
          "user": "U2147483697", "text": "what is a DMT?",
          "ts": "1700000000.000200", "event_ts": "1700000000.000200"}
    ev.update(fields)
    return {k: v for k, v in ev.items() if v is not None}


def slack(folder):
    w = lambda name, byte, body: write(folder, name, ctl(byte, body))
    w("cmd-vector", COMMANDS, VECTOR)
    w("cmd-question", COMMANDS, command("what is CAR-T?"))
    w("cmd-in-channel", COMMANDS | IN_CHANNEL,
      command("Do DMTs have side effects?"))
    w("cmd-mention-entities", COMMANDS,
      command("<@U123|bob> whats a DMT &amp; is it &lt;safe&gt;?"))
    w("cmd-channel-mention", COMMANDS, command("<!channel> *bold* _x_ `c`"))
    w("cmd-safety", COMMANDS, command("should I stop my interferon?"))
    w("cmd-urgent", COMMANDS, command("I suddenly cannot see out of one eye"))
    w("cmd-empty-text", COMMANDS, command(""))
    w("cmd-no-text", COMMANDS, command(None))
    w("cmd-no-command", COMMANDS, command("hi", command=None))
    w("cmd-plus-spaces", COMMANDS,
      "command=%2Fmsfaq&text=what+is+ocrelizumab%3F")
    w("cmd-nul", COMMANDS, "command=%2Fmsfaq&text=what%00is")
    w("cmd-bad-utf8", COMMANDS, "command=%2Fmsfaq&text=caf%C3%28")
    w("cmd-emoji", COMMANDS,
      "command=%2Fmsfaq&text=car+t+%F0%9F%98%80+%E2%80%99s")
    w("cmd-too-long", COMMANDS, "command=%2Fmsfaq&text=" + "a" * 4097)
    w("cmd-4096", COMMANDS, "command=%2Fmsfaq&text=" + "car+t+" * 682 + "ab")
    w("cmd-bad-escape", COMMANDS, "command=%2Fmsfaq&text=50%+off%zz")
    w("cmd-short-escape", COMMANDS, "command=%2Fmsfaq&text=x%4")
    w("cmd-empty-name", COMMANDS, "=x&command=%2Fmsfaq&text=hi")
    w("cmd-nul-name", COMMANDS, "te%00xt=a&command=%2Fmsfaq&text=hi")
    w("cmd-duplicates", COMMANDS,
      "text=first&&command=%2Fmsfaq&text=second&flag&=&")
    w("cmd-ssl-check", COMMANDS | UNSIGNED,
      "ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G")
    w("cmd-ssl-check-signed", COMMANDS, "ssl_check=1&token=x")
    w("cmd-unsigned", COMMANDS | UNSIGNED, command("what is CAR-T?"))
    w("cmd-stale", COMMANDS | STALE, command("what is CAR-T?"))
    w("cmd-bad-mac", COMMANDS | BAD_MAC, command("what is CAR-T?"))
    w("cmd-bad-ts", COMMANDS | BAD_TS, VECTOR)
    w("cmd-no-secret", COMMANDS | NO_SECRET, VECTOR)

    w("ev-url-verification", EVENTS,
      {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
       "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
       "type": "url_verification"})
    w("ev-url-verification-no-challenge", EVENTS,
      {"token": "x", "type": "url_verification"})
    w("ev-app-mention", EVENTS, envelope(message(
        type="app_mention", channel="C0LAN2Q65", channel_type=None,
        text="<@UBOTFUZZ> what are the side effects of natalizumab?")))
    w("ev-mention-thread", EVENTS, envelope(message(
        type="app_mention", channel="C0LAN2Q65", channel_type=None,
        text="<@UBOTFUZZ> and CAR-T?", thread_ts="1699999999.000100")))
    w("ev-dm", EVENTS, envelope(message()))
    w("ev-dm-channel", EVENTS, envelope(message(channel_type="channel")))
    w("ev-bot-message", EVENTS, envelope(message(
        subtype="bot_message", bot_id="B123", user=None)))
    nulls = message()
    nulls.update(bot_id=None, subtype=None)     # JSON null: not a bot
    w("ev-bot-id-null", EVENTS, envelope(nulls))
    w("ev-message-changed", EVENTS, envelope(message(
        subtype="message_changed", message={"text": "edited"})))
    w("ev-own", EVENTS, envelope(message(user="UBOTFUZZ")))
    w("ev-incomplete", EVENTS, envelope(message(ts=None)))
    w("ev-no-user", EVENTS, envelope(message(user=None)))
    w("ev-text-not-string", EVENTS, envelope(message(text=42)))
    w("ev-other-envelope", EVENTS,
      {"type": "app_rate_limited", "team_id": "T1", "minute_rate_limited":
       1518467820, "api_app_id": "A1"})
    w("ev-no-event", EVENTS, {"type": "event_callback", "event_id": "Ev1"})
    w("ev-event-array", EVENTS, {"type": "event_callback", "event": []})
    w("ev-no-type", EVENTS, {"challenge": "x"})
    w("ev-array", EVENTS, "[1, 2, 3]")
    w("ev-truncated", EVENTS, '{"type": "event_callback", "event": {')
    w("ev-bad-utf8", EVENTS, b'{"type": "url_verification", '
      b'"challenge": "\xc3\x28"}')
    w("ev-nul-escape", EVENTS,
      '{"type": "url_verification", "challenge": "a\\u0000b"}')
    w("ev-unsigned", EVENTS | UNSIGNED, envelope(message()))
    w("ev-stale", EVENTS | STALE, envelope(message()))
    w("ev-bad-mac", EVENTS | BAD_MAC, envelope(message()))


# ----------------------------------------------------------------- Matrix

def mx_message(body, sender="@alice:hs", event_id="$q1", content=None,
               ts=TS, **extra):
    c = {"msgtype": "m.text", "body": body}
    c.update(content or {})
    ev = {"type": "m.room.message", "event_id": event_id, "sender": sender,
          "origin_server_ts": ts, "content": c,
          "unsigned": {"age": 1234}}
    ev.update(extra)
    return ev


def member(user, membership, sender="@alice:hs"):
    return {"type": "m.room.member", "state_key": user, "sender": sender,
            "event_id": "$m-" + membership, "origin_server_ts": TS,
            "content": {"membership": membership}}


def sync_body(join=None, invite=None, leave=None, next_batch="s72595_4483"):
    return {"next_batch": next_batch,
            "rooms": {"join": join or {}, "invite": invite or {},
                      "leave": leave or {}}}


def timeline(*events, limited=False, prev="t34-23535_0_0"):
    return {"timeline": {"events": list(events), "limited": limited,
                         "prev_batch": prev},
            "state": {"events": []}}


def matrix(folder):
    w = lambda name, byte, body: write(folder, name, ctl(byte, body))
    # the spec's example, as chat-protocols.md abridges it
    spec = sync_body(
        join={"!room:hs": timeline(mx_message(
            "how do I reset my password?", event_id="$ev"))},
        invite={"!other:hs": {"invite_state": {"events": [
            member(BOT, "invite")]}}})
    w("sync-spec", SYNC | SINCE, spec)
    w("sync-spec-direct", SYNC | SINCE | DIRECT, spec)
    w("sync-first", SYNC, spec)
    mentions = timeline(
        mx_message("what is CAR-T?", event_id="$pill",
                   content={"m.mentions": {"user_ids": [BOT]}}),
        mx_message("what is CAR-T?", event_id="$other-pill",
                   content={"m.mentions": {"user_ids": ["@bob:hs"]}}),
        mx_message("@faqbot:hs what is a DMT?", event_id="$id"),
        mx_message("faqbot: side effects of interferon?", event_id="$lp"),
        mx_message("FAQ Bot, should I stop ocrelizumab?", event_id="$name"),
        mx_message("FAQ Bot what is FAQ Bot?", event_id="$name2",
                   content={"m.mentions": {"user_ids": [BOT]}}),
        mx_message("hello there", event_id="$html", content={
            "format": "org.matrix.custom.html",
            "formatted_body": '<a href="https://matrix.to/#/@faqbot:hs">'
                              'FAQ Bot</a>: what is a DMT?'}),
        mx_message("> <@faqbot:hs> The article says...\n> more\n\n"
                   "thanks, and CAR-T?", event_id="$fallback"),
        mx_message("in a thread: what is natalizumab?", event_id="$thread",
                   content={"m.relates_to": {"rel_type": "m.thread",
                                             "event_id": "$root"},
                            "m.mentions": {"user_ids": [BOT]}}),
        mx_message("   \t ", event_id="$blank",
                   content={"m.mentions": {"user_ids": [BOT]}}))
    w("sync-mentions", SYNC | SINCE, sync_body(join={"!g:hs": mentions}))
    w("sync-mentions-no-name", SYNC | SINCE | NO_NAME,
      sync_body(join={"!g:hs": mentions}))
    ignored = timeline(
        mx_message("an answer", event_id="$notice",
                   content={"msgtype": "m.notice"}),
        mx_message("waves", event_id="$emote",
                   content={"msgtype": "m.emote"}),
        mx_message("x.png", event_id="$image",
                   content={"msgtype": "m.image", "url": "mxc://hs/x"}),
        mx_message("* fixed", event_id="$edit", content={
            "m.new_content": {"msgtype": "m.text", "body": "fixed"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$q1"}}),
        mx_message("gone", event_id="$redacted", unsigned={
            "redacted_because": {"type": "m.room.redaction"}}),
        {"type": "m.room.message", "event_id": "$empty",
         "sender": "@alice:hs", "content": {}},
        mx_message("mine", event_id="$own", sender=BOT),
        {"type": "m.room.encrypted", "event_id": "$enc", "sender": "@a:hs",
         "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
        {"type": "m.reaction", "event_id": "$react", "sender": "@a:hs",
         "content": {"m.relates_to": {"rel_type": "m.annotation",
                                      "event_id": "$q1", "key": "+1"}}},
        member("@bob:hs", "join"),
        mx_message("a\u0000b", event_id="$nul"),
        mx_message(5, event_id="$number"),
        mx_message("no sender", event_id="$nosender", sender=None),
        mx_message("sent long ago", event_id="$old", ts=1600000000000),
        mx_message("ts is text", event_id="$ts-text", ts="1700000100000"),
        "not an object", 42, None)
    w("sync-ignored", SYNC | SINCE | DIRECT,
      sync_body(join={"!dm:hs": ignored}))
    gap = sync_body(join={"!busy:hs": timeline(
        member("@carol:hs", "join"),
        mx_message("what is a DMT?", event_id="$late",
                   content={"m.mentions": {"user_ids": [BOT]}}),
        limited=True)})
    gap["rooms"]["join"]["!busy:hs"]["state"]["events"] = [
        member("@dave:hs", "leave"), {"type": "m.room.name",
                                      "state_key": "", "content": {}}]
    w("sync-gap", SYNC | SINCE | GAP_AGAIN, gap)
    w("sync-gap-empty", SYNC | SINCE | GAP_EMPTY, gap)
    w("sync-gap-null", SYNC | SINCE, gap)
    w("sync-gap-no-since", SYNC | GAP_AGAIN, gap)
    w("sync-stop", SYNC | SINCE | STOP | GAP_AGAIN, gap)
    w("sync-invites", SYNC | SINCE, sync_body(
        invite={
            "!a:hs": {"invite_state": {"events": [
                {"type": "m.room.name", "state_key": "",
                 "content": {"name": "FAQ"}},
                member(BOT, "invite", sender="@alice:hs")]}},
            "!b:other": {"invite_state": {"events": [
                member("@someone:hs", "invite"),
                member(BOT, "invite", sender="@eve:other"),
                member(BOT, "invite", sender="@second:other")]}},
            "!c:hs": {"invite_state": {"events": [
                member(BOT, "join")]}},
            "!d:hs": {"invite_state": {"events": [
                {"type": "m.room.member", "state_key": BOT,
                 "content": {"membership": "invite"}}]}},
            "!e:hs": {"invite_state": {}}},
        leave={"!gone:hs": {"timeline": {"events": []}}}))
    w("sync-empty", SYNC, {"next_batch": "s1"})
    w("sync-shapes", SYNC | SINCE, {
        "next_batch": 5, "rooms": {
            "join": {"!x:hs": {"timeline": {"events": {}, "limited": 1}},
                     "!y:hs": [], "!z:hs": {"timeline": []}},
            "invite": [], "leave": "x"}})
    w("sync-truncated", SYNC, '{"next_batch": "s1", "rooms": {"join": {')

    # application-service transactions: events carry room_id
    txn_events = [
        dict(mx_message("what is CAR-T?", event_id="$t1",
                        content={"m.mentions": {"user_ids": [BOT]}}),
             room_id="!r:hs"),
        dict(mx_message("faqbot: what is a DMT?", event_id="$t2"),
             room_id="!r:hs"),
        dict(member(BOT, "invite"), room_id="!new:hs"),
        dict(member("@bob:hs", "join"), room_id="!r:hs"),
        dict(mx_message("an answer", event_id="$t3",
                        content={"msgtype": "m.notice"}), room_id="!r:hs"),
        mx_message("no room", event_id="$t4")]
    w("txn-events", TXN, {"events": txn_events, "ephemeral": []})
    w("txn-events-no-name", TXN | NO_NAME, {"events": txn_events})
    w("txn-empty", TXN, {"events": []})
    w("txn-no-events", TXN, {})
    w("txn-events-object", TXN, {"events": {}})
    w("txn-array", TXN, "[]")
    w("txn-not-json", TXN, "{\"events\": [")
    w("txn-nul", TXN, '{"events": [{"type": "m.room.message", "room_id": '
      '"!r:hs", "event_id": "$n", "sender": "@a:hs", "content": '
      '{"msgtype": "m.text", "body": "a\\u0000b"}}]}')


# ------------------------------------------------------------------- HTTP

def request(method, path, body=b"", headers=(), version="HTTP/1.1",
            length=True):
    """A request; length: add Content-Length when there is a body or the
    method has one."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1"]
    lines += list(headers)
    if length and (body or method in ("POST", "PUT")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def http(folder):
    w = lambda name, data: write(folder, name, data)
    js = ["Content-Type: application/json"]
    form = ["Content-Type: application/x-www-form-urlencoded"]
    origin = ["Origin: https://chat.example.org"]
    w("get-healthz", request("GET", "/healthz"))
    w("head-healthz", request("HEAD", "/healthz"))
    w("get-metrics", request("GET", "/metrics"))
    w("get-page", request("GET", "/"))
    w("get-chat-js-etag", request("GET", "/chat.js",
                                  headers=["If-None-Match: \"x\""]))
    w("get-widget", request("GET", "/widget.js", version="HTTP/1.0"))
    w("get-css-query", request("GET", "/chat.css?v=1&x=%41"))
    w("ask", request("POST", "/v1/ask",
                     '{"question": "What is CAR T-cell therapy?"}', js))
    w("ask-explain-origin", request(
        "POST", "/v1/ask", '{"question": "whats a DMT", "explain": true}',
        js + origin))
    w("ask-other-origin", request(
        "POST", "/v1/ask", '{"question": "hi"}',
        js + ["Origin: https://evil.example"]))
    w("ask-preflight", request(
        "OPTIONS", "/v1/ask", headers=origin + [
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: content-type"]))
    w("ask-bad-json", request("POST", "/v1/ask", '{"question": ', js))
    w("ask-not-string", request("POST", "/v1/ask", '{"question": 5}', js))
    w("ask-wrong-method", request("DELETE", "/v1/ask"))
    chunks = [b'{"que', b'stion": "what is a DMT?"}']
    w("ask-chunked", request(
        "POST", "/v1/ask", b"".join(b"%x\r\n%s\r\n" % (len(c), c)
                                    for c in chunks) + b"0\r\n\r\n",
        js + ["Transfer-Encoding: chunked"], length=False))
    w("ask-expect-too-large", request(
        "POST", "/v1/ask", headers=js + ["Expect: 100-continue",
                                         "Content-Length: 70000"],
        length=False))
    w("ask-expect", request("POST", "/v1/ask", '{"question": "hi"}',
                            js + ["Expect: 100-continue"]))
    w("slack-command", request(
        "POST", "/slack/commands", VECTOR, form + [
            "X-Slack-Request-Timestamp: 1531420618",
            "X-Slack-Signature: v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21"
            "a10bd27519666489c69b503"]))
    w("slack-ssl-check", request("POST", "/slack/commands",
                                 "ssl_check=1&token=x", form))
    w("slack-events", request(
        "POST", "/slack/events",
        json.dumps({"type": "url_verification", "challenge": "c"}),
        js + ["X-Slack-Request-Timestamp: 1",
              "X-Slack-Signature: v0=00"]))
    w("mattermost", request("POST", "/mattermost", urlencode({
        "token": "fuzz-mattermost-token", "team_domain": "t",
        "channel_name": "town-square", "user_name": "ann",
        "text": "#faq what is CAR-T?", "trigger_word": "#faq"}), form))
    w("mattermost-json", request("POST", "/mattermost", json.dumps({
        "token": "fuzz-mattermost-token", "text": "#faq what is a DMT?",
        "trigger_word": "#faq"}), js))
    w("mattermost-bad-token", request("POST", "/mattermost",
                                      "token=nope&text=hi", form))
    w("matrix-transaction", request(
        "PUT", "/_matrix/app/v1/transactions/1", '{"events": []}',
        js + ["Authorization: Bearer hs-token"]))
    w("matrix-ping", request("POST", "/_matrix/app/v1/ping?access_token=x",
                             "{}", js))
    w("not-found", request("GET", "/nope"))
    w("post-on-get-route", request("POST", "/healthz", "x"))
    w("pipelined", request("GET", "/healthz") + request(
        "POST", "/v1/ask", '{"question": "what is a DMT?"}', js) +
      request("GET", "/metrics", headers=["Connection: close"]))
    w("http10-keepalive", request("GET", "/healthz", version="HTTP/1.0",
                                  headers=["Connection: keep-alive"]))
    w("bad-version", request("GET", "/healthz", version="HTTP/9.9"))
    w("bad-request-line", b"GARBAGE\r\n\r\n")
    w("no-colon-header", b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n")
    w("header-continuation", b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
      b" folded\r\n\r\n")
    w("long-url", request("GET", "/" + "a" * 5000))
    w("content-length-huge", request("POST", "/v1/ask", headers=[
        "Content-Length: 99999999999999999999"], length=False))
    w("content-length-twice", b"POST /v1/ask HTTP/1.1\r\nHost: h\r\n"
      b"Content-Length: 2\r\nContent-Length: 20\r\n\r\n{}")
    w("incomplete", b"POST /v1/ask HTTP/1.1\r\nHost: h\r\n"
      b"Content-Length: 100\r\n\r\n{\"question\"")
    w("lf-only", b"GET /healthz HTTP/1.1\nHost: h\n\n")


def main():
    corpus = sys.argv[1]
    for name, make in (("fuzz_slack", slack), ("fuzz_matrix", matrix),
                       ("fuzz_http", http)):
        folder = os.path.join(corpus, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        make(folder)
        print(f"{len(os.listdir(folder))} {name} seeds")


if __name__ == "__main__":
    main()
