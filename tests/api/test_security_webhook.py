"""Issue 11, item 1 and one bullet of item 4: who may call the chat webhook, and REST token
audiences (docs/webhooks.md).

- The forgery: `ce-signature` is HMAC(access key, connectionId) and a token's signature is
  HMAC(access key, header.payload), so any token from /api/getToken signs the "connection id"
  `header.payload`. Posted to /api/eventHandler with any ce-userId, it acted as anyone.
- The defences, each tested on its own: the public route refuses everyone (only the hub, through
  nginx's internal unix socket, reaches the handler); connection ids must have the hub's format
  (32 hex digits, never a dot); a well-signed event must name a live connection of ce-userId.
- REST bearer tokens: the path after the hub name is compared case-sensitively (group names are).
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import uuid

import pytest
import requests

from chattools import Person, server_event
from conftest import sign_in_guest
from hubtools import Client, rest, rest_token


# ---- helpers ----------------------------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def internal_socket(chatr):
    """CHATR_NGINX_SOCKET of the instance (what the hub programs are given)."""
    with open(os.path.join(chatr.state, "app-settings.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k == "CHATR_NGINX_SOCKET":
                return v
    raise AssertionError("CHATR_NGINX_SOCKET not in app-settings.env")


class Answer:
    def __init__(self, status, headers, body):
        self.status_code, self.headers, self.text = status, headers, body


def internal(chatr, method, path, headers, body=b""):
    """A request to nginx's internal server, as the hub makes it (Host = the public origin)."""
    c = UnixHTTPConnection(internal_socket(chatr))
    try:
        c.request(method, path, body=body, headers={"Host": f"127.0.0.1:{chatr.port}", **headers})
        r = c.getresponse()
        return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
    finally:
        c.close()


def sign(key, conn_id):
    return "sha256=" + hmac.new(key.encode(), conn_id.encode(), hashlib.sha256).hexdigest()


def ce_headers(chatr, event, conn_id, user, signature, system=False, ctype="text/plain"):
    return {"ce-specversion": "1.0", "ce-awpsversion": "1.0", "ce-hub": "chat",
            "ce-type": f"azure.webpubsub.{'sys' if system else 'user'}.{event}",
            "ce-eventName": event, "ce-userId": user, "ce-connectionId": conn_id,
            "ce-signature": signature, "ce-id": "1", "ce-source": f"/hubs/chat/client/{conn_id}",
            "WebHook-Request-Origin": f"127.0.0.1:{chatr.port}", "Content-Type": ctype}


def forged_pair(chatr, session):
    """(connection id, ce-signature) made from a token /api/getToken gives a signed-in guest."""
    r = session.get(chatr.url + "/api/getToken", timeout=10)
    assert r.status_code == 200, r.text
    header, payload, sig = r.json()["token"].split(".")
    mac = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    return f"{header}.{payload}", "sha256=" + mac.hex()


def chat_exists(chatr, cid):
    return chatr.sql("SELECT count(*) FROM chatr.chats WHERE id = :'p1'", cid) == [["1"]]


def offline_user(chatr, name="Offline"):
    uid = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    chatr.sql("INSERT INTO chatr.users (id, name, provider, online) VALUES (:'p1', :'p2', 'guest', false)",
              uid, name)
    return uid


def is_online(chatr, uid):
    return chatr.sql("SELECT online FROM chatr.users WHERE id = :'p1'", uid) == [["t"]]


@pytest.fixture()
def victim(chatr):
    p = Person(chatr, "Victim")
    cid = p.create_chat("Victim's chat")
    p.settle()
    yield p, cid
    p.close()


# ---- the forgery, as the issue describes it ----------------------------------------------------

def test_forged_webhook_on_the_public_port_changes_nothing(chatr, victim):
    person, cid = victim
    attacker = sign_in_guest(chatr, "Mallory")
    conn, sig = forged_pair(chatr, attacker)
    assert "." in conn
    # deleteChat of someone else's chat, as its owner
    r = chatr.post("/api/eventHandler", headers=ce_headers(chatr, "deleteChat", conn, person.uid, sig),
                   data=cid)
    assert r.status_code in (403, 404), (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]
    assert chat_exists(chatr, cid)
    # userConnected for an offline user: they would appear online to everyone
    ghost = offline_user(chatr)
    r = chatr.post("/api/eventHandler", headers=ce_headers(chatr, "userConnected", conn, ghost, sig),
                   data="{}")
    assert r.status_code in (403, 404), (r.status_code, r.text)
    assert not is_online(chatr, ghost)
    person.nothing(0.5)  # nobody heard chatDeleted or userOnline


def test_forged_webhook_on_the_internal_socket_is_refused_too(chatr, victim):
    """Defence in depth: even from the inside, a token's header.payload is no connection id."""
    person, cid = victim
    conn, sig = forged_pair(chatr, sign_in_guest(chatr, "Mallory"))
    r = internal(chatr, "POST", "/api/eventHandler",
                 ce_headers(chatr, "deleteChat", conn, person.uid, sig), cid.encode())
    assert r.status_code == 400, (r.status_code, r.text)
    assert chat_exists(chatr, cid)


def test_public_route_refuses_every_method(chatr):
    for method in ("POST", "OPTIONS", "GET"):
        r = chatr.request(method, "/api/eventHandler",
                          headers={"WebHook-Request-Origin": f"127.0.0.1:{chatr.port}",
                                   "ce-awpsversion": "1.0"})
        assert r.status_code == 403, (method, r.status_code, r.text)
        assert "WebHook-Allowed-Origin" not in r.headers
        assert r.json()["error"]
    r = chatr.post("/api/eventHandler/", data="{}")
    assert r.status_code == 403


# ---- connection ids --------------------------------------------------------------------------

@pytest.mark.parametrize("conn_id", ["c1", "0" * 31, "0" * 33, "A" * 32, "g" * 32,
                                     "0" * 16 + "." + "0" * 15, "-" * 32])
def test_connection_id_of_another_format_is_refused(chatr, conn_id):
    uid = offline_user(chatr)
    r = internal(chatr, "POST", "/api/eventHandler",
                 ce_headers(chatr, "userConnected", conn_id, uid, sign(chatr.access_key, conn_id)), b"{}")
    assert r.status_code == 400, (r.status_code, r.text)
    assert "connection id" in json.loads(r.text)["error"]
    assert not is_online(chatr, uid)


def test_well_signed_event_for_an_unknown_connection_is_refused(chatr):
    uid = offline_user(chatr)
    conn = uuid.uuid4().hex
    r = internal(chatr, "POST", "/api/eventHandler",
                 ce_headers(chatr, "userConnected", conn, uid, sign(chatr.access_key, conn)), b"{}")
    assert r.status_code == 403, (r.status_code, r.text)
    assert not is_online(chatr, uid)


def test_well_signed_event_for_another_users_connection_is_refused(chatr, victim):
    person, cid = victim
    mallory = Person(chatr, "Mallory")
    try:
        conn = mallory.ws.conn_id
        r = internal(chatr, "POST", "/api/eventHandler",
                     ce_headers(chatr, "deleteChat", conn, person.uid, sign(chatr.access_key, conn)),
                     cid.encode())
        assert r.status_code == 403, (r.status_code, r.text)
        assert chat_exists(chatr, cid)
        # and the victim's own connection under the attacker's name acts as nobody either
        conn = person.ws.conn_id
        r = internal(chatr, "POST", "/api/eventHandler",
                     ce_headers(chatr, "userEnterIdle", conn, mallory.uid, sign(chatr.access_key, conn)))
        assert r.status_code == 403, (r.status_code, r.text)
    finally:
        mallory.close()


def test_well_signed_event_for_the_right_connection_is_accepted(chatr, victim):
    """The check refuses only what the hub would never send: the hub's own kind of call works."""
    person, cid = victim
    conn = person.ws.conn_id
    r = internal(chatr, "POST", "/api/eventHandler",
                 ce_headers(chatr, "userEnterIdle", conn, person.uid, sign(chatr.access_key, conn)))
    assert r.status_code == 200, (r.status_code, r.text)
    assert server_event(person, "userIsIdle") == person.uid


