#!/usr/bin/env python3
"""msfaq-matrix-bot killed mid-delivery, and through a send outage.

    test_matrix_kill.py --build DIR --source DIR [KillTest[.test_x]]

A fault-injecting reverse proxy (fault_proxy.py) sits between the bot
and a real Synapse (synapse.py); the test user talks to Synapse
directly.  The proxy holds, fails or swallows the reply the bot PUTs to
/rooms/{room}/send/m.room.message/{txnId}, and the bot is SIGKILLed
(not SIGTERM: no clean stop, nothing saved on the way out) while its
request or Synapse's response is held.  Restarted on the same state
file, the bot must answer every question exactly once:

1. killed before the reply left: it is sent after the restart;
2. killed after Synapse stored it, before the bot saw the response: the
   retry carries the same transaction id and Synapse returns the same
   event instead of posting a second one;
3. a send outage (503, connections closed, 502 after Synapse stored
   it): the reply is tried max_attempts times, then appended to the
   dead-letter file (no token in it); the bot goes on with the next
   messages and does not try it again after the outage (its sync token
   has moved past it).  Nothing is lost: the record re-sent as
   docs/posting.md says (its payload to its txn_id) is posted once,
   and only once however often it is re-sent;
4. five questions at once, killed while the reply to the second is
   held: after the restart all five are answered once each, in order.

Counts are made by the test user through /messages.  That a question
has no second reply is checked after a later question in the same room
was answered: the bot handles a room's events in order.  Nothing waits
for a fixed time: every wait polls for a condition with a deadline.
The last test prints "KILL: ..." with the totals.
"""
import json
import os
import re
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fault_proxy as F  # noqa: E402
import synapse as S  # noqa: E402
import test_matrix as T  # noqa: E402  (Bot, LoggedCase, read, ...)

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


