"""msfaq-serve under load and abuse, in one server run on 127.0.0.1.

Usage (ctest runs it, see load.cmake): as test_serve.py,
    test_serve_load.py --serve BIN --msfaq BIN --sign-tool BIN --source DIR

The server gets small limits (--max-connections, --timeout, --max-body),
then, all at once:
- slow clients hold connections: a request header sent a byte every few
  seconds, a body sent so, or nothing at all; more of them than
  --max-connections, each reconnecting as soon as it is cut off;
- good clients POST /v1/ask, many in parallel, on kept-alive and fresh
  connections: every one must get 200 and the JSON that `msfaq ask
  --json` gives for its question.  One refused, or dropped before a
  byte of its reply came, is tried again (and counted);
- bad clients send bodies over the cap (413; on the Matrix route too,
  whose larger cap needs the homeserver's token) and headers too large
  for libmicrohttpd's memory (431, 414);
- the server's VmRSS and the connections it holds are sampled.
Then SIGTERM with requests in flight (and a slow client of each kind):
each request gets its whole reply, new connections are refused at once,
and the process exits 0 within its drain.  Its log must count as many
answered requests as the clients got.

One line starting "LOAD:" gives the figures.  Time bounds are generous:
they only catch a hang (sanitizer builds are slow).  The server helpers
come from test_serve.py.
"""

import collections
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402  (its Server, options and main())
from test_serve import WAIT, Server  # noqa: E402

# Small limits, so that a few dozen clients reach them.
MAX_CONN = 32
THREADS = 4
TIMEOUT = 4            # --timeout, seconds
MAX_BODY = 4096
GRACE = 1              # http.c's DEADLINE_GRACE_MS, in seconds
DRAIN_SECONDS = 10     # serve_main.c: the longest a stop waits

DRIP = 2.0             # seconds between a slow client's bytes (< TIMEOUT:
                       # libmicrohttpd's idle time-out alone never fires)
SLOW_FIRST = 8         # slow clients of each kind held before the load
SLOW_MORE = 6          # and of each kind added: past MAX_CONN in all
GOOD_THREADS = 32
GOOD_REQUESTS = 3000
HAMMER_THREADS = 32    # requests in flight at SIGTERM
HELD = 4               # requests whose body is not all in at SIGTERM
ATTEMPTS = 8           # tries of one good request
SLACK = 20             # seconds past a deadline before calling it a hang
HOLD_CAP = TIMEOUT + GRACE + SLACK  # a slow client gives up after this
RSS_BOUND_MIB = 256
RSS_BOUND_ASAN_MIB = 1024   # ASan's quarantine and shadow memory


class Dropped(Exception):
    """The connection ended before a whole reply; got: the reply bytes
    that came (0: the request may be sent again)."""

    def __init__(self, why, got):
        super().__init__("%s after %d reply bytes" % (why, got))
        self.why = why
        self.got = got


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.close = headers.get("connection", "").lower() == "close"


class Conn:
    """One HTTP/1.1 connection, kept alive between requests.  Raw, so that
    what came before a drop is known exactly."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=WAIT)
        self.buf = b""
        self.got = 0

    def close(self):
        self.sock.close()

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Dropped("send: " + type(e).__name__, self.got) from None

    def more(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Dropped("timeout", self.got) from None
        except OSError as e:
            raise Dropped(type(e).__name__, self.got) from None
        if not chunk:
            raise Dropped("closed", self.got)
        self.got += len(chunk)
        self.buf += chunk

    def head(self):
        """Reads a status line and headers: (status, headers)."""
        while b"\r\n\r\n" not in self.buf:
            self.more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers

    def reply(self, interim=False):
        """Reads one whole reply, after any 100 Continue (returned when
        interim)."""
        status, headers = self.head()
        while status == 100 and not interim:
            status, headers = self.head()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self.more()
        body, self.buf = self.buf[:n], self.buf[n:]
        return Reply(status, headers, body)

    def request(self, method, path, body=b"", extra=""):
        self.got = 0
        self.send(("%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s"
                   "\r\n" % (method, path, len(body), extra)).encode()
                  + body)
        return self.reply()


def ask_body(question):
    return json.dumps({"question": question}).encode()


JSON = "Content-Type: application/json\r\n"


class Tally:
    """Counters and failures from many threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = collections.Counter()
        self.failures = []

    def add(self, key, k=1):
        with self.lock:
            self.n[key] += k

    def fail(self, what):
        with self.lock:
            self.n["failed"] += 1
            if len(self.failures) < 20:
                self.failures.append(what)

    def unanswered(self, e, what, attempt):
        """A request without a reply: e is an OSError from connecting or
        a Dropped.  True when it may be sent again (no byte of a reply
        came), counted as a retry, after a back-off; else a failure."""
        if isinstance(e, Dropped) and e.got:
            self.fail("%s: reply cut off: %s" % (what, e))
            return False
        self.add("retries")
        self.add("retry: " + (e.why if isinstance(e, Dropped)
                              else "connect " + type(e).__name__))
        time.sleep(min(2.0, 0.05 * 2 ** attempt))
        return True


