"""msfaq-serve delivering Slack event answers through outages and crashes:
killed (SIGKILL) mid-delivery, started again on the same MSFAQ_SPOOL_DIR,
it answers every accepted event exactly once and recognises Slack's
retries; a target that stays down gets each answer retried, then written
to the dead-letter file.

Usage (ctest runs it): test_serve_spool.py --serve BIN --msfaq BIN
    --sign-tool BIN --source DIR [unittest arguments]

chat.postMessage goes to test_serve.py's recording stand-in for Slack's
Web API, through tests/lib/fault_proxy.py, which can hold a post (the
process is killed while it is in flight: it never reaches the stand-in,
as one that never reached Slack) or fail it with 500.  Only posts the
stand-in recorded count as delivered.  Nothing waits for a fixed time:
every wait is for an event.
"""

import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))   # fault_proxy
import fault_proxy as F  # noqa: E402
import test_serve as ts  # noqa: E402  (the server driver and Slack helpers)

WAIT = ts.WAIT
POST = r"/chat\.postMessage"


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
        self.api = ts.SlackAPI()
        self.addCleanup(self.api.close)
        self.proxy = F.FaultProxy(self.api.url).start()
        self.addCleanup(self.proxy.close)
        self.dir = tempfile.mkdtemp(prefix="msfaq-spool-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.spool = os.path.join(self.dir, "spool")
        self.dead = os.path.join(self.dir, "dead-letter.jsonl")
        self.got = []
        self.env = {"MSFAQ_SLACK_SIGNING_SECRET": ts.SECRET,
                    "MSFAQ_SLACK_BOT_TOKEN": ts.BOT_TOKEN,
                    "MSFAQ_SLACK_BOT_USER_ID": "U0LAN0Z89",
                    "MSFAQ_SLACK_API_URL": self.proxy.url + "/api",
                    "MSFAQ_SPOOL_DIR": self.spool,
                    "MSFAQ_DEAD_LETTER": self.dead}

    def delivered(self):
        """Every post the stand-in has recorded (what Slack took)."""
        while True:
            try:
                self.got.append(self.api.posts.get_nowait()["body"])
            except queue.Empty:
                return self.got

    def wait_delivered(self, what, predicate):
        wait_until(what, lambda: predicate(self.delivered()))

    def attempts(self):
        return len(self.proxy.requests("POST", POST))

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
        self.proxy.add(F.Rule("POST", POST, F.HOLD))
        srv = self.server(env=self.env)
        for ev in events:
            self.deliver(srv, ev)
        # the first answer is in flight, the other four wait behind it
        held = self.proxy.wait_held("a post to be held", POST, WAIT)
        self.assertEqual(len(jobs_in(self.spool)), len(events))
        srv.stop(check=False, sig=signal.SIGKILL)
        self.assertEqual(srv.proc.returncode, -signal.SIGKILL)
        self.proxy.wait_for("the proxy to see serve gone",
                            lambda: held.state == "client gone", WAIT)
        self.assertEqual(self.delivered(), [])

        # the target works again; a new process on the same spool
        self.proxy.reset()
        srv = self.server(env=self.env)
        srv.wait_log(r"slack events: spool .*, 5 jobs waiting from before")
        self.wait_delivered("5 answers", lambda got: len(got) >= 5)
        # Slack retrying the deliveries (its 200s were "lost") changes
        # nothing; a sentinel after them shows no late post was queued:
        # one worker answers in order
        for i, ev in enumerate(events):
            self.deliver(srv, ev, retry=1 + i % 3)
        self.deliver(srv, ts.mention("what is MS?", "EvSentinel",
                                     ts="51.0"))
        self.wait_delivered("the sentinel", lambda got: any(
            d["thread_ts"] == "51.0" for d in got))
        threads = [d["thread_ts"] for d in self.delivered()]
        self.assertEqual(threads, ["50.%d" % i for i in range(5)] +
                         ["51.0"])
        for q, d in zip(questions, self.delivered()):
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
        self.proxy.add(F.Rule("POST", POST, F.FAIL, status=500))
        srv = self.server(env=self.env)
        self.deliver(srv, ts.mention(ts.CAR_T, "EvD1", ts="60.1"))
        srv.wait_log(r"chat.postMessage failed after 4 attempts.*"
                     r"dead-lettered")
        self.assertEqual(self.attempts(), 4)
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
        self.proxy.reset()
        self.proxy.add(F.Rule("POST", POST, F.FAIL, status=500, times=2))
        before = self.attempts()
        self.deliver(srv, ts.mention(ts.CAR_T, "EvD2", ts="60.2"))
        self.wait_delivered("the answer", lambda got: len(got) == 1)
        self.assertEqual(self.attempts() - before, 3)
        self.assertEqual(self.delivered()[0]["thread_ts"], "60.2")
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
        self.wait_delivered("the answer", lambda got: len(got) == 1)
        # a new job is numbered after the one set aside
        self.assertTrue(os.path.exists(os.path.join(
            d, "00000000000000000003.bad")))


if __name__ == "__main__":
    ts.main()   # parses the options, runs this module's tests
