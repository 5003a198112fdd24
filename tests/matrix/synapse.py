"""A real Synapse homeserver for the Matrix tests, and a small client.

Synapse comes from PyPI (the matrix-synapse package) in the virtual
environment tests/setup.d/matrix.sh makes: .cache/synapse-venv, or the
Python named by MSFAQ_SYNAPSE_PYTHON.  Each Homeserver gets a fresh
folder with a generated config: SQLite, one client listener on
127.0.0.1 (no federation listener), a registration shared secret for
creating users through the admin API, every rc_* rate limit raised, no
presence, no key servers, no outbound traffic, and optionally
application-service registration files.

If Synapse cannot be found or does not start, start() raises
SynapseError with the reason and the end of its log: the tests then
fail, they never skip.

Standard library only, so the driver runs under any python3.
"""
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

START_DEADLINE = 90     # seconds for Synapse to answer /versions


class SynapseError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def synapse_python(source_root):
    py = os.environ.get("MSFAQ_SYNAPSE_PYTHON") or os.path.join(
        source_root, ".cache", "synapse-venv", "bin", "python")
    return py


def wait_until(what, predicate, deadline=30.0, interval=0.1):
    """Calls predicate until it returns something true; returns that.
    Raises AssertionError naming what after deadline seconds."""
    end = time.monotonic() + deadline
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.0f s waiting for %s"
                                 % (deadline, what))
        time.sleep(interval)


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body))
        self.status = status
        self.body = body