def test_disconnected_cannot_take_an_online_user_offline(chatr, victim):
    """`disconnected` may name a connection that is gone (the hub removes the row first), but an
    open one must be the user's, and the event only ever states the truth: online stays online."""
    person, _ = victim
    mallory = Person(chatr, "Mallory")
    try:
        def disconnected(conn, uid):
            return internal(chatr, "POST", "/api/eventHandler",
                            ce_headers(chatr, "disconnected", conn, uid, sign(chatr.access_key, conn),
                                       system=True, ctype="application/json"), b'{"reason":""}')
        r = disconnected(mallory.ws.conn_id, person.uid)
        assert r.status_code == 403, (r.status_code, r.text)
        assert disconnected(person.ws.conn_id, person.uid).status_code == 200
        assert disconnected(uuid.uuid4().hex, person.uid).status_code == 200
        assert is_online(chatr, person.uid)
        mallory.nothing(0.5)  # no userOffline went out
        # a client's own event called "disconnected" is a user event, not the system one
        r = internal(chatr, "POST", "/api/eventHandler",
                     ce_headers(chatr, "disconnected", person.ws.conn_id, person.uid,
                                sign(chatr.access_key, person.ws.conn_id)), b"x")
        assert r.status_code == 400, (r.status_code, r.text)
    finally:
        mallory.close()


def test_hub_disconnected_still_takes_a_user_offline(chatr):
    """The hub fires `disconnected` after removing the row: the handler must accept that."""
    p = Person(chatr, "Leaving")
    watcher = Person(chatr, "Watcher")
    try:
        p.close()
        assert server_event(watcher, "userOffline") == p.uid
        assert not is_online(chatr, p.uid)
    finally:
        watcher.close()


def test_abuse_protection_over_the_internal_socket(chatr):
    r = internal(chatr, "OPTIONS", "/api/eventHandler",
                 {"WebHook-Request-Origin": f"127.0.0.1:{chatr.port}", "ce-awpsversion": "1.0"})
    assert r.status_code == 200
    assert r.headers["webhook-allowed-origin"] == f"127.0.0.1:{chatr.port}"
    r = internal(chatr, "OPTIONS", "/api/eventHandler",
                 {"WebHook-Request-Origin": "evil.example", "ce-awpsversion": "1.0"})
    assert r.status_code == 403
    assert "webhook-allowed-origin" not in r.headers


def test_internal_route_needs_the_signature(chatr):
    uid = offline_user(chatr)
    conn = uuid.uuid4().hex
    h = ce_headers(chatr, "userConnected", conn, uid, "sha256=" + "0" * 64)
    assert internal(chatr, "POST", "/api/eventHandler", h, b"{}").status_code == 401
    del h["ce-signature"]
    assert internal(chatr, "POST", "/api/eventHandler", h, b"{}").status_code == 401
    assert not is_online(chatr, uid)


# ---- REST token audiences (item 4) -------------------------------------------------------------

def rest_with_aud(chatr, method, path, aud, body=None, ctype=None):
    headers = {"Authorization": "Bearer " + rest_token(chatr, aud)}
    if ctype:
        headers["Content-Type"] = ctype
    return requests.request(method, chatr.url + path, data=body, headers=headers, timeout=30)


def test_rest_token_audience_path_is_case_sensitive(chatr):
    c = Client(chatr, user="u-aud-case")
    try:
        # the same group name in another case is another group: its token must not do
        path = "/api/hubs/chat/groups/foo/connections/" + c.conn_id
        r = rest_with_aud(chatr, "PUT", path, chatr.url + "/api/hubs/chat/groups/Foo/connections/" + c.conn_id)
        assert r.status_code == 401, r.text
        assert chatr.sql("SELECT count(*) FROM pubsub.group_members WHERE conn_id = :'p1'", c.conn_id) == [["0"]]
        r = rest_with_aud(chatr, "POST", "/api/hubs/chat/users/U-AUD-CASE/:send",
                          chatr.url + "/api/hubs/chat/users/u-aud-case/:send", body="x", ctype="text/plain")
        assert r.status_code == 401, r.text
        c.nothing(0.3)
        # scheme and host are not what tells two resources apart; the hub name's case is not either
        loud = chatr.url.replace("http://", "HTTP://")
        r = rest_with_aud(chatr, "PUT", path, loud + "/api/hubs/CHAT/groups/foo/connections/" + c.conn_id)
        assert r.status_code == 200, r.text
        r = rest(chatr, "POST", "/api/hubs/chat/groups/foo/:send", body="hello", ctype="text/plain")
        assert r.status_code == 202
        assert c.recv()["data"] == "hello"
    finally:
        c.close()
