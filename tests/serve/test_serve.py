"""msfaq-serve, driven over HTTP on 127.0.0.1 as Slack, Mattermost and
scripts would drive it.

Usage (ctest runs one test class per test):
    test_serve.py --serve BIN --msfaq BIN --sign-tool BIN --source DIR
                  [unittest arguments, e.g. SlackEventsTest]

Every server is started on 127.0.0.1:0 (it prints the port it got) and is
stopped with SIGTERM when its test ends, pass or fail (and gets SIGTERM
from the kernel should this driver die first); a test fails when
the server does not then exit 0 (so AddressSanitizer findings and leaks
fail it).  chat.postMessage goes to a recording server on 127.0.0.1, never
to Slack.  Nothing waits for a fixed time: each wait is for an event (a
log line, a recorded post) with a generous timeout that only bounds a
broken run.

Slack signatures are made and checked with the official slack_sdk
(SignatureVerifier).  Without slack_sdk the Slack tests are skipped and
the run exits 77, which ctest reports as skipped -- except under
scripts/test.sh (MSFAQ_TEST_PYTHON set), where that is a failure.
"""

import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

try:
    from slack_sdk.signature import SignatureVerifier
except ImportError:  # reported as a skip
    SignatureVerifier = None

ARGS = None
WAIT = 60  # seconds: only bounds a broken run (sanitizer builds are slow)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token-0000"
MM_TOKEN = "mm-token-6c3f"

CAR_T = "what is CAR T-cell therapy?"


def need_sdk():
    if SignatureVerifier is None:
        # scripts/test.sh installs slack_sdk and says so with
        # MSFAQ_TEST_PYTHON: there, a missing SDK is a failure, not a skip
        if os.environ.get("MSFAQ_TEST_PYTHON"):
            raise AssertionError("slack_sdk is not importable by "
                                 + os.environ["MSFAQ_TEST_PYTHON"])
        raise unittest.SkipTest("slack_sdk is not installed "
                                "(set MSFAQ_TEST_PYTHON, see scripts/test.sh)")


def cli_answer(question):
    """What `msfaq ask --json` says: the reference for every route."""
    out = subprocess.run([ARGS.msfaq, "ask", "--json", question],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


# ------------------------------------------------------------- the server

def death_guard():
    """A prefix that makes a server get SIGTERM when this driver dies (say,
    killed by a ctest time-out), so no server outlives its test."""
    global _GUARD
    if _GUARD is None:
        cmd = ["setpriv", "--pdeathsig", "TERM"]
        try:
            ok = subprocess.run(cmd + ["true"], capture_output=True,
                                timeout=WAIT).returncode == 0
        except OSError:
            ok = False
        _GUARD = cmd if ok else []
    return _GUARD


_GUARD = None


class Server:
    """One msfaq-serve process on 127.0.0.1:0."""

    def __init__(self, args=(), env=None):
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("MSFAQ_SLACK")
                    and not k.startswith("MSFAQ_MATTERMOST")
                    and not k.startswith("MSFAQ_WEB")}
        self.env.update(env or {})
        self.cmd = [ARGS.serve, "--listen", "127.0.0.1:0", *args]
        self.lines = []
        self.cond = threading.Condition()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(death_guard() + self.cmd, env=self.env,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.err_reader = threading.Thread(target=self._read_stderr,
                                           daemon=True)
        self.err_reader.start()
        first = queue.Queue()
        threading.Thread(target=lambda: first.put(
            self.proc.stdout.readline()), daemon=True).start()
        try:
            line = first.get(timeout=WAIT).decode()
        except queue.Empty:
            line = ""
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)
        if not m:
            self.stop(check=False)
            raise AssertionError("msfaq-serve did not start: %r\n%s"
                                 % (line, self.log()))
        self.port = int(m.group(1))
        return self

    def _read_stderr(self):
        for raw in self.proc.stderr:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_log(self, pattern, count=1):
        """Waits for count stderr lines matching pattern; returns them."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        with self.cond:
            while True:
                hits = [ln for ln in self.lines if rx.search(ln)]
                if len(hits) >= count:
                    return hits
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("no log line /%s/ (x%d) in:\n%s"
                                         % (pattern, count,
                                            "\n".join(self.lines)))
                self.cond.wait(min(left, 0.5))

    def stop(self, check=True, sig=signal.SIGTERM):
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            if check:
                raise AssertionError("msfaq-serve ignored SIGTERM:\n"
                                     + self.log())
        self.err_reader.join(timeout=WAIT)
        self.proc.stdout.close()
        self.proc.stderr.close()
        if check:
            log = self.log()
            bad = re.search(r"Sanitizer|runtime error:", log)
            if rc != 0 or bad:
                raise AssertionError("msfaq-serve exited %d:\n%s" % (rc, log))

    def request(self, method, path, body=b"", headers=None):
        """Returns (status, headers as a dict with lowercase names, body)."""
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=WAIT)
        try:
            conn.request(method, path, body=body if body or method == "POST"
                         else None, headers=headers or {})
            res = conn.getresponse()
            data = res.read()
            return (res.status, {k.lower(): v for k, v in res.getheaders()},
                    data)
        finally:
            conn.close()

    def post_json(self, path, obj, headers=None):
        return self.request("POST", path, json.dumps(obj),
                            {"Content-Type": "application/json",
                             **(headers or {})})

    def metrics(self):
        status, _, body = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, value = line.rsplit(" ", 1)
                values[key] = float(value)
        return values


class ServerTest(unittest.TestCase):
    def server(self, args=(), env=None):
        srv = Server(args, env)
        self.addCleanup(srv.stop)
        return srv.start()

    def assertJsonError(self, res, status, code=None):
        got, headers, body = res
        self.assertEqual(got, status, body)
        self.assertTrue(headers.get("content-type", "")
                        .startswith("application/json"))
        obj = json.loads(body)
        self.assertIsInstance(obj.get("error"), str)
        self.assertIsInstance(obj.get("message"), str)
        if code:
            self.assertEqual(obj["error"], code)
        return obj


# ------------------------------------------------------- Slack signatures

def slack_headers(body, secret=SECRET, timestamp=None):
    """Headers signed by slack_sdk, as Slack would send them."""
    if isinstance(body, bytes):
        body = body.decode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts,
                                                       body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


class FixedClock:
    def __init__(self, now):
        self.t = now

    def now(self):
        return self.t


def sdk_verdict(secret, body, ts, sig, now):
    try:
        return SignatureVerifier(secret, FixedClock(now)).is_valid(
            body=body, timestamp=ts, signature=sig)
    except ValueError:  # int() of a bad timestamp
        return False


def signing_cases():
    """Bodies, timestamps and signatures, good and bad, around now."""
    rnd = random.Random(4231)
    now = 1700000000
    cases = []
    for i in range(120):
        secret = "".join(rnd.choices(string.ascii_letters + string.digits,
                                     k=rnd.choice([1, 16, 32, 64, 65, 200])))
        body = "".join(rnd.choices(string.printable + "é€😀",
                                   k=rnd.choice([0, 1, 63, 64, 65, 500])))
        ts = str(now + rnd.choice([0, -1, 1, -299, 299, -300, 300, -301,
                                   301, -86400, 86400]))
        sig = SignatureVerifier(secret).generate_signature(timestamp=ts,
                                                           body=body)
        kind = i % 6
        if kind == 1 and body:      # tampered body
            body = body[:-1] + ("x" if body[-1] != "x" else "y")
        elif kind == 2:             # tampered signature
            sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        elif kind == 3:             # signed with another secret
            sig = SignatureVerifier(secret + "!").generate_signature(
                timestamp=ts, body=body)
        elif kind == 4:             # signed for another timestamp
            sig = SignatureVerifier(secret).generate_signature(
                timestamp=str(int(ts) + 1), body=body)
        cases.append(dict(secret=secret, timestamp=ts, signature=sig,
                          body=body, now=now))
    # missing headers, a truncated signature, another version
    base = dict(secret=SECRET, body="a=1", now=now)
    good = SignatureVerifier(SECRET).generate_signature(timestamp=str(now),
                                                        body="a=1")
    cases += [dict(base, timestamp=None, signature=good),
              dict(base, timestamp=str(now), signature=None),
              dict(base, timestamp=str(now), signature=good[:-2]),
              dict(base, timestamp=str(now), signature="v1" + good[2:]),
              dict(base, timestamp=str(now), signature=good)]
    return cases


class SlackSigningTest(ServerTest):
    """The C signer and verifier agree with slack_sdk, and so does the
    server."""

    def setUp(self):
        need_sdk()

    def test_c_agrees_with_sdk(self):
        cases = signing_cases()
        text = "".join(json.dumps(c) + "\n" for c in cases)
        out = subprocess.run([ARGS.sign_tool], input=text, check=True,
                             capture_output=True, text=True).stdout
        results = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(results), len(cases))
        valid = 0
        for c, r in zip(cases, results):
            want = sdk_verdict(c["secret"], c["body"], c["timestamp"],
                               c["signature"], c["now"])
            self.assertEqual(r["valid"], want, (c, r))
            valid += want
            if c["timestamp"] is not None:
                sdk_sig = SignatureVerifier(c["secret"]).generate_signature(
                    timestamp=c["timestamp"], body=c["body"])
                self.assertEqual(r["signature"], sdk_sig, c)
        # both verdicts occur, and the 300-second edge was crossed
        self.assertGreater(valid, 10)
        self.assertGreater(len(cases) - valid, 10)
        reasons = {r["reason"] for r in results}
        self.assertIn("stale timestamp", reasons)
        self.assertIn("bad signature", reasons)
        self.assertIn("missing signature", reasons)

    def test_server_agrees_with_sdk(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET})
        now = int(time.time())
        body = json.dumps({"token": "x", "type": "url_verification",
                           "challenge": "c-1"})
        good = slack_headers(body, timestamp=now)
        cases = [
            ("sdk-signed", body, good),
            ("tampered body", body.replace("c-1", "c-2"), good),
            ("other secret", body, slack_headers(body, secret=SECRET + "x")),
            ("stale", body, slack_headers(body, timestamp=now - 3600)),
            ("future", body, slack_headers(body, timestamp=now + 3600)),
            ("no signature", body,
             {"X-Slack-Request-Timestamp": str(now)}),
            ("no timestamp", body,
             {"X-Slack-Signature": good["X-Slack-Signature"]}),
            ("bad timestamp", body,
             {"X-Slack-Request-Timestamp": "soon",
              "X-Slack-Signature": good["X-Slack-Signature"]}),
            ("uppercase", body,
             {"X-Slack-Request-Timestamp": str(now),
              "X-Slack-Signature": good["X-Slack-Signature"].upper()}),
        ]
        for name, sent, headers in cases:
            want = sdk_verdict(SECRET, sent,
                               headers.get("X-Slack-Request-Timestamp"),
                               headers.get("X-Slack-Signature"),
                               time.time())
            status, _, reply = srv.request(
                "POST", "/slack/events", sent,
                {"Content-Type": "application/json", **headers})
            self.assertEqual(status, 200 if want else 401, name)
            if want:
                self.assertEqual(json.loads(reply), {"challenge": "c-1"})
            else:
                obj = json.loads(reply)
                self.assertEqual(obj["error"], "unauthorized")
                self.assertNotIn(SECRET, reply.decode())
        # the reason is logged, the secret and body are not
        srv.wait_log(r"POST /slack/events 401 .* stale timestamp")
        srv.wait_log(r"POST /slack/events 401 .* missing signature")
        srv.wait_log(r"POST /slack/events 401 .* bad timestamp")
        srv.stop()
        self.assertNotIn(SECRET, srv.log())
        self.assertNotIn("c-1", srv.log())


# ------------------------------------------------------ slash commands

def slash_body(text, command="/msfaq", **extra):
    """Shaped like the example in Slack's slash command documentation."""
    fields = [("token", "gIkuvaNzQIHg97ATvDxqgjtO"), ("team_id", "T0001"),
              ("team_domain", "example"), ("enterprise_id", "E0001"),
              ("enterprise_name", "Globular Construct Inc"),
              ("channel_id", "C2147483705"), ("channel_name", "test"),
              ("user_id", "U2147483697"), ("user_name", "Steve"),
              ("command", command), ("text", text),
              ("response_url", "https://hooks.slack.com/commands/1234/5678"),
              ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
              ("api_app_id", "A123456")]
    fields += list(extra.items())
    return urllib.parse.urlencode(fields)


def form_headers(body, **kw):
    return {"Content-Type": "application/x-www-form-urlencoded",
            **slack_headers(body, **kw)}


def context_texts(msg):
    return [e["text"] for b in msg.get("blocks", [])
            if b["type"] == "context" for e in b["elements"]]


def section_texts(msg):
    return [b["text"]["text"] for b in msg.get("blocks", [])
            if b["type"] == "section"]


class SlackCommandsTest(ServerTest):
    def setUp(self):
        need_sdk()

    def command(self, srv, body, **kw):
        return srv.request("POST", "/slack/commands", body,
                           form_headers(body, **kw))

    def test_answer(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET})
        want = cli_answer(CAR_T)
        status, headers, body = self.command(srv, slash_body(CAR_T))
        self.assertEqual(status, 200, body)
        self.assertTrue(headers["content-type"].startswith(
            "application/json"))
        msg = json.loads(body)
        self.assertEqual(msg["response_type"], "ephemeral")
        # the answer's first sentence, the section in a context block
        first = want["answer"].split(". ")[0]
        self.assertIn(first, msg["text"])
        self.assertIn(first, section_texts(msg)[0])
        self.assertTrue(any(want["section"] in t
                            for t in context_texts(msg)), msg)
        self.assertTrue(any(want["follow_ups"][0] in t
                            for t in section_texts(msg)))
        for block in msg["blocks"]:
            if block["type"] == "section":
                self.assertLessEqual(len(block["text"]["text"]), 3000)

    def test_in_channel(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET,
                               "MSFAQ_SLACK_RESPONSE_TYPE": "in_channel"})
        status, _, body = self.command(srv, slash_body("what is MS?"))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["response_type"], "in_channel")

    def test_empty_text_gets_a_reply(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET})
        status, _, body = self.command(srv, slash_body(""))
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(body)["text"])

    def test_refused_questions_are_explained(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET})
        status, _, body = self.command(srv, slash_body("why " * 1200))
        self.assertEqual(status, 200)
        msg = json.loads(body)
        self.assertEqual(msg["response_type"], "ephemeral")
        self.assertIn("too long", msg["text"])
        raw = slash_body("x").replace("text=x", "text=%FF%FE")
        status, _, body = self.command(srv, raw)
        self.assertEqual(status, 200)
        self.assertIn("UTF-8", json.loads(body)["text"])
        raw = slash_body("x").replace("text=x", "text=a%00b")
        status, _, body = self.command(srv, raw)
        self.assertEqual(status, 200)
        self.assertIn("UTF-8", json.loads(body)["text"])

    def test_bad_requests(self):
        srv = self.server(env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET})
        body = slash_body(CAR_T)
        now = int(time.time())
        for headers in ({"Content-Type": "application/x-www-form-urlencoded"},
                        form_headers(body, secret="wrong"),
                        form_headers(body, timestamp=now - 301 - 60),
                        form_headers(body, timestamp=now + 3600),
                        form_headers(body + "&x=1")):
            self.assertJsonError(srv.request("POST", "/slack/commands",
                                             body, headers),
                                 401, "unauthorized")
        for bad in ("text=%zz&command=%2Fmsfaq", "text=hi",
                    "command=%2Fmsfaq", "=x"):
            self.assertJsonError(self.command(srv, bad), 400,
                                 "invalid_form")
        # Slack's unsigned ssl_check ping
        status, _, reply = srv.request(
            "POST", "/slack/commands", "ssl_check=1&token=abc",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, reply), (200, b""))

    def test_not_configured(self):
        srv = self.server()
        body = slash_body(CAR_T)
        self.assertJsonError(self.command(srv, body), 503, "not_configured")


# ------------------------------------------------------------ Slack events

class SlackAPI:
    """Stands in for https://slack.com/api: records chat.postMessage."""

    def __init__(self):
        self.posts = queue.Queue()
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                api.arrived.set()
                api.hold.wait(WAIT)
                api.posts.put({"path": self.path, "body": body,
                               "auth": self.headers.get("Authorization")})
                reply = json.dumps({"ok": True,
                                    "channel": body.get("channel"),
                                    "ts": "1700000000.000100"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.url = "http://127.0.0.1:%d/api" % self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def next_post(self):
        try:
            return self.posts.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError("no chat.postMessage arrived")

    def close(self):
        self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def mention(text, event_id, ts="1515449522.000016", thread_ts=None,
            channel="C0LAN2Q65", user="U061F7AUR", **event_extra):
    """An app_mention delivery, shaped like Slack's documented example."""
    event = {"type": "app_mention", "user": user,
             "text": "<@U0LAN0Z89> " + text, "ts": ts, "channel": channel,
             "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(event_extra)
    return {"token": "ZZZZZZWSxiZZZ2yIvs3peJ", "team_id": "T061EG9R6",
            "api_app_id": "A0MDYCDME", "event": event,
            "type": "event_callback", "event_id": event_id,
            "event_time": 1515449522, "authed_users": ["U0LAN0Z89"]}


def direct_message(text, event_id, ts, channel_type="im", **extra):
    event = {"type": "message", "channel": "D024BE91L", "user": "U2147483697",
             "text": text, "ts": ts, "event_ts": ts,
             "channel_type": channel_type}
    event.update(extra)
    return {"token": "x", "team_id": "T061EG9R6", "api_app_id": "A0MDYCDME",
            "event": event, "type": "event_callback", "event_id": event_id,
            "event_time": 1515449522}


class SlackEventsTest(ServerTest):
    def setUp(self):
        need_sdk()
        self.api = SlackAPI()
        self.addCleanup(self.api.close)
        self.srv = self.server(env={
            "MSFAQ_SLACK_SIGNING_SECRET": SECRET,
            "MSFAQ_SLACK_BOT_TOKEN": BOT_TOKEN,
            "MSFAQ_SLACK_BOT_USER_ID": "U0LAN0Z89",
            "MSFAQ_SLACK_API_URL": self.api.url})

    def deliver(self, payload, retry=None, **sign):
        body = json.dumps(payload)
        headers = {"Content-Type": "application/json",
                   **slack_headers(body, **sign)}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry),
                            "X-Slack-Retry-Reason": "http_timeout"})
        return self.srv.request("POST", "/slack/events", body, headers)

    def assertAcked(self, res):
        status, _, body = res
        self.assertEqual((status, body), (200, b""))

    def test_posting_opens_libcurl(self):
        self.assertTrue(mapped(self.srv.proc.pid, "libcurl"),
                        self.srv.log())

    def test_url_verification(self):
        payload = {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
                   "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7"
                                "tYXAYM8P",
                   "type": "url_verification"}
        status, headers, body = self.deliver(payload)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body),
                         {"challenge": payload["challenge"]})
        self.assertJsonError(self.deliver({"type": "url_verification"}),
                             400, "invalid_event")

    def test_mention_is_answered_in_its_thread(self):
        want = cli_answer(CAR_T)
        # the API holds its reply: the ack must not wait for the answer
        self.api.hold.clear()
        self.assertAcked(self.deliver(mention(CAR_T, "Ev0LAN670R")))
        self.assertTrue(self.api.arrived.wait(WAIT))
        self.api.hold.set()
        post = self.api.next_post()
        self.assertEqual(post["path"], "/api/chat.postMessage")
        self.assertEqual(post["auth"], "Bearer " + BOT_TOKEN)
        msg = post["body"]
        self.assertEqual(msg["channel"], "C0LAN2Q65")
        self.assertEqual(msg["thread_ts"], "1515449522.000016")
        self.assertIn(want["answer"].split(". ")[0], msg["text"])
        self.assertIn(want["section"], json.dumps(msg["blocks"],
                                                  ensure_ascii=False))
        self.srv.wait_log(r"slack event: answered in channel C0LAN2Q65")

        # a mention inside a thread is answered in that thread
        self.assertAcked(self.deliver(mention(
            "what are disease-modifying therapies?", "Ev2",
            ts="1515449600.000100", thread_ts="1515449000.000001")))
        self.assertEqual(self.api.next_post()["body"]["thread_ts"],
                         "1515449000.000001")
        m = self.srv.metrics()
        self.assertEqual(m['msfaq_slack_events_total{outcome="queued"}'], 2)
        self.srv.wait_log(r"slack event: answered", count=2)
        m = self.srv.metrics()
        self.assertEqual(m['msfaq_slack_posts_total{result="ok"}'], 2)

    def test_direct_message(self):
        self.assertAcked(self.deliver(direct_message(
            "what is CAR T?", "Ev3", "1515449700.000200")))
        post = self.api.next_post()["body"]
        self.assertEqual(post["channel"], "D024BE91L")
        self.assertEqual(post["thread_ts"], "1515449700.000200")

    def test_bots_and_others_are_ignored(self):
        ignored = [
            mention("hi", "Ev10", ts="1.1", bot_id="B123"),
            direct_message("hi", "Ev11", "1.2", subtype="bot_message",
                           bot_id="B9"),
            direct_message("hi", "Ev12", "1.3", subtype="message_changed"),
            mention("hi", "Ev13", ts="1.4", user="U0LAN0Z89"),   # ourselves
            direct_message("hi", "Ev14", "1.5", channel_type="channel"),
            {"type": "event_callback", "event_id": "Ev15",
             "event": {"type": "reaction_added", "user": "U1"}},
            {"type": "app_rate_limited", "minute_rate_limited": 1},
        ]
        for payload in ignored:
            self.assertAcked(self.deliver(payload))
        # a person's message after them is the next (and only) post
        self.assertAcked(self.deliver(mention("what is MS?", "Ev16",
                                              ts="1.6")))
        post = self.api.next_post()["body"]
        self.assertEqual(post["thread_ts"], "1.6")
        self.assertTrue(self.api.posts.empty())
        m = self.srv.metrics()
        self.assertEqual(m['msfaq_slack_events_total{outcome="ignored"}'],
                         len(ignored))
        self.assertEqual(m['msfaq_slack_events_total{outcome="queued"}'], 1)

    def test_duplicates_are_answered_once(self):
        ev = mention(CAR_T, "Ev20", ts="2.1")
        self.assertAcked(self.deliver(ev))
        self.assertAcked(self.deliver(ev, retry=1))
        self.assertAcked(self.deliver(ev, retry=2))
        # the same message again under a new event_id
        again = mention(CAR_T, "Ev21", ts="2.1")
        self.assertAcked(self.deliver(again))
        m = self.srv.metrics()
        self.assertEqual(m['msfaq_slack_events_total{outcome="duplicate"}'],
                         3)
        self.assertEqual(m['msfaq_slack_events_total{outcome="queued"}'], 1)
        self.assertAcked(self.deliver(mention("what is MS?", "Ev22",
                                              ts="2.2")))
        # one worker answers in order: Ev20 once, then Ev22
        self.assertEqual(self.api.next_post()["body"]["thread_ts"], "2.1")
        self.assertEqual(self.api.next_post()["body"]["thread_ts"], "2.2")
        self.assertTrue(self.api.posts.empty())
        self.srv.wait_log(r"POST /slack/events 200 .* duplicate", count=3)

    def test_bad_requests(self):
        ev = json.dumps(mention(CAR_T, "Ev30", ts="3.1"))
        now = int(time.time())
        for headers in ({}, slack_headers(ev, secret="nope"),
                        slack_headers(ev, timestamp=now - 3600),
                        slack_headers(ev + " ")):
            self.assertJsonError(self.srv.request(
                "POST", "/slack/events", ev,
                {"Content-Type": "application/json", **headers}),
                401, "unauthorized")
        for bad, code in (("{not json", "invalid_json"),
                          ("[1, 2]", "invalid_event"),
                          ('{"type": "event_callback"}', "invalid_event"),
                          ('{"type": "event_callback", "event": 3}',
                           "invalid_event")):
            self.assertJsonError(self.srv.request(
                "POST", "/slack/events", bad,
                {"Content-Type": "application/json",
                 **slack_headers(bad)}), 400, code)
        # slack_sdk signs text only: bytes that are not UTF-8 are signed
        # here with hmac, as Slack would sign whatever it sends
        bad = b'{"type": "url_verification", "challenge": "\xff"}'
        ts = str(int(time.time()))
        mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + bad,
                       hashlib.sha256).hexdigest()
        self.assertJsonError(self.srv.request(
            "POST", "/slack/events", bad,
            {"Content-Type": "application/json",
             "X-Slack-Request-Timestamp": ts,
             "X-Slack-Signature": "v0=" + mac}), 400, "invalid_utf8")
        # nothing of that was posted
        self.assertAcked(self.deliver(mention("what is MS?", "Ev31",
                                              ts="3.2")))
        self.assertEqual(self.api.next_post()["body"]["thread_ts"], "3.2")
        self.assertTrue(self.api.posts.empty())


# ------------------------------------------------------------ Mattermost

def mattermost_fields(text, token=MM_TOKEN, trigger="#faq"):
    fields = {"channel_id": "hawos4dqtby53pd64o4a4cmeoo",
              "channel_name": "town-square", "team_domain": "someteam",
              "team_id": "kwoknj9nwpypzgzy78wkw516qe",
              "post_id": "axdygg1957njfe5pu38saikdho",
              "text": (trigger + " " if trigger else "") + text,
              "timestamp": "1445532266", "trigger_word": trigger or "",
              "user_id": "rnina9994bde8mua79zqcg5hmo",
              "user_name": "somename"}
    if token is not None:
        fields["token"] = token
    return fields


