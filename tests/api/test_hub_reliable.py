"""The reliable subprotocol json.reliable.webpubsub.azure.v1
(docs/protocols.md#the-reliable-subprotocol, checklist item 4; gateway/hub/hub_reliable.c):
reconnectionToken, sequenceIds on data messages, sequenceAck, the retention of a dropped connection,
recovery with replay, and recovery refused with close 1008.
Hub `testhub` has the recording event handler hubtools.UPSTREAM. The emulator of the session runs
with a short retention (CHATR_RELIABLE_RETENTION_MS below) so that expiry is quick to see."""
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import threading
import time

import websocket

from conftest import HeldSession
from hubtools import PROTO, RELIABLE, TEST_HUB, UPSTREAM, Client, client_token, rest, short_retention

RETENTION = short_retention(3000)  # only reliable connections care
HUB = TEST_HUB
H = f"/api/hubs/{HUB}"
ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


class Socket(Client):
    """A client WebSocket opened on any URL (recoveries); reads nothing by itself."""

    def __init__(self, url, protocol=RELIABLE):  # pylint: disable=super-init-not-called
        kw = {"subprotocols": [protocol]} if protocol else {}
        self.ws = websocket.create_connection(url, timeout=10, **kw)
        self.conn_id = None


def rclient(chatr, user, **kw):
    return Client(chatr, hub=HUB, user=user, protocol=RELIABLE, **kw)


def recover(chatr, conn_id, token, protocol=RELIABLE, hub=HUB, access_token=None):
    """Opens the recovery URL the SDK builds (it keeps the old access_token in it)."""
    q = f"awps_connection_id={conn_id}&awps_reconnection_token={token}"
    if access_token:
        q = f"access_token={access_token}&{q}"
    return Socket(chatr.url.replace("http", "ws", 1) + f"/client/hubs/{hub}?{q}", protocol)


def kill(c):
    """Drops the TCP connection without a close frame (a network loss)."""
    c.ws.sock.shutdown(socket.SHUT_RDWR)
    c.ws.sock.close()


