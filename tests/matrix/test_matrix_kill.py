#!/usr/bin/env python3
"""msfaq-matrix-bot and msfaq serve's application service killed
mid-delivery; the bot through a send outage, the service while Synapse
pushes to it.

    test_matrix_kill.py --build DIR --source DIR CLASS[.test_x]

CLASS is KillTest (the bot) or AppServiceKillTest (msfaq serve); ctest
runs each as its own test (matrix_kill, matrix_appservice_kill).

A fault-injecting reverse proxy (tests/lib/fault_proxy.py) sits between
the program and a real Synapse (synapse.py); the test user talks to Synapse
directly.  The proxy holds, fails or swallows the reply the program
PUTs to /rooms/{room}/send/m.room.message/{txnId}, and the program is
SIGKILLed (not SIGTERM: no clean stop, nothing saved on the way out)
while its request or Synapse's response is held.  Restarted on the
same state file (the bot) or MSFAQ_SPOOL_DIR (the service), it must
answer every question exactly once.  Both:

1. killed before the reply left: it is sent after the restart, with
   the same transaction id;
2. killed after Synapse stored it, before the program saw the
   response: the retry carries the same transaction id and Synapse
   returns the same event instead of posting a second one;
4. five questions at once, killed while the reply to the second is
   held: after the restart all five are answered once each, in order.

The bot only:

3. a send outage (503, connections closed, 502 after Synapse stored
   it): the reply is tried max_attempts times, then appended to the
   dead-letter file (no token in it); the bot goes on with the next
   messages and does not try it again after the outage (its sync token
   has moved past it).  Nothing is lost: the record re-sent as
   docs/posting.md says (its payload to its txn_id) is posted once,
   and only once however often it is re-sent.
5. a member count that fails once (503): whether the room is direct
   cannot be told, so the batch is synced again rather than the
   question skipped; answered once;
6. a gap fetch (/messages, questions asked while the bot was down and
   --timeline-limit 1) that fails once: the batch is synced again and
   every question in the gap is answered once.

The service (Synapse's registration names its fixed port; it comes
back there) keeps what it accepted in the spool: at every kill the
test checks the unanswered questions are in .job files, and that the
restart says it found as many as were left.  Only:

3. killed with a reply held, then two questions asked while it is
   down: Synapse fails to push them, marks the service down and tries
   again with a growing delay (2, 4, 8 s: synapse/appservice/
   scheduler.py); the test waits for 3 failures, restarts serve, which
   asks Synapse for a ping once it listens (MSFAQ_MATRIX_AS_ID), and
   Synapse's retry brings both at once, answered once each;
5. without MSFAQ_SPOOL_DIR, serve warns once at start;
6. transactions repeated after a kill, as Synapse repeats one whose
   200 it missed: one handled before the kill (known from the seen
   file) and one in the spool at the kill are not handled again.
7. a .job whose txnId the seen file lacks (serve died between the
   two writes; made by hand while serve is down): handled once after
   the restart, and its repeat after one more restart is recognised.

Counts are made by the test user through /messages.  That a question
has no second reply is checked after a later question in the same room
was answered: the programs handle a room's events in order.  Nothing
waits for a fixed time: every wait polls for a condition with a
deadline.  The last test prints "KILL: ..." or "ASKILL: ..." with the
totals.
"""
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))   # fault_proxy
import fault_proxy as F  # noqa: E402
import synapse as S  # noqa: E402
import test_matrix as T  # noqa: E402  (Bot, Serve, read, ...)

DEADLINE = T.DEADLINE
SEND = r"/send/m\.room\.message/"
MAX_ATTEMPTS = 4        # MSFAQ_POST_DEFAULT_MAX_ATTEMPTS: the bot's

QUESTIONS = [T.CAR_T, T.UNCOVERED, T.SAFETY, "What is a DMT?",
             "What are the side effects of ocrelizumab?"]


def txn_for(event_id):
    """The transaction id the bot derives from the question's event ID
    (poster/matrix.c): every byte outside A-Z a-z 0-9 . ~ - as _XX."""
    keep = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            b"0123456789.~-")
    return "msfaq.r." + "".join(
        chr(c) if c in keep else "_%02X" % c
        for c in event_id.encode()[:255])