class KillTest(T.LoggedCase):
    """The bot SIGKILLed mid-delivery and through a send outage."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="msfaq-matrix-kill-")
        cls.hs = cls.proxy = cls.bot = None
        cls.log = os.path.join(cls.dir, "bot.log")
        cls.proxy_log = os.path.join(cls.dir, "proxy.log")
        cls.logs = (cls.log, cls.proxy_log)
        cls.asked = []           # (room, event ID) of every question
        cls.kills = 0
        cls.outage_attempts = 0
        cls.dead_lettered = 0
        try:
            cls.hs = S.Homeserver(T.ARGS.source, cls.dir).start()
            cls.alice = cls.hs.register("alice")
            cls.faqbot = cls.hs.register("faqbot")
            cls.me = cls.faqbot.user_id
            cls.proxy = F.FaultProxy(cls.hs.url, log=cls.proxy_log).start()
            token = os.path.join(cls.dir, "token")
            T.write_private(token, cls.faqbot.token + "\n")
            # the bot knows only the proxy
            cls.env = dict(os.environ,
                           MSFAQ_MATRIX_HOMESERVER=cls.proxy.url,
                           MSFAQ_MATRIX_ACCESS_TOKEN_FILE=token)
            cls.env.pop("MSFAQ_MATRIX_ACCESS_TOKEN", None)
            cls.state = os.path.join(cls.dir, "state.json")
            cls.dead = os.path.join(cls.dir, "dead-letter.jsonl")
            cls.start_bot()
        except BaseException:
            cls.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def start_bot(cls):
        cls.bot = T.Bot(T.ARGS.build, cls.env,
                        ["--state", cls.state, "--dead-letter", cls.dead,
                         "--sync-timeout", "5"], cls.log)
        cls.bot.expect_syncing(cls.me)

    @classmethod
    def tearDownClass(cls):
        status = cls.bot.stop() if cls.bot else 0
        cls.bot = None
        cls.finish(status, "msfaq-matrix-bot",
                   *([cls.proxy.close] if cls.proxy else []))

    def setUp(self):
        self.proxy.reset()
        if not self.bot:          # an earlier test failed between kills
            type(self).start_bot()
        # a direct room of its own per test, so counts stay apart
        self.room = self.alice.create_room(invite=[self.me])
        S.wait_until("the bot to join", lambda: self.me in
                     self.alice.members(self.room), DEADLINE)

    # ---------------------------------------------------------- helpers

    def ask(self, question):
        ev = self.alice.say(self.room, question)
        self.asked.append((self.room, ev))
        return ev

    def kill(self):
        """SIGKILL: the bot gets no chance to finish or save anything."""
        status = self.bot.stop(signal.SIGKILL)
        type(self).bot = None
        type(self).kills += 1
        self.assertEqual(status, -signal.SIGKILL)

    def restart(self):
        self.proxy.reset()
        type(self).start_bot()

    def count(self, ev, room=None):
        return len(self.alice.replies_to(room or self.room, ev, self.me))

    def settle(self):
        """Asks one more question and waits for its answer: every reply
        to an earlier question of the room would have come before it."""
        marker = self.ask("What is a DMT?")
        self.alice.wait_reply(self.room, marker, self.me, DEADLINE)
        return marker

    def dead_letters(self):
        return [json.loads(l) for l in T.read(self.dead).splitlines()]

    def dead_letter_of(self, ev):
        for rec in self.dead_letters():
            if rec["message"].get("reply_to") == ev:
                return rec
        return None

    # ------------------------------------------------------------ tests

    def test_1_killed_before_the_reply_left(self):
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, times=1))
        q = self.ask(T.CAR_T)
        held = self.proxy.wait_held("the reply to %s to be held" % q,
                                    SEND, DEADLINE)
        self.assertRegex(held.path, send_of(q))   # derived from q
        self.kill()
        self.proxy.wait_for("the proxy to see the bot gone", lambda:
                            held.state == "client gone", DEADLINE)
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
        # stored: Alice sees the reply the bot never heard about
        self.assertEqual(self.alice.wait_reply(
            self.room, q, self.me, DEADLINE)["event_id"], first)
        self.kill()
        self.proxy.wait_for("the proxy to see the bot gone", lambda:
                            held.state == "client gone after forwarding",
                            DEADLINE)

        self.restart()
        self.settle()
        self.assertEqual(self.count(q), 1)
        puts = self.proxy.requests("PUT", send_of(q))
        self.assertEqual(len(puts), 2, puts)
        # the same transaction id, so Synapse gave back the first event
        self.assertEqual(puts[0].path, puts[1].path)
        self.assertEqual(puts[1].state, "passed")
        self.assertEqual(json.loads(puts[1].response)["event_id"], first)

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

    def test_4_batch_killed_at_the_second_reply(self):
        self.proxy.add(F.Rule("PUT", SEND, F.HOLD, skip=1, times=1))
        qs = [self.ask(question) for question in QUESTIONS]
        held = self.proxy.wait_held("the reply to the 2nd question to be "
                                    "held", SEND, DEADLINE)
        self.assertRegex(held.path, send_of(qs[1]))
        self.kill()
        self.proxy.wait_for("the proxy to see the bot gone", lambda:
                            held.state == "client gone", DEADLINE)
        self.assertEqual([self.count(q) for q in qs], [1, 0, 0, 0, 0])

        self.restart()
        for q in qs:
            self.alice.wait_reply(self.room, q, self.me, DEADLINE)
        marker = self.settle()
        self.assertEqual([self.count(q) for q in qs], [1] * 5)
        # in order: the bot's replies in the room, oldest first
        order = [e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                 for e in self.alice.events(self.room)
                 if e["sender"] == self.me]
        self.assertEqual(order, qs + [marker])

    def test_9_every_question_answered_once(self):
        counts = [self.count(ev, room) for room, ev in self.asked]
        dups = sum(c - 1 for c in counts if c > 1)
        lost = counts.count(0)
        print("KILL: questions=%d kills=%d replies=%d duplicates=%d "
              "lost=%d attempts_during_outage=%d dead_lettered=%d"
              % (len(counts), self.kills, sum(counts), dups, lost,
                 self.outage_attempts, self.dead_lettered), flush=True)
        self.assertEqual((dups, lost), (0, 0),
                         list(zip(self.asked, counts)))


if __name__ == "__main__":
    T.main()      # the same options as test_matrix.py; runs KillTest