def wait_away(chatr, conn_id, timeout=10):
    """Until the hub has seen the socket go (the connection is kept, no socket holds it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if chatr.sql("SELECT count(*) FROM pubsub.reliable WHERE conn_id = :'p1' AND socket IS NULL",
                     conn_id) == [["1"]]:
            return
        time.sleep(0.05)
    raise AssertionError(f"{conn_id} still held by a socket")


def recv_text(c, timeout=10):
    c.ws.settimeout(timeout)
    return c.ws.recv()


def close_code(c, timeout=10):
    """Reads frames until the close frame; returns its status code."""
    c.ws.settimeout(timeout)
    while True:
        op, frame = c.ws.recv_data_frame(True)
        if op == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0] if len(frame.data) >= 2 else None


def data(c, timeout=10):
    """The next data message (acks, pongs and system frames are skipped)."""
    while True:
        m = c.recv(timeout)
        if m.get("type") == "message":
            return m


def send_conn(chatr, conn_id, text):
    r = rest(chatr, "POST", f"{H}/connections/{conn_id}/:send", body=text, ctype="text/plain")
    assert r.status_code == 202, r.text


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def test_a4_connected_carries_reconnection_token(chatr):
    c = rclient(chatr, "r-token")
    assert c.ws.getsubprotocol() == RELIABLE
    first = c.connected
    assert first["userId"] == "r-token" and len(first["connectionId"]) == 32
    token = first["reconnectionToken"]
    head, payload, sig = token.split(".")
    assert json.loads(b64d(head))["alg"] == "HS256"
    want = hmac.new(chatr.access_key.encode(), f"{head}.{payload}".encode(), hashlib.sha256).digest()
    assert b64d(sig) == want
    claims = json.loads(b64d(payload))
    assert claims["aud"] == c.conn_id
    assert abs(claims["exp"] - time.time() - 7 * 24 * 3600) < 120
    # a plain json client gets no token and is subscribed as before
    p = Client(chatr, hub=HUB, user="r-token-plain")
    assert "reconnectionToken" not in p.connected
    c.close()
    p.close()


def test_a4_sequence_ids_on_data_messages_only(chatr):
    UPSTREAM.rules["rseq"] = (200, {"Content-Type": "text/plain"}, b"reply")
    r = rclient(chatr, "r-seq", roles=ROLES)
    p = Client(chatr, hub=HUB, user="r-seq-plain", roles=ROLES)
    for c in (r, p):
        before, ack = c.request({"type": "joinGroup", "group": "rg-seq", "ackId": 1})
        assert before == [] and ack == {"type": "ack", "ackId": 1, "success": True}
    r.send({"type": "ping"})
    assert recv_text(r) == '{"type":"pong"}'
    p.send({"type": "sendToGroup", "group": "rg-seq", "dataType": "text", "data": "m1"})
    raw = recv_text(r)
    assert raw.startswith('{"sequenceId":1,"type":"message","from":"group"'), raw
    assert json.loads(raw)["data"] == "m1" and json.loads(raw)["fromUserId"] == "r-seq-plain"
    assert "sequenceId" not in p.recv()  # the plain sender's own copy
    assert rest(chatr, "POST", f"{H}/users/r-seq/:send", body="m2", ctype="text/plain").status_code == 202
    send_conn(chatr, r.conn_id, "m3")
    assert rest(chatr, "POST", f"{H}/:send", body="m4", ctype="text/plain").status_code == 202
    assert rest(chatr, "POST", f"{H}/groups/rg-seq/:send", body="m5", ctype="text/plain").status_code == 202
    for n, text, frm in ((2, "m2", "server"), (3, "m3", "server"), (4, "m4", "server"), (5, "m5", "group")):
        raw = recv_text(r)
        assert raw.startswith('{"sequenceId":%d,' % n), raw
        m = json.loads(raw)
        assert (m["type"], m["from"], m["data"]) == ("message", frm, text)
    for text in ("m4", "m5"):  # the plain client gets the same messages, without sequenceIds
        m = p.recv()
        assert m["data"] == text and "sequenceId" not in m
    before, ack = r.request({"type": "event", "event": "rseq", "ackId": 2, "dataType": "text", "data": "x"})
    assert before == [{"sequenceId": 6, "type": "message", "from": "server", "dataType": "text", "data": "reply"}]
    assert ack == {"type": "ack", "ackId": 2, "success": True}
    r.nothing()
    p.nothing()
    r.close()
    p.close()


def test_a4_sequence_ack_trims_what_a_recovery_replays(chatr):
    r = rclient(chatr, "r-trim")
    for i in range(1, 6):
        send_conn(chatr, r.conn_id, f"t{i}")
    assert [data(r)["sequenceId"] for _ in range(5)] == [1, 2, 3, 4, 5]
    r.send({"type": "sequenceAck", "sequenceId": 3})
    r.send({"type": "ping"})  # frames are handled in order: the pong follows the ack
    assert r.recv()["type"] == "pong"
    assert chatr.sql("SELECT seq FROM pubsub.reliable_messages WHERE conn_id = :'p1' ORDER BY seq",
                     r.conn_id) == [["4"], ["5"]]
    kill(r)
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"])
    again = s.recv()
    assert again["type"] == "system" and again["event"] == "connected"
    assert again["connectionId"] == r.conn_id and again["userId"] == "r-trim"
    assert again["reconnectionToken"]
    got = [data(s) for _ in range(2)]
    assert [(m["sequenceId"], m["data"]) for m in got] == [(4, "t4"), (5, "t5")]
    send_conn(chatr, r.conn_id, "t6")
    assert data(s)["sequenceId"] == 6
    s.nothing()
    s.close()


def test_a4_group_messages_sent_while_away_arrive_once_in_order(chatr):
    r = rclient(chatr, "r-away", groups=["rg-away"])
    sender = Client(chatr, hub=HUB, user="r-away-sender", roles=ROLES)
    sender.send({"type": "sendToGroup", "group": "rg-away", "dataType": "text", "data": "before"})
    assert data(r)["sequenceId"] == 1
    kill(r)
    wait_away(chatr, r.conn_id)
    for i in range(10):
        _, ack = sender.request({"type": "sendToGroup", "group": "rg-away", "ackId": i + 1,
                                 "dataType": "json", "data": {"n": i}})
        assert ack["success"]
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"], access_token=client_token(chatr, HUB, "r-away"))
    assert s.recv()["event"] == "connected"
    got = [data(s) for _ in range(11)]  # 1 was never acknowledged: replayed too
    assert [m["sequenceId"] for m in got] == list(range(1, 12))
    assert [m["data"] for m in got[1:]] == [{"n": i} for i in range(10)]
    sender.send({"type": "sendToGroup", "group": "rg-away", "dataType": "text", "data": "after"})
    m = data(s)
    assert (m["sequenceId"], m["data"]) == (12, "after")
    s.nothing()
    # still the same logical connection: one `connected` webhook, no `disconnected` yet
    assert len(UPSTREAM.events("connected", r.conn_id, timeout=1)) == 1
    assert UPSTREAM.events("disconnected", r.conn_id, timeout=RETENTION + 1.5) == []
    s.close()
    sender.close()


def test_a4_disconnected_once_after_retention_not_at_the_drop(chatr):
    r = rclient(chatr, "r-expire")
    UPSTREAM.events("connected", r.conn_id)
    dropped = time.time()
    kill(r)
    assert UPSTREAM.events("disconnected", r.conn_id, timeout=RETENTION * 0.6) == []
    send_conn(chatr, r.conn_id, "stored while away")  # still sequenced and stored meanwhile
    assert chatr.sql("SELECT seq FROM pubsub.reliable_messages WHERE conn_id = :'p1'", r.conn_id) == [["1"]]
    [(_, h, body)] = UPSTREAM.events("disconnected", r.conn_id, timeout=RETENTION + 10)
    assert time.time() - dropped >= RETENTION
    assert "reason" in json.loads(body)
    assert UPSTREAM.events("disconnected", r.conn_id, timeout=2) == []  # exactly once
    assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", r.conn_id) == [["0"]]
    # recovering now is refused: `disconnected` frame, then close 1008 on the next frame
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"])
    assert s.ws.getsubprotocol() == RELIABLE
    m = s.recv()
    assert m["type"] == "system" and m["event"] == "disconnected" and "recover" in m["message"]
    assert s.recv()["sequenceId"] == 0  # the probe every client drops (the SDK acks it)
    s.send({"type": "sequenceAck", "sequenceId": 0})
    assert close_code(s) == 1008


def test_a4_expiry_leaves_a_connection_alone_that_a_recovery_holds(chatr):
    """A recovery that starts just before the retention runs out holds the connection's
    pubsub.reliable row lock (the takeover's transaction: the row moved to the new socket, the
    replay published, then COMMIT). The retention expiry that comes due meanwhile must not end
    the connection once the takeover commits (it used to wait for the connection row, then delete
    it anyway, judging by the reliable row as it was: `disconnected` fired for a connection that
    had just recovered, and its messages went nowhere). The takeover is played by psql with the
    takeover's own statements, so that it can be held open past the retention; the socket it
    moves the connection to is a real one."""
    r = rclient(chatr, "r-expire-race")
    UPSTREAM.events("connected", r.conn_id)
    kill(r)
    wait_away(chatr, r.conn_id)
    new = Client(chatr, hub=HUB, user="r-expire-race-new")
    holder = HeldSession(chatr)
    try:
        holder.say(
            "BEGIN;\n"
            f"SELECT 'locked' FROM pubsub.reliable WHERE conn_id = '{r.conn_id}' FOR NO KEY UPDATE;\n"
            f"UPDATE pubsub.connections SET node = node WHERE id = '{r.conn_id}';\n"
            f"UPDATE pubsub.reliable SET socket = '{new.conn_id}', dropped_at = NULL "
            f"WHERE conn_id = '{r.conn_id}';\n", then="locked")
        time.sleep(RETENTION + 2)  # the retention ran out meanwhile; expiry passes came and went
        holder.say("COMMIT;\nSELECT 'committed';\n", then="committed")
        assert UPSTREAM.events("disconnected", r.conn_id, timeout=2) == []
        assert chatr.sql("SELECT socket FROM pubsub.reliable WHERE conn_id = :'p1'",
                         r.conn_id) == [[new.conn_id]]
        send_conn(chatr, r.conn_id, "to the new socket")
        m = data(new)
        assert m["data"] == "to the new socket" and m["sequenceId"] == 1, m
    finally:
        holder.close()
        new.close()


def test_a4_recovery_refused_with_1008(chatr):
    r = rclient(chatr, "r-refuse")
    token = r.connected["reconnectionToken"]
    other = rclient(chatr, "r-refuse-other").connected["reconnectionToken"]
    cases = [
        (r.conn_id, other, RELIABLE),            # a token of another connection
        (r.conn_id, token + "x", RELIABLE),      # a bad signature
        ("0" * 32, token, RELIABLE),             # unknown id
        ("bad%0Aid", token, RELIABLE),           # not an id at all
        (r.conn_id, token, PROTO),               # not the reliable subprotocol
    ]
    for conn_id, tok, proto in cases:
        s = recover(chatr, conn_id, tok, protocol=proto)
        assert s.ws.getsubprotocol() == proto
        assert s.recv()["event"] == "disconnected"
        s.send({"type": "ping"})
        assert close_code(s) == 1008, (conn_id, proto)
    # a client that sends nothing is closed anyway, after the retention at most (10 s)
    s = recover(chatr, "0" * 32, token)
    opened = time.time()
    assert close_code(s, timeout=RETENTION + 5) in (1000, 1001)
    assert time.time() - opened >= min(RETENTION, 10) - 0.5
    # none of these touched the connection: it still works
    send_conn(chatr, r.conn_id, "fine")
    assert data(r)["sequenceId"] == 1
    r.close()


def test_a4_ack_id_dedupe_spans_a_recovery(chatr):
    r = rclient(chatr, "r-dup", roles=ROLES, groups=["rg-dup"])
    before, ack = r.request({"type": "sendToGroup", "group": "rg-dup", "ackId": 7, "dataType": "text", "data": "once"})
    assert ack == {"type": "ack", "ackId": 7, "success": True}
    assert [(m["sequenceId"], m["data"]) for m in before] == [(1, "once")]  # own copy before the ack
    kill(r)
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"])
    assert s.recv()["event"] == "connected"
    assert data(s)["sequenceId"] == 1  # replayed: not acknowledged
    _, ack = s.request({"type": "sendToGroup", "group": "rg-dup", "ackId": 7, "dataType": "text", "data": "once"})
    assert ack["success"] is False and ack["error"]["name"] == "Duplicate"
    _, ack = s.request({"type": "joinGroup", "group": "rg-dup", "ackId": 8})
    assert ack["success"]
    s.nothing()
    s.close()


def test_a4_over_capacity_closes_for_good(chatr):
    r = rclient(chatr, "r-full")
    big = "x" * (1024 * 1024 - 100)  # 16 of these fit in 16 MB, the 17th does not
    for _ in range(16):
        send_conn(chatr, r.conn_id, big)
    # Received, never acknowledged: all 16 still count. (Read before the 17th goes out: the close
    # it causes would race a slow reader for the last megabytes still on their way.)
    for i in range(16):
        assert data(r, timeout=30)["sequenceId"] == i + 1
    send_conn(chatr, r.conn_id, big)
    m = r.recv()
    assert m["type"] == "system" and m["event"] == "disconnected" and "unacknowledged" in m["message"]
    assert close_code(r) in (1000, 1001)
    [(_, h, body)] = UPSTREAM.events("disconnected", r.conn_id, timeout=10)
    assert "unacknowledged" in json.loads(body)["reason"]
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"])
    assert s.recv()["event"] == "disconnected"
    s.send({"type": "ping"})
    assert close_code(s) == 1008


def test_a4_over_1000_unacknowledged_messages_closes(chatr):
    r = rclient(chatr, "r-count", groups=["rg-count"])
    sender = Client(chatr, hub=HUB, user="r-count-sender", roles=ROLES)
    for i in range(1001):
        sender.send({"type": "sendToGroup", "group": "rg-count", "dataType": "json", "data": i})
    seqs = [data(r, timeout=30)["sequenceId"] for _ in range(1000)]
    assert seqs == list(range(1, 1001))
    m = r.recv(timeout=30)
    assert m["type"] == "system" and m["event"] == "disconnected"
    assert len(UPSTREAM.events("disconnected", r.conn_id, timeout=10)) == 1
    sender.close()


def test_a4_rest_close_ends_it_for_good(chatr):
    r = rclient(chatr, "r-close")
    r2 = rclient(chatr, "r-close-away")
    UPSTREAM.events("connected", r2.conn_id)
    assert rest(chatr, "DELETE", f"{H}/connections/{r.conn_id}", params={"reason": "bye"}).status_code == 204
    assert r.recv() == {"type": "system", "event": "disconnected", "message": "bye"}
    close_code(r)
    [(_, h, body)] = UPSTREAM.events("disconnected", r.conn_id, timeout=10)
    assert json.loads(body) == {"reason": "bye"}
    s = recover(chatr, r.conn_id, r.connected["reconnectionToken"])
    assert s.recv()["event"] == "disconnected"
    s.send({"type": "ping"})
    assert close_code(s) == 1008
    # closed while away: it ends at once, not after the retention
    kill(r2)
    wait_away(chatr, r2.conn_id)
    assert rest(chatr, "DELETE", f"{H}/connections/{r2.conn_id}", params={"reason": "gone"}).status_code == 204
    [(_, h, body)] = UPSTREAM.events("disconnected", r2.conn_id, timeout=RETENTION / 2)
    assert json.loads(body) == {"reason": "gone"}
    assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", r2.conn_id) == [["0"]]


def test_a4_concurrent_senders_keep_sequence_ids_strictly_increasing(chatr):
    r = rclient(chatr, "r-many", groups=["rg-many"])
    senders = [Client(chatr, hub=HUB, user=f"r-many-s{i}", roles=ROLES) for i in range(4)]
    per = 100

    def socket_sender(c, k):
        for i in range(per):
            c.send({"type": "sendToGroup", "group": "rg-many", "dataType": "json", "data": [k, i]})

    def rest_sender(k):
        for i in range(per // 2):
            rest(chatr, "POST", f"{H}/connections/{r.conn_id}/:send", body=json.dumps([k, i]),
                 ctype="application/json")

    threads = [threading.Thread(target=socket_sender, args=(c, k)) for k, c in enumerate(senders)]
    threads += [threading.Thread(target=rest_sender, args=(10 + k,)) for k in range(2)]
    for t in threads:
        t.start()
    total = 4 * per + 2 * (per // 2)
    got = []
    for _ in range(total):
        m = data(r, timeout=30)
        got.append((m["sequenceId"], tuple(m["data"])))
        if len(got) % 100 == 0:
            r.send({"type": "sequenceAck", "sequenceId": m["sequenceId"]})
    for t in threads:
        t.join()
    assert [s for s, _ in got] == list(range(1, total + 1))
    assert len({d for _, d in got}) == total  # none lost, none twice
    for k in range(4):  # each sender's own messages in its order
        assert [d[1] for _, d in got if d[0] == k] == list(range(per))
    r.nothing()
    r.close()
    for c in senders:
        c.close()


SDK_SCRIPT = r"""
const { WebPubSubClient, WebPubSubJsonProtocol } = require(process.env.SDK);
function waitFor(pred, ms, what) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const iv = setInterval(() => {
      if (pred()) { clearInterval(iv); resolve(); }
      else if (Date.now() - t0 > ms) { clearInterval(iv); reject(new Error('timeout: ' + what)); }
    }, 20);
  });
}
(async () => {
  const out = {connected: [], disconnected: [], got: []};
  const c = new WebPubSubClient(process.env.URL_R);  // the default: the reliable subprotocol
  c.on('connected', (e) => out.connected.push(e.connectionId));
  c.on('disconnected', (e) => out.disconnected.push(e.message ? e.message.message : null));
  c.on('group-message', (e) => out.got.push([e.message.sequenceId, e.message.data]));
  await c.start();
  await waitFor(() => out.connected.length === 1, 5000, 'connected');
  await c.joinGroup('sdk-g');
  const s = new WebPubSubClient(process.env.URL_S, {protocol: WebPubSubJsonProtocol()});
  await s.start();
  for (let i = 1; i <= 3; i++) await s.sendToGroup('sdk-g', 'm' + i, 'text');
  await waitFor(() => out.got.length === 3, 5000, 'the first three');
  c._wsClient._socket.terminate();  // a network loss: no close frame
  for (let i = 4; i <= 6; i++) await s.sendToGroup('sdk-g', 'm' + i, 'text');
  await waitFor(() => out.got.length === 6, 20000, 'the three sent while away');
  await s.sendToGroup('sdk-g', 'm7', 'text');
  await waitFor(() => out.got.length === 7, 5000, 'one more');
  out.recovered = out.disconnected.length === 0;
  // a recovery the hub refuses (bad token): close 1008, so a new connection at once
  c._reconnectionToken = 'not-a-token';
  const t0 = Date.now();
  c._wsClient._socket.terminate();
  await waitFor(() => out.connected.length === 2, 25000, 'a new connection');
  out.newConnectionMs = Date.now() - t0;
  await s.sendToGroup('sdk-g', 'm8', 'text');  // rejoined automatically (autoRejoinGroups)
  await waitFor(() => out.got.length === 8, 5000, 'after the new connection');
  await c.stop();
  await s.stop();
  console.log(JSON.stringify(out));
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({error: String(e)})); process.exit(1); });
"""


def sdk_dir():
    """@azure/web-pubsub-client 1.0.4: CHATR_WPS_CLIENT_DIR, or frontend/node_modules."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for d in (os.environ.get("CHATR_WPS_CLIENT_DIR", ""),
              os.path.join(root, "frontend", "node_modules", "@azure", "web-pubsub-client")):
        if d and os.path.exists(os.path.join(d, "package.json")):
            return d
    return None


