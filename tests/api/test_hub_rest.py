"""The hub's REST data plane (docs/protocols.md#operations-and-status-codes): every operation and
its exact status codes, JWT bearer auth, delivery to the right sockets."""
import time

import pytest

from hubtools import RELIABLE, Client, rest

H = "/api/hubs/chat"
V = {"api-version": "2024-12-01"}


def test_a10_rest_requires_a_token_for_the_url(chatr):
    assert rest(chatr, "POST", f"{H}/:send", body="{}", ctype="application/json", token=False).status_code == 401
    r = rest(chatr, "POST", f"{H}/:send", body="{}", ctype="application/json", params=V)
    assert r.status_code == 202
    # a token minted for another path is refused
    from hubtools import rest_token
    import requests
    bad = rest_token(chatr, chatr.url + "/api/hubs/chat/users/x/:send")
    r = requests.post(chatr.url + f"{H}/:send", data="{}", headers={"Authorization": "Bearer " + bad,
                                                                  "Content-Type": "application/json"})
    assert r.status_code == 401


def test_health(chatr):
    assert chatr.request("HEAD", "/api/health").status_code == 200


def test_send_to_all_with_excluded(chatr):
    a = Client(chatr, user="r-all-a")
    b = Client(chatr, user="r-all-b")
    r = rest(chatr, "POST", f"{H}/:send", body='{"n":1}', ctype="application/json", params=V)
    assert r.status_code == 202
    for c in (a, b):
        assert c.recv() == {"type": "message", "from": "server", "dataType": "json", "data": {"n": 1}}
    r = rest(chatr, "POST", f"{H}/:send", body="hi", ctype="text/plain", params={**V, "excluded": [a.conn_id]})
    assert r.status_code == 202
    assert b.recv() == {"type": "message", "from": "server", "dataType": "text", "data": "hi"}
    a.nothing()
    a.close()
    b.close()


def test_user_send_reaches_all_connections_of_the_user(chatr):
    cs = [Client(chatr, user="r-user") for _ in range(3)]
    other = Client(chatr, user="r-other")
    r = rest(chatr, "POST", f"{H}/users/r-user/:send", body='"Hello World"', ctype="application/json", params=V)
    assert r.status_code == 202
    for c in cs:
        assert c.recv() == {"type": "message", "from": "server", "dataType": "json", "data": "Hello World"}
    other.nothing()
    assert rest(chatr, "POST", f"{H}/users/nobody/:send", body="{}", ctype="application/json").status_code == 202
    for c in cs + [other]:
        c.close()


def test_user_send_reaches_each_kind_of_connection_once(chatr):
    """hub_send_user publishes only to the user channels that have connections of their kind
    (docs/performance.md#rest-send-to-user): each kind alone, then all three together."""
    def check(kinds, text):
        user = f"r-kind-{'-'.join(kinds)}"
        cs = {k: Client(chatr, user=user, protocol={"json": "json.webpubsub.azure.v1",
                                                     "simple": None, "reliable": RELIABLE}[k])
              for k in kinds}
        r = rest(chatr, "POST", f"{H}/users/{user}/:send", body=text, ctype="text/plain")
        assert r.status_code == 202
        for k, c in cs.items():
            if k == "simple":
                assert c.recv_raw() == (1, text.encode())
            else:
                m = c.recv()
                assert (m["type"], m["from"], m["data"]) == ("message", "server", text), (k, m)
                assert ("sequenceId" in m) == (k == "reliable"), (k, m)
            c.nothing()
        for c in cs.values():
            c.close()
    for kinds in (["json"], ["simple"], ["reliable"], ["json", "simple", "reliable"]):
        check(kinds, "to " + "+".join(kinds))


def test_send_to_connection_and_binary(chatr):
    c = Client(chatr, user="r-conn")
    r = rest(chatr, "POST", f"{H}/connections/{c.conn_id}/:send", body=b"\x01\x02", ctype="application/octet-stream")
    assert r.status_code == 202
    assert c.recv() == {"type": "message", "from": "server", "dataType": "binary", "data": "AQI="}
    assert rest(chatr, "POST", f"{H}/connections/nope/:send", body="x", ctype="text/plain").status_code == 202
    c.close()


