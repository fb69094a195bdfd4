"""The compatibility checklist (docs/protocols.md#compatibility-checklist), items 8 and 12, each in
one place: the REST data plane answers every operation of
docs/protocols.md#operations-and-status-codes with exactly the status the JS server SDK declares
(core-client throws on any other, even another 2xx), and the Static Web Apps behaviours the original
Chatr client relies on.
(The other checklist items are tested next to their features: test_a1_* ... test_a11_*.)"""
import base64
import json
import time

import pytest

from hubtools import Client, rest

H = "/api/hubs/chat"
V = {"api-version": "2024-12-01"}


@pytest.fixture(scope="module")
def live(chatr):
    """One connection (user a8-user) that is a member of group a8-group."""
    c = Client(chatr, user="a8-user")
    assert rest(chatr, "PUT", f"{H}/groups/a8-group/connections/{c.conn_id}", params=V).status_code == 200
    yield c
    c.close()


# (operation, method, path, query, body, content type, expected status). {c} is the live
# connection's id. Rows follow that table; the failure statuses the SDK declares (404 for
# HEADs and for adding a missing connection/user) have rows of their own.
ROWS = [
    ("health", "HEAD", "/api/health", {}, None, None, 200),
    ("sendToAll", "POST", f"{H}/:send", {}, '{"a":1}', "application/json", 202),
    ("sendToAll excluded", "POST", f"{H}/:send", {"excluded": ["{c}", "x"]}, "t", "text/plain", 202),
    ("sendToUser", "POST", f"{H}/users/a8-user/:send", {}, "{}", "application/json", 202),
    ("sendToUser, no connections", "POST", f"{H}/users/a8-nobody/:send", {}, "{}", "application/json", 202),
    ("sendToConnection", "POST", f"{H}/connections/{{c}}/:send", {}, "x", "text/plain", 202),
    ("sendToConnection, unknown", "POST", f"{H}/connections/a8-none/:send", {}, "x", "text/plain", 202),
    ("group sendToAll", "POST", f"{H}/groups/a8-group/:send", {}, '"hi"', "application/json", 202),
    ("group sendToAll, empty group", "POST", f"{H}/groups/a8-empty/:send", {}, b"\x00", "application/octet-stream", 202),
    ("connectionExists", "HEAD", f"{H}/connections/{{c}}", {}, None, None, 200),
    ("connectionExists, no", "HEAD", f"{H}/connections/a8-none", {}, None, None, 404),
    ("userExists", "HEAD", f"{H}/users/a8-user", {}, None, None, 200),
    ("userExists, no", "HEAD", f"{H}/users/a8-nobody", {}, None, None, 404),
    ("groupExists", "HEAD", f"{H}/groups/a8-group", {}, None, None, 200),
    ("groupExists, no", "HEAD", f"{H}/groups/a8-empty", {}, None, None, 404),
    ("addConnection", "PUT", f"{H}/groups/a8-g2/connections/{{c}}", {}, None, None, 200),
    ("addConnection, unknown", "PUT", f"{H}/groups/a8-g2/connections/a8-none", {}, None, None, 404),
    ("removeConnection", "DELETE", f"{H}/groups/a8-g2/connections/{{c}}", {}, None, None, 204),
    ("removeConnection, absent", "DELETE", f"{H}/groups/a8-g2/connections/a8-none", {}, None, None, 204),
    ("addUser", "PUT", f"{H}/users/a8-user/groups/a8-g3", {}, None, None, 200),
    ("addUser, no connections", "PUT", f"{H}/users/a8-nobody/groups/a8-g3", {}, None, None, 404),
    ("removeUser", "DELETE", f"{H}/users/a8-user/groups/a8-g3", {}, None, None, 204),
    ("removeUserFromAllGroups", "DELETE", f"{H}/users/a8-nobody/groups", {}, None, None, 204),
    ("removeConnectionFromAllGroups, unknown", "DELETE", f"{H}/connections/a8-none/groups", {}, None, None, 204),
    ("addConnectionsToGroups", "POST", f"{H}/:addToGroups", {},
     '{"groups":["a8-g4"],"filter":"userId eq \'a8-user\'"}', "application/json", 200),
    ("removeConnectionsFromGroups", "POST", f"{H}/:removeFromGroups", {},
     '{"groups":["a8-g4"],"filter":"userId eq \'a8-user\'"}', "application/json", 200),
    ("listConnections", "GET", f"{H}/groups/a8-group/connections", {"maxpagesize": "10"}, None, None, 200),
    ("grantPermission", "PUT", f"{H}/permissions/sendToGroup/connections/{{c}}", {"targetName": "a8-group"}, None, None, 200),
    ("hasPermission", "HEAD", f"{H}/permissions/sendToGroup/connections/{{c}}", {"targetName": "a8-group"}, None, None, 200),
    ("revokePermission", "DELETE", f"{H}/permissions/sendToGroup/connections/{{c}}", {"targetName": "a8-group"}, None, None, 204),
    ("hasPermission, no", "HEAD", f"{H}/permissions/sendToGroup/connections/{{c}}", {"targetName": "a8-group"}, None, None, 404),
    ("generateToken", "POST", f"{H}/:generateToken", {"userId": "a8-user"}, None, None, 200),
    ("closeAllConnections of a group", "POST", f"{H}/groups/a8-empty/:closeConnections", {"reason": "r"}, None, None, 204),
    ("closeUserConnections", "POST", f"{H}/users/a8-nobody/:closeConnections", {}, None, None, 204),
    ("closeConnection, unknown", "DELETE", f"{H}/connections/a8-none", {"reason": "r"}, None, None, 204),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_a8_rest_status_codes_exactly_as_the_sdk_declares(chatr, live, row):
    name, method, path, query, body, ctype, want = row
    path = path.replace("{c}", live.conn_id)
    params = {**V, **{k: [x.replace("{c}", live.conn_id) for x in v] if isinstance(v, list) else v
                      for k, v in query.items()}}
    r = rest(chatr, method, path, body=body, ctype=ctype, params=params)
    assert r.status_code == want, f"{name}: {r.status_code} {r.text[:200]}"
    if want == 202 or want == 204:
        assert r.content == b""  # nothing the SDK would have to parse


def test_a8_close_connection_is_204_then_the_connection_is_gone(chatr):
    c = Client(chatr, user="a8-close")
    r = rest(chatr, "DELETE", f"{H}/connections/{c.conn_id}", params={**V, "reason": "bye"})
    assert r.status_code == 204
    assert c.recv() == {"type": "system", "event": "disconnected", "message": "bye"}
    # The socket closes right after; its row goes when nginx reports the close (a hook).
    deadline = time.time() + 10
    while rest(chatr, "HEAD", f"{H}/connections/{c.conn_id}", params=V).status_code == 200:
        assert time.time() < deadline, "closed connection still exists"
        time.sleep(0.05)
    c.close()


def test_a8_errors_are_400_401_415_never_an_undeclared_success(chatr):
    assert rest(chatr, "POST", f"{H}/:send", body="{}", ctype="application/json", token=False).status_code == 401
    assert rest(chatr, "POST", f"{H}/:send", body="{no", ctype="application/json", params=V).status_code == 400
    assert rest(chatr, "POST", f"{H}/:send", body="x", ctype="image/png", params=V).status_code == 415
    assert rest(chatr, "POST", "/api/hubs/1bad/:send", body="{}", ctype="application/json", params=V).status_code == 400


# ---- item 12: Static Web Apps -----------------------------------------------------------------


def test_a12_auth_me_is_null_when_signed_out(chatr):
    r = chatr.get("/.auth/me")
    assert r.status_code == 200 and r.json() == {"clientPrincipal": None}


def test_a12_api_gets_x_ms_client_principal_without_claims(chatr, signed_in):
    s = signed_in("A12")
    me = s.get(chatr.url + "/.auth/me", timeout=10).json()["clientPrincipal"]
    assert set(me) >= {"identityProvider", "userId", "userDetails", "userRoles"}
    # The functions decode x-ms-client-principal; getToken issues a token for exactly that user,
    # which shows the header reached it and named the session's user. (Its shape without
    # `claims` is unit-tested: tests/unit/test_auth.c auth_principal_shapes.)
    r = s.get(chatr.url + "/api/getToken", timeout=10)
    assert r.status_code == 200
    payload = r.json()["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == me["userId"]


def test_a12_slash_and_index_html_are_different_routes(chatr, signed_in):
    # Our config protects "/" and "/index.html" with rules of their own; the rendered route map
    # matches "/" only by the "/" rule (a rule for "/" must not cover "/index.html" and back).
    with open(f"{chatr.state}/nginx/http.d/swa_routes.conf") as f:
        routes = f.read()
    assert '"~*^[A-Z]+:(?:/)$"' in routes
    s = signed_in("A12c")
    for path in ("/", "/index.html"):
        assert s.get(chatr.url + path, allow_redirects=False, timeout=10).status_code == 200


def test_a12_unauthorized_is_a_302_to_login(chatr):
    for path in ("/", "/index.html", "/some/deep/link"):
        r = chatr.get(path)
        assert r.status_code == 302 and r.headers["Location"] == "/login.html", path
