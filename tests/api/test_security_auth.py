"""Issue 11, sign-in and logout (docs/sign-in.md): throttling per real client and per account
with backoff (429 + Retry-After) instead of lockouts an attacker can trigger, registration and
guest floods, mock identities kept in their own namespace, and logout revoking the session's hub
tokens and closing the sockets they opened.

Clients are told apart by X-Forwarded-For, which the emulator of this module believes because it
runs with CHATR_TRUSTED_PROXIES=127.0.0.1 (the test plays the proxy)."""
import base64
import hashlib
import json
import re
import time

import pytest
import requests
import websocket

from conftest import Chatr, running
from hubtools import PROTO, Client, client_token

COOKIE = "StaticWebAppsAuthCookie"


@pytest.fixture(scope="module")
def proxied():
    """An emulator of its own that trusts 127.0.0.1 as a proxy (X-Forwarded-For is the client)."""
    c = Chatr()
    c.env["CHATR_TRUSTED_PROXIES"] = "127.0.0.1"
    c.env.pop("CHATR_GUEST_SIGNINS_PER_MINUTE", None)  # the default limits
    with running(c):
        yield c


@pytest.fixture(autouse=True)
def fresh_limits(request):
    for name in ("chatr", "proxied"):
        if name in request.fixturenames:
            request.getfixturevalue(name).sql("DELETE FROM swa.attempts")
    yield
    for name in ("chatr", "proxied"):  # the shared emulator's next tests start clean too
        if name in request.fixturenames:
            request.getfixturevalue(name).sql("DELETE FROM swa.attempts")


def post(chatr, provider, data, client=None):
    headers = {"X-Forwarded-For": client} if client else {}
    return chatr.post(f"/.auth/login/{provider}", data=data, headers=headers)


def cookie_of(r):
    m = re.search(COOKIE + r"=([^;]*)", r.headers.get("Set-Cookie", ""))
    return m.group(1) if m else None


def principal(chatr, cookie):
    return chatr.get("/.auth/me", cookies={COOKIE: cookie}).json()["clientPrincipal"]


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def assert_throttled(r):
    assert r.status_code == 429, (r.status_code, r.text[:200])
    assert int(r.headers["Retry-After"]) >= 1
    assert COOKIE not in r.headers.get("Set-Cookie", "")


# ---- throttling per client ---------------------------------------------------------------

def test_bad_guest_logins_from_one_client_do_not_lock_out_others(proxied):
    attacker, other = "203.0.113.5", "198.51.100.7"
    answers = [post(proxied, "guest", {"name": ""}, attacker) for _ in range(35)]
    assert [r.status_code for r in answers[:30]] == [400] * 30
    throttled = [r for r in answers[30:] if r.status_code == 429]
    assert throttled, [r.status_code for r in answers]  # the attacker waits ...
    assert_throttled(throttled[0])
    # ... and nobody else does: another client, and the proxy's own address.
    assert post(proxied, "guest", {"name": "Bystander"}, other).status_code == 302
    assert post(proxied, "guest", {"name": "Direct"}).status_code == 302
    # A delay, not a 15-minute lockout: once it has run out, the attacker's address may try again.
    proxied.sql("UPDATE swa.attempts SET blocked_until = now() WHERE key = :'p1'", "client:" + attacker)
    assert post(proxied, "guest", {"name": "Later"}, attacker).status_code == 302


def test_forwarded_for_is_ignored_from_an_untrusted_peer(chatr):
    """The shared emulator trusts no proxy (the default): a client cannot make itself a fresh
    address per request with X-Forwarded-For. (A guard: today's code ignores the header too.)"""
    codes = [post(chatr, "guest", {"name": ""}, f"192.0.2.{i}").status_code for i in range(32)]
    assert codes[:30] == [400] * 30
    assert_throttled(post(chatr, "guest", {"name": "Fresh address?"}, "192.0.2.200"))


def test_wrong_passwords_do_not_lock_the_owner_out(proxied):
    owner, attacker = "198.51.100.20", "203.0.113.20"
    creds = {"username": "victim", "password": "the real one", "action": "register"}
    assert post(proxied, "local", creds, owner).status_code == 302
    creds["action"] = "login"
    answers = [post(proxied, "local", dict(creds, password=f"guess {i}"), attacker) for i in range(30)]
    codes = [r.status_code for r in answers]
    assert codes[:5] == [401] * 5 and set(codes) <= {401, 429}, codes
    assert_throttled(next(r for r in answers if r.status_code == 429))
    # The attacker's client waits even with the right password ...
    assert_throttled(post(proxied, "local", creds, attacker))
    # ... while the owner, at their own address, signs in.
    r = post(proxied, "local", creds, owner)
    assert r.status_code == 302
    assert principal(proxied, cookie_of(r))["userDetails"] == "victim"


def test_account_wide_ceiling_spares_clients_that_have_not_failed(proxied):
    """Many clients guessing one account: past the account's allowance, a client that already
    failed on it AUTH_ACCOUNT_GRACE (3) times waits; the owner, who has not, still signs in."""
    owner, guesser = "198.51.100.30", "203.0.113.30"
    creds = {"username": "popular", "password": "owner's secret", "action": "register"}
    assert post(proxied, "local", creds, owner).status_code == 302
    creds["action"] = "login"
    for i in range(3):
        assert post(proxied, "local", dict(creds, password=f"nope {i}"), guesser).status_code == 401
    # As if a botnet had failed 200 times on the account just now (too slow to do for real here).
    proxied.sql("INSERT INTO swa.attempts (key, window_start, failures, blocked_until) "
                "VALUES ('account:popular', now(), 200, now() + interval '60 seconds') "
                "ON CONFLICT (key) DO UPDATE SET failures = 200, "
                "blocked_until = now() + interval '60 seconds'")
    r = post(proxied, "local", dict(creds, password="nope 3"), guesser)
    assert_throttled(r)
    assert "this account" in r.text
    assert post(proxied, "local", creds, owner).status_code == 302


# ---- floods ------------------------------------------------------------------------------

def test_registration_flood_is_throttled(proxied):
    flooder = "203.0.113.40"
    codes = [post(proxied, "local", {"username": f"bulk{i}", "password": "bulk password",
                                     "action": "register"}, flooder).status_code
             for i in range(25)]
    assert codes[:10] == [302] * 10, codes
    assert 429 in codes, codes
    r = post(proxied, "local", {"username": "bulkmore", "password": "bulk password",
                                "action": "register"}, flooder)
    assert_throttled(r)
    made = int(proxied.sql("SELECT count(*) FROM swa.accounts WHERE username LIKE 'bulk%'")[0][0])
    assert made < 20
    # Somebody else registers all the same.
    assert post(proxied, "local", {"username": "newcomer", "password": "fresh password",
                                   "action": "register"}, "198.51.100.40").status_code == 302


def test_guest_flood_is_throttled(proxied):
    flooder = "203.0.113.50"
    codes = [post(proxied, "guest", {"name": f"g{i}"}, flooder).status_code for i in range(75)]
    assert codes[:60] == [302] * 60, codes  # a browser user never gets near this
    assert 429 in codes[60:], codes
    assert_throttled(post(proxied, "guest", {"name": "more"}, flooder))
    assert post(proxied, "guest", {"name": "someone else"}, "198.51.100.50").status_code == 302


# ---- mock providers ----------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["github", "aad", "twitter"])
def test_mock_sign_in_cannot_become_another_user(chatr, provider):
    r = chatr.post("/.auth/login/local", data={"username": f"owner-{provider}",
                                               "password": "local password", "action": "register"})
    local_id = principal(chatr, cookie_of(r))["userId"]
    guest_id = principal(chatr, cookie_of(chatr.post("/.auth/login/guest", data={"name": "G"})))["userId"]
    other = "aad" if provider != "aad" else "github"
    for target in (local_id, guest_id, f"{other}.someone"):
        r = chatr.post(f"/.auth/login/{provider}", data={"userId": target, "userDetails": "impostor"})
        assert r.status_code == 302
        cookie = cookie_of(r)
        got = principal(chatr, cookie)["userId"]
        assert got == f"{provider}.{target}" and got != target
        token = chatr.get("/api/getToken", cookies={COOKIE: cookie}).json()["token"]
        assert claims(token)["sub"] == got


# ---- logout ------------------------------------------------------------------------------

def local_session(chatr, name):
    r = chatr.post("/.auth/login/local", data={"username": name, "password": "a long password",
                                               "action": "login"})
    if r.status_code != 302:
        r = chatr.post("/.auth/login/local", data={"username": name, "password": "a long password",
                                                   "action": "register"})
    assert r.status_code == 302, r.text
    s = requests.Session()
    s.cookies.set(COOKIE, cookie_of(r))
    s.user_id = principal(chatr, cookie_of(r))["userId"]
    return s


def hub_token(chatr, session):
    r = session.get(chatr.url + "/api/getToken", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def open_socket(chatr, token, user, protocol=PROTO):
    return Client(chatr, user=user, token=token, protocol=protocol)


def handshake_status(chatr, token):
    url = chatr.url.replace("http", "ws", 1) + f"/client/hubs/chat?access_token={token}"
    try:
        ws = websocket.create_connection(url, timeout=10, subprotocols=[PROTO])
    except websocket.WebSocketBadStatusException as e:
        return e.status_code
    ws.close()
    return 101


def closed_within(client, timeout=10):
    """True when the server closes the socket (frames before the close are skipped)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            client.ws.settimeout(max(0.1, deadline - time.time()))
            if client.ws.recv() in ("", b""):
                return True
        except websocket.WebSocketTimeoutException:
            return False
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            return True
    return False


def alive(client):
    client.send({"type": "ping"})
    while True:
        if client.recv(timeout=10).get("type") == "pong":
            return True


def test_tokens_are_bound_to_the_session_by_a_hash(chatr):
    first, second = local_session(chatr, "boundtokens"), local_session(chatr, "boundtokens")
    t1, t2 = hub_token(chatr, first), hub_token(chatr, second)
    cookie = first.cookies[COOKIE]
    sid = claims(t1).get("chatr.sid")
    assert sid and re.fullmatch(r"[0-9a-f]{32}", sid) and sid != claims(t2).get("chatr.sid")
    assert sid == claims(hub_token(chatr, first)).get("chatr.sid")  # per session, not per token
    assert sid not in (cookie, hashlib.sha256(cookie.encode()).hexdigest())  # never the id


def test_logout_revokes_the_sessions_hub_tokens_and_sockets(chatr):
    first, second = local_session(chatr, "twobrowsers"), local_session(chatr, "twobrowsers")
    assert first.user_id == second.user_id  # one user, two sessions (two browsers)
    t1, t2 = hub_token(chatr, first), hub_token(chatr, second)
    w1 = open_socket(chatr, t1, first.user_id)
    w1_simple = open_socket(chatr, t1, first.user_id, protocol=None)
    w2 = open_socket(chatr, t2, second.user_id)
    try:
        r = first.get(chatr.url + "/.auth/logout", allow_redirects=False, timeout=10)
        assert r.status_code == 302
        # The old token is refused at the handshake; its sockets are closed ...
        assert handshake_status(chatr, t1) == 401
        assert closed_within(w1) and closed_within(w1_simple)
        # ... while the other browser's session, token and socket carry on.
        assert alive(w2)
        assert handshake_status(chatr, t2) == 101
        # Tokens without the binding (Azure SDKs', the REST API's users) are not touched.
        assert handshake_status(chatr, client_token(chatr, user=first.user_id)) == 101
    finally:
        for w in (w1, w1_simple, w2):
            w.close()


def test_logout_of_a_reliable_connection_ends_it(chatr):
    s = local_session(chatr, "reliableuser")
    w = open_socket(chatr, hub_token(chatr, s), s.user_id, protocol="json.reliable.webpubsub.azure.v1")
    try:
        assert s.get(chatr.url + "/.auth/logout", allow_redirects=False, timeout=10).status_code == 302
        assert closed_within(w)
        # Ended, not kept for recovery.
        deadline = time.time() + 10
        while time.time() < deadline and chatr.sql(
                "SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", w.conn_id) != [["0"]]:
            time.sleep(0.2)
        assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", w.conn_id) == [["0"]]
    finally:
        w.close()