class MattermostTest(ServerTest):
    def setUp(self):
        self.srv = self.server(env={"MSFAQ_MATTERMOST_TOKEN": MM_TOKEN})

    def form(self, fields, raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields)
        return self.srv.request(
            "POST", "/mattermost", body,
            {"Content-Type": "application/x-www-form-urlencoded"})

    def test_answer_form_and_json(self):
        want = cli_answer(CAR_T)
        first = want["answer"].split(",")[0]   # no markdown to escape
        for res in (self.form(mattermost_fields(CAR_T)),
                    self.srv.post_json("/mattermost",
                                       mattermost_fields(CAR_T))):
            status, headers, body = res
            self.assertEqual(status, 200, body)
            self.assertTrue(headers["content-type"].startswith(
                "application/json"))
            reply = json.loads(body)
            self.assertEqual(list(reply), ["text"])
            text = reply["text"]
            self.assertIn(first, text)
            self.assertIn("Article section: " + want["section"], text)
            self.assertIn("\n- " + want["follow_ups"][0].split(" ")[0],
                          text)
            # the trigger word is not part of the question
            self.assertNotIn("#faq", text)
        # without a trigger word the whole text is the question
        status, _, body = self.form(mattermost_fields(CAR_T, trigger=None))
        self.assertIn(first, json.loads(body)["text"])

    def test_token(self):
        self.assertJsonError(self.form(mattermost_fields(CAR_T, token=None)),
                             401, "missing_token")
        for token in ("wrong", MM_TOKEN[:-1], MM_TOKEN + "x", ""):
            self.assertJsonError(
                self.form(mattermost_fields(CAR_T, token=token)), 403,
                "bad_token")
        raw = urllib.parse.urlencode(mattermost_fields(CAR_T)).replace(
            "token=" + MM_TOKEN, "token=" + MM_TOKEN + "%00junk")
        self.assertJsonError(self.form(None, raw), 403, "bad_token")
        self.assertJsonError(
            self.srv.post_json("/mattermost",
                               mattermost_fields(CAR_T, token="wrong")),
            403, "bad_token")
        self.assertNotIn(MM_TOKEN, self.srv.log())

    def test_bad_requests(self):
        self.assertJsonError(self.form(None, "text=%zz&token=x"), 400,
                             "invalid_form")
        self.assertJsonError(self.srv.request(
            "POST", "/mattermost", "{nope",
            {"Content-Type": "application/json"}), 400, "invalid_json")
        fields = mattermost_fields(CAR_T)
        del fields["text"]
        self.assertJsonError(self.form(fields), 400, "missing_text")
        status, _, body = self.form(mattermost_fields("why " * 1200))
        self.assertEqual(status, 200)
        self.assertIn("too long", json.loads(body)["text"])

    def test_not_configured(self):
        srv = self.server()
        self.assertJsonError(srv.request(
            "POST", "/mattermost", urllib.parse.urlencode(
                mattermost_fields(CAR_T))), 503, "not_configured")


# ------------------------------------------------------------- /v1/ask

def mapped(pid, name):
    """Whether process pid has a file whose name holds name mapped."""
    with open("/proc/%d/maps" % pid) as f:
        return any(name in line for line in f)


class AskTest(ServerTest):
    def test_a_server_that_posts_nothing_never_loads_libcurl(self):
        # libcurl (and OpenSSL, Kerberos... with it) is opened only when
        # Slack or Matrix is configured (poster/curl_lib.h)
        srv = self.server()
        status, _, body = srv.post_json("/v1/ask", {"question": CAR_T})
        self.assertEqual(status, 200, body)
        self.assertFalse(mapped(srv.proc.pid, "libcurl"), srv.log())
        self.assertTrue(mapped(srv.proc.pid, "libmsfaq"))

    def test_same_as_msfaq_ask_json(self):
        srv = self.server()
        for q in (CAR_T, "hello", "zzqx plonk",
                  "I think I am having a relapse right now, what do I do?"):
            status, headers, body = srv.post_json("/v1/ask", {"question": q})
            self.assertEqual(status, 200, body)
            self.assertEqual(headers["content-type"], "application/json")
            self.assertEqual(json.loads(body), cli_answer(q))
        status, _, body = srv.post_json("/v1/ask", {"question": CAR_T,
                                                    "explain": True,
                                                    "extra": [1]})
        self.assertEqual(status, 200)
        self.assertIn("explain", json.loads(body))

    def test_bad_input(self):
        srv = self.server()
        for body, status, code in (
                ("{nope", 400, "invalid_json"),
                ("", 400, "invalid_json"),
                ('"question"', 400, "invalid_json"),
                ("{}", 400, "missing_question"),
                ('{"question": 42}', 400, "missing_question"),
                ('{"question": null}', 400, "missing_question"),
                ('{"question": "a", "explain": "yes"}', 400, "invalid_json"),
                ('{"question": "a\\u0000b"}', 400, "invalid_json"),
                (b'{"question": "caf\xe9"}', 400, "invalid_utf8"),
                (json.dumps({"question": "x" * 5000}), 413,
                 "question_too_long")):
            self.assertJsonError(srv.request(
                "POST", "/v1/ask", body,
                {"Content-Type": "application/json"}), status, code)
        srv.wait_log(r"POST /v1/ask 413 .* question_too_long")


# -------------------------------------------------------- HTTP in general