def check_answer(tally, expected, question, rep):
    """A good request's reply must be 200 and msfaq ask --json's."""
    if rep.status != 200:
        tally.fail("%r: status %d %r" % (question, rep.status,
                                         rep.body[:200]))
    elif json.loads(rep.body) != expected[question]:
        tally.fail("%r: not what msfaq ask --json says: %r"
                   % (question, rep.body[:200]))
    else:
        tally.add("ask_200")
        return True
    return False


# ------------------------------------------------------------ the clients

def good_client(port, jobs, expected, tally, rng):
    """Asks the questions in jobs, some on kept-alive connections, some
    on fresh ones; tries again what was refused or dropped unanswered."""
    conn, left = None, 0
    while True:
        try:
            question = jobs.pop()
        except IndexError:
            break
        for attempt in range(ATTEMPTS):
            try:
                if conn is None:
                    conn = Conn(port)
                    left = rng.choice((1, 1, 1, 2, 5, 20, 50))
                rep = conn.request("POST", "/v1/ask", ask_body(question),
                                   JSON)
            except (OSError, Dropped) as e:
                if conn is not None:
                    conn.close()
                    conn = None
                if tally.unanswered(e, repr(question), attempt):
                    continue
                break
            check_answer(tally, expected, question, rep)
            left -= 1
            if rep.close or not left:
                conn.close()
                conn = None
            break
        else:
            tally.fail("%r: no answer in %d tries" % (question, ATTEMPTS))
    if conn is not None:
        conn.close()


def expect_error(tally, name, rep, statuses, code=None):
    if rep.status not in statuses:
        tally.fail("%s: status %d %r" % (name, rep.status, rep.body[:200]))
        return False
    if code and json.loads(rep.body).get("error") != code:
        tally.fail("%s: %r" % (name, rep.body[:200]))
        return False
    tally.add("bad: " + name)
    return True


def expect_closed(tally, name, conn):
    """After an error the server closes: nothing more comes."""
    try:
        conn.more()
        tally.fail("%s: more after the error: %r" % (name, conn.buf[:100]))
    except Dropped as e:
        if e.why == "timeout":
            tally.fail("%s: connection left open" % name)


def bad_over_cap(port, tally, expected, question):
    """A body over the cap, all sent: 413, and the connection still
    answers."""
    conn = Conn(port)
    try:
        rep = conn.request("POST", "/v1/ask", b"x" * (MAX_BODY + 904), JSON)
        if expect_error(tally, "body over cap", rep, (413,),
                        "body_too_large") and not rep.close:
            rep = conn.request("POST", "/v1/ask", ask_body(question), JSON)
            check_answer(tally, expected, question, rep)
    finally:
        conn.close()


def bad_announced(port, tally, path, length, extra, name):
    """Only headers announcing a large body: 413 at once, then closed."""
    conn = Conn(port)
    try:
        conn.send(("PUT" if path.startswith("/_matrix") else "POST").encode()
                  + (" %s HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n%s"
                     "\r\n" % (path, length, extra)).encode())
        rep = conn.reply(interim=True)
        if expect_error(tally, name, rep, (413,), "body_too_large"):
            expect_closed(tally, name, conn)
    finally:
        conn.close()


def bad_header(port, tally, data, status, name):
    """A request line or headers over libmicrohttpd's memory: an error
    status and a closed connection, or (when the server closed with our
    excess unread) a reset; never a hang, and the server lives on."""
    conn = Conn(port)
    try:
        conn.send(data)
        rep = conn.reply()
        if expect_error(tally, name, rep, (status,)):
            expect_closed(tally, name, conn)
    except Dropped as e:
        if e.why == "timeout" or e.got:
            tally.fail("%s: %s" % (name, e))
        else:
            tally.add("bad: %s (reset)" % name)
    finally:
        conn.close()