def test_body_errors(chatr):
    assert rest(chatr, "POST", f"{H}/:send", body="{bad", ctype="application/json").status_code == 400
    assert rest(chatr, "POST", f"{H}/:send", body="x", ctype="image/png").status_code == 415


def test_group_send_membership_and_exists(chatr):
    a = Client(chatr, user="r-ga")
    b = Client(chatr, user="r-gb")
    assert rest(chatr, "HEAD", f"{H}/groups/r%2Fgroup").status_code == 404
    assert rest(chatr, "PUT", f"{H}/groups/r%2Fgroup/connections/{a.conn_id}").status_code == 200
    assert rest(chatr, "PUT", f"{H}/groups/r%2Fgroup/connections/nope").status_code == 404
    assert rest(chatr, "PUT", f"{H}/users/r-gb/groups/r%2Fgroup").status_code == 200
    assert rest(chatr, "HEAD", f"{H}/groups/r%2Fgroup").status_code == 200
    r = rest(chatr, "POST", f"{H}/groups/r%2Fgroup/:send", body='{"g":1}', ctype="application/json",
             params={"excluded": [b.conn_id]})
    assert r.status_code == 202
    m = a.recv()
    assert m["from"] == "group" and m["group"] == "r/group" and m["data"] == {"g": 1} and m.get("fromUserId") is None
    b.nothing()
    lst = rest(chatr, "GET", f"{H}/groups/r%2Fgroup/connections")
    assert lst.status_code == 200
    assert sorted(x["connectionId"] for x in lst.json()["value"]) == sorted([a.conn_id, b.conn_id])
    assert rest(chatr, "DELETE", f"{H}/groups/r%2Fgroup/connections/{a.conn_id}").status_code == 204
    assert rest(chatr, "DELETE", f"{H}/groups/r%2Fgroup/connections/{a.conn_id}").status_code == 204
    assert rest(chatr, "DELETE", f"{H}/users/r-gb/groups/r%2Fgroup").status_code == 204
    assert rest(chatr, "HEAD", f"{H}/groups/r%2Fgroup").status_code == 404
    assert rest(chatr, "PUT", f"{H}/users/r-gb/groups/g2").status_code == 200
    assert rest(chatr, "DELETE", f"{H}/users/r-gb/groups").status_code == 204
    assert rest(chatr, "PUT", f"{H}/groups/g3/connections/{a.conn_id}").status_code == 200
    assert rest(chatr, "DELETE", f"{H}/connections/{a.conn_id}/groups").status_code == 204
    assert rest(chatr, "DELETE", f"{H}/connections/nope/groups").status_code == 204
    assert rest(chatr, "HEAD", f"{H}/groups/g3").status_code == 404
    a.close()
    b.close()


def test_a9_add_user_without_connections_is_404(chatr):
    assert rest(chatr, "PUT", f"{H}/users/r-offline/groups/g").status_code == 404
    assert rest(chatr, "DELETE", f"{H}/users/r-offline/groups/g").status_code == 204
    assert rest(chatr, "DELETE", f"{H}/users/r-offline/groups").status_code == 204


def test_exists_operations(chatr):
    c = Client(chatr, user="r-exists")
    assert rest(chatr, "HEAD", f"{H}/connections/{c.conn_id}").status_code == 200
    assert rest(chatr, "HEAD", f"{H}/connections/nope").status_code == 404
    assert rest(chatr, "HEAD", f"{H}/users/r-exists").status_code == 200
    assert rest(chatr, "HEAD", f"{H}/users/r-nope").status_code == 404
    c.close()


