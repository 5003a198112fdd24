"""A fault-injecting HTTP reverse proxy for the delivery tests.

    proxy = FaultProxy("http://127.0.0.1:8008").start()
    proxy.add(Rule("PUT", r"/send/m\\.room\\.message/", HOLD, times=1))
    ... point the program under test at proxy.url ...
    proxy.wait_held("the reply to be held")
    ... SIGKILL the program ...
    proxy.reset()                      # everything passes again
    proxy.close()

It sits between a program and the server it posts to (msfaq-matrix-bot
or msfaq serve's application service and Synapse in tests/matrix,
msfaq serve and a stand-in for Slack's Web API in tests/serve), on
127.0.0.1, and decides per request by rules matched on the method and a
regular expression searched in the path (the query included).  The first rule that applies wins; a request
no rule applies to is passed on.  What a rule can do:

    PASS           forward the request, return the server's response
    HOLD           keep the request without forwarding it, until
                   release() (then it is forwarded) or until the client
                   goes away (then it never is: the server never sees
                   it, as when a program dies before its request left)
    FAIL           answer status without forwarding (status None: close
                   the connection without any response)
    FORWARD_HOLD   forward it, read the server's whole response, then
                   keep that response until release() or until the
                   client goes away (the server did the work; the
                   client never learnt it)
    FORWARD_FAIL   forward it, then answer status (None: close) instead
                   of the server's response

A rule applies to matches number skip + 1 to skip + times (times None:
all the rest), so "hold the second reply" is skip=1, times=1.

Every request is recorded (Seen: method, path, the rule's action, what
became of it, the body), in order, for the test to count attempts,
compare transaction ids or wait for a request to be held; with the
number of the client connection it came on and its place there (a
client may re-send on a new connection what a reused one lost).  The
Authorization header is forwarded but never recorded, and an
access_token in a query is recorded as "[redacted]".

Only what a proxy between two local programs needs: HTTP/1.1 with
keep-alive on the client side, one new upstream connection per request
(so a long poll and a held request never block each other), request
bodies with Content-Length or chunked, no TLS.  Standard library only.
"""
import http.client
import http.server
import re
import select
import socket
import threading
import time
import urllib.parse

PASS = "pass"
HOLD = "hold"
FAIL = "fail"
FORWARD_HOLD = "forward-hold"
FORWARD_FAIL = "forward-fail"
ACTIONS = (PASS, HOLD, FAIL, FORWARD_HOLD, FORWARD_FAIL)

# longer than any long poll a client under test makes through us
UPSTREAM_TIMEOUT = 120
# how often a held request checks whether its client went away
POLL_S = 0.05
# a Matrix-style error, which the clients under test parse
INJECTED = b'{"errcode":"M_UNKNOWN","error":"injected by fault_proxy"}'
UNREACHABLE = (b'{"errcode":"M_UNKNOWN","error":"fault_proxy: the '
               b'upstream server is unreachable"}')

# not forwarded either way (RFC 9110 7.6.1), plus what we recompute
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection",
              "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "host",
              "content-length", "expect"}


class Rule:
    def __init__(self, method, pattern, action, status=503, times=None,
                 skip=0, body=None):
        if action not in ACTIONS:
            raise ValueError("unknown action %r" % action)
        self.method = method          # None: any method
        self.pattern = re.compile(pattern)
        self.action = action
        self.status = status          # FAIL / FORWARD_FAIL; None: close
        self.times = times
        self.skip = skip
        self.body = INJECTED if body is None else body
        self.matched = 0

    def matches(self, method, path):
        return ((self.method is None or self.method == method) and
                self.pattern.search(path) is not None)

    def take(self):
        """Counts one more match; True when the rule applies to it."""
        self.matched += 1
        n = self.matched - self.skip
        return n >= 1 and (self.times is None or n <= self.times)