def call(base, method, path, body=None, token=None, timeout=30):
    """One JSON request; returns the decoded reply or raises HTTPError."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        raise HTTPError(e.code, parsed) from None
    return json.loads(raw) if raw else {}


def q(s):
    return urllib.parse.quote(s, safe="")


class Homeserver:
    def __init__(self, source_root, workdir, appservices=()):
        self.python = synapse_python(source_root)
        self.dir = os.path.join(workdir, "synapse")
        self.appservices = list(appservices)
        self.port = None
        self.url = None
        self.proc = None
        self.secret = secrets.token_hex(16)
        self.macaroon = secrets.token_hex(16)
        self.form_secret = secrets.token_hex(16)

    # ----------------------------------------------------------- life

    def log_tail(self, lines=30):
        out = []
        for name in ("homeserver.log", "stdout.log"):
            path = os.path.join(self.dir, name)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    # the access log says little; warnings say more
                    keep = [l for l in f.readlines()
                            if "synapse.access." not in l]
                    out += ["%s: %s" % (name, l.rstrip()[:300])
                            for l in keep[-lines:]]
            except OSError:
                pass
        return "\n".join(out)

    def _config(self):
        d = self.dir
        high = {"per_second": 9999, "burst_count": 9999}
        log_config = os.path.join(d, "log.config")
        with open(log_config, "w") as f:
            json.dump({
                "version": 1,
                "formatters": {"f": {"format":
                    "%(asctime)s %(levelname)s %(name)s %(message)s"}},
                "handlers": {"file": {
                    "class": "logging.FileHandler", "formatter": "f",
                    "filename": os.path.join(d, "homeserver.log")}},
                "root": {"level": "INFO", "handlers": ["file"]},
                "disable_existing_loggers": False}, f)
        cfg = {
            "server_name": "localhost",
            "pid_file": os.path.join(d, "homeserver.pid"),
            "listeners": [{
                "port": self.port, "type": "http", "tls": False,
                "bind_addresses": ["127.0.0.1"], "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}]}],
            "database": {"name": "sqlite3", "args": {
                "database": os.path.join(d, "homeserver.db")}},
            "log_config": log_config,
            "media_store_path": os.path.join(d, "media"),
            "signing_key_path": os.path.join(d, "signing.key"),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": self.macaroon,
            "form_secret": self.form_secret,
            "report_stats": False,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            "federation_domain_whitelist": [],
            "app_service_config_files": self.appservices,
            # rate limits raised: the tests send quickly.  Never 0: a zero
            # rate never refills.
            "rc_message": high,
            "rc_registration": high,
            "rc_login": {"address": high, "account": high,
                         "failed_attempts": high},
            "rc_joins": {"local": high, "remote": high},
            "rc_joins_per_room": high,
            "rc_invites": {"per_room": high, "per_user": high,
                           "per_issuer": high},
            "rc_room_creation": high,
            "rc_admin_redaction": high,
            "rc_profile": high,
        }
        path = os.path.join(d, "homeserver.yaml")
        with open(path, "w") as f:     # JSON is YAML
            json.dump(cfg, f, indent=1)
        return path

    def start(self, port=None):
        """Starts Synapse on port (default: a free one); returns self
        once it answers, or raises SynapseError."""
        if not os.path.exists(self.python):
            raise SynapseError(
                "Synapse is not installed: %s does not exist.  Run "
                "tests/setup.d/matrix.sh (scripts/test.sh does) or set "
                "MSFAQ_SYNAPSE_PYTHON." % self.python)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        config = self._config()
        gen = subprocess.run(
            [self.python, "-m", "synapse.app.homeserver", "-c", config,
             "--generate-keys"], cwd=self.dir, capture_output=True,
            text=True, timeout=120)
        if gen.returncode != 0:
            raise SynapseError("Synapse could not generate its keys (exit "
                               "%d):\n%s%s" % (gen.returncode, gen.stdout,
                                               gen.stderr))
        out = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(
            [self.python, "-m", "synapse.app.homeserver", "-c", config],
            cwd=self.dir, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        end = time.monotonic() + START_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise SynapseError(
                    "Synapse exited with status %d while starting; its log "
                    "ends:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                call(self.url, "GET", "/_matrix/client/versions", timeout=5)
                return self
            except (OSError, HTTPError):
                pass
            if time.monotonic() > end:
                self.stop()
                raise SynapseError(
                    "Synapse did not answer on %s within %d s; its log "
                    "ends:\n%s" % (self.url, START_DEADLINE,
                                   self.log_tail()))
            time.sleep(0.2)

    def restart(self):
        """Stops and starts again on the same port, with the same data."""
        self.stop()
        return self.start(port=self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    # ---------------------------------------------------------- users

    def register(self, user, password=None, admin=False):
        """Creates user with the shared-secret admin API; returns a
        Client for it (its own access token and device)."""
        password = password or secrets.token_hex(8)
        path = "/_synapse/admin/v1/register"
        nonce = call(self.url, "GET", path)["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\0".join([nonce.encode(), user.encode(),
                               password.encode(),
                               b"admin" if admin else b"notadmin"]))
        r = call(self.url, "POST", path, {
            "nonce": nonce, "username": user, "password": password,
            "admin": admin, "mac": mac.hexdigest()})
        return Client(self.url, r["access_token"], r["user_id"], password)


class Client:
    """What a person's client does, through the client-server API."""

    def __init__(self, url, token, user_id, password=None):
        self.url = url
        self.token = token
        self.user_id = user_id
        self.password = password
        self.txn = 0

    def call(self, method, path, body=None):
        return call(self.url, method, path, body, self.token)

    def create_room(self, invite=(), preset="private_chat", name="faq"):
        return self.call("POST", "/_matrix/client/v3/createRoom", {
            "preset": preset, "name": name, "invite": list(invite)
        })["room_id"]

    def join(self, room):
        return self.call("POST", "/_matrix/client/v3/join/" + q(room), {})

    def invite(self, room, user):
        self.call("POST", "/_matrix/client/v3/rooms/%s/invite" % q(room),
                  {"user_id": user})

    def send(self, room, content, event_type="m.room.message"):
        self.txn += 1
        path = "/_matrix/client/v3/rooms/%s/send/%s/t%d-%s" % (
            q(room), event_type, self.txn, secrets.token_hex(4))
        return self.call("PUT", path, content)["event_id"]

    def say(self, room, text, mentions=None, msgtype="m.text"):
        """Sends text; mentions is a list of user IDs for m.mentions, or
        None for a message without m.mentions (an older client)."""
        content = {"msgtype": msgtype, "body": text}
        if mentions is not None:
            content["m.mentions"] = {"user_ids": list(mentions)}
        return self.send(room, content)

    def members(self, room):
        return sorted(self.call(
            "GET", "/_matrix/client/v3/rooms/%s/joined_members" % q(room)
        )["joined"])

    def events(self, room, limit=200):
        """The room's m.room.message events, oldest first."""
        r = self.call("GET", "/_matrix/client/v3/rooms/%s/messages?dir=b"
                      "&limit=%d" % (q(room), limit))
        return [e for e in reversed(r["chunk"])
                if e.get("type") == "m.room.message"]

    def replies_to(self, room, event_id, sender=None):
        """Messages replying to event_id (from sender, when given)."""
        out = []
        for e in self.events(room):
            rel = e.get("content", {}).get("m.relates_to", {})
            if rel.get("m.in_reply_to", {}).get("event_id") != event_id:
                continue
            if sender and e.get("sender") != sender:
                continue
            out.append(e)
        return out

    def wait_reply(self, room, event_id, sender, deadline=30.0):
        return wait_until("a reply from %s to %s" % (sender, event_id),
                          lambda: self.replies_to(room, event_id, sender),
                          deadline)[0]


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