def test_a4_the_real_sdk_recovers_and_gives_up_on_1008(chatr, tmp_path):
    import shutil
    import subprocess
    import pytest
    d = sdk_dir()
    if not d or not shutil.which("node"):
        pytest.skip("@azure/web-pubsub-client is not installed (set CHATR_WPS_CLIENT_DIR)")
    base = chatr.url.replace("http", "ws", 1) + f"/client/hubs/{HUB}?access_token="
    script = tmp_path / "sdk.js"
    script.write_text(SDK_SCRIPT)
    env = dict(os.environ, SDK=d, URL_R=base + client_token(chatr, HUB, "r-sdk", roles=ROLES),
               URL_S=base + client_token(chatr, HUB, "r-sdk-sender", roles=ROLES))
    r = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=120)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "error" not in out, (out, r.stderr[-2000:])
    assert out["got"] == [[i, f"m{i}"] for i in range(1, 8)] + [[1, "m8"]]
    assert out["recovered"]  # no `disconnected` event: the same connection went on
    assert out["connected"][0] != out["connected"][1]
    assert out["disconnected"] == ["Invalid reconnection token."]
    assert out["newConnectionMs"] < 10000  # not the 30 s of retries anything but 1008 causes
    print(f"SDK: new connection {out['newConnectionMs']} ms after a refused recovery")


