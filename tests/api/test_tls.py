"""The whole system over TLS (docs/tls.md): an emulator of its own started with CHATR_TLS_CERT and
CHATR_TLS_KEY, a CA and a server certificate for 127.0.0.1 made with openssl at run time, and
every client verifying the certificate against that CA: requests with verify=<ca>,
websocket-client with sslopt ca_certs. Sign-in (Secure cookie, HSTS), getToken (a wss:// URL),
the socket with json.webpubsub.azure.v1, a group message between two people through the app's
chat events (the event handler answers through the REST API: the functions reach it over nginx's
internal socket), a REST call with a token; plain http to the port is redirected to https."""
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
import warnings

import pytest
import requests
import websocket

from conftest import Chatr, running
from hubtools import PROTO, jwt


def openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def make_pki(folder):
    """A CA and a server certificate it signed for 127.0.0.1 (and localhost); returns the paths
    (ca, cert, key)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Chatr test CA", cwd=folder)
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
            cwd=folder)
    with open(os.path.join(folder, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=folder)
    return tuple(os.path.join(folder, n) for n in ("ca.pem", "server.pem", "server.key"))


@pytest.fixture(scope="module")
def tls():
    """A running emulator serving https/wss; .ca is the CA file clients verify against."""
    pki = tempfile.mkdtemp(prefix="chatr-tls-")
    os.chmod(pki, 0o755)  # nginx reads the certificate (as root: its master, before it drops)
    ca, cert, key = make_pki(pki)
    c = Chatr()
    c.url = f"https://127.0.0.1:{c.port}"
    c.plain_url = f"http://127.0.0.1:{c.port}"
    c.ca = ca
    c.env.update(CHATR_TLS_CERT=cert, CHATR_TLS_KEY=key)
    c.env.pop("CHATR_PUBLIC_URL", None)
    c.env.pop("CHATR_LISTEN", None)
    try:
        with running(c):
            yield c
    finally:
        shutil.rmtree(pki, ignore_errors=True)


def verified_session(chatr):
    """A requests.Session that verifies against the test CA. trust_env off: requests lets
    REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE from the environment override a session's verify."""
    s = requests.Session()
    s.trust_env = False
    s.verify = chatr.ca
    return s


class Person:
    """A signed-in guest (a requests.Session verifying against the test CA) with the socket
    getToken gives them, as the web app has both."""

    def __init__(self, chatr, name):
        self.chatr = chatr
        self.name = name
        self.session = verified_session(chatr)
        r = self.session.post(chatr.url + "/.auth/login/guest", data={"name": name},
                              allow_redirects=False, timeout=10)
        assert r.status_code == 302, r.text
        self.login = r
        me = self.session.get(chatr.url + "/.auth/me", timeout=10)
        self.uid = me.json()["clientPrincipal"]["userId"]
        r = self.session.get(chatr.url + "/api/getToken", timeout=10)
        assert r.status_code == 200, r.text
        self.token = r.json()
        # Origin as the browser sends it (websocket-client's default is always http://)
        self.ws = websocket.create_connection(self.token["url"], subprotocols=[PROTO], timeout=10,
                                              sslopt={"ca_certs": chatr.ca}, origin=chatr.url)
        first = self.recv()
        assert first["type"] == "system" and first["event"] == "connected", first
        assert first["userId"] == self.uid

    def recv(self, timeout=10):
        self.ws.settimeout(timeout)
        return json.loads(self.ws.recv())

    def request(self, obj):
        """Sends a frame with an ackId; returns the ack (frames before it are dropped)."""
        obj = dict(obj, ackId=uuid.uuid4().int & 0xFFFFFF)
        self.ws.send(json.dumps(obj))
        while True:
            m = self.recv()
            if m.get("type") == "ack" and m.get("ackId") == obj["ackId"]:
                return m

    def event(self, name, data, data_type="json"):
        return self.request({"type": "event", "event": name, "dataType": data_type, "data": data})

    def group_message(self, group, timeout=10):
        while True:
            m = self.recv(timeout)
            if m.get("type") == "message" and m.get("from") == "group" and m.get("group") == group:
                return m

    def close(self):
        self.ws.close()


def set_cookies(response):
    return response.raw.headers.getlist("Set-Cookie")


def test_status_prints_an_https_endpoint(tls):
    out = tls.emulator("status").stdout
    assert f"connection string: Endpoint=https://127.0.0.1:{tls.port};AccessKey=" in out, out
    assert f"url: https://127.0.0.1:{tls.port}" in out