def raw_request(port, data, read_all=True):
    """Sends raw bytes; returns what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all and b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


class HttpTest(ServerTest):
    POST_ROUTES = ("/v1/ask", "/slack/commands", "/slack/events",
                   "/mattermost")

    def test_unknown_route_and_method(self):
        srv = self.server()
        for method, path in (("GET", "/chat.html"), ("POST", "/v2/ask"),
                             ("GET", "/healthz/"), ("GET", "/slack"),
                             ("GET", "//"), ("GET", "/widget.js/")):
            self.assertJsonError(srv.request(method, path), 404,
                                 "not_found")
        for path in self.POST_ROUTES:
            for method in ("GET", "PUT", "DELETE"):
                res = srv.request(method, path)
                self.assertJsonError(res, 405, "method_not_allowed")
                # /v1/ask also answers OPTIONS, a CORS preflight
                self.assertEqual(res[1]["allow"], "OPTIONS, POST"
                                 if path == "/v1/ask" else "POST")
            if path != "/v1/ask":
                res = srv.request("OPTIONS", path)
                self.assertJsonError(res, 405, "method_not_allowed")
        for path in ("/healthz", "/metrics") + WEB_ROUTES:
            res = srv.request("POST", path, "x")
            self.assertJsonError(res, 405, "method_not_allowed")
            self.assertEqual(res[1]["allow"], "GET, HEAD")

    def test_body_cap(self):
        srv = self.server(["--max-body", "4096"],
                          env={"MSFAQ_SLACK_SIGNING_SECRET": SECRET,
                               "MSFAQ_MATTERMOST_TOKEN": MM_TOKEN})
        big = "x" * 5000
        for path in self.POST_ROUTES:
            self.assertJsonError(srv.request("POST", path, big), 413,
                                 "body_too_large")
        # a body that fits is read
        self.assertJsonError(srv.request("POST", "/v1/ask", "x" * 4000), 400,
                             "invalid_json")
        # announced too large with Expect: 100-continue: refused before
        # the body is sent
        reply = raw_request(srv.port, b"POST /v1/ask HTTP/1.1\r\n"
                            b"Host: t\r\nContent-Length: 100000\r\n"
                            b"Expect: 100-continue\r\n\r\n", read_all=False)
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)
        self.assertNotIn(b"100 Continue", reply)
        # chunked, no length: discarded as it comes, then 413
        chunk = b"1000\r\n" + b"y" * 4096 + b"\r\n"
        reply = raw_request(srv.port, b"POST /v1/ask HTTP/1.1\r\nHost: t\r\n"
                            b"Transfer-Encoding: chunked\r\n"
                            b"Connection: close\r\n\r\n"
                            + chunk * 3 + b"0\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply)
        # the default cap is 64 KiB
        srv2 = self.server()
        self.assertJsonError(srv2.request("POST", "/v1/ask",
                                          "x" * (64 * 1024 + 1)), 413,
                             "body_too_large")
        self.assertJsonError(srv2.request("POST", "/v1/ask",
                                          "x" * (64 * 1024)), 400,
                             "invalid_json")

    def test_header_cap(self):
        # libmicrohttpd reads the request line and headers into half of a
        # connection's 16 KiB (CONNECTION_MEMORY in serve/http.c): about
        # 8 KiB, as nginx and Apache allow.  A browser's few KiB of
        # cookies pass, more is refused with 431, and the server goes on
        srv = self.server()
        body = json.dumps({"question": CAR_T})
        cookie = {"Cookie": "; ".join("c%d=%s" % (i, "v" * 40)
                                      for i in range(100))}   # ~4.5 KiB
        status, _, reply = srv.request("POST", "/v1/ask", body,
                                       {"Content-Type": "application/json",
                                        **cookie})
        self.assertEqual(status, 200, reply)
        reply = raw_request(srv.port, b"POST /v1/ask HTTP/1.1\r\nHost: t\r\n"
                            b"Cookie: " + b"v" * 12000 + b"\r\n"
                            b"Content-Length: 2\r\n\r\n{}")
        self.assertRegex(reply, rb"^HTTP/1.1 431 ", reply[:200])
        status, _, reply = srv.post_json("/v1/ask", {"question": CAR_T})
        self.assertEqual(status, 200, reply)

    def test_healthz_and_metrics(self):
        srv = self.server()
        status, headers, body = srv.request("GET", "/healthz")
        self.assertEqual(status, 200)
        health = json.loads(body)
        self.assertEqual(health["status"], "ok")
        version = subprocess.run([ARGS.msfaq, "--version"], check=True,
                                 capture_output=True, text=True).stdout
        self.assertEqual("msfaq " + health["version"] + "\n", version)
        self.assertGreater(health["intents"], 0)
        status, _, body = srv.request("HEAD", "/healthz")
        self.assertEqual((status, body), (200, b""))

        for _ in range(3):
            srv.post_json("/v1/ask", {"question": CAR_T})
        srv.post_json("/v1/ask", {"question": "hello"})
        srv.request("POST", "/v1/ask", "{")
        srv.request("GET", "/nowhere")
        status, headers, body = srv.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"],
                         "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        sample = re.compile(r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*'
                            r'\})? [0-9.e+-]+$')
        for line in text.splitlines():
            if not line.startswith("#"):
                self.assertRegex(line, sample)
        m = srv.metrics()
        self.assertEqual(
            m['msfaq_http_requests_total{route="/v1/ask",status="200"}'], 4)
        self.assertEqual(
            m['msfaq_http_requests_total{route="/v1/ask",status="400"}'], 1)
        self.assertEqual(
            m['msfaq_http_requests_total{route="other",status="404"}'], 1)
        self.assertEqual(
            m['msfaq_http_requests_total{route="/healthz",status="200"}'], 2)
        self.assertEqual(m['msfaq_answers_total{kind="answer"}'], 3)
        self.assertEqual(m['msfaq_answers_total{kind="smalltalk"}'], 1)
        self.assertEqual(m['msfaq_http_request_duration_seconds_count'
                           '{route="/v1/ask"}'], 5)
        self.assertEqual(m['msfaq_http_request_duration_seconds_bucket'
                           '{route="/v1/ask",le="+Inf"}'], 5)
        buckets = [v for k, v in m.items() if k.startswith(
            'msfaq_http_request_duration_seconds_bucket{route="/v1/ask"')]
        self.assertEqual(buckets, sorted(buckets))
        # the scrape itself is in flight while it is rendered (an earlier
        # request may still be finishing its send)
        self.assertGreaterEqual(m["msfaq_http_requests_in_flight"], 1)

    def test_log_lines(self):
        srv = self.server(env={"MSFAQ_MATTERMOST_TOKEN": MM_TOKEN})
        srv.post_json("/v1/ask", {"question": "secret question text"})
        srv.request("POST", "/mattermost", urllib.parse.urlencode(
            mattermost_fields("hello")))
        srv.wait_log(r"^\S+Z msfaq-serve: POST /v1/ask 200 [0-9.]+ms$")
        srv.wait_log(r"POST /mattermost 200 ")
        srv.stop()
        self.assertNotIn("secret question", srv.log())
        self.assertNotIn(MM_TOKEN, srv.log())
        self.assertIn("SIGTERM: stopping", srv.log())


# ------------------------------------------------------- the chat page

WEB_FILES = {"/": "chat.html", "/chat.css": "chat.css",
             "/chat.js": "chat.js", "/widget.js": "widget.js"}
WEB_ROUTES = tuple(WEB_FILES)
WEB_TYPES = {".html": "text/html; charset=utf-8",
             ".css": "text/css; charset=utf-8",
             ".js": "text/javascript; charset=utf-8"}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
       "form-action 'none'; require-trusted-types-for 'script'; "
       "trusted-types 'none'; frame-ancestors ")
CLINIC = "https://clinic.example"
LOCAL = "http://127.0.0.1:8000"
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-max-age")


class WebTest(ServerTest):
    """GET /, /chat.css, /chat.js, /widget.js; MSFAQ_WEB_ORIGINS, the CSP
    and CORS on /v1/ask.  (The page itself is tested in a browser by
    tests/web.)"""

    def web_file(self, path):
        with open(os.path.join(ARGS.source, "web", WEB_FILES[path]),
                  "rb") as f:
            return f.read()

    def test_files_and_headers(self):
        srv = self.server()
        for path in WEB_ROUTES:
            data = self.web_file(path)
            status, headers, body = srv.request("GET", path)
            self.assertEqual(status, 200, path)
            self.assertEqual(body, data, path)
            ext = os.path.splitext(WEB_FILES[path])[1]
            self.assertEqual(headers["content-type"], WEB_TYPES[ext])
            self.assertEqual(headers["content-security-policy"],
                             CSP + "'none'")
            self.assertEqual(headers["x-content-type-options"], "nosniff")
            self.assertEqual(headers["referrer-policy"], "no-referrer")
            self.assertEqual(headers["cache-control"], "no-cache")
            etag = '"%s"' % hashlib.sha256(data).hexdigest()[:32]
            self.assertEqual(headers["etag"], etag)
            self.assertNotIn("access-control-allow-origin", headers)
            # revalidation: 304 with no body, for any form of a match
            for inm in (etag, "W/" + etag, '"nope", ' + etag,
                        '"nope",%s' % etag, "*"):
                status, h304, body = srv.request(
                    "GET", path, headers={"If-None-Match": inm})
                self.assertEqual((status, body), (304, b""), inm)
                self.assertEqual(h304["etag"], etag)
                self.assertEqual(h304["cache-control"], "no-cache")
            for inm in ('"nope"', etag[:-2] + '"', etag + "x"):
                status, _, body = srv.request(
                    "GET", path, headers={"If-None-Match": inm})
                self.assertEqual((status, body), (200, data), inm)
            status, headers, body = srv.request("HEAD", path)
            self.assertEqual((status, body), (200, b""))
            self.assertEqual(headers["content-length"], str(len(data)))
            for method in ("POST", "PUT", "OPTIONS"):
                res = srv.request(method, path, "x")
                self.assertJsonError(res, 405, "method_not_allowed")
                self.assertEqual(res[1]["allow"], "GET, HEAD")
        # the widget's iframe asks for /?embed=1: the same page
        status, _, body = srv.request("GET", "/?embed=1")
        self.assertEqual((status, body), (200, self.web_file("/")))
        m = srv.metrics()
        self.assertEqual(m['msfaq_http_requests_total{route="/",'
                         'status="200"}'], 6)
        self.assertEqual(m['msfaq_http_requests_total{route="/widget.js",'
                         'status="304"}'], 5)
        srv.wait_log(r"GET /widget\.js 304 ")
        srv.wait_log(r"GET / 200 ")

    def test_page_is_self_contained(self):
        """Nothing is loaded from elsewhere, nothing is inline, and answer
        text is never written as HTML."""
        page = self.web_file("/").decode()
        self.assertNotRegex(page, r"(?i)(src|href)\s*=\s*\"?(https?:)?//")
        self.assertNotRegex(page, r"(?i)<script>|<style|style=|\son[a-z]+=")
        for path in ("/chat.js", "/widget.js"):
            js = re.sub(r"/\*.*?\*/", "", self.web_file(path).decode(),
                        flags=re.S)   # comments may name what is avoided
            self.assertNotRegex(js, r"innerHTML|outerHTML|insertAdjacentHTML"
                                    r"|document\.write|\beval\(")

    def test_origins_and_frame_ancestors(self):
        srv = self.server(env={
            "MSFAQ_WEB_ORIGINS": " HTTPS://Clinic.Example:443/ ,%s," % LOCAL})
        _, headers, _ = srv.request("GET", "/")
        self.assertEqual(headers["content-security-policy"],
                         CSP + "%s %s" % (CLINIC, LOCAL))
        srv.wait_log(r"web page on, 2 embedding origins")

    def ask_from(self, srv, origin, body=None, method="POST", extra=None):
        headers = {"Content-Type": "application/json"}
        if origin:
            headers["Origin"] = origin
        headers.update(extra or {})
        return srv.request(method, "/v1/ask",
                           json.dumps({"question": CAR_T})
                           if body is None else body, headers)

    def test_cors(self):
        srv = self.server(env={"MSFAQ_WEB_ORIGINS": "%s,%s" % (CLINIC,
                                                               LOCAL)})
        want = cli_answer(CAR_T)
        for origin in (CLINIC, LOCAL):
            status, headers, body = self.ask_from(srv, origin)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), want)
            self.assertEqual(headers["access-control-allow-origin"], origin)
            self.assertEqual(headers["vary"], "Origin")
            self.assertNotIn("access-control-allow-credentials", headers)
        # errors, even the 413 sent before the body, can be read too
        for body, status in (("{", 400), ("x" * (70 * 1024), 413)):
            got, headers, _ = self.ask_from(srv, CLINIC, body)
            self.assertEqual(got, status)
            self.assertEqual(headers["access-control-allow-origin"], CLINIC)
        # others: no CORS header at all (origins are compared exactly)
        for origin in (None, "https://evil.example", "HTTPS://CLINIC.EXAMPLE",
                       CLINIC + ":443", CLINIC + "/", "null",
                       "http://clinic.example", "https://clinic.example.org"):
            status, headers, body = self.ask_from(srv, origin)
            self.assertEqual(status, 200)
            for h in CORS_HEADERS:
                self.assertNotIn(h, headers, origin)
            self.assertEqual(headers["vary"], "Origin")
        # the other routes never get CORS
        for method, path in (("GET", "/healthz"), ("GET", "/"),
                             ("POST", "/mattermost")):
            _, headers, _ = srv.request(method, path,
                                        headers={"Origin": CLINIC})
            for h in CORS_HEADERS + ("vary",):
                self.assertNotIn(h, headers, path)

    def test_preflight(self):
        srv = self.server(env={"MSFAQ_WEB_ORIGINS": CLINIC})
        pre = {"Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "content-type"}
        status, headers, body = self.ask_from(srv, CLINIC, "", "OPTIONS",
                                              pre)
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers["access-control-allow-origin"], CLINIC)
        self.assertEqual(headers["access-control-allow-methods"], "POST")
        self.assertEqual(headers["access-control-allow-headers"],
                         "Content-Type")
        self.assertEqual(headers["access-control-max-age"], "600")
        self.assertEqual(headers["allow"], "OPTIONS, POST")
        self.assertEqual(headers["vary"], "Origin")
        status, headers, body = self.ask_from(srv, "https://evil.example",
                                              "", "OPTIONS", pre)
        self.assertEqual((status, body), (204, b""))
        for h in CORS_HEADERS:
            self.assertNotIn(h, headers)
        srv.wait_log(r"OPTIONS /v1/ask 204 ")
        # no origins configured: no CORS, no Vary, for anyone
        srv2 = self.server()
        for method in ("OPTIONS", "POST"):
            status, headers, _ = self.ask_from(srv2, CLINIC, None, method,
                                               pre)
            self.assertEqual(status, 204 if method == "OPTIONS" else 200)
            for h in CORS_HEADERS + ("vary",):
                self.assertNotIn(h, headers)

    def test_bad_origins(self):
        run = CommandTest.run_serve
        for value in ("*", "clinic.example", "https://clinic.example/path",
                      "ftp://clinic.example", "https://", "https://a b",
                      "https://clinic.example:99999", "https://x:0",
                      "https://x;script-src *", "https://x/?q",
                      "https://[::1", "%s, null" % CLINIC,
                      "https://user@clinic.example"):
            r = run(self, env={"MSFAQ_WEB_ORIGINS": value})
            self.assertEqual(r.returncode, 1, value)
            self.assertEqual(r.stdout, "")
            self.assertIn("MSFAQ_WEB_ORIGINS", r.stderr)
        r = run(self, env={"MSFAQ_WEB_ORIGINS": "%s,ftp://x" % CLINIC})
        self.assertIn("entry 2 is not an origin", r.stderr)
        # _FILE and the config file, as for every setting
        d = tempfile.mkdtemp(prefix="msfaq-serve-web-")
        self.addCleanup(shutil.rmtree, d)
        listed = os.path.join(d, "origins")
        with open(listed, "w") as f:
            f.write(LOCAL + "\n")
        os.chmod(listed, 0o644)    # not a secret: others may read it
        srv = self.server(env={"MSFAQ_WEB_ORIGINS_FILE": listed})
        self.assertEqual(self.ask_from(srv, LOCAL)[1]
                         ["access-control-allow-origin"], LOCAL)
        conf = os.path.join(d, "serve.conf")
        with open(conf, "w") as f:
            f.write("MSFAQ_WEB_ORIGINS = '%s'\n" % CLINIC)
        os.chmod(conf, 0o644)
        srv = self.server(["--config", conf])
        self.assertEqual(self.ask_from(srv, CLINIC)[1]
                         ["access-control-allow-origin"], CLINIC)


# ---------------------------------------------------------------- reload

class ReloadTest(ServerTest):
    def copy_kb(self):
        root = tempfile.mkdtemp(prefix="msfaq-serve-kb-")
        self.addCleanup(shutil.rmtree, root)
        for sub in ("patterns", "responses"):
            shutil.copytree(os.path.join(ARGS.source, sub),
                            os.path.join(root, sub))
        return root

    def test_sighup(self):
        kb = self.copy_kb()
        srv = self.server(["--kb", kb])
        before = json.loads(srv.post_json("/v1/ask",
                                          {"question": CAR_T})[2])
        intents = os.path.join(kb, "patterns", "intents.json")
        with open(intents, encoding="utf-8") as f:
            good = f.read()

        # a broken KB: one clear line, and the old KB keeps answering
        with open(intents, "w", encoding="utf-8") as f:
            f.write('{"intents": [')
        srv.proc.send_signal(signal.SIGHUP)
        lines = srv.wait_log(r"reload failed")
        self.assertIn("intents.json", lines[0])
        status, _, body = srv.post_json("/v1/ask", {"question": CAR_T})
        self.assertEqual((status, json.loads(body)), (200, before))
        self.assertEqual(srv.metrics()['msfaq_kb_reloads_total'
                                       '{result="failed"}'], 1)

        # fixed, with a new disclaimer: the new KB answers
        with open(intents, "w", encoding="utf-8") as f:
            f.write(good)
        answers = os.path.join(kb, "responses", "answers.json")
        with open(answers, encoding="utf-8") as f:
            data = json.load(f)
        data["disclaimer"] = "Reloaded disclaimer: ask your neurologist."
        with open(answers, "w", encoding="utf-8") as f:
            json.dump(data, f)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_log(r"reloaded the knowledge base from ")
        after = json.loads(srv.post_json("/v1/ask", {"question": CAR_T})[2])
        self.assertTrue(after["answer"].endswith(data["disclaimer"]), after)
        self.assertEqual(srv.metrics()['msfaq_kb_reloads_total'
                                       '{result="ok"}'], 1)

    def test_reload_under_load(self):
        """Reloads while other threads ask: every request is answered."""
        kb = self.copy_kb()
        srv = self.server(["--kb", kb])
        stop = threading.Event()
        failures = []

        def ask():
            while not stop.is_set():
                status, _, _ = srv.post_json("/v1/ask", {"question": CAR_T})
                if status != 200:
                    failures.append(status)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(1, 11):
                srv.proc.send_signal(signal.SIGHUP)
                srv.wait_log(r"reloaded the knowledge base", count=i)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [])


# ------------------------------------------------------------- the command

class CommandTest(ServerTest):
    def run_serve(self, *args, env=None):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("MSFAQ_SLACK")
             and not k.startswith("MSFAQ_MATTERMOST")
             and not k.startswith("MSFAQ_WEB")}
        e.update(env or {})
        return subprocess.run([ARGS.serve, *args], capture_output=True,
                              text=True, env=e, timeout=WAIT)

    def test_help_version_usage(self):
        r = self.run_serve("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: msfaq-serve", r.stdout)
        r = self.run_serve("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^msfaq-serve \d+\.\d+\.\d+ ")
        for args in (["--bogus"], ["--threads", "0"], ["--listen"],
                     ["--max-body", "-5"]):
            r = self.run_serve(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn("Try 'msfaq-serve --help'", r.stderr)

    def test_start_failures(self):
        for args in (["--kb", "/nonexistent"],
                     ["--listen", "127.0.0.1:99999"],
                     ["--listen", "no-port"],
                     ["--config", "/nonexistent.conf"]):
            r = self.run_serve(*args)
            self.assertEqual(r.returncode, 1, (args, r.stderr))
            self.assertEqual(r.stdout, "")
        r = self.run_serve(env={"MSFAQ_SLACK_RESPONSE_TYPE": "loud"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("MSFAQ_SLACK_RESPONSE_TYPE", r.stderr)

    def test_secret_files(self):
        d = tempfile.mkdtemp(prefix="msfaq-serve-conf-")
        self.addCleanup(shutil.rmtree, d)
        secret = os.path.join(d, "signing")
        with open(secret, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(secret, 0o644)
        r = self.run_serve(env={"MSFAQ_SLACK_SIGNING_SECRET_FILE": secret})
        self.assertEqual(r.returncode, 1)
        self.assertIn("group or others", r.stderr)
        self.assertNotIn(SECRET, r.stderr)
        os.chmod(secret, 0o600)
        conf = os.path.join(d, "serve.conf")
        with open(conf, "w") as f:
            f.write("MSFAQ_SLACK_SIGNING_SECRET_FILE=signing\n"
                    "MSFAQ_MATTERMOST_TOKEN=%s\n" % MM_TOKEN)
        os.chmod(conf, 0o600)
        srv = self.server(["--config", conf])
        fields = mattermost_fields(CAR_T)
        status, _, _ = srv.request("POST", "/mattermost",
                                   urllib.parse.urlencode(fields))
        self.assertEqual(status, 200)
        if SignatureVerifier is not None:
            body = slash_body(CAR_T)
            status, _, _ = srv.request("POST", "/slack/commands", body,
                                       form_headers(body))
            self.assertEqual(status, 200)
        srv.stop()
        self.assertNotIn(SECRET, srv.log())
        self.assertNotIn(MM_TOKEN, srv.log())

    def test_msfaq_serve_and_sigint(self):
        """`msfaq serve` runs msfaq-serve; SIGINT stops it cleanly."""
        srv = Server()
        srv.cmd = [ARGS.msfaq, "--kb", ARGS.source, "serve", "--listen",
                   "127.0.0.1:0"]
        self.addCleanup(srv.stop, check=False)
        srv.start()
        status, _, body = srv.request("GET", "/healthz")
        self.assertEqual(status, 200)
        srv.wait_log(r"knowledge base " + re.escape(ARGS.source))
        srv.stop(sig=signal.SIGINT)
        self.assertIn("SIGINT: stopping", srv.log())


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", required=True)
    parser.add_argument("--msfaq", required=True)
    parser.add_argument("--sign-tool", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    prog = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False)
    result = prog.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and result.testsRun == len(result.skipped):
        sys.exit(77)  # ctest: SKIP_RETURN_CODE


if __name__ == "__main__":
    main()