def slow_ok(headers, body):
    time.sleep(0.5)
    return 200, {}, b""


def test_a4_socket_lost_during_a_hook_is_kept_then_recovered_or_ended(chatr):
    """nchan drops the `closed` hook of a socket that closes while one of its hooks is in flight;
    the orphan watch (hub_orphan.c) notices. For a reliable connection that starts the retention
    instead of ending it, and a recovery meanwhile, even one that comes before the hub noticed
    the drop, takes the connection over."""
    UPSTREAM.rules["rslow"] = slow_ok
    a = rclient(chatr, "r-orphan-a")
    a.send({"type": "event", "event": "rslow", "ackId": 1, "dataType": "text", "data": "x"})
    UPSTREAM.events("rslow", a.conn_id)  # the frame hook now waits on the handler
    kill(a)
    s = recover(chatr, a.conn_id, a.connected["reconnectionToken"])
    assert s.recv()["event"] == "connected"
    send_conn(chatr, a.conn_id, "still here")
    assert data(s)["sequenceId"] == 1
    # the orphan watch looks at the socket holding the connection now: nothing ends
    assert UPSTREAM.events("disconnected", a.conn_id, timeout=6 + RETENTION) == []
    send_conn(chatr, a.conn_id, "still here")
    assert data(s)["sequenceId"] == 2
    s.close()

    b = rclient(chatr, "r-orphan-b")
    b.send({"type": "event", "event": "rslow", "ackId": 1, "dataType": "text", "data": "x"})
    UPSTREAM.events("rslow", b.conn_id)
    kill(b)
    [(_, h, body)] = UPSTREAM.events("disconnected", b.conn_id, timeout=40 + RETENTION)
    assert UPSTREAM.events("disconnected", b.conn_id, timeout=2) == []  # exactly once
    assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE id = :'p1'", b.conn_id) == [["0"]]
    del UPSTREAM.rules["rslow"]
