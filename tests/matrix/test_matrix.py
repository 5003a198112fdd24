#!/usr/bin/env python3
"""msfaq on a real Matrix homeserver: the bot, the poster, the
application service.

    test_matrix.py --build DIR --source DIR CLASS

CLASS is one of the test classes below; ctest runs each as its own test
(matrix_bot, matrix_appservice, matrix_registration).  The classes that
need Synapse start their own (synapse.py: SQLite, 127.0.0.1 only, rate
limits raised) in a fresh temporary folder and always stop it, and every
program they start.  When Synapse cannot be started the class fails with
the reason; it never skips.

Nothing asserts on time: every wait is for a condition (a reply appears,
a member joins, a log line is written) with a generous deadline.  That a
message was *not* answered is checked after a later message in the same
room was answered: the bot and the service handle a room's events in
order.
"""
import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synapse as S  # noqa: E402

ARGS = None
DEADLINE = 45.0

CAR_T = "What is CAR T-cell therapy?"
UNCOVERED = "Does vitamin D help with MS?"
SAFETY = "Should I stop taking my interferon?"


def msfaq_json(question, kb=None):
    cmd = [os.path.join(ARGS.build, "msfaq")]
    if kb:
        cmd += ["--kb", kb]
    r = subprocess.run(cmd + ["ask", "--json", question],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def first_line(proc, what, log):
    """The first line proc prints, waited for with a deadline."""
    ready, _, _ = select.select([proc.stdout], [], [], DEADLINE)
    if not ready:
        proc.kill()
        raise AssertionError("%s printed nothing within %.0f s; its log:\n%s"
                             % (what, DEADLINE, read(log)))
    return proc.stdout.readline().strip()


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


class LoggedCase(unittest.TestCase):
    """Prints the programs' logs when a test of the class failed."""
    logs = ()
    failed = False

    def run(self, result=None):
        before = (len(result.failures), len(result.errors)) if result else 0
        r = super().run(result)
        if result and (len(result.failures), len(result.errors)) != before:
            type(self).failed = True
        return r

    @classmethod
    def finish(cls, status, program, *closers):
        """The end of tearDownClass, after the program was stopped with
        SIGTERM (status: its exit status): the logs when a test failed,
        closers called, Synapse (cls.hs) stopped, the folder removed;
        then fails when status was not 0."""
        if status != 0:   # a sanitizer's report, a crash
            cls.failed = True
        cls.dump_logs(cls.hs)
        for close in closers:
            close()
        if cls.hs:
            cls.hs.stop()
        if not os.environ.get("MSFAQ_KEEP_TEST_DIR"):
            shutil.rmtree(cls.dir, ignore_errors=True)
        if status != 0:
            raise AssertionError("%s exited with status %d on SIGTERM (its "
                                 "log is above)" % (program, status))

    @classmethod
    def dump_logs(cls, hs=None):
        if not cls.failed and not os.environ.get("MSFAQ_TEST_VERBOSE"):
            return
        for path in cls.logs:
            sys.stderr.write("---- %s (end)\n%s\n" % (
                path, "\n".join(read(path).splitlines()[-60:])))
        if hs:
            sys.stderr.write("---- synapse (end)\n%s\n" % hs.log_tail(40))


class Program:
    """One run of a program of the build, its standard error appended
    to log; its first line of output is self.line."""
    name = None

    def __init__(self, build, env, args, log):
        self.log_path = log
        self.err = open(log, "a")
        self.proc = subprocess.Popen(
            [os.path.join(build, self.name)] + args, env=env,
            stdout=subprocess.PIPE, stderr=self.err, text=True,
            stdin=subprocess.DEVNULL)
        self.line = first_line(self.proc, self.name, log)

    def stop(self, sig=signal.SIGTERM):
        """Sends sig, waits for the end; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err.close()
        return self.proc.returncode


class Bot(Program):
    """One run of msfaq-matrix-bot."""
    name = "msfaq-matrix-bot"

    def expect_syncing(self, user_id):
        """Raises unless the bot's first line says it syncs as user_id."""
        if self.line != "syncing as " + user_id:
            raise AssertionError("the bot did not start (first line %r); "
                                 "its log:\n%s" % (self.line,
                                                    read(self.log_path)))


def bot_settings(folder, homeserver, token):
    """The environment of a bot at homeserver with token (written to a
    file in folder), and the paths of its state and dead-letter files
    there."""
    path = os.path.join(folder, "token")
    write_private(path, token + "\n")
    env = dict(os.environ, MSFAQ_MATRIX_HOMESERVER=homeserver,
               MSFAQ_MATRIX_ACCESS_TOKEN_FILE=path)
    env.pop("MSFAQ_MATRIX_ACCESS_TOKEN", None)
    return (env, os.path.join(folder, "state.json"),
            os.path.join(folder, "dead-letter.jsonl"))


class Serve(Program):
    """One run of msfaq-serve; raises unless it is listening."""
    name = "msfaq-serve"

    def __init__(self, build, env, args, log):
        super().__init__(build, env, args, log)
        if not self.line.startswith("listening on"):
            self.stop(signal.SIGKILL)
            raise AssertionError("msfaq serve did not start: %r\n%s"
                                 % (self.line, read(log)))


def appservice_files(folder, serve_url, hs_port):
    """msfaq matrix-registration for a service at serve_url and a
    homeserver on 127.0.0.1:hs_port: writes registration.yaml and
    serve.conf into folder; returns their paths and the settings of
    serve.conf (a dict)."""
    reg = os.path.join(folder, "registration.yaml")
    conf = os.path.join(folder, "serve.conf")
    p = subprocess.run(
        [os.path.join(ARGS.build, "msfaq"), "matrix-registration",
         "--url", serve_url, "--homeserver",
         "http://127.0.0.1:%d" % hs_port, "--server-name", "localhost",
         "--id", "msfaq-test", "--localpart", "faq", "--output", reg,
         "--serve-config", conf],
        capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("msfaq matrix-registration: " + p.stderr)
    settings = dict(l.split("=", 1) for l in read(conf).splitlines()
                    if "=" in l and not l.startswith("#"))
    return reg, conf, settings


def without_msfaq_settings():
    """The environment without any MSFAQ_ variable."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("MSFAQ_")}


class BotTest(LoggedCase):
    """msfaq-matrix-bot with an access token: joins on invite, answers
    mentions and direct messages with m.notice replies, survives
    restarts without answering twice or missing a message, reloads its
    knowledge base on SIGHUP; and msfaq post --to matrix."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="msfaq-matrix-bot-")
        cls.hs = None
        cls.bot = None
        cls.log = os.path.join(cls.dir, "bot.log")
        cls.logs = (cls.log,)
        try:
            cls.hs = S.Homeserver(ARGS.source, cls.dir).start()
            cls.alice = cls.hs.register("alice")
            cls.carol = cls.hs.register("carol")
            cls.faqbot = cls.hs.register("faqbot")
            cls.me = cls.faqbot.user_id
            # a direct room (alice and the bot) and a group room
            cls.direct = cls.alice.create_room(invite=[cls.me])
            cls.group = cls.alice.create_room(
                invite=[cls.me, cls.carol.user_id], name="group")
            cls.carol.join(cls.group)
            # history from before the bot ever ran: never answered
            cls.old = cls.alice.say(cls.direct, CAR_T)
            # a knowledge base of our own, to break and reload
            cls.kb = os.path.join(cls.dir, "kb")
            for sub in ("patterns", "responses"):
                shutil.copytree(os.path.join(ARGS.source, sub),
                                os.path.join(cls.kb, sub))
            cls.env, cls.state, cls.dead = bot_settings(
                cls.dir, cls.hs.url, cls.faqbot.token)
            cls.start_bot()
            for room in (cls.direct, cls.group):
                S.wait_until("the bot to join %s" % room,
                             lambda r=room: cls.me in cls.alice.members(r),
                             DEADLINE)
        except BaseException:
            cls.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def start_bot(cls, *extra):
        cls.bot = Bot(ARGS.build, cls.env,
                      ["--kb", cls.kb, "--state", cls.state,
                       "--dead-letter", cls.dead, "--sync-timeout", "5"]
                      + list(extra), cls.log)
        cls.bot.expect_syncing(cls.me)

    @classmethod
    def tearDownClass(cls):
        status = cls.bot.stop() if cls.bot else 0
        cls.bot = None
        cls.finish(status, "msfaq-matrix-bot")

    # ---------------------------------------------------------- helpers

    def reply(self, room, event):
        return self.alice.wait_reply(room, event, self.me, DEADLINE)

    def count_replies(self, room, event):
        return len(self.alice.replies_to(room, event, self.me))

    def check_reply(self, question, room=None, asker=None):
        """Asks question; checks the reply against msfaq ask --json."""
        room = room or self.direct
        asker = asker or self.alice
        want = msfaq_json(question)    # the built-in KB: the same text
        ev = asker.say(room, question)
        rep = self.reply(room, ev)
        c = rep["content"]
        self.assertEqual(rep["sender"], self.me)
        self.assertEqual(c["msgtype"], "m.notice")
        self.assertEqual(c["m.relates_to"], {"m.in_reply_to": {
            "event_id": ev}})
        self.assertEqual(c["m.mentions"], {"user_ids": [asker.user_id]})
        self.assertEqual(c["format"], "org.matrix.custom.html")
        self.assertTrue(c["body"].startswith(want["answer"]), c["body"])
        self.assertNotIn("> ", c["body"])          # no reply fallback
        self.assertTrue(c["formatted_body"].startswith("<p>"))
        return want, c, ev

    # ------------------------------------------------------------ tests

    def test_01_answer_names_the_section(self):
        want, c, _ = self.check_reply(CAR_T)
        # the question from before the bot's first start stays unanswered
        self.assertEqual(self.count_replies(self.direct, self.old), 0)
        self.assertIn("sent before the bot first started", read(self.log))
        self.assertEqual(want["kind"], "answer")
        self.assertEqual(want["section"], "Emerging Therapies and Approaches")
        self.assertIn("\n\nArticle section: " + want["section"], c["body"])
        self.assertIn("<em>Article section: " + want["section"] + "</em>",
                      c["formatted_body"])
        for f in want["follow_ups"]:
            self.assertIn("\n- " + f, c["body"])

    def test_02_uncovered_question_gets_the_fallback(self):
        want, c, _ = self.check_reply(UNCOVERED)
        self.assertEqual(want["kind"], "fallback")
        self.assertIsNone(want["section"])
        self.assertNotIn("Article section:", c["body"])

    def test_03_safety_question_gets_the_safety_reply(self):
        want, c, _ = self.check_reply(SAFETY)
        self.assertEqual(want["kind"], "safety")
        self.assertIn("neurologist", c["body"])
        self.assertNotIn("Article section:", c["body"])

    def test_04_group_room_needs_a_mention(self):
        g = self.group
        plain = self.carol.say(g, "What is a DMT?")
        # m.mentions, as Element sends it, with the name in the text
        mentioned = self.carol.say(g, "faqbot: what is a DMT?",
                                   mentions=[self.me])
        rep = self.reply(g, mentioned)
        self.assertEqual(rep["content"]["m.mentions"],
                         {"user_ids": [self.carol.user_id]})
        self.assertEqual(rep["content"]["msgtype"], "m.notice")
        want = msfaq_json("what is a DMT?", self.kb)
        self.assertTrue(rep["content"]["body"].startswith(want["answer"]))
        # an older client: no m.mentions, the user ID in the text
        legacy = self.carol.say(g, self.me + " " + CAR_T)
        self.reply(g, legacy)
        # m.mentions that lists someone else: not for us, whatever the text
        other = self.carol.say(g, "faqbot: " + CAR_T,
                               mentions=[self.alice.user_id])
        marker = self.carol.say(g, "faqbot what are the side effects?",
                                mentions=[self.me])
        self.reply(g, marker)
        self.assertEqual(self.count_replies(g, plain), 0)
        self.assertEqual(self.count_replies(g, other), 0)
        self.assertEqual(self.count_replies(g, mentioned), 1)
        self.assertEqual(self.count_replies(g, legacy), 1)

    def test_05_notices_and_own_messages_are_ignored(self):
        d = self.direct
        notice = self.alice.say(d, CAR_T, msgtype="m.notice")
        emote = self.alice.say(d, "wonders about " + CAR_T,
                               msgtype="m.emote")
        marker = self.alice.say(d, SAFETY)
        self.reply(d, marker)
        self.assertEqual(self.count_replies(d, notice), 0)
        self.assertEqual(self.count_replies(d, emote), 0)
        # the bot never replies to its own notices
        for e in self.alice.events(d):
            if e["sender"] == self.me:
                self.assertEqual(self.count_replies(d, e["event_id"]), 0)

    def test_06_sighup_reloads_the_knowledge_base(self):
        answers = os.path.join(self.kb, "responses", "answers.json")
        good = read(answers)
        with open(answers, "w") as f:
            f.write("{ broken")
        try:
            self.bot.proc.send_signal(signal.SIGHUP)
            S.wait_until("the failed reload in the log", lambda:
                         "reload failed" in read(self.log), DEADLINE)
            self.check_reply(CAR_T)        # the old KB still answers
        finally:
            with open(answers, "w") as f:
                f.write(good)
        self.bot.proc.send_signal(signal.SIGHUP)
        S.wait_until("the reload in the log", lambda:
                     "reloaded the knowledge base" in read(self.log),
                     DEADLINE)
        self.check_reply(SAFETY)

    def test_07_restart_answers_once_and_misses_nothing(self):
        d = self.direct
        before = read(self.state)          # the state before q1
        self.assertIn('"since"', before)
        q1 = self.alice.say(d, CAR_T)
        self.reply(d, q1)
        self.assertEqual(type(self).bot.stop(), 0)
        type(self).bot = None
        # sent while the bot is down: three, more than the timeline
        # limit the bot restarts with, so /sync skips some (a gap)
        down = [self.alice.say(d, q) for q in
                ("What is a DMT?", SAFETY, UNCOVERED)]
        type(self).start_bot("--timeline-limit", "1")
        for ev in down:
            self.reply(d, ev)
        marker = self.alice.say(d, "What is a DMT?")
        self.reply(d, marker)
        for ev in [q1] + down + [marker]:
            self.assertEqual(self.count_replies(d, ev), 1, ev)
        self.assertIn("fetched", read(self.log))   # the gap was filled

        # a bot that died after answering but before saving its state:
        # the old state makes it see all of that again; the transaction
        # ids derived from the questions keep the homeserver from
        # posting anything twice
        self.assertEqual(type(self).bot.stop(), 0)
        type(self).bot = None
        write_private(self.state, before)
        type(self).start_bot()
        marker2 = self.alice.say(d, CAR_T)
        self.reply(d, marker2)
        for ev in [q1] + down + [marker, marker2]:
            self.assertEqual(self.count_replies(d, ev), 1, ev)
        st = json.loads(read(self.state))
        self.assertEqual(st["user_id"], self.me)
        self.assertEqual(os.stat(self.state).st_mode & 0o777, 0o600)

    def test_08_second_bot_on_the_same_state_is_refused(self):
        p = subprocess.run(
            [os.path.join(ARGS.build, "msfaq-matrix-bot"), "--state",
             self.state, "--dead-letter", self.dead],
            env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("locked", p.stderr)

    def test_08b_state_of_another_user_is_refused(self):
        other = os.path.join(self.dir, "other-state.json")
        write_private(other, json.dumps({
            "version": 1, "user_id": "@someone:localhost",
            "started_ms": 1, "since": None, "pending_joins": []}))
        p = subprocess.run(
            [os.path.join(ARGS.build, "msfaq-matrix-bot"), "--state", other,
             "--dead-letter", self.dead],
            env=self.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("@someone:localhost", p.stderr)

    def test_09_msfaq_post_to_matrix(self):
        d = self.direct
        # a notice: the bot leaves it alone, so msfaq post's reply is
        # the only one (a reply to an event the bot answered would carry
        # the bot's transaction id, and be that same reply)
        ev = self.alice.say(d, "a notice from a script", msgtype="m.notice")
        env = dict(self.env)
        env["MSFAQ_DEAD_LETTER"] = os.path.join(self.dir, "post-dead.jsonl")
        cmd = [os.path.join(ARGS.build, "msfaq"), "post", "--to", "matrix",
               "--room", d, "--reply-to", ev, "--mention",
               self.alice.user_id, "--json", CAR_T]
        outs = []
        for _ in range(2):
            p = subprocess.run(cmd, env=env, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, (cmd, p.stderr))
            outs.append(json.loads(p.stdout))
        self.assertTrue(outs[0]["delivered"])
        self.assertTrue(outs[0]["event_id"].startswith("$"))
        # the same reply sent twice: one transaction, one event
        self.assertEqual(outs[0]["txn_id"], outs[1]["txn_id"])
        self.assertEqual(outs[0]["event_id"], outs[1]["event_id"])
        self.assertEqual(self.count_replies(d, ev), 1)
        rep = self.alice.replies_to(d, ev, self.me)[0]
        self.assertEqual(rep["event_id"], outs[0]["event_id"])
        self.assertEqual(rep["content"]["m.mentions"],
                         {"user_ids": [self.alice.user_id]})
        # a refused message (a room the token is not in) is dead-lettered
        room = self.carol.create_room()
        p = subprocess.run(
            [os.path.join(ARGS.build, "msfaq-post"), "--to", "matrix",
             "--room", room, CAR_T],
            env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("M_FORBIDDEN", p.stderr)
        rec = json.loads(read(env["MSFAQ_DEAD_LETTER"]).splitlines()[0])
        self.assertEqual(rec["target"], "matrix")
        self.assertEqual(rec["message"]["channel"], room)
        self.assertTrue(rec["message"]["txn_id"].startswith("msfaq.n."))
        self.assertEqual(rec["payload"]["msgtype"], "m.notice")
        self.assertNotIn(self.faqbot.token, read(env["MSFAQ_DEAD_LETTER"]))
        self.assertNotIn(self.faqbot.token, p.stderr)


    def test_10_survives_the_homeserver_going_away(self):
        self.hs.stop()
        S.wait_until("the bot to notice", lambda: "sync failed" in
                     read(self.log), DEADLINE)
        self.hs.restart()
        ev = self.alice.say(self.direct, SAFETY)
        self.reply(self.direct, ev)
        self.assertEqual(self.count_replies(self.direct, ev), 1)

    def test_11_invites_only_from_whom_it_is_told(self):
        type(self).bot.stop()
        type(self).bot = None
        type(self).start_bot("--invite-from", self.alice.user_id)
        def membership(client, room):
            path = "/_matrix/client/v3/rooms/%s/state/m.room.member/%s" % (
                S.q(room), S.q(self.me))
            try:
                return client.call("GET", path)["membership"]
            except S.HTTPError:
                return None
        by_carol = self.carol.create_room(invite=[self.me])
        S.wait_until("the bot to decline carol's invite", lambda:
                     membership(self.carol, by_carol) == "leave", DEADLINE)
        by_alice = self.alice.create_room(invite=[self.me])
        S.wait_until("the bot to join alice's room", lambda:
                     membership(self.alice, by_alice) == "join", DEADLINE)


class AppServiceTest(LoggedCase):
    """msfaq serve as an application service registered with Synapse
    through a file from msfaq matrix-registration."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="msfaq-matrix-as-")
        cls.hs = None
        cls.serve = None
        cls.log = os.path.join(cls.dir, "serve.log")
        cls.logs = (cls.log,)
        try:
            cls.port = S.free_port()
            cls.serve_url = "http://127.0.0.1:%d" % cls.port
            cls.hs = S.Homeserver(ARGS.source, cls.dir)
            hs_port = S.free_port()
            cls.reg, cls.conf, cls.tokens = appservice_files(
                cls.dir, cls.serve_url, hs_port)
            cls.hs.appservices = [cls.reg]
            cls.hs.start(port=hs_port)
            cls.me = "@faq:localhost"
            cls.alice = cls.hs.register("alice")
            env = without_msfaq_settings()
            env["MSFAQ_MATRIX_AS_STATE"] = os.path.join(cls.dir, "as.state")
            cls.serve = Serve(ARGS.build, env,
                              ["--listen", "127.0.0.1:%d" % cls.port,
                               "--config", cls.conf], cls.log)
            cls.room = cls.alice.create_room(invite=[cls.me])
            S.wait_until("the service's user to join", lambda:
                         cls.me in cls.alice.members(cls.room), DEADLINE)
        except BaseException:
            cls.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        status = cls.serve.stop() if cls.serve else 0
        cls.serve = None
        cls.finish(status, "msfaq-serve")

    def put(self, path, body, token=None, query=None):
        url = self.serve_url + path + (("?access_token=" + query)
                                       if query else "")
        req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     method="PUT")
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_1_answers_through_the_homeserver(self):
        for q, kind in ((CAR_T, "answer"), (UNCOVERED, "fallback"),
                        (SAFETY, "safety")):
            want = msfaq_json(q)
            self.assertEqual(want["kind"], kind)
            ev = self.alice.say(self.room, q)
            rep = self.alice.wait_reply(self.room, ev, self.me, DEADLINE)
            c = rep["content"]
            self.assertEqual(c["msgtype"], "m.notice")
            self.assertEqual(c["m.mentions"],
                             {"user_ids": [self.alice.user_id]})
            self.assertTrue(c["body"].startswith(want["answer"]))
            if want["section"]:
                self.assertIn("Article section: " + want["section"],
                              c["body"])

    def test_2_hs_token_is_checked(self):
        path = "/_matrix/app/v1/transactions/t-auth"
        body = {"events": []}
        st, r = self.put(path, body)
        self.assertEqual((st, r["errcode"]), (401, "M_UNAUTHORIZED"))
        st, r = self.put(path, body, token="wrong")
        self.assertEqual((st, r["errcode"]), (403, "M_FORBIDDEN"))
        st, r = self.put(path, body,
                         token=self.tokens["MSFAQ_MATRIX_AS_TOKEN"])
        self.assertEqual((st, r["errcode"]), (403, "M_FORBIDDEN"))
        hs_token = self.tokens["MSFAQ_MATRIX_HS_TOKEN"]
        st, r = self.put(path, body, token=hs_token, query="other")
        self.assertEqual(st, 403)
        self.assertEqual(self.put(path, body, query=hs_token), (200, {}))
        self.assertEqual(self.put(path, body, token=hs_token), (200, {}))
        # other routes
        st, r = self.put("/_matrix/app/v1/ping", {}, token=hs_token)
        self.assertEqual((st, r["errcode"]), (405, "M_UNRECOGNIZED"))
        st, r = self.put("/_matrix/app/v1/nothing", {}, token=hs_token)
        self.assertEqual((st, r["errcode"]), (404, "M_UNRECOGNIZED"))
        # the homeserver's own ping reaches us with the right token
        r = S.call(self.hs.url, "POST",
                   "/_matrix/client/v1/appservice/msfaq-test/ping", {},
                   self.tokens["MSFAQ_MATRIX_AS_TOKEN"])
        self.assertIn("duration_ms", r)

    def test_3_transactions_are_idempotent(self):
        hs_token = self.tokens["MSFAQ_MATRIX_HS_TOKEN"]
        ev = self.alice.say(self.room, CAR_T)
        first = {"type": "m.room.message", "room_id": self.room,
                 "sender": self.alice.user_id, "event_id": ev,
                 "origin_server_ts": int(time.time() * 1000),
                 "content": {"msgtype": "m.text", "body": CAR_T}}
        # the homeserver delivers ev itself too; wait for that answer
        self.alice.wait_reply(self.room, ev, self.me, DEADLINE)
        # a transaction the service has not seen, then the same txnId
        # again carrying another event: a repeat is not processed
        fake = dict(first, event_id="$fake-" + str(time.time_ns()),
                    content={"msgtype": "m.text", "body": SAFETY})
        path = "/_matrix/app/v1/transactions/dup-%d" % time.time_ns()
        fake1 = dict(fake, event_id=fake["event_id"] + "a")
        fake2 = dict(fake, event_id=fake["event_id"] + "b")
        self.assertEqual(self.put(path, {"events": [fake1]},
                                  token=hs_token), (200, {}))
        self.assertEqual(self.put(path, {"events": [fake2]},
                                  token=hs_token), (200, {}))
        self.alice.wait_reply(self.room, fake1["event_id"], self.me,
                              DEADLINE)
        marker = self.alice.say(self.room, UNCOVERED)
        self.alice.wait_reply(self.room, marker, self.me, DEADLINE)
        self.assertEqual(len(self.alice.replies_to(
            self.room, fake2["event_id"], self.me)), 0)
        self.assertEqual(len(self.alice.replies_to(
            self.room, ev, self.me)), 1)
        self.assertIn("duplicate transaction", read(self.log))
        # remembered on disk for a restart
        self.assertGreater(len(read(os.path.join(
            self.dir, "as.state")).splitlines()), 2)


    def test_4_settings_go_together(self):
        serve = os.path.join(ARGS.build, "msfaq-serve")
        base = without_msfaq_settings()
        env = dict(base, MSFAQ_MATRIX_HS_TOKEN="x" * 20)
        p = subprocess.run([serve, "--listen", "127.0.0.1:0"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("MSFAQ_MATRIX_AS_TOKEN", p.stderr)
        self.assertNotIn("x" * 20, p.stderr)
        # the bot's setting alone does not make msfaq serve a service
        env = dict(base, MSFAQ_MATRIX_HOMESERVER="https://m.example.org")
        p = subprocess.Popen([serve, "--listen", "127.0.0.1:0"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        line = p.stdout.readline()
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        self.assertTrue(line.startswith("listening on"), err)
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn("matrix appservice", err)


class RegistrationTest(unittest.TestCase):
    """msfaq matrix-registration's files (no homeserver needed)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="msfaq-matrix-reg-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_reg(self, *args):
        return subprocess.run(
            [os.path.join(ARGS.build, "msfaq-matrix-registration")] +
            list(args), capture_output=True, text=True, timeout=60)

    def test_files(self):
        reg = os.path.join(self.dir, "r.yaml")
        conf = os.path.join(self.dir, "s.conf")
        p = self.run_reg("--url", "http://127.0.0.1:8080", "--homeserver",
                         "https://matrix.example.org", "--server-name",
                         "example.org", "--output", reg, "--serve-config",
                         conf)
        self.assertEqual(p.returncode, 0, p.stderr)
        y = read(reg)
        for line in ('id: "msfaq"', 'url: "http://127.0.0.1:8080"',
                     'sender_localpart: "msfaq"', "rate_limited: false",
                     'regex: "@msfaq:example\\\\.org"', "exclusive: true"):
            self.assertIn(line, y)
        for path in (reg, conf):
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        c = dict(l.split("=", 1) for l in read(conf).splitlines()
                 if "=" in l and not l.startswith("#"))
        self.assertEqual(c["MSFAQ_MATRIX_HOMESERVER"],
                         "https://matrix.example.org")
        self.assertIn('as_token: "%s"' % c["MSFAQ_MATRIX_AS_TOKEN"], y)
        self.assertIn('hs_token: "%s"' % c["MSFAQ_MATRIX_HS_TOKEN"], y)
        self.assertNotEqual(c["MSFAQ_MATRIX_AS_TOKEN"],
                            c["MSFAQ_MATRIX_HS_TOKEN"])
        self.assertEqual(len(c["MSFAQ_MATRIX_AS_TOKEN"]), 64)
        # no overwrite without --force; fresh tokens with it
        p = self.run_reg("--url", "http://h:1", "--output", reg)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--force", p.stderr)
        p = self.run_reg("--url", "http://h:1", "--output", reg, "--force")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(c["MSFAQ_MATRIX_AS_TOKEN"], read(reg))
        # standard output, and the namespace without a server name
        p = self.run_reg("--url", "http://h:1", "--localpart", "faq.bot")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn('regex: "@faq\\\\.bot:.*"', p.stdout)

    def test_usage_errors(self):
        for args in ([], ["--url", "ftp://x"], ["--url", "http://x",
                     "--serve-config", "f"], ["--url", "http://x",
                     "--localpart", "Bad Name"], ["--bogus"]):
            p = self.run_reg(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))


def main():
    """Runs the tests of the __main__ module: this file's, or those of
    another driver here that imports it (test_matrix_kill.py)."""
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("tests", nargs="*")
    ARGS = ap.parse_args()
    unittest.main(argv=[sys.argv[0], "-v"] + ARGS.tests)


if __name__ == "__main__":
    main()