def send_of(event_id):
    """A path pattern for the PUT of the reply to event_id."""
    return SEND + re.escape(txn_for(event_id)) + "$"


class KillCase:
    """What the two kill tests share, a mixin for a T.LoggedCase: the
    test user (cls.alice) asks in a direct room of each test's own with
    the program's user (cls.me); the program (cls.prog, started by
    cls.start()) reaches Synapse only through cls.proxy; it is
    SIGKILLed and restarted; replies are counted by the test user.
    Tests 1, 2 and 4 are the same for the bot and the service: the
    hooks ready_to_kill() and kept() are where they differ."""
    program = None            # its name, for messages
    tag = None                # of the summary line, and the folder
    prog = proxy = hs = None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="msfaq-matrix-%s-"
                                   % cls.tag.lower())
        cls.log = os.path.join(cls.dir, cls.program + ".log")
        cls.proxy_log = os.path.join(cls.dir, "proxy.log")
        cls.logs = [cls.log, cls.proxy_log]
        cls.asked = []           # (room, event ID) of every question
        cls.kills = 0
        try:
            cls.prepare()
        except BaseException:
            cls.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def prepare(cls):
        """Starts Synapse, the proxy and the program."""
        raise NotImplementedError

    @classmethod
    def tearDownClass(cls):
        status = cls.prog.stop() if cls.prog else 0
        cls.prog = None
        cls.finish(status, cls.program,
                   *([cls.proxy.close] if cls.proxy else []))

    def setUp(self):
        self.proxy.reset()
        if not self.prog:         # an earlier test failed between kills
            type(self).start()
        # a direct room of its own per test, so counts stay apart
        self.room = self.alice.create_room(invite=[self.me])
        S.wait_until("%s to join" % self.me, lambda: self.me in
                     self.alice.members(self.room), DEADLINE)

    # ------------------------------------------------------------ hooks

    def ready_to_kill(self, pending):
        """Waits until the program has what a restart needs to answer
        pending (questions without a reply yet)."""

    def kept(self, pending):
        """Checks, after the kill, what the program kept of pending."""

    def summary_figures(self):
        """(name, value) pairs for the summary line."""
        return []

    # ---------------------------------------------------------- helpers

    def ask(self, question):
        ev = self.alice.say(self.room, question)
        self.asked.append((self.room, ev))
        return ev

    def kill(self):
        """SIGKILL: the program gets no chance to finish or save
        anything."""
        status = self.prog.stop(signal.SIGKILL)
        type(self).prog = None
        type(self).kills += 1
        self.assertEqual(status, -signal.SIGKILL)

    def kill_holding(self, held, pending, state="client gone"):
        """Kills the program while the proxy holds held (its request,
        or Synapse's response to it), once it is ready to; waits until
        the proxy saw it go (held.state becomes state)."""
        self.ready_to_kill(pending)
        self.kill()
        self.proxy.wait_for("the proxy to see %s gone" % self.program,
                            lambda: held.state == state, DEADLINE)
        self.kept(pending)

    def restart(self):
        self.proxy.reset()
        type(self).start()

    def count(self, ev, room=None):
        return len(self.alice.replies_to(room or self.room, ev, self.me))

    def settle(self):
        """Asks one more question and waits for its answer: every reply
        to an earlier question of the room would have come before it."""
        marker = self.ask("What is a DMT?")
        self.alice.wait_reply(self.room, marker, self.me, DEADLINE)
        return marker

    # ------------------------------------------------------------ tests

    def test_1_killed_before_the_reply_left(self):
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, times=1))
        q = self.ask(T.CAR_T)
        held = self.proxy.wait_held("the reply to %s to be held" % q,
                                    SEND, DEADLINE)
        self.assertRegex(held.path, send_of(q))   # derived from q
        self.kill_holding(held, [q])
        self.assertFalse(held.forwarded)
        self.assertEqual(self.count(q), 0)        # Synapse never saw it

        self.restart()
        self.alice.wait_reply(self.room, q, self.me, DEADLINE)
        self.settle()
        self.assertEqual(self.count(q), 1)
        puts = self.proxy.requests("PUT", send_of(q))
        self.assertEqual([p.state for p in puts], ["client gone",
                                                   "passed"])

    def test_2_killed_after_the_homeserver_stored_it(self):
        self.proxy.add(F.Rule("PUT", SEND, F.FORWARD_HOLD, times=1))
        q = self.ask(T.SAFETY)
        held = self.proxy.wait_for(
            "Synapse's response to the reply to be held", lambda: [
                s for s in self.proxy.requests("PUT", SEND)
                if s.state == "holding response"], DEADLINE)[0]
        self.assertEqual(held.upstream_status, 200)
        first = json.loads(held.response)["event_id"]
        # stored: Alice sees the reply the program never heard about
        self.assertEqual(self.alice.wait_reply(
            self.room, q, self.me, DEADLINE)["event_id"], first)
        self.kill_holding(held, [q], "client gone after forwarding")

        self.restart()
        self.settle()
        self.assertEqual(self.count(q), 1)
        puts = self.proxy.requests("PUT", send_of(q))
        self.assertEqual(len(puts), 2, puts)
        # the same transaction id, so Synapse gave back the first event
        self.assertEqual(puts[0].path, puts[1].path)
        self.assertEqual(puts[1].state, "passed")
        self.assertEqual(json.loads(puts[1].response)["event_id"], first)

    def test_4_batch_killed_at_the_second_reply(self):
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, skip=1, times=1))
        qs = [self.ask(question) for question in QUESTIONS]
        held = self.proxy.wait_held("the reply to the 2nd question to be "
                                    "held", SEND, DEADLINE)
        self.assertRegex(held.path, send_of(qs[1]))
        self.kill_holding(held, qs[1:])
        self.assertEqual([self.count(q) for q in qs], [1, 0, 0, 0, 0])

        self.restart()
        for q in qs:
            self.alice.wait_reply(self.room, q, self.me, DEADLINE)
        marker = self.settle()
        self.assertEqual([self.count(q) for q in qs], [1] * 5)
        # in order: the program's replies in the room, oldest first
        order = [e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                 for e in self.alice.events(self.room)
                 if e["sender"] == self.me]
        self.assertEqual(order, qs + [marker])

    def test_9_every_question_answered_once(self):
        counts = [self.count(ev, room) for room, ev in self.asked]
        dups = sum(c - 1 for c in counts if c > 1)
        lost = counts.count(0)
        figures = [("questions", len(counts)), ("kills", self.kills),
                   ("replies", sum(counts)), ("duplicates", dups),
                   ("lost", lost)] + self.summary_figures()
        print("%s: %s" % (self.tag, " ".join("%s=%s" % f
                                             for f in figures)),
              flush=True)
        self.assertEqual((dups, lost), (0, 0),
                         list(zip(self.asked, counts)))


