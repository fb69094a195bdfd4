"""Helpers for the hub tests: tokens minted like the SDK does (stdlib only), WebSocket clients,
and a tiny upstream event handler (the webhook receiver of hub `testhub`)."""
import base64
import hashlib
import hmac
import json
import os
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websocket

PROTO = "json.webpubsub.azure.v1"
RELIABLE = "json.reliable.webpubsub.azure.v1"
TEST_HUB = "testhub"  # the hub whose event handler is UPSTREAM (gateway/hubs.json)


def short_retention(ms):
    """Asks the session's emulator, which starts after collection, to keep a dropped reliable
    connection for ms (CHATR_RELIABLE_RETENTION_MS; one set outside the tests wins), so that
    expiry is quick to see. Returns the retention in seconds."""
    os.environ.setdefault("CHATR_RELIABLE_RETENTION_MS", str(ms))
    return int(os.environ["CHATR_RELIABLE_RETENTION_MS"]) / 1000


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(key, claims):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(sig)}"


def client_token(chatr, hub="chat", user=None, roles=None, groups=None, exp=3600, aud=None, **extra):
    now = int(time.time())
    claims = {"iat": now, "exp": now + exp, "aud": aud or f"{chatr.url}/client/hubs/{hub}"}
    if roles is not None:
        claims["role"] = roles
    if groups is not None:
        claims["webpubsub.group"] = groups
    if user is not None:
        claims["sub"] = user
    claims.update(extra)
    return jwt(chatr.access_key, claims)


def rest_token(chatr, url):
    now = int(time.time())
    return jwt(chatr.access_key, {"iat": now, "exp": now + 3600, "aud": url})


def rest(chatr, method, path, body=None, ctype=None, token=True, params=None):
    """A REST call signed like @azure/web-pubsub (aud = the full URL)."""
    import requests
    url = chatr.url + path
    req = requests.Request(method, url, params=params, data=body)
    prepared = req.prepare()
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + rest_token(chatr, prepared.url)
    if ctype:
        headers["Content-Type"] = ctype
    prepared.headers.update(headers)
    with requests.Session() as s:
        return s.send(prepared, timeout=30)


class Client:
    """One WebSocket client of a hub."""

    def __init__(self, chatr, hub="chat", user="alice", roles=None, groups=None, protocol=PROTO,
                 token=None, headers=None, expect_connected=True, origin=None):
        if token is None:
            token = client_token(chatr, hub, user, roles, groups)
        url = chatr.url.replace("http", "ws", 1) + f"/client/hubs/{hub}?access_token={token}"
        kw = {"subprotocols": [protocol]} if protocol else {}
        if origin:  # a browser of the public site on a node reached directly (test_scaleout.py)
            kw["origin"] = origin
        self.ws = websocket.create_connection(url, timeout=10, header=headers or [], **kw)
        self.conn_id = None
        self.user = user
        if protocol and expect_connected:
            first = self.recv()
            assert first["type"] == "system" and first["event"] == "connected", first
            self.conn_id = first["connectionId"]
            self.connected = first

    def send(self, obj):
        self.ws.send(json.dumps(obj) if not isinstance(obj, (str, bytes)) else obj)

    def recv(self, timeout=10):
        self.ws.settimeout(timeout)
        return json.loads(self.ws.recv())

    def recv_raw(self, timeout=10):
        self.ws.settimeout(timeout)
        return self.ws.recv_data()

    def nothing(self, wait=0.5):
        """Asserts that no frame arrives within wait seconds."""
        self.ws.settimeout(wait)
        try:
            got = self.ws.recv()
        except websocket.WebSocketTimeoutException:
            return True
        raise AssertionError(f"unexpected frame {got!r}")

    def request(self, obj):
        """Sends a frame with an ackId and returns (frames before the ack, the ack)."""
        self.send(obj)
        before = []
        while True:
            m = self.recv()
            if m.get("type") == "ack" and m.get("ackId") == obj.get("ackId"):
                return before, m
            before.append(m)

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


def metric(chatr, series):
    """The value of one series of /.chatr/metrics (its name and labels, exactly as exposed), 0
    while it has not been counted yet."""
    r = chatr.get("/.chatr/metrics")
    assert r.status_code == 200
    for line in r.text.splitlines():
        if line.startswith(series + " "):
            return int(float(line.split()[-1]))
    return 0


class Upstream:
    """A real HTTP event handler: records every request, answers per event with a rule."""

    def __init__(self):
        self.requests = queue.Queue()
        self.rules = {}  # event name -> (status, headers, body)
        upstream = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_OPTIONS(self):
                upstream.requests.put(("OPTIONS", self.path, dict(self.headers), b""))
                self._answer(200, {"WebHook-Allowed-Origin": "*"}, b"")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                event = self.headers.get("ce-eventName", "")
                upstream.requests.put(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                rule = upstream.rules.get(event, (200, {}, b""))
                status, headers, rbody = rule(self.headers, body) if callable(rule) else rule
                self._answer(status, headers, rbody)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/upstream/{{event}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, name, conn_id=None, count=1, timeout=10):
        """Waits for count POSTs of event name (for conn_id when given); returns them."""
        got, deadline, skipped = [], time.time() + timeout, []
        while len(got) < count and time.time() < deadline:
            try:
                item = self.requests.get(timeout=max(0.01, deadline - time.time()))
            except queue.Empty:
                break
            method, path, headers, body = item
            if method == "POST" and headers.get("ce-eventname") == name and \
                    (conn_id is None or headers.get("ce-connectionid") == conn_id):
                got.append((path, headers, body))
            else:
                skipped.append(item)
        for item in skipped:
            self.requests.put(item)
        return got


# Started at import, before the session's emulator starts, so that hub `testhub` (gateway/hubs.json:
# urlTemplate ${CHATR_TESTHUB_URL}) points at it.
UPSTREAM = Upstream()
os.environ["CHATR_TESTHUB_URL"] = UPSTREAM.url
