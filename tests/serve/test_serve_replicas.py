"""Three msfaq-serve replicas on one Redis (--state redis://...) behind
nginx: every Slack event and every Matrix transaction answered exactly
once, none lost, while replicas are killed and restarted and Redis goes
away and comes back.

Usage (ctest runs one test per protocol):
    test_serve_replicas.py --serve BIN --msfaq BIN --sign-tool BIN
        --source DIR ReplicaTest.test_slack_events
    ...                    ReplicaTest.test_matrix_transactions

Everything runs on 127.0.0.1, on free ports, started here and stopped
when the test ends, pass or fail: redis-server (Debian's, from its own
config in a temporary folder: AOF with appendfsync always, a password,
never the system service), nginx (Debian's, from its own config: round
robin over the three replicas; a refused connection goes to the next),
the three replicas, a recording stand-in for Slack's Web API
(test_serve.py's SlackAPI) and a small stand-in homeserver for the
Matrix application service (transaction ids idempotent, as Synapse's
are; every send recorded).

The load: signed Slack events (or hs_token'd transactions) sent by
several threads through nginx; one that does not get its 200 (a 503, a
connection cut) is sent again later, as Slack and homeservers do, and
some that did get it are repeated anyway to random replicas directly
(with X-Slack-Retry-Num for Slack), as when a 200 was lost.  During the
load:

1. one replica is SIGKILLed while its reply is held by a fault proxy
   (tests/lib/fault_proxy.py) in front of the stand-in: the job it had
   taken is pending in Redis, and another replica takes it over after
   claim_after_ms;
2. another replica is restarted (SIGTERM, then started again);
3. redis-server is stopped (SIGTERM) and started again on the same
   folder: meanwhile /healthz says 503 with the reason, /metrics says
   msfaq_state_up 0, deliveries get 503 and are repeated.

Then every event must have exactly one reply at the stand-in, and the
stream in Redis must be empty (nothing pending).  The counts are printed
("REPLICAS: ...").  No timing asserts: every wait is for a condition,
with a deadline that only bounds a broken run.
"""

import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))   # fault_proxy
import fault_proxy as F  # noqa: E402
import test_serve as ts  # noqa: E402  (Server, SlackAPI, signing)

WAIT = 120          # seconds: bounds a broken run, sanitizers included
SLACK_EVENTS = 240
MATRIX_TXNS = 120
SENDERS = 6
REDIS_PASSWORD = "redis-test-password-5d1c"
HS_TOKEN = "hs-token-replicas-3f9a"
AS_TOKEN = "as-token-replicas-7b2e"
BOT = "@faq:localhost"
QUESTIONS = ["what is CAR T-cell therapy?",
             "what are disease-modifying therapies?",
             "how do B-cell therapies work?", "what is MS?",
             "what are the side effects of immune therapy?"]


def need(binary):
    path = shutil.which(binary) or (
        "/usr/sbin/" + binary if os.path.exists("/usr/sbin/" + binary)
        else None)
    if not path:
        raise unittest.SkipTest("%s is not installed (Debian: "
                                "scripts/deps-apt.txt)" % binary)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, deadline=WAIT):
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("waited %d s in vain for %s"
                                 % (deadline, what))
        time.sleep(0.05)


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


# ------------------------------------------------------------ redis-server

