#!/usr/bin/env python3
"""A local HTTP server that records requests and plays scripted replies.

Used by the poster tests in place of Slack, Discord, Mattermost or a JSON
webhook.  Standard library only; binds 127.0.0.1 on an ephemeral port.

Every request is appended to the log (JSON lines) as soon as its body has
been read, before any reply, so a request is recorded even when the reply
is a time-out or a dropped connection:

    {"n": 1, "t": 12.345, "method": "POST", "path": "/hook?wait=true",
     "peer": 40312, "headers": {"content-type": "...", ...}, "body": "..."}

("t" is time.monotonic(); "peer" the client's port, the same for requests
on one kept-alive connection; header names are lower-cased.)

The script is a JSON list of replies, used in order; the last one repeats
once the list is used up.  A reply is an object:

    {"status": 200, "body": "ok" | {...json...}, "headers": {...},
     "delay": 3.0,          # seconds to wait before replying
     "close": true,         # drop the connection without replying
     "echo": true}          # body = the request's path, authorization
                            # header, then all headers and the body (a
                            # server that repeats what it was sent)

As a program:
    capture_server.py --log FILE --port-file FILE [--script JSON]
                      [--lifetime SECONDS] [--tls-cert PEM --tls-key PEM]
writes the port to --port-file once listening (atomically) and serves
until SIGTERM or --lifetime (default 300 s, so a forgotten server dies).
As a module: start(script, log_path) -> (server, port); server.shutdown().
"""
import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as libcurl expects

    def log_message(self, fmt, *args):  # quiet: the log file is the record
        pass

    def _serve(self):
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            srv.count += 1
            n = srv.count
            idx = min(n - 1, len(srv.script) - 1)
            reply = srv.script[idx] if srv.script else {"status": 200,
                                                       "body": "ok"}
            rec = {"n": n, "t": time.monotonic(), "method": self.command,
                   "path": self.path, "peer": self.client_address[1],
                   "headers": {k.lower(): v for k, v in self.headers.items()},
                   "body": body.decode("utf-8", "replace")}
            with open(srv.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")
        if reply.get("delay"):
            time.sleep(float(reply["delay"]))
        if reply.get("close"):
            self.close_connection = True
            return
        out = reply.get("body", "")
        ctype = "text/plain"
        if reply.get("echo"):
            out = {"path": rec["path"],
                   "authorization": rec["headers"].get("authorization"),
                   "headers": rec["headers"], "body": rec["body"]}
        if not isinstance(out, str):
            out = json.dumps(out)
            ctype = "application/json"
        data = out.encode("utf-8")
        status = int(reply.get("status", 200))
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in (reply.get("headers") or {}).items():
                self.send_header(k, str(v))
            if status in (204, 304) or 100 <= status < 200:
                data = b""
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True   # the client gave up (time-out)

    do_POST = _serve
    do_PUT = _serve
    do_GET = _serve


class CaptureServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script, log_path):
        super().__init__(("127.0.0.1", 0), Handler)
        self.script = list(script)
        self.log_path = log_path
        self.lock = threading.Lock()
        self.count = 0


def start(script, log_path):
    """Starts a server in a thread; returns (server, port)."""
    srv = CaptureServer(script, log_path)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, srv.server_address[1]


def read_log(log_path):
    """The recorded requests, in order."""
    try:
        with open(log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--script", default="[]",
                    help="JSON list of replies, or @FILE")
    ap.add_argument("--lifetime", type=float, default=300.0)
    ap.add_argument("--tls-cert", help="serve https with this certificate")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    text = a.script
    if text.startswith("@"):
        with open(text[1:], encoding="utf-8") as f:
            text = f.read()
    srv = CaptureServer(json.loads(text), a.log)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        # a client that refuses the certificate fails the handshake in
        # accept(); socketserver drops that connection (an OSError)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, a.port_file)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(a.lifetime, stop)
    timer.daemon = True
    timer.start()

    def orphan_watch(parent=os.getppid()):
        # a test that died without stopping us: stop too
        while os.getppid() == parent:
            time.sleep(0.5)
        stop()
    threading.Thread(target=orphan_watch, daemon=True).start()
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