def test_sign_in_tokens_socket_group_message_and_rest_all_verified(tls):
    alice, bob = Person(tls, "Alice"), Person(tls, "Bob")
    try:
        # The session cookie is Secure (and still HttpOnly), on every Set-Cookie of sign-in.
        cookies = set_cookies(alice.login)
        assert cookies and all("; Secure" in c and "HttpOnly" in c for c in cookies), cookies
        assert alice.login.headers["Strict-Transport-Security"].startswith("max-age=")
        # getToken's URL is the public one, as wss://
        assert alice.token["baseUrl"] == f"wss://127.0.0.1:{tls.port}/client/hubs/chat"
        assert alice.token["url"].startswith("wss://")
        # A chat through the app's events: eventHandler answers through the hub's REST API.
        cid = str(uuid.uuid4())
        assert alice.event("createChat", {"name": "Secure", "id": cid})["success"]
        assert alice.event("joinChat", cid, "text")["success"]
        assert bob.event("joinChat", cid, "text")["success"]
        ack = alice.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                             "data": {"message": "over tls", "fromUserId": alice.uid,
                                      "fromUserName": "Alice"}})
        assert ack["success"], ack
        while True:
            got = bob.group_message(cid)
            if isinstance(got["data"], dict) and got["data"].get("message") == "over tls":
                break
        assert got["fromUserId"] == alice.uid
        # A REST call with a token, to the public https URL (aud = that URL).
        url = f"{tls.url}/api/hubs/chat/groups/{cid}/:send?api-version=2024-01-01"
        now = int(time.time())
        bearer = jwt(tls.access_key, {"iat": now, "exp": now + 300, "aud": url})
        r = verified_session(tls).post(url, data="from rest", timeout=10, headers={
            "Authorization": "Bearer " + bearer, "Content-Type": "text/plain"})
        assert r.status_code == 202, r.text
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        while True:
            got = bob.group_message(cid)
            if got["data"] == "from rest":
                break
        # The API answers carry HSTS too (nginx's own answers and the functions').
        r = alice.session.get(tls.url + "/api/chats", timeout=10)
        assert r.status_code == 200 and "Strict-Transport-Security" in r.headers
        # Signing out clears the cookie, Secure again.
        r = alice.session.get(tls.url + "/.auth/logout", allow_redirects=False, timeout=10)
        cookies = set_cookies(r)
        assert cookies and all("; Secure" in c for c in cookies), cookies
    finally:
        alice.close()
        bob.close()


def test_certificate_is_really_checked(tls):
    """The clients above verify: without our CA the same requests fail."""
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls.url + "/.auth/me", timeout=10)  # the system's CAs only
    with pytest.raises(ssl.SSLError):
        websocket.create_connection(f"wss://127.0.0.1:{tls.port}/client/hubs/chat", timeout=10)


def test_plain_http_to_the_tls_port_is_redirected_to_https(tls):
    r = verified_session(tls).get(tls.plain_url + "/api/users?x=1", allow_redirects=False, timeout=10)
    assert r.status_code == 301
    assert r.headers["Location"] == f"{tls.url}/api/users?x=1"


def test_browser_origin_is_the_https_one(tls):
    """The hub's allowed origins come from CHATR_PUBLIC_URL: https://..., not http://."""
    s = verified_session(tls)
    s.post(tls.url + "/.auth/login/guest", data={"name": "Eve"}, allow_redirects=False, timeout=10)
    url = s.get(tls.url + "/api/getToken", timeout=10).json()["url"]
    ok = websocket.create_connection(url, subprotocols=[PROTO], timeout=10,
                                     sslopt={"ca_certs": tls.ca}, origin=tls.url)
    ok.close()
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(url, subprotocols=[PROTO], timeout=10,
                                    sslopt={"ca_certs": tls.ca}, origin=tls.plain_url)
    assert e.value.status_code == 403