class Redis:
    """redis-server on 127.0.0.1:port, from its own config in folder: a
    password, AOF fsync'ed on every write, no RDB snapshots."""

    def __init__(self, folder):
        self.bin = need("redis-server")
        self.cli = need("redis-cli")
        self.dir = os.path.join(folder, "redis")
        os.makedirs(self.dir)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("bind 127.0.0.1\nport %d\ndir %s\n"
                    "daemonize no\nprotected-mode yes\nsave \"\"\n"
                    "appendonly yes\nappendfsync always\n"
                    "logfile %s\nrequirepass %s\n"
                    % (self.port, self.dir,
                       os.path.join(self.dir, "redis.log"),
                       REDIS_PASSWORD))
        os.chmod(self.conf, 0o600)
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(ts.death_guard() + [self.bin,
                                                         self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        wait_until("redis-server to answer", lambda: self.ping())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)   # fsyncs, then exits
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def run(self, *args):
        """redis-cli ARGS; the password in its environment, not argv."""
        env = dict(os.environ, REDISCLI_AUTH=REDIS_PASSWORD)
        r = subprocess.run([self.cli, "-h", "127.0.0.1", "-p",
                            str(self.port), *args], env=env,
                           capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None

    def ping(self):
        return self.run("PING") == "PONG"

    def stream_len(self, queue_name):
        out = self.run("XLEN", "msfaq:{%s}:jobs" % queue_name)
        return int(out) if out and out.isdigit() else -1


# ------------------------------------------------------------------ nginx

class Nginx:
    """nginx on 127.0.0.1:port from its own config in folder, balancing
    over the replicas' ports; never the system service."""

    def __init__(self, folder, upstreams):
        self.bin = need("nginx")
        self.dir = os.path.join(folder, "nginx")
        os.makedirs(self.dir)
        self.port = free_port()
        servers = "".join("        server 127.0.0.1:%d max_fails=1 "
                          "fail_timeout=2s;\n" % p for p in upstreams)
        d = self.dir
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % dict(dir=d, port=self.port,
                                      servers=servers))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ts.death_guard() + [self.bin, "-p", self.dir, "-c",
                                os.path.join(self.dir, "nginx.conf"),
                                "-e", os.path.join(self.dir, "error.log"),
                                "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return self.proc.poll() is not None
        wait_until("nginx to listen", up)
        if self.proc.poll() is not None:
            raise AssertionError("nginx did not start:\n" + open(
                os.path.join(self.dir, "error.log")).read())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)   # graceful
            try:
                self.proc.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# the configuration docs/deploy.md shows, with the test's paths and ports
NGINX_CONF = """\
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path %(dir)s/client_body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    upstream msfaq {
%(servers)s        keepalive 16;
    }
    server {
        listen 127.0.0.1:%(port)d;
        client_max_body_size 8m;
        location / {
            proxy_pass http://msfaq;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # a replica that is down (refused, reset before a reply) is
            # skipped; a 503 from a replica is passed on: the sender
            # repeats the delivery, as Slack and homeservers do
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
        }
    }
}
"""


# ------------------------------------------------- stand-in homeserver

class Homeserver:
    """What msfaq serve's application service calls: whoami, a display
    name, joined members, and sends, idempotent by transaction id as
    Synapse's are (the same txnId from the same token gives the same
    event), every PUT recorded."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sends = []          # (txn, content) of every PUT received
        self.stored = {}         # txn -> content: what the room shows
        hs = self

        class Handler(ts.http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def reply(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.headers.get("Authorization") != "Bearer " + AS_TOKEN:
                    return self.reply(401, {"errcode": "M_UNKNOWN_TOKEN",
                                            "error": "bad token"})
                if self.path.startswith("/_matrix/client/v3/account/whoami"):
                    return self.reply(200, {"user_id": BOT})
                if "/joined_members" in self.path:
                    return self.reply(200, {"joined": {BOT: {}, "@a:l": {}}})
                return self.reply(404, {"errcode": "M_NOT_FOUND",
                                        "error": "not here"})

            def do_PUT(self):
                n = int(self.headers.get("Content-Length", 0))
                content = json.loads(self.rfile.read(n) or b"{}")
                m = re.search(r"/send/m\.room\.message/([^/?]+)", self.path)
                if not m:
                    return self.reply(404, {"errcode": "M_UNRECOGNIZED",
                                            "error": "no"})
                txn = m.group(1)
                with hs.lock:
                    hs.sends.append((txn, content))
                    hs.stored.setdefault(txn, content)
                return self.reply(200, {"event_id": "$r-" + txn})

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                self.rfile.read(n)
                return self.reply(200, {})

            def log_message(self, *args):
                pass

        self.httpd = ts.http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                        Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    def replies(self):
        """question event id -> number of distinct replies stored."""
        with self.lock:
            out = {}
            for content in self.stored.values():
                ev = content.get("m.relates_to", {}).get(
                    "m.in_reply_to", {}).get("event_id")
                out[ev] = out.get(ev, 0) + 1
            return out

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------ the load

class Load:
    """Delivers every item until it got a 200, from SENDERS threads; an
    item that got a 503 or no reply goes back to the end of the line.
    After a 200, some are repeated to a random replica directly (a lost
    200), once each."""

    def __init__(self, test, items, send):
        self.test = test
        self.todo = queue.Queue()     # (item, deliveries before it)
        self.items = list(items)
        self.released = 0
        self.send = send          # (item, port or None, retry) -> status
        self.acked = set()
        self.sent = self.retried = self.refused = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.total = len(items)
        self.rnd = random.Random(1234)

    def worker(self):
        while not self.done.is_set():
            try:
                it, tries = self.todo.get(timeout=0.2)
            except queue.Empty:
                continue
            status = self.send(it, None, tries)
            with self.lock:
                self.sent += 1
                if status != 200:
                    self.refused += 1
            if status != 200:
                time.sleep(0.05)
                self.todo.put((it, tries + 1))
                continue
            with self.lock:
                self.acked.add(it["id"])
                repeat = self.rnd.random() < 0.25
                if len(self.acked) == self.total:
                    self.done.set()
            if repeat:
                # the 200 "was lost": the sender repeats the delivery
                port = self.rnd.choice(self.test.live_ports())
                if self.send(it, port, tries + 1) is not None:
                    with self.lock:
                        self.retried += 1

    def release(self, upto):
        """Lets the items before index upto be sent."""
        for it in self.items[self.released:upto]:
            self.todo.put((it, 0))
        self.released = max(self.released, upto)

    def start(self):
        self.threads = [threading.Thread(target=self.worker, daemon=True)
                        for _ in range(SENDERS)]
        for t in self.threads:
            t.start()
        return self

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        wait_until("every delivery to get its 200 (%d of %d so far)"
                   % (self.acked_count(), self.total),
                   lambda: self.done.is_set())
        for t in self.threads:
            t.join(timeout=WAIT)


def http_status(port, method, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        res = conn.getresponse()
        res.read()
        return res.status
    except OSError:
        return None
    finally:
        conn.close()


# ------------------------------------------------------------ the test

class ReplicaTest(unittest.TestCase):
    def setUp(self):
        ts.need_sdk()
        need("redis-server")
        need("nginx")
        self.dir = tempfile.mkdtemp(prefix="msfaq-replicas-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.redis = Redis(self.dir).start()
        self.addCleanup(self.redis.stop)
        self.api = ts.SlackAPI()
        self.addCleanup(self.api.close)
        self.hs = Homeserver()
        self.addCleanup(self.hs.close)
        # the victim reaches both targets through fault proxies
        self.slack_proxy = F.FaultProxy(self.api.url).start()
        self.addCleanup(self.slack_proxy.close)
        self.hs_proxy = F.FaultProxy(self.hs.url).start()
        self.addCleanup(self.hs_proxy.close)
        pw = os.path.join(self.dir, "redis-password")
        write_private(pw, REDIS_PASSWORD + "\n")
        self.ports = [free_port() for _ in range(3)]
        self.state = ("redis://127.0.0.1:%d/0?claim_after_ms=2000"
                      % self.redis.port)
        self.env = {"MSFAQ_SLACK_SIGNING_SECRET": ts.SECRET,
                    "MSFAQ_SLACK_BOT_TOKEN": ts.BOT_TOKEN,
                    "MSFAQ_SLACK_BOT_USER_ID": "U0LAN0Z89",
                    "MSFAQ_SLACK_API_URL": self.api.url,
                    "MSFAQ_MATRIX_HS_TOKEN": HS_TOKEN,
                    "MSFAQ_MATRIX_AS_TOKEN": AS_TOKEN,
                    "MSFAQ_MATRIX_HOMESERVER": self.hs.url,
                    "MSFAQ_REDIS_PASSWORD_FILE": pw,
                    "MSFAQ_DEAD_LETTER": os.path.join(self.dir,
                                                      "dead.jsonl")}
        self.replicas = [None, None, None]
        for i in range(3):
            self.start_replica(i)
        self.nginx = Nginx(self.dir, self.ports).start()
        self.addCleanup(self.nginx.stop)
        self.killed = self.restarted = 0

    def start_replica(self, i):
        env = dict(self.env)
        if i == 0:               # the victim: its posts can be held
            env["MSFAQ_SLACK_API_URL"] = self.slack_proxy.url + "/api"
            env["MSFAQ_MATRIX_HOMESERVER"] = self.hs_proxy.url
        srv = ts.Server(["--listen", "127.0.0.1:%d" % self.ports[i],
                         "--state", self.state], env)
        srv.start()
        self.addCleanup(srv.stop)
        self.replicas[i] = srv
        return srv

    def live_ports(self):
        return [self.ports[i] for i, r in enumerate(self.replicas)
                if r and r.proc.poll() is None]

    # ----------------------------------------------------- the disruptions

    def kill_victim(self, proxy, pattern):
        """SIGKILLs replica 0 while the proxy holds its next reply."""
        proxy.add(F.Rule(None, pattern, F.HOLD))
        held = proxy.wait_held("a reply of replica 0 to be held", pattern,
                               WAIT)
        victim = self.replicas[0]
        victim.stop(check=False, sig=signal.SIGKILL)
        self.assertEqual(victim.proc.returncode, -signal.SIGKILL)
        proxy.wait_for("the proxy to see replica 0 gone",
                       lambda: held.state == "client gone", WAIT)
        self.replicas[0] = None
        self.killed += 1

    def restart_replica(self, i):
        self.replicas[i].stop()          # SIGTERM: exits 0, sanitizers
        self.start_replica(i)
        self.restarted += 1

    def redis_outage(self, load):
        """Stops redis-server mid-load, checks the replicas say so, lets
        the last third of the load go, and starts Redis again on the same
        folder."""
        self.redis.stop()

        def health():
            st, _, body = self.replicas[1].request("GET", "/healthz")
            return st, body
        wait_until("/healthz to say 503", lambda: health()[0] == 503)
        st, body = health()
        obj = json.loads(body)
        self.assertEqual(obj["status"], "unavailable")
        self.assertRegex(obj["reason"], r"redis 127\.0\.0\.1:%d db 0"
                         % self.redis.port)
        self.assertNotIn(REDIS_PASSWORD, body.decode())
        m = self.replicas[1].metrics()
        self.assertEqual(m['msfaq_state_up{backend="redis"}'], 0)
        self.assertGreater(m["msfaq_state_errors_total"], 0)
        before = load.refused
        load.release(load.total)
        # deliveries meanwhile get 503 and are repeated
        wait_until("deliveries to be refused during the outage",
                   lambda: load.refused >= before + 10)
        self.refused_in_outage = load.refused - before
        self.redis.start()
        wait_until("every replica's /healthz to say 200 again", lambda: all(
            http_status(p, "GET", "/healthz", None, {}) == 200
            for p in self.live_ports()))
        self.assertGreaterEqual(
            self.replicas[1].metrics()["msfaq_state_reconnects_total"], 1)

    def run_load(self, load, proxy, pattern, queue_name):
        """The load in three parts: the first until a replica is killed,
        the second through a restart, the last into a Redis outage."""
        third = load.total // 3
        load.release(third)
        load.start()
        wait_until("the first deliveries",
                   lambda: load.acked_count() >= third // 2)
        self.kill_victim(proxy, pattern)
        load.release(2 * third)
        wait_until("half of the deliveries",
                   lambda: load.acked_count() >= load.total // 2)
        self.restart_replica(2)
        wait_until("two thirds of the deliveries",
                   lambda: load.acked_count() >= 2 * third)
        self.redis_outage(load)
        load.finish()
        wait_until("the stream in Redis to empty (all acknowledged)",
                   lambda: self.redis.stream_len(queue_name) == 0)
        for srv in self.replicas:
            if srv:
                self.assertNotIn(REDIS_PASSWORD, srv.log())
                self.assertNotIn(HS_TOKEN, srv.log())

    # --------------------------------------------------------------- Slack

    def test_slack_events(self):
        items = []
        for n in range(SLACK_EVENTS):
            q = QUESTIONS[n % len(QUESTIONS)]
            items.append({"id": "EvR%04d" % n, "ts": "1700.%06d" % n,
                          "payload": ts.mention(q, "EvR%04d" % n,
                                                ts="1700.%06d" % n)})

        def send(it, port, tries):
            body = json.dumps(it["payload"])
            headers = {"Content-Type": "application/json",
                       **ts.slack_headers(body)}
            if tries:
                headers.update({"X-Slack-Retry-Num": str(min(tries, 3)),
                                "X-Slack-Retry-Reason": "http_error"})
            return http_status(port or self.nginx.port, "POST",
                               "/slack/events", body, headers)

        load = Load(self, items, send)
        self.run_load(load, self.slack_proxy, r"/chat\.postMessage",
                      "slack-events")
        posts = []
        while True:
            try:
                posts.append(self.api.posts.get_nowait()["body"])
            except queue.Empty:
                break
        per_ts = {}
        for p in posts:
            per_ts[p["thread_ts"]] = per_ts.get(p["thread_ts"], 0) + 1
        once = sum(1 for it in items if per_ts.get(it["ts"]) == 1)
        twice = sum(1 for it in items if per_ts.get(it["ts"], 0) > 1)
        lost = sum(1 for it in items if it["ts"] not in per_ts)
        reclaimed = sum(s.metrics()["msfaq_state_reclaimed_total"]
                        for s in self.replicas if s)
        print("REPLICAS slack: events sent=%d deliveries=%d retried=%d "
              "refused(503 or cut)=%d (in the Redis outage %d) "
              "replicas killed=%d restarted=%d redis restarted=1 "
              "taken over=%d answered once=%d more than once=%d lost=%d"
              % (len(items), load.sent, load.retried, load.refused,
                 self.refused_in_outage, self.killed, self.restarted,
                 reclaimed, once, twice, lost))
        self.assertEqual((lost, twice), (0, 0), per_ts)
        self.assertEqual(once, len(items))
        self.assertEqual(len(posts), len(items))

    # -------------------------------------------------------------- Matrix

    def test_matrix_transactions(self):
        items, n = [], 0
        rnd = random.Random(99)
        for t in range(MATRIX_TXNS):
            events = []
            for _ in range(rnd.choice([1, 1, 2, 3])):
                events.append({
                    "type": "m.room.message", "room_id": "!r:localhost",
                    "sender": "@alice:localhost",
                    "event_id": "$q%05d" % n,
                    "origin_server_ts": int(time.time() * 1000),
                    "content": {"msgtype": "m.text",
                                "body": "faq: " + QUESTIONS[n % 5],
                                "m.mentions": {"user_ids": [BOT]}}})
                n += 1
            items.append({"id": "txn%04d" % t, "events": events})
        asked = ["$q%05d" % i for i in range(n)]

        def send(it, port, tries):
            return http_status(
                port or self.nginx.port, "PUT",
                "/_matrix/app/v1/transactions/" + it["id"],
                json.dumps({"events": it["events"]}),
                {"Content-Type": "application/json",
                 "Authorization": "Bearer " + HS_TOKEN})

        load = Load(self, items, send)
        self.run_load(load, self.hs_proxy, r"/send/m\.room\.message/",
                      "matrix-transactions")
        replies = self.hs.replies()
        with self.hs.lock:
            puts = {}
            for txn, _ in self.hs.sends:
                puts[txn] = puts.get(txn, 0) + 1
        once = sum(1 for e in asked if replies.get(e) == 1)
        lost = sum(1 for e in asked if e not in replies)
        resent = sum(c - 1 for c in puts.values())
        reclaimed = sum(s.metrics()["msfaq_state_reclaimed_total"]
                        for s in self.replicas if s)
        print("REPLICAS matrix: transactions sent=%d (events %d) "
              "deliveries=%d retried=%d refused(503 or cut)=%d (in the "
              "Redis outage %d) replicas killed=%d restarted=%d redis "
              "restarted=1 taken over=%d answered once=%d lost=%d "
              "sends repeated with the same txnId=%d"
              % (len(items), n, load.sent, load.retried, load.refused,
                 self.refused_in_outage, self.killed, self.restarted,
                 reclaimed, once, lost, resent))
        self.assertEqual(lost, 0)
        self.assertEqual(once, n, replies)
        self.assertEqual(len(replies), n)


class FakeRedis:
    """Speaks RESP on 127.0.0.1 but answers what Redis never would: an
    array to EVAL, a malformed array to XREADGROUP and XAUTOCLAIM, an
    error to anything it does not know.  AUTH, SELECT and XGROUP get
    +OK.  Records the commands' names."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.client, args=(c,),
                             daemon=True).start()

    def client(self, c):
        f = c.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line.startswith(b"*"):
                    return
                args = []
                for _ in range(int(line[1:])):
                    n = int(f.readline()[1:])
                    args.append(f.read(n + 2)[:-2])
                name = args[0].upper().decode()
                self.seen.append(name)
                if name in ("AUTH", "SELECT", "XGROUP"):
                    c.sendall(b"+OK\r\n")
                elif name == "EVAL":
                    c.sendall(b"*1\r\n$3\r\nabc\r\n")
                elif name in ("XREADGROUP", "XAUTOCLAIM"):
                    c.sendall(b"*1\r\n:5\r\n")
                else:
                    c.sendall(b"-ERR not here\r\n")
        except (OSError, ValueError):
            return
        finally:
            c.close()

    def close(self):
        self.sock.close()