class Seen:
    """One request as the proxy saw it.  state moves from "new" to
    "holding" / "holding response" to the outcome: "passed",
    "released", "failed 503", "closed", "client gone" (never
    forwarded), "client gone after forwarding", "upstream error"."""

    def __init__(self, n, method, path, body, conn, on_conn):
        self.n = n
        self.conn = conn              # the client connection's number
        self.on_conn = on_conn        # 1 for its first request, ...
        self.method = method
        self.path = path
        self.body = body
        self.action = PASS
        self.state = "new"
        self.status = None            # what the client was sent
        self.upstream_status = None   # what the server answered
        self.response = None          # and its body
        self.forwarded = False
        self.time = time.monotonic()

    @property
    def held(self):
        return self.state in ("holding", "holding response")

    def __repr__(self):
        return "#%d (conn %d.%d) %s %s [%s] %s%s" % (
            self.n, self.conn, self.on_conn, self.method, self.path,
            self.action, self.state,
            "" if self.status is None else " (%d)" % self.status)


def redact(path):
    """path with any access_token query value replaced."""
    return re.sub(r"(access_token=)[^&]*", r"\1[redacted]", path)


class FaultProxy:
    def __init__(self, upstream, log=None):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http":
            raise ValueError("fault_proxy forwards to http:// only")
        self.upstream_host = u.hostname
        self.upstream_port = u.port or 80
        self.log_path = log
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.rules = []
        self.seen = []
        self.generation = 0           # bumped by release() and reset()
        self.closing = False
        self.conns = set()
        self.n_conns = 0
        self.server = None
        self.url = None

    # ------------------------------------------------------------ life

    def start(self):
        proxy = self

        class Handler(_Handler):
            pass
        Handler.proxy = proxy

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.proxy = self
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         name="fault-proxy", daemon=True).start()
        return self

    def close(self):
        """Stops listening, lets held requests go (without forwarding
        them) and closes every client connection."""
        if not self.server:
            return
        with self.lock:
            self.closing = True
            self.changed.notify_all()
            conns = list(self.conns)
        self.server.shutdown()
        self.server.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server = None

    # ----------------------------------------------------------- rules

    def add(self, *rules):
        with self.lock:
            self.rules.extend(rules)
        return rules[0] if len(rules) == 1 else rules

    def reset(self):
        """No rules any more (everything passes); held requests are
        released."""
        with self.lock:
            self.rules = []
            self.generation += 1
            self.changed.notify_all()

    def release(self):
        """Lets every request held now go on: a held request is
        forwarded, a held response is sent (to clients still there)."""
        with self.lock:
            self.generation += 1
            self.changed.notify_all()

    def _decide(self, method, path):
        with self.lock:
            for r in self.rules:
                if r.matches(method, path) and r.take():
                    return r
        return None

    # --------------------------------------------------------- records

    def requests(self, method=None, pattern=None):
        """The records of what was seen, oldest first, filtered."""
        rx = re.compile(pattern) if pattern else None
        with self.lock:
            return [s for s in self.seen
                    if (method is None or s.method == method) and
                    (rx is None or rx.search(s.path))]

    def wait_for(self, what, predicate, deadline=30.0):
        """Waits until predicate() is true; returns its value.  Raises
        AssertionError naming what, with the requests seen, after
        deadline seconds."""
        end = time.monotonic() + deadline
        while True:
            v = predicate()
            if v:
                return v
            left = end - time.monotonic()
            if left <= 0:
                with self.lock:
                    tail = "\n".join("  %r" % s for s in self.seen[-15:])
                raise AssertionError(
                    "timed out after %.0f s waiting for %s; the proxy "
                    "saw (last 15):\n%s" % (deadline, what, tail))
            # woken by any change; the time-out covers a change made
            # between predicate() and wait()
            with self.changed:
                self.changed.wait(min(left, 0.1))

    def wait_held(self, what, pattern=None, deadline=30.0):
        """The first request (matching pattern) being held, once one
        is."""
        return self.wait_for(what, lambda: [
            s for s in self.requests(pattern=pattern) if s.held],
            deadline)[0]

    def _note(self, seen, **changes):
        with self.lock:
            for k, v in changes.items():
                setattr(seen, k, v)
            self.changed.notify_all()
        if self.log_path and "state" in changes:
            with open(self.log_path, "a") as f:
                f.write("%.3f %r\n" % (time.monotonic(), seen))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass    # a client killed mid-request is what these tests do


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, as libcurl expects
    proxy = None                      # set by FaultProxy.start()

    def log_message(self, fmt, *args):
        pass    # the proxy's own record is FaultProxy.seen

    def setup(self):
        super().setup()
        with self.proxy.lock:
            self.proxy.conns.add(self.connection)
            self.proxy.n_conns += 1
            self.conn_number = self.proxy.n_conns
        self.conn_requests = 0

    def finish(self):
        with self.proxy.lock:
            self.proxy.conns.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    # -------------------------------------------------------- reading

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    # trailers, up to the blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n",
                                                        b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _client_gone(self):
        """True when the client closed its end (or it broke).  Data
        waiting to be read is a live client, not a closed one."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _hold(self, seen, state):
        """Waits until release(), the client going away or the proxy
        closing.  Returns "released", "gone" or "closing"."""
        p = self.proxy
        p._note(seen, state=state)
        with p.lock:
            gen = p.generation
        while True:
            with p.lock:
                if p.closing:
                    return "closing"
                if p.generation != gen:
                    return "released"
                p.changed.wait(POLL_S)
            if self._client_gone():
                return "gone"

    # ----------------------------------------------------- answering

    def _send(self, seen, status, headers, body, outcome):
        try:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.proxy._note(seen, state=outcome, status=status)
        except OSError:
            self.close_connection = True
            self.proxy._note(seen, state="client gone after forwarding"
                             if seen.forwarded else "client gone")

    def _fail(self, seen, status, body, outcome=None):
        """Answers status with body (a JSON error), or closes the
        connection without any response when status is None."""
        if status is None:
            return self._close(seen, "closed")
        self._send(seen, status, [("Content-Type", "application/json")],
                   body, outcome or "failed %d" % status)

    def _close(self, seen, outcome):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.proxy._note(seen, state=outcome)

    def _forward(self, seen, body):
        """The server's (status, headers, body), or None when it could
        not be reached."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(
            self.proxy.upstream_host, self.proxy.upstream_port,
            timeout=UPSTREAM_TIMEOUT)
        try:
            conn.request(self.command, self.path,
                         body=body if body or self.command in
                         ("POST", "PUT") else None, headers=headers)
            r = conn.getresponse()
            data = r.read()
            out = [(k, v) for k, v in r.getheaders()
                   if k.lower() not in HOP_BY_HOP]
            self.proxy._note(seen, forwarded=True,
                             upstream_status=r.status, response=data)
            return r.status, out, data
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def _handle(self):
        p = self.proxy
        body = self._read_body()
        self.conn_requests += 1
        with p.lock:
            seen = Seen(len(p.seen) + 1, self.command, redact(self.path),
                        body, self.conn_number, self.conn_requests)
            p.seen.append(seen)
        rule = p._decide(self.command, self.path)
        action = rule.action if rule else PASS
        p._note(seen, action=action)
        if action == FAIL:
            return self._fail(seen, rule.status, rule.body)
        if action == HOLD:
            how = self._hold(seen, "holding")
            if how != "released":
                # never forwarded: the server must not see it
                return self._close(seen, "client gone" if how == "gone"
                                   else "closed")
        got = self._forward(seen, body)
        if got is None:
            return self._fail(seen, 502, UNREACHABLE, "upstream error")
        status, headers, data = got
        if action == FORWARD_FAIL:
            return self._fail(seen, rule.status, rule.body)
        if action == FORWARD_HOLD:
            how = self._hold(seen, "holding response")
            if how != "released":
                return self._close(seen, "client gone after forwarding"
                                   if how == "gone" else "closed")
        self._send(seen, status, headers, data,
                   "released" if action in (HOLD, FORWARD_HOLD)
                   else "passed")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle
