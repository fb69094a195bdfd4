"""Upstream webhooks (CloudEvents, docs/protocols.md#webhooks) of hub `testhub`, whose handler is
the real HTTP server hubtools.UPSTREAM (gateway/hubs.json: ${CHATR_TESTHUB_URL})."""
import hashlib
import hmac
import json
import socket
import time

import pytest

from hubtools import PROTO, UPSTREAM, Client, client_token

HUB = "testhub"
# A socket closed while one of its hooks is in flight loses nchan's `closed` hook; the hub notices
# within 3-20 s instead (gateway/hub/hub_orphan.c): waits for `disconnected` allow for that.
LATE = 40


def test_a5_a6_connected_webhook_headers_and_signature(chatr):
    c = Client(chatr, hub=HUB, user="w-conn")
    [(path, h, body)] = UPSTREAM.events("connected", c.conn_id)
    assert path == "/upstream/connected"
    assert json.loads(body) == {}
    assert h["ce-awpsversion"] == "1.0" and h["ce-specversion"] == "1.0"
    assert h["webhook-request-origin"] == chatr.url.split("://")[1]
    assert h["ce-type"] == "azure.webpubsub.sys.connected"
    assert h["ce-eventname"] == "connected"
    assert h["ce-hub"] == HUB and h["ce-userid"] == "w-conn" and h["ce-connectionid"] == c.conn_id
    assert h["ce-source"] == f"/hubs/{HUB}/client/{c.conn_id}"
    assert h["ce-subprotocol"] == PROTO
    assert h["content-type"].startswith("application/json")
    assert h["ce-id"] and h["ce-time"].endswith("Z")
    sig = hmac.new(chatr.access_key.encode(), c.conn_id.encode(), hashlib.sha256).hexdigest()
    assert h["ce-signature"] == f"sha256={sig}"
    c.close()  # right after the webhook, i.e. maybe while the `opened` hook is still in flight
    [(path, h, body)] = UPSTREAM.events("disconnected", c.conn_id, timeout=LATE)
    assert h["ce-type"] == "azure.webpubsub.sys.disconnected"
    assert "reason" in json.loads(body)