class BadRedisTest(unittest.TestCase):
    """A --state server that answers nonsense: the replica says what and
    where, refuses deliveries with 503 (never "accepted" what it could
    not keep), does not crash, and stops cleanly."""

    def test_wrong_reply_types(self):
        ts.need_sdk()
        fake = FakeRedis()
        self.addCleanup(fake.close)
        api = ts.SlackAPI()
        self.addCleanup(api.close)
        srv = ts.Server(["--state", "redis://127.0.0.1:%d?claim_after_ms="
                         "1000" % fake.port],
                        {"MSFAQ_SLACK_SIGNING_SECRET": ts.SECRET,
                         "MSFAQ_SLACK_BOT_TOKEN": ts.BOT_TOKEN,
                         "MSFAQ_SLACK_API_URL": api.url,
                         "MSFAQ_REDIS_PASSWORD": REDIS_PASSWORD})
        srv.start()
        self.addCleanup(srv.stop)
        body = json.dumps(ts.mention(QUESTIONS[0], "EvBad1", ts="9.1"))
        st, _, reply = srv.request("POST", "/slack/events", body, {
            "Content-Type": "application/json", **ts.slack_headers(body)})
        self.assertEqual(st, 503)
        self.assertEqual(json.loads(reply)["error"], "unavailable")
        srv.wait_log(r"slack events: redis 127\.0\.0\.1:%d db 0: EVAL "
                     r"\(submit\): expected integer, got array" % fake.port)
        srv.wait_log(r"XREADGROUP: expected \[\[stream, \[entries\]\]\]")
        srv.wait_log(r"XAUTOCLAIM: not \[cursor, entries\]")
        st, _, _ = srv.request("GET", "/healthz")
        self.assertIn(st, (200, 503))
        self.assertGreater(srv.metrics()["msfaq_state_errors_total"], 0)
        srv.stop()           # exit 0, no sanitizer report
        self.assertIn("AUTH", fake.seen)
        self.assertNotIn(REDIS_PASSWORD, srv.log())
        self.assertTrue(api.posts.empty())
        print("BADREDIS: wrong reply types to EVAL, XREADGROUP and "
              "XAUTOCLAIM: 503, named in the log, no crash")


if __name__ == "__main__":
    ts.main()