def test_permissions(chatr):
    c = Client(chatr, user="r-perm")
    p = f"{H}/permissions/sendToGroup/connections/{c.conn_id}"
    assert rest(chatr, "HEAD", p, params={"targetName": "pg"}).status_code == 404
    _, ack = c.request({"type": "sendToGroup", "group": "pg", "ackId": 1, "dataType": "text", "data": "x"})
    assert ack["success"] is False
    assert rest(chatr, "PUT", p, params={"targetName": "pg"}).status_code == 200
    assert rest(chatr, "HEAD", p, params={"targetName": "pg"}).status_code == 200
    _, ack = c.request({"type": "sendToGroup", "group": "pg", "ackId": 2, "dataType": "text", "data": "x"})
    assert ack["success"] is True
    assert rest(chatr, "DELETE", p, params={"targetName": "pg"}).status_code == 204
    assert rest(chatr, "HEAD", p, params={"targetName": "pg"}).status_code == 404
    assert rest(chatr, "PUT", f"{H}/permissions/joinLeaveGroup/connections/{c.conn_id}").status_code == 200
    assert c.request({"type": "joinGroup", "group": "any", "ackId": 3})[1]["success"] is True
    assert rest(chatr, "PUT", f"{H}/permissions/bogus/connections/{c.conn_id}").status_code == 400
    c.close()


def test_add_and_remove_filtered_connections(chatr):
    c = Client(chatr, user="r-filter")
    r = rest(chatr, "POST", f"{H}/:addToGroups", body='{"groups":["f1","f2"],"filter":"userId eq \'r-filter\'"}',
             ctype="application/json")
    assert r.status_code == 200
    assert rest(chatr, "HEAD", f"{H}/groups/f2").status_code == 200
    r = rest(chatr, "POST", f"{H}/:removeFromGroups", body='{"groups":["f1","f2"],"filter":"userId eq \'r-filter\'"}',
             ctype="application/json")
    assert r.status_code == 200
    assert rest(chatr, "HEAD", f"{H}/groups/f2").status_code == 404
    c.close()


def test_generate_token_connects(chatr):
    r = rest(chatr, "POST", f"{H}/:generateToken", params={**V, "userId": "r-gen", "role": "webpubsub.sendToGroup",
                                                         "group": "gen"})
    assert r.status_code == 200
    c = Client(chatr, token=r.json()["token"], user="r-gen")
    assert c.connected["userId"] == "r-gen"
    assert rest(chatr, "HEAD", f"{H}/groups/gen").status_code == 200
    c.close()


def test_close_connection_sends_disconnected_then_closes(chatr):
    c = Client(chatr, user="r-close")
    r = rest(chatr, "DELETE", f"{H}/connections/{c.conn_id}", params={"reason": "bye now"})
    assert r.status_code == 204
    assert c.recv() == {"type": "system", "event": "disconnected", "message": "bye now"}
    import websocket
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(5):
            c.ws.recv()
    # The socket's `closed` hook removes the row at once; on a loaded machine that hook can be
    # late or lost, and the node sweep (HUB_SWEEP_EVERY_MS, 10 s; docs/liveness.md) is the
    # guarantee: wait out one sweep interval and a batch.
    deadline = time.time() + 15
    while time.time() < deadline:
        if rest(chatr, "HEAD", f"{H}/connections/{c.conn_id}").status_code == 404:
            break
        time.sleep(0.1)
    assert rest(chatr, "HEAD", f"{H}/connections/{c.conn_id}").status_code == 404


@pytest.mark.parametrize("scope", ["user", "group", "all"])
def test_close_many(chatr, scope):
    hub = f"closehub{scope}"
    keep = Client(chatr, hub=hub, user=f"r-keep-{scope}", groups=["cg"])
    go = Client(chatr, hub=hub, user=f"r-go-{scope}", groups=["cg"])
    path = {"user": f"/api/hubs/{hub}/users/r-go-{scope}/:closeConnections",
            "group": f"/api/hubs/{hub}/groups/cg/:closeConnections",
            "all": f"/api/hubs/{hub}/:closeConnections"}[scope]
    params = {} if scope == "user" else {"excluded": [keep.conn_id]}
    assert rest(chatr, "POST", path, params=params).status_code == 204
    assert go.recv()["event"] == "disconnected"
    keep.send({"type": "ping"})
    assert keep.recv() == {"type": "pong"}
    keep.close()


def test_unknown_operation_404_and_bad_hub_400(chatr):
    assert rest(chatr, "GET", f"{H}/whatever").status_code == 404
    assert rest(chatr, "POST", "/api/hubs/1bad/:send", body="x", ctype="text/plain").status_code == 400