def test_signature_vector():
    # the ce-signature vector (docs/protocols.md#headers-and-signature), computed the way the hub
    # does (HMAC of the id with the key bytes)
    got = hmac.new(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH", b"conn1", hashlib.sha256).hexdigest()
    assert got == "8de7281e588e23b0a30a7180ffa240257b8176e983004c240c9f3f7a7233c993"


def test_a7_user_event_reply_before_ack(chatr):
    UPSTREAM.rules["echo"] = (200, {"Content-Type": "application/json; charset=utf-8"}, b'{"re":1}')
    c = Client(chatr, hub=HUB, user="w-event")
    before, ack = c.request({"type": "event", "event": "echo", "ackId": 5, "dataType": "text", "data": "hey"})
    assert before == [{"type": "message", "from": "server", "dataType": "json", "data": {"re": 1}}]
    assert ack == {"type": "ack", "ackId": 5, "success": True}
    [(path, h, body)] = UPSTREAM.events("echo", c.conn_id)
    assert h["ce-type"] == "azure.webpubsub.user.echo" and h["content-type"].startswith("text/plain")
    assert body == b"hey"
    c.close()


def test_user_event_reply_without_ack_is_the_frames_answer(chatr):
    """Without an ackId the reply is hub-router's answer to the frame, which nchan publishes to
    the socket (docs/performance.md#the-event-reply-in-the-answer): exactly once, in order with
    the frames around it, in each data type."""
    UPSTREAM.rules["echo-j"] = (200, {"Content-Type": "application/json"}, b'{"re":2}')
    UPSTREAM.rules["echo-t"] = (200, {"Content-Type": "text/plain"}, b"plain")
    UPSTREAM.rules["echo-b"] = (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01")
    try:
        c = Client(chatr, hub=HUB, user="w-event-noack")
        for ev in ("echo-j", "echo-t", "echo-b"):
            c.send({"type": "event", "event": ev, "dataType": "text", "data": "hey"})
        c.send({"type": "ping"})
        got = [c.recv() for _ in range(4)]
        assert got == [{"type": "message", "from": "server", "dataType": "json", "data": {"re": 2}},
                       {"type": "message", "from": "server", "dataType": "text", "data": "plain"},
                       {"type": "message", "from": "server", "dataType": "binary", "data": "AAE="},
                       {"type": "pong"}]
        c.send({"type": "ping"})
        assert c.recv() == {"type": "pong"}  # nothing else came (no second copy)
        c.close()
    finally:
        for ev in ("echo-j", "echo-t", "echo-b"):
            del UPSTREAM.rules[ev]


def test_a7_empty_reply_sends_nothing_and_json_body_forwarded(chatr):
    c = Client(chatr, hub=HUB, user="w-empty")
    before, ack = c.request({"type": "event", "event": "quiet", "ackId": 1, "dataType": "json", "data": {"a": [1]}})
    assert before == [] and ack["success"] is True
    [(_, h, body)] = UPSTREAM.events("quiet", c.conn_id)
    assert h["content-type"].startswith("application/json") and json.loads(body) == {"a": [1]}
    c.close()


def test_event_handler_failure_is_an_error_ack(chatr):
    UPSTREAM.rules["boom"] = (500, {}, b"no")
    c = Client(chatr, hub=HUB, user="w-fail")
    _, ack = c.request({"type": "event", "event": "boom", "ackId": 9, "dataType": "text", "data": "x"})
    assert ack["success"] is False and ack["error"]["name"] == "InternalServerError"
    c.close()


def test_connect_webhook_can_reject_and_set_identity(chatr):
    import websocket

    def connect_rule(headers, body):
        q = json.loads(body)["query"]
        if q.get("deny"):
            return 401, {}, b""
        return 200, {"Content-Type": "application/json", "ce-connectionState": "c3RhdGU="}, \
            json.dumps({"userId": "from-connect", "groups": ["cg1"]}).encode()
    UPSTREAM.rules["connect"] = connect_rule
    try:
        url = chatr.url.replace("http", "ws", 1) + f"/client/hubs/{HUB}?deny=1&access_token=" + \
            client_token(chatr, HUB, "w-deny")
        try:
            websocket.create_connection(url, timeout=10, subprotocols=[PROTO])
            status = 101
        except websocket.WebSocketBadStatusException as e:
            status = e.status_code
        assert status == 401
        c = Client(chatr, hub=HUB, user="w-ok")
        assert c.connected["userId"] == "from-connect"
        [(_, h, _b)] = UPSTREAM.events("connected", c.conn_id)
        assert h["ce-connectionstate"] == "c3RhdGU=" and h["ce-userid"] == "from-connect"
        assert chatr.sql("SELECT group_name FROM pubsub.group_members WHERE conn_id = :'p1'", c.conn_id) == [["cg1"]]
        c.close()
    finally:
        del UPSTREAM.rules["connect"]


def test_200_connections_killed_give_200_disconnected(chatr):
    clients = [Client(chatr, hub=HUB, user=f"w-kill-{i % 20}") for i in range(200)]
    ids = {c.conn_id for c in clients}
    assert len(UPSTREAM.events("connected", None, count=200, timeout=60)) == 200
    for c in clients:  # killed: the TCP connection drops without a close frame
        c.ws.sock.shutdown(socket.SHUT_RDWR)
        c.ws.sock.close()
    seen = []
    for cid in ids:
        seen += [h["ce-connectionid"] for _, h, _ in UPSTREAM.events("disconnected", cid, timeout=LATE)]
    assert sorted(seen) == sorted(ids)
    late = [h["ce-connectionid"] for _, h, _ in UPSTREAM.events("disconnected", None, count=10, timeout=1)]
    assert not ids.intersection(late)  # exactly once
    assert chatr.sql(f"SELECT count(*) FROM pubsub.connections WHERE hub = '{HUB}'") == [["0"]]


def slow_ok(headers, body):
    time.sleep(0.5)
    return 200, {}, b""


# nchan runs a socket's hooks one at a time and drops the queued `closed` hook when the socket
# closes while another hook is in flight (gateway/hub/hub_orphan.c). These close the socket in
# that window on purpose: before the fix the connection stayed and `disconnected` never came.

def test_close_while_connected_webhook_in_flight_still_disconnects(chatr):
    UPSTREAM.rules["connected"] = slow_ok
    try:
        c = Client(chatr, hub=HUB, user="w-race-open")  # the connected frame comes before the webhook
        c.close()
        [(_, h, body)] = UPSTREAM.events("disconnected", c.conn_id, timeout=LATE)
        assert json.loads(body) == {"reason": "The connection ended."}
        assert UPSTREAM.events("disconnected", c.conn_id, timeout=2) == []  # exactly once
        assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", c.conn_id) == [["0"]]
    finally:
        del UPSTREAM.rules["connected"]


def test_close_while_user_event_in_flight_still_disconnects(chatr):
    UPSTREAM.rules["slowpoke"] = slow_ok
    c = Client(chatr, hub=HUB, user="w-race-event")
    c.send({"type": "event", "event": "slowpoke", "ackId": 1, "dataType": "text", "data": "x"})
    UPSTREAM.events("slowpoke", c.conn_id)  # the frame hook is now waiting on the handler
    c.close()
    assert len(UPSTREAM.events("disconnected", c.conn_id, timeout=LATE)) == 1
    assert UPSTREAM.events("disconnected", c.conn_id, timeout=2) == []
    assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", c.conn_id) == [["0"]]


def test_connections_of_a_killed_gateway_are_cleared_with_disconnected_once(chatr):
    """nginx dies hard (no `closed` hook runs) and the hub programs restart (their orphan watch
    lists are gone): the node's sweep at the next start clears the rows and fires one
    `disconnected` per connection, so presence upstream does not stay online forever."""
    import os
    import signal
    import subprocess
    clients = [Client(chatr, hub=HUB, user=f"w-crash-{i}") for i in range(5)]
    ids = {c.conn_id for c in clients}
    assert len(UPSTREAM.events("connected", None, count=5, timeout=30)) >= 5
    for unit in ("hub-events", "hub-router"):
        assert chatr.deploy(unit, "stop").returncode == 0
    with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
        master = int(f.read().strip())
    workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in [master, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)
    for c in clients:
        c.close()
    os.unlink(os.path.join(chatr.state, "run", "nginx-internal.sock"))  # as infra/emulator does
    nginx = os.path.join(chatr.state, "nginx")
    r = subprocess.run(["nginx", "-p", nginx, "-c", os.path.join(nginx, "nginx.conf"),
                        "-e", os.path.join(chatr.state, "logs", "nginx-error.log")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for unit in ("hub-events", "hub-router"):
        assert chatr.deploy(unit, "start").returncode == 0
    fresh = Client(chatr, hub=HUB, user="w-crash-after")  # the first hook of the new epoch sweeps
    got = {}
    for cid in ids:
        for _, h, body in UPSTREAM.events("disconnected", cid, timeout=LATE):
            got.setdefault(cid, []).append(json.loads(body)["reason"])
    assert sorted(got) == sorted(ids)
    assert all(len(v) == 1 and "restarted" in v[0] for v in got.values()), got
    assert chatr.sql(f"SELECT count(*) FROM pubsub.connections WHERE hub = '{HUB}' "
                     f"AND user_id LIKE 'w-crash-%' AND user_id <> 'w-crash-after'") == [["0"]]
    fresh.close()