def bad_client(port, tally, expected, stop, rng):
    """Takes turns at every kind of bad request until stop."""
    big_header = (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: "
                  + b"a" * 40000 + b"\r\n\r\n")
    many_headers = (b"GET /healthz HTTP/1.1\r\nHost: t\r\n"
                    + b"".join(b"X-H%d: v\r\n" % i for i in range(3000))
                    + b"\r\n")
    long_url = b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    questions = sorted(expected)
    cases = (
        lambda: bad_over_cap(port, tally, expected, rng.choice(questions)),
        lambda: bad_announced(port, tally, "/v1/ask", 2 << 20, JSON,
                              "body far over cap"),
        lambda: bad_announced(port, tally, "/v1/ask", 100000,
                              "Expect: 100-continue\r\n",
                              "body over cap, 100-continue"),
        # the Matrix route's 8 MiB cap is for the homeserver only
        lambda: bad_announced(port, tally,
                              "/_matrix/app/v1/transactions/%d"
                              % rng.randrange(10 ** 6), 7 << 20, "",
                              "matrix body, no token"),
        lambda: bad_header(port, tally, big_header, 431, "big header"),
        lambda: bad_header(port, tally, many_headers, 431, "many headers"),
        lambda: bad_header(port, tally, long_url, 414, "long URL"),
    )
    while not stop.is_set():
        for case in cases:
            for attempt in range(ATTEMPTS):
                try:
                    case()
                    break
                except (OSError, Dropped) as e:
                    if not tally.unanswered(e, "bad client", attempt):
                        break
            else:
                tally.fail("bad client: no answer in %d tries" % ATTEMPTS)


class Slow:
    """Slow clients of three kinds, each reconnecting when cut off until
    stop; records how long every connection lasted."""

    KINDS = ("header", "body", "silent")

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.lasted = collections.defaultdict(list)   # kind: seconds
        self.first = collections.defaultdict(list)    # the first wave's
        self.after_headers = []   # body kind: from 100 Continue to cut
        self.not_cut = []
        self.threads = []

    def start(self, per_kind, first=False):
        for kind in self.KINDS:
            for _ in range(per_kind):
                t = threading.Thread(target=self.run, args=(kind, first),
                                     daemon=True)
                t.start()
                self.threads.append(t)

    def run(self, kind, first):
        while not self.stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port),
                                             timeout=WAIT)
            except OSError:
                time.sleep(0.2)     # refused: the server is stopping
                continue
            with s:
                lasted, cut = self.hold(s, kind)
            with self.lock:
                if not cut:
                    self.not_cut.append((kind, lasted))
                self.lasted[kind].append(lasted)
                if first:
                    self.first[kind].append(lasted)
            first = False

    def hold(self, s, kind):
        """Sends a byte every DRIP seconds until the server closes s.
        Returns (seconds it lasted, whether the server closed it)."""
        t0 = time.monotonic()
        if kind == "header":
            data = (b"POST /v1/ask HTTP/1.1\r\nHost: t\r\nX-Slow: "
                    + b"a" * 4000)
        elif kind == "body":
            # Expect: 100-continue tells when the server took the headers
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: t\r\n"
                      b"Content-Length: 4000\r\nExpect: 100-continue\r\n"
                      b"Content-Type: application/json\r\n\r\n")
            data = b'{"question": "' + b"a" * 3900
        else:
            data = b""
        sent, next_send, heard = 0, t0, None
        while True:
            now = time.monotonic()
            if now - t0 > HOLD_CAP:
                return now - t0, False
            if data and now >= next_send and sent < len(data):
                try:
                    s.send(data[sent:sent + 1])
                except OSError:
                    break
                sent += 1
                next_send += DRIP
            wait = (next_send if data else t0 + HOLD_CAP) - now
            ready, _, _ = select.select([s], [], [], max(0.0, wait))
            if not ready:
                continue
            try:
                chunk = s.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            if chunk.startswith(b"HTTP/1.1 100"):
                heard = time.monotonic()
        end = time.monotonic()
        if heard is not None:
            with self.lock:
                self.after_headers.append(end - heard)
        return end - t0, True

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(HOLD_CAP + WAIT)


