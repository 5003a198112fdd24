"""msfaq-serve delivering Slack event answers through outages and crashes:
killed (SIGKILL) mid-delivery, started again on the same MSFAQ_SPOOL_DIR,
it answers every accepted event exactly once and recognises Slack's
retries; a target that stays down gets each answer retried, then written
to the dead-letter file.

Usage (ctest runs it): test_serve_spool.py --serve BIN --msfaq BIN
    --sign-tool BIN --source DIR [unittest arguments]

chat.postMessage goes to a stand-in on 127.0.0.1 that can stall a post
(the process is killed while the post is in flight, before Slack would
have taken it), fail it with 500, or take it.  Only taken posts count as
delivered.  Nothing waits for a fixed time: every wait is for an event.
"""

import http.server
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve as ts  # noqa: E402  (the server driver and Slack helpers)

WAIT = ts.WAIT


class FlakySlack:
    """Stands in for https://slack.com/api/chat.postMessage.

    mode "stall": the post is read and held unanswered (never delivered);
    "fail": 500; "pass": delivered, answered ok.  fail_first makes the
    first N posts fail whatever the mode."""

    def __init__(self):
        self.cond = threading.Condition()
        self.mode = "pass"
        self.fail_first = 0
        self.attempts = 0          # posts that arrived
        self.stalled = 0
        self.delivered = []        # bodies taken, in order
        self.release = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                with api.cond:
                    api.attempts += 1
                    mode = api.mode
                    if api.fail_first > 0:
                        api.fail_first -= 1
                        mode = "fail"
                    if mode == "stall":
                        api.stalled += 1
                    api.cond.notify_all()
                if mode == "stall":
                    api.release.wait(WAIT)
                    self.close_connection = True
                    return          # never answered: not delivered
                if mode == "fail":
                    self.reply(500, {"ok": False, "error": "fatal_error"})
                    return
                with api.cond:
                    api.delivered.append(body)
                    api.cond.notify_all()
                self.reply(200, {"ok": True, "channel": body.get("channel"),
                                 "ts": "1700000000.%06d"
                                       % len(api.delivered)})

            def reply(self, status, obj):
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/api" % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    def wait_for(self, what, predicate):
        deadline = time.monotonic() + WAIT
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("stand-in: no %s (attempts %d, "
                                         "delivered %d)"
                                         % (what, self.attempts,
                                            len(self.delivered)))
                self.cond.wait(min(left, 0.5))

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_until(what, predicate):
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("waited in vain for " + what)
        time.sleep(0.02)


def jobs_in(spool):
    d = os.path.join(spool, "slack-events")
    return sorted(f for f in os.listdir(d) if f.endswith(".job"))


