#!/usr/bin/env python3
"""msfaq-post, the program: exit codes, secrets, dead letters, redaction.

Run by ctest as: test_post_cli.py BUILD_DIR.  Each test starts its own
capture server (capture_server.py) on 127.0.0.1 in this process and runs
the built msfaq-post (or msfaq post) with a clean environment: secrets are
passed only in the environment, never as arguments.  No timing asserts.
"""
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import capture_server  # noqa: E402

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "."
POST = os.path.join(BUILD, "msfaq-post")
MSFAQ = os.path.join(BUILD, "msfaq")
SOURCE = os.path.dirname(os.path.dirname(HERE))

TOKEN = "xoxb-CLI-9876543210-SECRETTOKEN"
HOOK = "/services/T111/B222/SECRETHOOKcli"
SECRETS = (TOKEN, "SECRETTOKEN", "SECRETHOOK", HOOK)
Q = "what is CAR T?"


class PostCli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="msfaq-post-cli.")
        self.dir = self.tmp.name
        self.servers = []
        self.dead = os.path.join(self.dir, "state", "dead-letter.jsonl")

    def tearDown(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.tmp.cleanup()

    def server(self, script):
        log = os.path.join(self.dir, "requests%d.jsonl" % len(self.servers))
        srv, port = capture_server.start(script, log)
        self.servers.append(srv)
        return "http://127.0.0.1:%d" % port, log

    def env(self, **extra):
        """A small, clean environment: no secrets but the ones given."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("MSFAQ_") and "proxy" not in k.lower()}
        e.update(NO_PROXY="*", no_proxy="*", HOME=self.dir,
                 MSFAQ_DEAD_LETTER=self.dead)
        e.pop("XDG_STATE_HOME", None)
        e.update(extra)
        return e

    def run_post(self, args, env, prog=None):
        cmd = [prog or POST] + args
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=120)
        for s in SECRETS:
            self.assertNotIn(s, p.stdout)
            self.assertNotIn(s, p.stderr)
        return p

    def no_secret_in_file(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for s in SECRETS:
            self.assertNotIn(s, text)
        return text

    def make_parents(self):
        os.makedirs(os.path.dirname(self.dead), exist_ok=True)

    # ------------------------------------------------------------ exit 0

    def test_json_target_delivers(self):
        url, log = self.server([{"status": 200, "body": "ok"}])
        p = self.run_post(["--to", "json", Q],
                          self.env(MSFAQ_WEBHOOK_URL=url + HOOK))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("posted to json", p.stdout)
        reqs = capture_server.read_log(log)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["path"], HOOK)
        body = json.loads(reqs[0]["body"])
        ask = json.loads(subprocess.run(
            [MSFAQ, "ask", "--json", Q], capture_output=True, text=True,
            check=True).stdout)
        self.assertEqual(body.pop("question"), Q)
        self.assertEqual(body, ask)

    def test_msfaq_post_dispatch_with_kb(self):
        """`msfaq --kb DIR post ...` runs msfaq-post with --kb DIR."""
        url, log = self.server([{"status": 200}])
        p = self.run_post(["--kb", SOURCE, "post", "--to", "mattermost",
                           "--channel", "town-square", Q],
                          self.env(MSFAQ_MATTERMOST_WEBHOOK_URL=url + HOOK),
                          prog=MSFAQ)
        self.assertEqual(p.returncode, 0, p.stderr)
        body = json.loads(capture_server.read_log(log)[0]["body"])
        self.assertEqual(body["channel"], "town-square")
        self.assertIn("Article section:", body["text"])

    def test_slack_api_threaded(self):
        url, log = self.server([{"status": 200, "body": {
            "ok": True, "channel": "C0123", "ts": "1700000001.000200"}}])
        p = self.run_post(["--to", "slack", "--channel", "C0123",
                           "--thread", "1700000000.000100", "--json", Q],
                          self.env(MSFAQ_SLACK_BOT_TOKEN=TOKEN,
                                   MSFAQ_SLACK_API_URL=url + "/api"))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertTrue(out["delivered"])
        self.assertEqual(out["ts"], "1700000001.000200")
        self.assertEqual(out["reply"]["intent"], "car_t_what")
        req = capture_server.read_log(log)[0]
        self.assertEqual(req["path"], "/api/chat.postMessage")
        self.assertEqual(req["headers"]["authorization"], "Bearer " + TOKEN)
        body = json.loads(req["body"])
        self.assertEqual(body["channel"], "C0123")
        self.assertEqual(body["thread_ts"], "1700000000.000100")

    # ------------------------------------------------------------ exit 3

    def test_dead_letter_after_retries(self):
        url, log = self.server([{"status": 500, "body": "rollup_error"}])
        self.make_parents()
        p = self.run_post(["--to", "discord", "--attempts", "2", Q],
                          self.env(MSFAQ_DISCORD_WEBHOOK_URL=url + HOOK))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(len(capture_server.read_log(log)), 2)
        self.assertIn(self.dead, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertEqual(stat.S_IMODE(os.stat(self.dead).st_mode), 0o600)
        text = self.no_secret_in_file(self.dead)
        lines = text.splitlines()
        self.assertEqual(len(lines), 1)
        rec = json.loads(lines[0])
        self.assertEqual(rec["target"], "discord")
        self.assertEqual(rec["attempts"], 2)
        self.assertIn("CAR T-cell therapy", rec["message"]["answer"])
        self.assertIn("content", rec["payload"])

    def test_slack_ok_false_is_dead_lettered(self):
        url, log = self.server([{"status": 200, "body": {
            "ok": False, "error": "not_in_channel"}}])
        p = self.run_post(["--to", "slack", "--channel", "C9", Q],
                          self.env(MSFAQ_SLACK_BOT_TOKEN=TOKEN,
                                   MSFAQ_SLACK_API_URL=url))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("not_in_channel", p.stderr)
        self.assertEqual(len(capture_server.read_log(log)), 1)

    def test_timeout_is_dead_lettered(self):
        url, _ = self.server([{"status": 200, "delay": 3}])
        p = self.run_post(["--to", "json", "--timeout", "0.3",
                           "--attempts", "1", Q],
                          self.env(MSFAQ_WEBHOOK_URL=url + HOOK))
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("timed out", p.stderr)

    def test_default_dead_letter_place(self):
        """No MSFAQ_DEAD_LETTER: $XDG_STATE_HOME/msfaq/, folder made."""
        url, _ = self.server([{"status": 404, "body": "no_service"}])
        env = self.env(MSFAQ_WEBHOOK_URL=url + HOOK,
                       XDG_STATE_HOME=os.path.join(self.dir, "xdg"))
        del env["MSFAQ_DEAD_LETTER"]
        p = self.run_post(["--to", "json", Q], env)
        self.assertEqual(p.returncode, 3, p.stderr)
        want = os.path.join(self.dir, "xdg", "msfaq", "dead-letter.jsonl")
        self.assertTrue(os.path.exists(want))
        self.assertIn(want, p.stderr)
        self.no_secret_in_file(want)
        # and under ~/.local/state without XDG_STATE_HOME
        del env["XDG_STATE_HOME"]
        p = self.run_post(["--to", "json", Q], env)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertTrue(os.path.exists(os.path.join(
            self.dir, ".local", "state", "msfaq", "dead-letter.jsonl")))

    def test_echoing_server_secrets_redacted(self):
        url, _ = self.server([{"status": 400, "echo": True}])
        for target, var, extra in (
                ("slack", "MSFAQ_SLACK_BOT_TOKEN", ["--channel", "C1"]),
                ("slack-webhook", "MSFAQ_SLACK_WEBHOOK_URL", []),
                ("mattermost", "MSFAQ_MATTERMOST_WEBHOOK_URL", [])):
            env = self.env(**{var: TOKEN if target == "slack"
                              else url + HOOK})
            if target == "slack":
                env["MSFAQ_SLACK_API_URL"] = url
            p = self.run_post(["--to", target, "--json"] + extra + [Q], env)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("[redacted]", p.stderr)
        self.no_secret_in_file(self.dead)

    # ------------------------------------------------------------ exit 2

    def test_usage_errors(self):
        env = self.env(MSFAQ_WEBHOOK_URL="http://127.0.0.1:9" + HOOK)
        for args in ([Q], ["--to", "irc", Q], ["--to", "slack", Q],
                     ["--to", "json"], ["--to", "json", "  "],
                     ["--to", "json", "--thread", "1.2", Q],
                     ["--to", "discord", "--channel", "x", Q],
                     ["--to", "json", "--attempts", "0", Q],
                     ["--to", "json", "--timeout", "soon", Q],
                     ["--to", "json", "--bogus", Q],
                     ["--to", "json", Q, "extra"],
                     ["--to"]):
            p = self.run_post(args, env)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.startswith("msfaq-post: "), p.stderr)

    def test_missing_secret(self):
        for target, var, extra in (
                ("slack-webhook", "MSFAQ_SLACK_WEBHOOK_URL", []),
                ("slack", "MSFAQ_SLACK_BOT_TOKEN", ["--channel", "C1"]),
                ("discord", "MSFAQ_DISCORD_WEBHOOK_URL", []),
                ("mattermost", "MSFAQ_MATTERMOST_WEBHOOK_URL", []),
                ("json", "MSFAQ_WEBHOOK_URL", [])):
            p = self.run_post(["--to", target] + extra + [Q], self.env())
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(var, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_bad_url_in_env(self):
        p = self.run_post(["--to", "json", Q],
                          self.env(MSFAQ_WEBHOOK_URL="ftp://h" + HOOK))
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_secret_file_permissions(self):
        url, log = self.server([{"status": 200}])
        path = os.path.join(self.dir, "hook.url")
        with open(path, "w") as f:
            f.write(url + HOOK + "\n")   # a trailing newline, as echo makes
        for mode in (0o644, 0o640, 0o604, 0o660):
            os.chmod(path, mode)
            p = self.run_post(["--to", "json", Q],
                              self.env(MSFAQ_WEBHOOK_URL_FILE=path))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("MSFAQ_WEBHOOK_URL_FILE", p.stderr)
            self.assertIn("chmod 600", p.stderr)
        self.assertEqual(capture_server.read_log(log), [])
        os.chmod(path, 0o600)
        p = self.run_post(["--to", "json", Q],
                          self.env(MSFAQ_WEBHOOK_URL_FILE=path))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(capture_server.read_log(log)[0]["path"], HOOK)
        # both the variable and the file: ambiguous
        p = self.run_post(["--to", "json", Q],
                          self.env(MSFAQ_WEBHOOK_URL_FILE=path,
                                   MSFAQ_WEBHOOK_URL=url + HOOK))
        self.assertEqual(p.returncode, 2, p.stderr)
        # a missing file, an empty file, two lines
        p = self.run_post(["--to", "json", Q], self.env(
            MSFAQ_WEBHOOK_URL_FILE=os.path.join(self.dir, "none")))
        self.assertEqual(p.returncode, 2, p.stderr)
        for content in ("", "\n", url + HOOK + "\nsecond line\n"):
            with open(path, "w") as f:
                f.write(content)
            p = self.run_post(["--to", "json", Q],
                              self.env(MSFAQ_WEBHOOK_URL_FILE=path))
            self.assertEqual(p.returncode, 2, (content, p.stderr))

    def test_token_file(self):
        url, log = self.server([{"status": 200, "body": {"ok": True}}])
        path = os.path.join(self.dir, "token")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, (TOKEN + "\r\n").encode())
        os.close(fd)
        p = self.run_post(["--to", "slack", "--channel", "C1", Q],
                          self.env(MSFAQ_SLACK_BOT_TOKEN_FILE=path,
                                   MSFAQ_SLACK_API_URL=url))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(capture_server.read_log(log)[0]["headers"]
                         ["authorization"], "Bearer " + TOKEN)

    # ------------------------------------------------------------- other

    def test_help_version_dry_run(self):
        p = self.run_post(["--help"], self.env())
        self.assertEqual(p.returncode, 0)
        self.assertIn("MSFAQ_SLACK_BOT_TOKEN", p.stdout)
        p = self.run_post(["--version"], self.env())
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith("msfaq-post 1."))
        p = self.run_post(["--to", "discord", "--dry-run", Q], self.env())
        self.assertEqual(p.returncode, 0, p.stderr)
        body = json.loads(p.stdout)
        self.assertEqual(body["allowed_mentions"], {"parse": []})
        self.assertLessEqual(len(body["content"]), 2000)

    def test_bad_kb_is_exit_1(self):
        p = self.run_post(["--kb", os.path.join(self.dir, "nokb"),
                           "--to", "json", "--dry-run", Q], self.env())
        self.assertEqual(p.returncode, 1, p.stderr)

    def test_dead_letter_unwritable_is_exit_1(self):
        url, _ = self.server([{"status": 500}])
        p = self.run_post(["--to", "json", "--attempts", "1", Q],
                          self.env(MSFAQ_WEBHOOK_URL=url + HOOK,
                                   MSFAQ_DEAD_LETTER=self.dir))  # a folder
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("dead-letter", p.stderr)

    def test_slack_blocks_validate_with_slack_sdk(self):
        """Block Kit limits, checked by Slack's own SDK when installed."""
        try:
            from slack_sdk.models.blocks import Block
        except ImportError:
            if os.environ.get("MSFAQ_TEST_PYTHON"):   # scripts/test.sh
                raise AssertionError("slack_sdk is not importable")
            self.skipTest("slack_sdk is not installed")
        for q in (Q, "is <b>ocrelizumab</b> & co safe?", "hello"):
            p = self.run_post(["--to", "slack", "--channel", "C1",
                               "--dry-run", q], self.env())
            self.assertEqual(p.returncode, 0, p.stderr)
            body = json.loads(p.stdout)
            for b in Block.parse_all(body["blocks"]):
                b.validate_json()


if __name__ == "__main__":
    unittest.main(verbosity=2)