def tls_socket(chatr, alpn=None, version=None):
    ctx = ssl.create_default_context(cafile=chatr.ca)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if version:
        # security level 0: this client can speak TLSv1.1 (with SHA-1), so only the server
        # can refuse it
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1_1
            ctx.minimum_version = ctx.maximum_version = version
    raw = socket.create_connection(("127.0.0.1", chatr.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def test_http2_for_files_and_http11_websocket_on_the_same_port(tls):
    """A browser gets HTTP/2 for the page (ALPN h2) and opens its WebSocket on a connection of
    its own asking for http/1.1 (nginx has no WebSocket over HTTP/2): both work on one port."""
    with tls_socket(tls, ["h2", "http/1.1"]) as s:
        assert s.selected_alpn_protocol() == "h2"
    sess = verified_session(tls)
    sess.post(tls.url + "/.auth/login/guest", data={"name": "Hal"}, allow_redirects=False, timeout=10)
    token = sess.get(tls.url + "/api/getToken", timeout=10).json()["token"]
    with tls_socket(tls, ["http/1.1"]) as s:
        assert s.selected_alpn_protocol() == "http/1.1"
        s.sendall((f"GET /client/hubs/chat?access_token={token} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{tls.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Protocol: {PROTO}\r\nOrigin: {tls.url}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, head
            head += chunk
        status, _, rest = head.decode("latin-1").partition("\r\n")
        assert status.startswith("HTTP/1.1 101"), head
        assert f"sec-websocket-protocol: {PROTO}" in rest.lower()


def test_only_tls12_and_newer(tls):
    with tls_socket(tls, version=ssl.TLSVersion.TLSv1_2) as s:
        assert s.version() == "TLSv1.2"
    with tls_socket(tls, version=ssl.TLSVersion.TLSv1_3) as s:
        assert s.version() == "TLSv1.3"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError, match="(?i)protocol version|no protocols"):
        with tls_socket(tls, version=old):
            pass


def test_settings_are_checked(tmp_path):
    """A public URL must be an origin; a certificate needs its key; https means an https
    public URL. Checked before anything starts (status reads the settings too)."""
    c = Chatr()
    c.state = str(tmp_path / "state")
    base = dict(c.env, CHATR_STATE_DIR=c.state)
    for extra, words in (({"CHATR_PUBLIC_URL": "https://chat.example.com/"}, "CHATR_PUBLIC_URL"),
                         ({"CHATR_PUBLIC_URL": "https://chat.example.com/app"}, "CHATR_PUBLIC_URL"),
                         ({"CHATR_TLS_CERT": "/etc/hostname"}, "CHATR_TLS_KEY"),
                         ({"CHATR_LISTEN": "localhost"}, "CHATR_LISTEN"),
                         ({"CHATR_TLS_CERT": "/etc/hostname", "CHATR_TLS_KEY": "/etc/hostname",
                           "CHATR_PUBLIC_URL": "http://chat.example.com"}, "is http")):
        env = dict(base, **extra)
        r = subprocess.run([os.path.join(os.path.dirname(__file__), "..", "..", "infra", "emulator"),
                            "status"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and words in r.stderr, (extra, r.stdout, r.stderr)
    # Behind a proxy: what browsers see is the connection string's Endpoint.
    env = dict(base, CHATR_PUBLIC_URL="https://chat.example.com")
    r = subprocess.run([os.path.join(os.path.dirname(__file__), "..", "..", "infra", "emulator"),
                        "status"], env=env, capture_output=True, text=True, timeout=60)
    assert "connection string: Endpoint=https://chat.example.com;AccessKey=" in r.stdout, r.stdout


@pytest.fixture(scope="module")
def proxied():
    """An emulator behind an (imagined) TLS proxy: nginx plain http on loopback, browsers at
    CHATR_PUBLIC_URL=https://chat.example.test, a name that does not even resolve here. The test
    plays the proxy: it talks to the port and forwards the public Host."""
    c = Chatr()
    c.public = "https://chat.example.test"
    c.env.update(CHATR_PUBLIC_URL=c.public)
    for k in ("CHATR_TLS_CERT", "CHATR_TLS_KEY", "CHATR_LISTEN"):
        c.env.pop(k, None)
    with running(c):
        yield c


def test_behind_a_tls_proxy_the_public_url_is_what_clients_get(proxied):
    via = {"Host": "chat.example.test", "X-Forwarded-Proto": "https"}
    r = requests.post(proxied.url + "/.auth/login/guest", data={"name": "Ivy"}, headers=via,
                      allow_redirects=False, timeout=10)
    assert r.status_code == 302
    cookies = set_cookies(r)
    assert cookies and all("; Secure" in c for c in cookies), cookies
    # (requests keeps a Secure cookie off plain http: the proxy would send it, so do we)
    cookie = {"Cookie": cookies[0].split(";", 1)[0]}
    r = requests.get(proxied.url + "/api/getToken", headers={**via, **cookie}, timeout=10)
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["baseUrl"] == "wss://chat.example.test/client/hubs/chat"
    out = proxied.emulator("status").stdout
    assert "connection string: Endpoint=https://chat.example.test;AccessKey=" in out
    # The browser's origin is the public one; the socket, through the "proxy", is accepted.
    ws = websocket.create_connection(f"ws://127.0.0.1:{proxied.port}/client/hubs/chat?access_token="
                                     + token["token"], subprotocols=[PROTO], timeout=10,
                                     origin=proxied.public, host="chat.example.test")
    try:
        ws.settimeout(10)
        assert json.loads(ws.recv())["event"] == "connected"
        # Chat events: the event handler calls the REST API at an Endpoint that does not
        # resolve here; it reaches the hub on nginx's internal socket instead.
        cid = str(uuid.uuid4())
        ack_id = 41
        ws.send(json.dumps({"type": "event", "event": "createChat", "dataType": "json",
                            "data": {"name": "Proxied", "id": cid}, "ackId": ack_id}))
        while True:
            m = json.loads(ws.recv())
            if m.get("type") == "ack" and m.get("ackId") == ack_id:
                break
        assert m["success"], m
        ws.send(json.dumps({"type": "event", "event": "joinChat", "dataType": "text",
                            "data": cid, "ackId": ack_id + 1}))
        while True:
            m = json.loads(ws.recv())
            if m.get("type") == "ack" and m.get("ackId") == ack_id + 1:
                break
        assert m["success"], m
    finally:
        ws.close()


BROWSER = r"""
const pw = require(process.env.PLAYWRIGHT);
(async () => {
  const browser = await pw.chromium.launch({executablePath: process.env.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run',
           // trust exactly our server's key (the test CA is not in Chromium's store)
           '--ignore-certificate-errors-spki-list=' + process.env.SPKI]});
  try {
    const page = await (await browser.newContext()).newPage();
    const resp = await page.goto(process.env.PAGE);
    const hsts = (await resp.allHeaders())['strict-transport-security'] || null;
    const got = await page.evaluate(([url, proto]) => new Promise((resolve) => {
      const nav = performance.getEntriesByType('navigation')[0].nextHopProtocol;
      const ws = new WebSocket(url, proto);
      const t = setTimeout(() => resolve({error: 'timeout'}), 10000);
      ws.onmessage = (e) => { clearTimeout(t); resolve({nav, protocol: ws.protocol, first: JSON.parse(e.data)}); ws.close(); };
      ws.onerror = () => { clearTimeout(t); resolve({error: 'websocket error (handshake refused?)'}); };
    }), [process.env.WS_URL, process.env.PROTO]);
    got.hsts = hsts;
    console.log(JSON.stringify(got));
  } finally {
    await browser.close();
  }
})().catch((e) => { console.log(JSON.stringify({error: String(e)})); process.exit(1); });
"""


def test_chromium_gets_the_page_over_http2_and_its_websocket_on_the_same_port(tls, tmp_path):
    """A real browser: the page over HTTP/2, then `new WebSocket('wss://...')` from it (Chromium
    opens it on an HTTP/1.1 connection of its own) gets the `connected` frame."""
    from test_hub_browser import CHROMIUM, PLAYWRIGHT
    from hubtools import client_token
    if not os.path.exists(CHROMIUM):
        pytest.skip("/usr/bin/chromium is not installed (make deps)")
    node = shutil.which("node")
    assert node and os.path.isdir(PLAYWRIGHT), "node and frontend/node_modules/playwright-core (make deps)"
    cert = tls.env["CHATR_TLS_CERT"]
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], capture_output=True, check=True)
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub.stdout,
                         capture_output=True, check=True)
    spki = subprocess.run(["openssl", "base64", "-A"], capture_output=True, check=True, input=subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary"], input=der.stdout, capture_output=True, check=True).stdout)
    ws_url = f"wss://127.0.0.1:{tls.port}/client/hubs/chat?access_token=" + client_token(tls, user="u-tls")
    script = tmp_path / "tls.js"
    script.write_text(BROWSER)
    env = dict(os.environ, PLAYWRIGHT=PLAYWRIGHT, CHROMIUM=CHROMIUM, PAGE=tls.url + "/login.html",
               WS_URL=ws_url, PROTO=PROTO, HOME=str(tmp_path), SPKI=spki.stdout.decode().strip())
    r = subprocess.run([node, str(script)], env=env, capture_output=True, text=True, timeout=90)
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert "error" not in got, (got, r.stderr[-2000:])
    assert got["nav"] == "h2", got
    assert got["hsts"] and got["hsts"].startswith("max-age="), got
    assert got["protocol"] == PROTO
    assert got["first"]["type"] == "system" and got["first"]["event"] == "connected"
    assert got["first"]["userId"] == "u-tls"