class SpoolTest(ts.ServerTest):
    def setUp(self):
        ts.need_sdk()
        self.api = FlakySlack()
        self.addCleanup(self.api.close)
        self.dir = tempfile.mkdtemp(prefix="msfaq-spool-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.spool = os.path.join(self.dir, "spool")
        self.dead = os.path.join(self.dir, "dead-letter.jsonl")
        self.env = {"MSFAQ_SLACK_SIGNING_SECRET": ts.SECRET,
                    "MSFAQ_SLACK_BOT_TOKEN": ts.BOT_TOKEN,
                    "MSFAQ_SLACK_BOT_USER_ID": "U0LAN0Z89",
                    "MSFAQ_SLACK_API_URL": self.api.url,
                    "MSFAQ_SPOOL_DIR": self.spool,
                    "MSFAQ_DEAD_LETTER": self.dead}

    def deliver(self, srv, payload, retry=None):
        body = json.dumps(payload)
        headers = {"Content-Type": "application/json",
                   **ts.slack_headers(body)}
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry),
                            "X-Slack-Retry-Reason": "http_timeout"})
        status, _, data = srv.request("POST", "/slack/events", body, headers)
        self.assertEqual((status, data), (200, b""))

    def test_killed_mid_delivery_loses_nothing_and_repeats_nothing(self):
        questions = ["what is CAR T-cell therapy?",
                     "what are disease-modifying therapies?",
                     "how do B-cell therapies work?",
                     "what is MS?",
                     "what are the side effects of immune therapy?"]
        events = [ts.mention(q, "EvK%d" % i, ts="50.%d" % i)
                  for i, q in enumerate(questions)]
        self.api.mode = "stall"
        srv = self.server(env=self.env)
        for ev in events:
            self.deliver(srv, ev)
        # the first answer is in flight, the other four wait behind it
        self.api.wait_for("stalled post", lambda: self.api.stalled >= 1)
        self.assertEqual(len(jobs_in(self.spool)), len(events))
        srv.stop(check=False, sig=signal.SIGKILL)
        self.assertEqual(srv.proc.returncode, -signal.SIGKILL)
        self.assertEqual(self.api.delivered, [])

        # the target works again; a new process on the same spool
        self.api.mode = "pass"
        self.api.release.set()
        srv = self.server(env=self.env)
        srv.wait_log(r"slack events: spool .*, 5 jobs waiting from before")
        self.api.wait_for("5 answers",
                          lambda: len(self.api.delivered) >= 5)
        # Slack retrying the deliveries (its 200s were "lost") changes
        # nothing; a sentinel after them shows no late post was queued:
        # one worker answers in order
        for i, ev in enumerate(events):
            self.deliver(srv, ev, retry=1 + i % 3)
        self.deliver(srv, ts.mention("what is MS?", "EvSentinel",
                                     ts="51.0"))
        self.api.wait_for("the sentinel", lambda: any(
            d["thread_ts"] == "51.0" for d in self.api.delivered))
        threads = [d["thread_ts"] for d in self.api.delivered]
        self.assertEqual(threads, ["50.%d" % i for i in range(5)] +
                         ["51.0"])
        for q, d in zip(questions, self.api.delivered):
            want = ts.cli_answer(q)
            if want.get("section"):
                self.assertIn(want["section"],
                              json.dumps(d["blocks"], ensure_ascii=False))
        m = srv.metrics()
        self.assertEqual(m['msfaq_slack_events_total{outcome="duplicate"}'],
                         5)
        srv.wait_log(r"slack event: answered", count=6)
        wait_until("the spool to empty", lambda: jobs_in(self.spool) == [])
        print("KILL: 5 events accepted, killed with 1 in flight and 4 "
              "queued; after restart 5 answered once each, 5 retries "
              "recognised, lost=0 duplicates=0")

    def test_outage_then_dead_letter(self):
        self.api.mode = "fail"
        srv = self.server(env=self.env)
        self.deliver(srv, ts.mention(ts.CAR_T, "EvD1", ts="60.1"))
        srv.wait_log(r"chat.postMessage failed after 4 attempts.*"
                     r"dead-lettered")
        self.assertEqual(self.api.attempts, 4)
        with open(self.dead) as f:
            lines = [json.loads(ln) for ln in f]
        self.assertEqual(len(lines), 1)
        text = json.dumps(lines[0])
        self.assertIn("C0LAN2Q65", text)
        self.assertIn("60.1", text)
        self.assertNotIn(ts.BOT_TOKEN, text)
        with open(self.dead) as f:
            self.assertNotIn(ts.BOT_TOKEN, f.read())
        self.assertEqual(os.stat(self.dead).st_mode & 0o777, 0o600)
        self.assertNotIn(ts.BOT_TOKEN, srv.log())
        # it is in the dead-letter file, so no longer in the spool (the
        # file goes just after the log line)
        wait_until("the spool to empty", lambda: jobs_in(self.spool) == [])

        # a shorter outage: retried until the target is back
        self.api.mode = "pass"
        self.api.fail_first = 2
        before = self.api.attempts
        self.deliver(srv, ts.mention(ts.CAR_T, "EvD2", ts="60.2"))
        self.api.wait_for("the answer", lambda: len(self.api.delivered) == 1)
        self.assertEqual(self.api.attempts - before, 3)
        self.assertEqual(self.api.delivered[0]["thread_ts"], "60.2")
        srv.wait_log(r"slack event: answered")
        print("OUTAGE: 4 attempts then dead-lettered (no token in it); "
              "2 failures then delivered on the 3rd attempt")

    def test_bad_spool_is_refused_at_start(self):
        blocker = os.path.join(self.dir, "file")
        open(blocker, "w").close()
        env = dict(self.env, MSFAQ_SPOOL_DIR=os.path.join(blocker, "x"))
        srv = ts.Server(env=env)
        with self.assertRaises(AssertionError):
            srv.start()
        self.assertRegex(srv.log(), r"MSFAQ_SPOOL_DIR: .*file/x: Not a "
                                    r"directory")

    def test_unreadable_job_is_set_aside(self):
        d = os.path.join(self.spool, "slack-events")
        os.makedirs(d)
        with open(os.path.join(d, "00000000000000000003.job"), "w") as f:
            f.write('{"keys": ["zz"], "job": ')
        srv = self.server(env=self.env)
        srv.wait_log(r"00000000000000000003.job: .*; kept as "
                     r".*00000000000000000003.bad")
        self.deliver(srv, ts.mention(ts.CAR_T, "EvB1", ts="70.1"))
        self.api.wait_for("the answer", lambda: len(self.api.delivered) == 1)
        # a new job is numbered after the one set aside
        self.assertTrue(os.path.exists(os.path.join(
            d, "00000000000000000003.bad")))


if __name__ == "__main__":
    ts.main()   # parses the options, runs this module's tests