class KillTest(KillCase, T.LoggedCase):
    """The bot SIGKILLed mid-delivery and through a send outage."""
    program = "msfaq-matrix-bot"
    tag = "KILL"

    @classmethod
    def prepare(cls):
        cls.outage_attempts = 0
        cls.dead_lettered = 0
        cls.hs = S.Homeserver(T.ARGS.source, cls.dir).start()
        cls.alice = cls.hs.register("alice")
        cls.faqbot = cls.hs.register("faqbot")
        cls.me = cls.faqbot.user_id
        cls.proxy = F.FaultProxy(cls.hs.url, log=cls.proxy_log).start()
        # the bot knows only the proxy
        cls.env, cls.state, cls.dead = T.bot_settings(
            cls.dir, cls.proxy.url, cls.faqbot.token)
        cls.start()

    @classmethod
    def start(cls, extra=()):
        cls.prog = T.Bot(T.ARGS.build, cls.env,
                         ["--state", cls.state, "--dead-letter", cls.dead,
                          "--sync-timeout", "5", *extra], cls.log)
        cls.prog.expect_syncing(cls.me)

    def summary_figures(self):
        return [("attempts_during_outage", self.outage_attempts),
                ("dead_lettered", self.dead_lettered)]

    # ---------------------------------------------------------- helpers

    def dead_letters(self):
        return [json.loads(l) for l in T.read(self.dead).splitlines()]

    def dead_letter_of(self, ev):
        for rec in self.dead_letters():
            if rec["message"].get("reply_to") == ev:
                return rec
        return None

    # ------------------------------------------------------------ tests

    def test_3_outage_then_dead_letter(self):
        # (action, status): what the send outage looks like to the bot
        outages = [(F.FAIL, 503), (F.FAIL, None), (F.FORWARD_FAIL, 502)]
        for (action, status), question in zip(outages, QUESTIONS):
            with self.subTest(action=action, status=status):
                self.outage(action, status, question)
        self.assertNotIn(self.faqbot.token, T.read(self.dead))
        self.assertEqual(os.stat(self.dead).st_mode & 0o777, 0o600)

    def outage(self, action, status, question):
        self.proxy.reset()
        self.proxy.add(F.Rule("PUT", SEND, action, status=status))
        q = self.ask(question)
        rec = S.wait_until("the reply to %s in the dead-letter file" % q,
                           lambda: self.dead_letter_of(q), DEADLINE)
        puts = self.proxy.requests("PUT", send_of(q))
        type(self).outage_attempts += len(puts)
        type(self).dead_lettered += 1
        # tried max_attempts times with one transaction id, then given
        # up.  A reused connection closed without a reply is one that
        # died idle to libcurl, which sends the request once more on a
        # new one, inside the same attempt: harmless, the same txnId.
        resent = [b for a, b in zip(puts, puts[1:])
                  if a.state == "closed" and a.on_conn > 1 and
                  b.on_conn == 1]
        self.assertEqual(len(puts) - len(resent), MAX_ATTEMPTS, puts)
        self.assertLessEqual(len(resent), 1, puts)
        self.assertEqual(len({p.path for p in puts}), 1)
        self.assertEqual(rec["attempts"], MAX_ATTEMPTS)
        self.assertEqual(rec["http_status"], status or 0)
        self.assertEqual(rec["target"], "matrix")
        self.assertEqual(rec["message"]["channel"], self.room)
        self.assertEqual(rec["message"]["txn_id"], txn_for(q))
        self.assertEqual(rec["payload"]["msgtype"], "m.notice")
        self.assertEqual(rec["payload"]["m.relates_to"],
                         {"m.in_reply_to": {"event_id": q}})
        S.wait_until("the log line", lambda: "reply to %s in %s not "
                     "delivered" % (q, self.room) in T.read(self.log),
                     DEADLINE)

        # the outage ends; the bot goes on, and does not try q again
        self.proxy.reset()
        self.settle()
        stored = action == F.FORWARD_FAIL    # Synapse had it after all
        self.assertEqual(self.count(q), 1 if stored else 0)
        self.assertEqual(len(self.proxy.requests("PUT", send_of(q))),
                         len(puts))

        # nothing lost: the record re-sent (twice) is posted once
        path = "/_matrix/client/v3/rooms/%s/send/m.room.message/%s" % (
            S.q(rec["message"]["channel"]), S.q(rec["message"]["txn_id"]))
        ids = {S.call(self.hs.url, "PUT", path, rec["payload"],
                      self.faqbot.token)["event_id"] for _ in range(2)}
        self.assertEqual(len(ids), 1)
        self.assertEqual(self.count(q), 1)


    def test_5_member_count_fails_once(self):
        # whether the room is direct is not known for a moment: the
        # question must not be taken for group chatter and skipped
        before = len(self.proxy.requests())
        self.proxy.add(F.Rule("GET", r"/joined_members", F.FAIL,
                              status=503, times=1))
        q = self.ask(T.CAR_T)
        self.alice.wait_reply(self.room, q, self.me, DEADLINE)
        self.settle()
        self.assertEqual(self.count(q), 1)
        counts = [s for s in self.proxy.requests()[before:]
                  if "/joined_members" in s.path]
        self.assertEqual([c.state for c in counts][:2],
                         ["failed 503", "passed"], counts)
        self.assertIn("syncing it again", T.read(self.log))

    def test_6_gap_fetch_fails_once(self):
        # questions asked while the bot is down, more than one sync's
        # timeline holds: the gap is fetched, and its first fetch fails
        self.assertEqual(self.prog.stop(), 0)
        type(self).prog = None
        qs = [self.ask(question) for question in QUESTIONS[:3]]
        before = len(self.proxy.requests())
        self.proxy.add(F.Rule("GET", r"/messages\?", F.FAIL, status=503,
                              times=1))
        type(self).start(["--timeline-limit", "1"])
        for q in qs:
            self.alice.wait_reply(self.room, q, self.me, DEADLINE)
        self.settle()
        self.assertEqual([self.count(q) for q in qs], [1, 1, 1])
        gaps = [s for s in self.proxy.requests()[before:]
                if "/messages?" in s.path]
        self.assertEqual([g.state for g in gaps][:2],
                         ["failed 503", "passed"], gaps)
        # back to the usual timeline for the tests after this one
        self.assertEqual(self.prog.stop(), 0)
        type(self).start()