class Sampler(threading.Thread):
    """The server's VmRSS and the sockets it holds, every 0.1 s."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.stop = threading.Event()
        self.rss = []          # KiB
        self.sockets = 0       # most held at once, the listener included

    def sample(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            n = server_sockets(self.pid)
        except (OSError, AttributeError):
            return             # exiting
        self.rss.append(rss)
        self.sockets = max(self.sockets, n)

    def run(self):
        while not self.stop.wait(0.1):
            self.sample()

    def held(self):
        return self.sockets - 1     # less the listening socket


def server_sockets(pid):
    fds = "/proc/%d/fd" % pid
    n = 0
    for fd in os.listdir(fds):
        try:
            n += os.readlink(os.path.join(fds, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def wait_for(what, cond, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.02)


def exited(pid):
    """true once pid has exited, leaving it for Popen to reap."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG
                     | os.WNOWAIT) is not None


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def sanitizer_allocator(binary):
    """true when a sanitizer's allocator replaces glibc's malloc"""
    with open(binary, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def rss_anon_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"RssAnon:\s+(\d+)", f.read()).group(1))


def span(values):
    return "%.1f-%.1fs" % (min(values), max(values)) if values else "-"


# ------------------------------------------------------------- the test

class LoadTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(test_serve.ARGS.source, "tests", "questions",
                               "own.jsonl"), encoding="utf-8") as f:
            questions = [json.loads(line)["q"] for line in f if line.strip()]
        # msfaq ask --json, once for every question (a line each)
        out = subprocess.run([test_serve.ARGS.msfaq, "ask", "--json"],
                             input="".join(q + "\n" for q in questions),
                             capture_output=True, text=True, check=True,
                             timeout=WAIT * 5).stdout.splitlines()
        self.assertEqual(len(out), len(questions))
        self.expected = {q: json.loads(o) for q, o in zip(questions, out)}

    def run(self, result=None):
        # a failure shows the end of the server's log
        self.srv = None
        failed = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and self.srv and (len(result.failures)
                                    + len(result.errors)) > failed:
            print("msfaq-serve's log, the end:\n" + self.srv.log()[-6000:])
        return out

    def test_a_burst_gives_its_memory_back(self):
        # each open connection holds 16 KiB of libmicrohttpd's from malloc
        # on its thread; once a burst ends the server hands the free pages
        # back (serve/http.c, give_back_memory), instead of keeping the
        # burst's memory for good
        if sanitizer_allocator(test_serve.ARGS.serve):
            self.skipTest("a sanitizer's allocator ignores malloc_trim")
        srv = Server(["--max-connections", "256"])
        self.addCleanup(srv.stop, check=False)
        self.srv = srv.start()
        pid = srv.proc.pid
        question = next(iter(self.expected))
        conns = [Conn(srv.port) for _ in range(200)]
        for conn in conns:                   # every one holds a request
            rep = conn.request("POST", "/v1/ask", ask_body(question), JSON)
            self.assertEqual(rep.status, 200, rep.body)
        during = rss_anon_kib(pid)
        for conn in conns:
            conn.close()
        # 200 x 16 KiB is 3.2 MiB; at least half of it must go back
        wait_for("the burst's memory to be given back (RssAnon %d KiB "
                 "with 200 connections open)" % during,
                 lambda: rss_anon_kib(pid) <= during - 1600)
        conn = Conn(srv.port)
        rep = conn.request("POST", "/v1/ask", ask_body(question), JSON)
        conn.close()
        self.assertEqual(json.loads(rep.body), self.expected[question])

    def test_load_slow_clients_and_stop(self):
        t_start = time.monotonic()
        srv = Server(["--threads", str(THREADS),
                      "--max-connections", str(MAX_CONN),
                      "--timeout", str(TIMEOUT),
                      "--max-body", str(MAX_BODY)])
        self.addCleanup(srv.stop, check=False)
        self.srv = srv.start()
        pid, port = srv.proc.pid, srv.port
        sampler = Sampler(pid)
        sampler.sample()
        rss_start = sampler.rss[0]
        sampler.start()
        self.addCleanup(sampler.stop.set)
        slow = Slow(port)
        self.addCleanup(slow.stop.set)
        tally = Tally()
        rng = random.Random(7)

        # 1. slow clients, then more: past --max-connections
        slow.start(SLOW_FIRST, first=True)
        wait_for("the first slow clients to be held",
                 lambda: server_sockets(pid) >= 1 + 3 * SLOW_FIRST)
        slow.start(SLOW_MORE)

        # 2. good and bad clients while the slow ones hang on
        questions = sorted(self.expected)
        jobs = [rng.choice(questions) for _ in range(GOOD_REQUESTS)]
        t_load = time.monotonic()
        good = [threading.Thread(target=good_client, daemon=True,
                                 args=(port, jobs, self.expected, tally,
                                       random.Random(i)))
                for i in range(GOOD_THREADS)]
        bad_stop = threading.Event()
        bad = [threading.Thread(target=bad_client, daemon=True,
                                args=(port, tally, self.expected, bad_stop,
                                      random.Random(100 + i)))
               for i in range(2)]
        for t in good + bad:
            t.start()
        for t in good:
            t.join(GOOD_REQUESTS * 2)
            self.assertFalse(t.is_alive(), "a good client hangs")
        load_secs = time.monotonic() - t_load
        bad_stop.set()
        for t in bad:
            t.join(WAIT * 2)
            self.assertFalse(t.is_alive(), "a bad client hangs")
        load_ok = tally.n["ask_200"]

        # 3. SIGTERM with requests in flight.  The slow clients leave
        # first (the server cuts their last connections), so that the
        # requests held over the stop need not queue for a place.
        slow.finish()
        drain = self.stop_under_load(srv, tally, pid, port)
        sampler.stop.set()
        sampler.join(WAIT)
        srv.stop()             # exit status 0, no sanitizer report
        wall = time.monotonic() - t_start

        # the log: as many answers as the clients got, nothing aborted
        # but slow requests
        log = srv.log()
        answered = len(re.findall(r"msfaq-serve: POST /v1/ask 200 ", log))
        aborted = re.findall(r"aborted: (.*)", log)
        cut = sum(int(n) for n in re.findall(
            r"closed (\d+) connections? that sent no whole request", log))

        retries = {k[len("retry: "):]: v for k, v in tally.n.items()
                   if k.startswith("retry: ")}
        bads = sum(v for k, v in tally.n.items() if k.startswith("bad: "))
        slow_all = [x for v in slow.lasted.values() for x in v]
        slow_first = [x for v in slow.first.values() for x in v]
        first = " ".join("%s=%s" % (k, span(slow.first[k]))
                         for k in Slow.KINDS)
        rss_max = max(sampler.rss)
        print("LOAD: requests=%d answered=%d in %.1fs (%.0f/s) "
              "concurrency=%d retries=%d %s bad=%d failed=%d | "
              "slow: kinds=%d+%d per kind, connections=%d cut_by_server=%d "
              "server_held_max=%d/%d lasted: first %s, all=%s, "
              "body_after_headers=%s | rss_kib start=%d max=%d end=%d | "
              "sigterm: clients=%d answered=%d refused=%d "
              "refused_after=%.2fs exit=%.1fs | wall=%.0fs"
              % (GOOD_REQUESTS, load_ok, load_secs,
                 load_ok / max(load_secs, 1e-9), GOOD_THREADS,
                 tally.n["retries"], json.dumps(retries, sort_keys=True)
                 .replace(" ", ""), bads, tally.n["failed"],
                 SLOW_FIRST, SLOW_MORE, len(slow_all), cut,
                 sampler.held(), MAX_CONN, first, span(slow_all),
                 span(slow.after_headers), rss_start, rss_max,
                 sampler.rss[-1], drain["clients"], drain["answered"],
                 drain["refused"], drain["refused_after"], drain["exit"],
                 wall))
        sys.stdout.flush()

        self.assertEqual(tally.failures, [])
        self.assertEqual(tally.n["failed"], 0)
        self.assertEqual(load_ok, GOOD_REQUESTS
                         + tally.n["bad: body over cap"])
        self.assertEqual(answered, tally.n["ask_200"],
                         "the server answered requests whose reply no "
                         "client got")
        for reason in aborted:
            # cut by the watchdog, or by libmicrohttpd's idle time-out
            # when a slow client's byte came late
            self.assertIn(reason, ("too slow", "timeout"), log[-3000:])
        for name in ("body over cap", "body far over cap",
                     "body over cap, 100-continue", "matrix body, no token"):
            self.assertGreater(tally.n["bad: " + name], 0, name)
        for name in ("big header", "many headers", "long URL"):
            self.assertGreater(tally.n["bad: " + name]
                               + tally.n["bad: %s (reset)" % name], 0, name)
        # the slow clients: every connection cut by the server, the first
        # (held at once, not waiting for room) within the time-out
        self.assertEqual(slow.not_cut, [], "slow clients not cut off")
        for kind in Slow.KINDS:
            self.assertEqual(len(slow.first[kind]), SLOW_FIRST, kind)
        for lasted in slow_first + slow.after_headers:
            self.assertLess(lasted, TIMEOUT + GRACE + SLACK)
        self.assertGreater(cut, 0)
        self.assertLessEqual(sampler.held(), MAX_CONN)
        bound = (RSS_BOUND_ASAN_MIB if sanitized(test_serve.ARGS.serve)
                 else RSS_BOUND_MIB)
        self.assertLess(rss_max, bound * 1024)

    def stop_under_load(self, srv, tally, pid, port):
        """SIGTERM while HAMMER_THREADS clients ask and HELD requests wait
        for the rest of their body: every request the server took gets
        its whole reply; connecting is refused from then on; exit 0."""
        questions = sorted(self.expected)
        question = questions[0]
        term = threading.Event()
        busy = collections.Counter()
        lock = threading.Lock()

        def hammer(rng):
            conn, left = None, 0
            while True:
                q = rng.choice(questions)
                try:
                    if conn is None:
                        conn = Conn(port)
                        # a new connection now and then: kept-alive ones
                        # would hold every place, the held requests' too
                        left = rng.choice((1, 2, 5, 20))
                    rep = conn.request("POST", "/v1/ask", ask_body(q), JSON)
                except (OSError, Dropped) as e:
                    if conn is not None:
                        conn.close()
                        conn = None
                    if term.is_set() and not getattr(e, "got", 0):
                        with lock:
                            busy["refused"] += 1
                        return     # refused or never accepted: stopping
                    if tally.unanswered(e, "at SIGTERM", 0):
                        continue
                    return
                check_answer(tally, self.expected, q, rep)
                with lock:
                    busy["answered" if term.is_set() else "before"] += 1
                left -= 1
                if rep.close or not left:
                    conn.close()
                    conn = None

        # one slow client of each kind: the stop waits for none of them
        # past its deadline
        late = Slow(port)
        self.addCleanup(late.stop.set)
        late.start(1)
        threads = [threading.Thread(target=hammer, daemon=True,
                                    args=(random.Random(200 + i),))
                   for i in range(HAMMER_THREADS)]
        for t in threads:
            t.start()
        wait_for("the hammer to get going",
                 lambda: busy["before"] >= 4 * HAMMER_THREADS)
        # requests that have begun (the server asked for their body) and
        # wait for it
        body = ask_body(question)
        held = [Conn(port) for _ in range(HELD)]
        for conn in held:
            conn.send(("POST /v1/ask HTTP/1.1\r\nHost: t\r\n%s"
                       "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                       % (JSON, len(body))).encode())
        for conn in held:
            self.assertEqual(conn.head()[0], 100)
            conn.send(body[:5])

        t_term = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        term.set()
        srv.wait_log(r"SIGTERM: stopping")
        # New connections are refused at once, while the held requests
        # keep the server draining (not only once it has exited).  The
        # failures here are the tally's, so that LOAD: is printed.
        refused_after = -1.0
        while refused_after < 0 and time.monotonic() - t_term < WAIT:
            try:
                socket.create_connection(("127.0.0.1", port),
                                         timeout=WAIT).close()
            except ConnectionRefusedError:
                if exited(pid):
                    break
                refused_after = time.monotonic() - t_term
            time.sleep(0.02)
        if refused_after < 0:
            tally.fail("SIGTERM: new connections were not refused while "
                       "draining (the backlog took them)")
        for conn in held:
            try:
                conn.send(body[5:])
                rep = conn.reply()
            except Dropped as e:
                tally.fail("SIGTERM: a request taken before lost its "
                           "reply: %s" % e)
            else:
                check_answer(tally, self.expected, question, rep)
                if not rep.close:
                    tally.fail("SIGTERM: a reply while stopping keeps its "
                               "connection open")
            conn.close()
        for t in threads:
            t.join(WAIT)
            self.assertFalse(t.is_alive(), "a client hangs at SIGTERM")
        wait_for("msfaq-serve to exit", lambda: exited(pid),
                 DRAIN_SECONDS + SLACK)
        t_exit = time.monotonic() - t_term
        late.finish()
        if late.not_cut:
            tally.fail("SIGTERM: slow clients not cut off: %r"
                       % late.not_cut)
        return {"clients": HAMMER_THREADS + HELD,
                "answered": busy["answered"] + HELD,
                "refused": busy["refused"],
                "refused_after": refused_after,
                "exit": t_exit}


if __name__ == "__main__":
    test_serve.main()   # parses the options, runs this module's tests