class AppServiceKillTest(KillCase, T.LoggedCase):
    """msfaq serve as an application service with MSFAQ_SPOOL_DIR,
    SIGKILLed mid-delivery and down while Synapse pushes to it."""
    program = "msfaq-serve"
    tag = "ASKILL"

    @classmethod
    def prepare(cls):
        cls.other_log = os.path.join(cls.dir, "serve-no-spool.log")
        cls.logs.append(cls.other_log)
        cls.spooled_at_kills = []  # .job files found after each kill
        cls.recovered = 0          # jobs the restarts said they found
        cls.failed_pushes = 0      # Synapse's, while serve was down
        cls.retry_delays = []      # Synapse's backoff then, in seconds
        cls.down_wait = 0.0        # restart to the last late answer
        # fixed: Synapse's registration names it, and serve comes back
        # on it after every kill
        cls.port = S.free_port()
        cls.serve_url = "http://127.0.0.1:%d" % cls.port
        hs_port = S.free_port()
        cls.hs = S.Homeserver(T.ARGS.source, cls.dir)
        reg, cls.conf, settings = T.appservice_files(
            cls.dir, cls.serve_url, hs_port)
        cls.hs_token = settings["MSFAQ_MATRIX_HS_TOKEN"]
        cls.hs.appservices = [reg]
        cls.hs.start(port=hs_port)
        cls.hs_log = os.path.join(cls.hs.dir, "homeserver.log")
        # Synapse's lines about pushing to us (not about the proxy)
        cls.push_failed = "push_bulk to %s threw" % cls.serve_url
        cls.me = "@faq:localhost"
        cls.alice = cls.hs.register("alice")
        cls.proxy = F.FaultProxy(cls.hs.url, log=cls.proxy_log).start()
        cls.jobs = os.path.join(cls.dir, "spool", "matrix-transactions")
        cls.dead = os.path.join(cls.dir, "dead-letter.jsonl")
        # serve reaches Synapse only through the proxy (the environment
        # wins over serve.conf)
        cls.env = dict(T.without_msfaq_settings(),
                       MSFAQ_MATRIX_HOMESERVER=cls.proxy.url,
                       MSFAQ_SPOOL_DIR=os.path.dirname(cls.jobs),
                       MSFAQ_DEAD_LETTER=cls.dead)
        cls.start()

    @classmethod
    def start(cls, env=None, port=None, log=None):
        """msfaq serve on the fixed port, or as told; returns it."""
        serve = T.Serve(T.ARGS.build, env or cls.env,
                        ["--listen", "127.0.0.1:%d" % (port or cls.port),
                         "--config", cls.conf], log or cls.log)
        if not env:
            cls.prog = serve
        return serve

    def summary_figures(self):
        return [("spooled_at_kills", self.spooled_at_kills),
                ("recovered_jobs", self.recovered),
                ("failed_pushes", self.failed_pushes),
                ("retry_delays", self.retry_delays),
                ("down_wait", "%.1fs" % self.down_wait),
                ("dead_lettered", len(T.read(self.dead).splitlines()))]

    # ---------------------------------------------------------- helpers

    def spooled(self):
        """{.job file: [event ID, ...]} of the spool's transactions (not
        the ping serve asks for when it starts listening)."""
        out = {}
        for name in sorted(os.listdir(self.jobs)):
            text = name.endswith(".job") and T.read(
                os.path.join(self.jobs, name))
            job = json.loads(text)["job"] if text else {}
            if "events" in job:           # not removed meanwhile
                out[name] = [e.get("event_id") for e in job["events"]]
        return out

    def spooled_events(self):
        return {ev for evs in self.spooled().values() for ev in evs}

    def ready_to_kill(self, pending):
        # accepted means on disk: all of them, before the kill
        S.wait_until("the spool to hold %s" % pending, lambda:
                     set(pending) <= self.spooled_events(), DEADLINE)

    def kept(self, pending):
        jobs = self.spooled()
        self.assertLessEqual(set(pending), self.spooled_events(), jobs)
        type(self).spooled_at_kills.append(len(jobs))

    def restart(self):
        """Restarts serve, which finds every .job left by the kill."""
        # every .job, a ping serve had not yet made included
        left = len([n for n in os.listdir(self.jobs) if n.endswith(".job")])
        super().restart()
        found = re.findall(r"spool \S+, (\d+) jobs? waiting from before",
                           T.read(self.log))
        self.assertEqual(int(found[-1]), left)
        type(self).recovered += left

    def synapse_log(self, since=0):
        return T.read(self.hs_log)[since:]

    # ------------------------------------------------------------ tests

    def test_3_asked_while_down(self):
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, times=1))
        q = self.ask(T.UNCOVERED)
        held = self.proxy.wait_held("the reply to %s to be held" % q,
                                    SEND, DEADLINE)
        self.kill_holding(held, [q])
        mark = len(self.synapse_log())
        down = [self.ask(T.CAR_T), self.ask(T.SAFETY)]
        # Synapse cannot push them: it marks the service down and tries
        # again after 2, 4, 8, ... s (synapse/appservice/scheduler.py)
        S.wait_until("Synapse to fail to push to serve 3 times", lambda:
                     self.synapse_log(mark).count(self.push_failed) >= 3,
                     DEADLINE)
        after = self.synapse_log(mark)
        delays = [float(d) for d in re.findall(
            r"Scheduling retries on msfaq-test in ([\d.]+)s", after)]
        self.assertEqual(delays, sorted(delays))      # backing off
        self.assertGreaterEqual(len(delays), 3)
        type(self).failed_pushes += after.count(self.push_failed)
        type(self).retry_delays += delays
        self.assertFalse(set(down) & self.spooled_events())

        self.restart()
        began = time.monotonic()
        for ev in [q] + down:    # q from the spool, down from Synapse
            self.alice.wait_reply(self.room, ev, self.me, DEADLINE)
        type(self).down_wait = time.monotonic() - began
        self.settle()
        self.assertEqual([self.count(ev) for ev in [q] + down], [1] * 3)
        self.assertIn("Successfully recovered application service AS ID "
                      "msfaq-test", self.synapse_log(mark))
        # serve asked for a ping once listening (MSFAQ_MATRIX_AS_ID from
        # serve.conf), which has Synapse retry at once, not at its next
        # backoff step
        pings = [p for p in self.proxy.requests(
            "POST", r"/appservice/msfaq-test/ping") if p.state == "passed"]
        self.assertTrue(pings, self.proxy.requests("POST"))
        self.assertIn("the homeserver reached us", T.read(self.log))
        puts = self.proxy.requests("PUT", send_of(q))
        self.assertEqual([p.state for p in puts], ["client gone",
                                                   "passed"])

    def test_5_without_a_spool_a_warning(self):
        warning = "MSFAQ_SPOOL_DIR is not set"
        env = dict(self.env)
        del env["MSFAQ_SPOOL_DIR"]
        other = self.start(env, S.free_port(), self.other_log)
        self.assertEqual(other.stop(), 0)    # clean: leaks are checked
        self.assertEqual(T.read(self.other_log).count(warning), 1,
                         T.read(self.other_log))
        self.assertNotIn(warning, T.read(self.log))

    def transaction(self, question):
        """A transaction as Synapse would push it, with one question
        (an event ID of its own, which Synapse never pushes); returns
        its path and body, the event ID in self.asked."""
        n = time.time_ns()
        ev = "$made-%d" % n
        self.asked.append((self.room, ev))
        return "/_matrix/app/v1/transactions/made-%d" % n, {"events": [{
            "type": "m.room.message", "room_id": self.room,
            "sender": self.alice.user_id, "event_id": ev,
            "origin_server_ts": n // 1000000,
            "content": {"msgtype": "m.text", "body": question}}]}

    def push(self, path, body):
        self.assertEqual(S.call(self.serve_url, "PUT", path, body,
                                self.hs_token), {})

    def test_6_transactions_repeated_after_the_kill(self):
        # what Synapse does when it missed our 200: the same txnId
        # again.  One handled before the kill (its file removed: the
        # seen file knows it), one in the spool at the kill.
        done, held_txn = (self.transaction(T.CAR_T),
                          self.transaction(T.SAFETY))
        evs = [t[1]["events"][0]["event_id"] for t in (done, held_txn)]
        self.push(*done)
        self.alice.wait_reply(self.room, evs[0], self.me, DEADLINE)
        S.wait_until("the spool to let %s go" % evs[0], lambda:
                     evs[0] not in self.spooled_events(), DEADLINE)
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, times=1))
        self.push(*held_txn)
        held = self.proxy.wait_held("the reply to %s to be held" % evs[1],
                                    SEND, DEADLINE)
        self.kill_holding(held, evs[1:])

        self.restart()
        self.alice.wait_reply(self.room, evs[1], self.me, DEADLINE)
        mark = len(T.read(self.log))
        for t in (done, held_txn):
            self.push(*t)
        S.wait_until("the repeats in the log", lambda: T.read(
            self.log)[mark:].count("duplicate transaction") == 2, DEADLINE)
        self.settle()
        self.assertEqual([self.count(ev) for ev in evs], [1, 1])
        # neither handled again: no other attempt at their replies
        self.assertEqual([[p.state for p in self.proxy.requests(
            "PUT", send_of(ev))] for ev in evs],
            [["passed"], ["client gone", "passed"]])

    def test_7_a_kept_transaction_the_seen_file_lacks(self):
        # serve killed between writing a transaction's .job and adding
        # its txnId to the seen file leaves this; the homeserver never
        # got the 200, so it sends the transaction again, maybe only
        # after a second restart
        path, body = self.transaction(T.CAR_T)
        ev = body["events"][0]["event_id"]
        txn = path.rsplit("/", 1)[1]
        key = hashlib.sha256(b"txn\0" + txn.encode() + b"\0").hexdigest()
        self.kill()
        self.assertNotIn(key, T.read(os.path.join(self.jobs, "seen")))
        T.write_private(os.path.join(self.jobs, "%020d.job" % 999999),
                        json.dumps({"keys": [key], "job": body}) + "\n")
        self.restart()
        self.alice.wait_reply(self.room, ev, self.me, DEADLINE)
        S.wait_until("the spool to let %s go" % ev, lambda:
                     ev not in self.spooled_events(), DEADLINE)
        self.assertEqual(self.prog.stop(), 0)
        type(self).prog = None
        self.restart()
        mark = len(T.read(self.log))
        self.push(path, body)
        S.wait_until("the repeat in the log", lambda: "duplicate "
                     "transaction" in T.read(self.log)[mark:], DEADLINE)
        self.settle()
        self.assertEqual(self.count(ev), 1)
        self.assertEqual(len(self.proxy.requests("PUT", send_of(ev))), 1)


if __name__ == "__main__":
    T.main()      # the options of test_matrix.py, and a class
