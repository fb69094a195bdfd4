"""How the hub knows a connection is alive (docs/liveness.md; gateway/hub/hub_sweep.c,
hub_orphan.c, hub_chan.c): ghosts left by dead processes are swept, reliable clients recover
after a gateway restart, and channel names cannot be computed from public ids.

Hub `testhub` has the recording event handler hubtools.UPSTREAM; hub `chat` has the app's own
eventHandler (presence). The session's emulator runs the ghost sweep every SWEEP_MS (read when
it starts, after collection) so that these tests do not wait for the production interval."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import time

import requests
import websocket

from conftest import HeldSession
from chattools import Person
from hubtools import RELIABLE, TEST_HUB, UPSTREAM, Client, rest, short_retention

SWEEP_MS = 2000
os.environ.setdefault("CHATR_HUB_SWEEP_MS", str(SWEEP_MS))
SWEEP = int(os.environ["CHATR_HUB_SWEEP_MS"]) / 1000
GRACE = 5  # HUB_SWEEP_GRACE_MS: rows younger than this are not looked at
# A ghost goes within one pass after it became one (and its row is older than the grace); a
# pass of a few rows is one batch. Several intervals of slack for a busy machine.
GONE_WITHIN = GRACE + 5 * SWEEP + 10

RETENTION = short_retention(3000)
HUB = TEST_HUB
H = f"/api/hubs/{HUB}"


def pool_pids(chatr, unit):
    with open(os.path.join(chatr.state, "run", f"{unit}.pid")) as f:
        return [int(p) for p in f.read().split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of spawn-fcgi's that nobody reaped yet is dead too
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def group_members(pgid):
    """Live processes of a process group (from /proc; zombies count as gone)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(d))
    return out


def kill_pool(chatr, unit):
    """kill -9 every process of a FastCGI pool, its supervisor included (infra/deploy runs each
    pool as multiwatch in a process group of its own, whose id is in run/<unit>.pid), and wait
    until they are gone: nothing is left to restart them or to remember their connections."""
    pids = pool_pids(chatr, unit)
    assert pids
    for pid in pids:
        os.killpg(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while any(group_members(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(group_members(p) for p in pids)


def drop(c):
    """The client dies: its TCP connection goes without a close frame."""
    c.ws.sock.shutdown(socket.SHUT_RDWR)
    c.ws.sock.close()


def rows(chatr, ids):
    return {r[0] for r in chatr.sql("SELECT id FROM pubsub.connections WHERE id = ANY(:'p1'::text[])",
                                   "{" + ",".join(ids) + "}")}


def wait_until(pred, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def test_ghosts_left_by_dead_hub_processes_are_swept_with_disconnected_once(chatr):
    """Every router and event process dies (kill -9) with clients connected, then the clients die
    abruptly: their `closed` hooks find nobody, and the orphan watch lists died with the
    processes. The pools come back (as a supervisor restarts them); the node sweep finds the rows
    whose sockets are gone and removes them: connectionExists/userExists answer 404, the chat's
    users list no longer shows the user online, and `disconnected` fires once per connection. A
    reliable connection among them is kept for recovery and ends only when its retention does."""
    clients = [Client(chatr, hub=HUB, user=f"live-ghost-{i}") for i in range(3)]
    ids = [c.conn_id for c in clients]
    rel = Client(chatr, hub=HUB, user="live-ghost-r", protocol=RELIABLE)
    assert len(UPSTREAM.events("connected", None, count=4, timeout=30)) >= 4
    person = Person(chatr, "Ghost")  # a chat user, online through the app's eventHandler
    assert person.uid in person.get("/api/users").json()["users"]
    time.sleep(GRACE)  # the rows are older than the sweep's grace: no handshake is in doubt
    for unit in ("hub-router", "hub-events"):
        kill_pool(chatr, unit)
    for c in [*clients, rel]:
        drop(c)
    drop(person.ws)
    time.sleep(1)  # nginx has seen the sockets go and run its `closed` hooks into the void
    assert rows(chatr, ids) == set(ids)  # ghosts: no process is left that knows about them
    assert chatr.sql("SELECT socket IS NOT NULL FROM pubsub.reliable WHERE conn_id = :'p1'",
                     rel.conn_id) == [["t"]]
    for unit in ("hub-router", "hub-events"):
        assert chatr.deploy(unit, "start").returncode == 0

    assert wait_until(lambda: not rows(chatr, ids), GONE_WITHIN), rows(chatr, ids)
    for c in clients:
        assert rest(chatr, "HEAD", f"{H}/connections/{c.conn_id}").status_code == 404
        assert rest(chatr, "HEAD", f"{H}/users/{c.user}").status_code == 404
    assert wait_until(lambda: person.uid not in person.get("/api/users").json()["users"], 15)
    got = {}
    for cid in ids:
        for _, h, body in UPSTREAM.events("disconnected", cid, timeout=10):
            got.setdefault(cid, []).append(json.loads(body))
    assert sorted(got) == sorted(ids)
    time.sleep(2 * SWEEP)  # later passes (and the orphan checks) find nothing more to notify
    for cid in ids:
        got[cid] += [json.loads(b) for _, _, b in UPSTREAM.events("disconnected", cid, timeout=0.1)]
    assert all(len(v) == 1 for v in got.values()), got
    # The reliable connection was no ghost while its retention ran (it could have recovered):
    # the sweep dropped it, and it ended with one `disconnected` only when its retention was over.
    [(_, h, body)] = UPSTREAM.events("disconnected", rel.conn_id, timeout=GONE_WITHIN + RETENTION)
    assert "did not reconnect in time" in json.loads(body)["reason"]
    assert UPSTREAM.events("disconnected", rel.conn_id, timeout=SWEEP) == []


def test_a_live_connection_is_never_swept(chatr):
    """The sweep asks nchan about every row of the node: a connection whose socket is open stays,
    however many passes run, and still gets messages."""
    c = Client(chatr, hub=HUB, user="live-stays")
    time.sleep(GRACE + 3 * SWEEP)
    assert rows(chatr, [c.conn_id]) == {c.conn_id}
    r = rest(chatr, "POST", f"{H}/connections/{c.conn_id}/:send", body="still here", ctype="text/plain")
    assert r.status_code == 202, r.text
    assert c.recv()["data"] == "still here"
    assert UPSTREAM.events("disconnected", c.conn_id, timeout=0.5) == []
    c.close()


# ---- a gateway restart: reliable clients recover ------------------------------------------------

def recover(chatr, conn_id, token):
    url = (chatr.url.replace("http", "ws", 1) +
           f"/client/hubs/{HUB}?awps_connection_id={conn_id}&awps_reconnection_token={token}")
    return websocket.create_connection(url, timeout=10, subprotocols=[RELIABLE])


def kill_nginx(chatr):
    """kill -9 nginx (master and workers): no `closed` hook runs for any socket."""
    with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
        master = int(f.read().strip())
    workers = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    for pid in [master, *map(int, workers)]:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(master), 10, 0.05)


def start_nginx(chatr):
    """nginx again, as infra/emulator starts it (the stale internal socket removed first)."""
    sock = os.path.join(chatr.state, "run", "nginx-internal.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    nginx = os.path.join(chatr.state, "nginx")
    r = subprocess.run(["nginx", "-p", nginx, "-c", os.path.join(nginx, "nginx.conf"),
                        "-e", os.path.join(chatr.state, "logs", "nginx-error.log")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: requests.get(chatr.url + "/.chatr/health", timeout=2).ok, 10)


def messages(ws, until_seq, timeout=10):
    """Data messages (sequenceId, data) read until sequenceId until_seq."""
    got = []
    ws.settimeout(timeout)
    while not got or got[-1][0] < until_seq:
        m = json.loads(ws.recv())
        if m.get("type") == "message":
            got.append((m["sequenceId"], m["data"]))
    return got


def test_reliable_client_recovers_after_a_gateway_restart_with_nothing_missing_or_twice(chatr):
    """nginx dies (kill -9) and starts again: the node's epoch changes and its sweep ends the
    plain connections of the old nginx, but keeps the reliable ones for their retention, so a
    client that reconnects with its connection id and reconnection token recovers: every message
    sent before, during and after the restart arrives once, in order."""
    r = Client(chatr, hub=HUB, user="live-restart-r", protocol=RELIABLE)
    plain = Client(chatr, hub=HUB, user="live-restart-p")
    token = r.connected["reconnectionToken"]
    sent = []

    def send(text):
        resp = rest(chatr, "POST", f"{H}/connections/{r.conn_id}/:send", body=text, ctype="text/plain")
        assert resp.status_code == 202, resp.text
        sent.append(text)

    send("before-1")
    send("before-2")
    first = messages(r.ws, 2)
    assert [d for _, d in first] == ["before-1", "before-2"]
    r.send({"type": "sequenceAck", "sequenceId": 1})  # 2 arrived but is not acknowledged
    assert wait_until(lambda: chatr.sql("SELECT min(seq) FROM pubsub.reliable_messages "
                                        "WHERE conn_id = :'p1'", r.conn_id) == [["2"]], 10)
    kill_nginx(chatr)
    start_nginx(chatr)
    # A plain client comes first: its hooks run the new epoch's sweep before the recovery.
    fresh = Client(chatr, hub=HUB, user="live-restart-fresh")
    assert len(UPSTREAM.events("disconnected", plain.conn_id, timeout=15)) == 1
    assert UPSTREAM.events("disconnected", r.conn_id, timeout=0.5) == []
    send("while-away-1")  # stored for the away connection
    send("while-away-2")
    ws = recover(chatr, r.conn_id, token)
    connected = json.loads(ws.recv())
    assert connected["type"] == "system" and connected["event"] == "connected", connected
    assert connected["connectionId"] == r.conn_id
    send("after")
    got = messages(ws, 5)
    assert [s for s, _ in got] == [2, 3, 4, 5], got  # 2 again: it was never acknowledged
    assert [d for _, d in got] == ["before-2", "while-away-1", "while-away-2", "after"]
    assert UPSTREAM.events("disconnected", r.conn_id, timeout=RETENTION + 2) == []
    ws.close()
    fresh.close()


def waiting_sweep(chatr, timeout=15):
    """True once a backend runs the epoch sweep and waits for a row lock."""
    return wait_until(lambda: chatr.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                        "wait_event_type = 'Lock' AND query LIKE '%kept AS%'")
                      != [["0"]], timeout, 0.05)


def test_an_epoch_sweep_behind_a_recovery_leaves_the_recovered_connection_alone(chatr):
    """After a gateway restart, one hub-events process takes a reliable connection over (its
    transaction holds the connection's pubsub.reliable row lock, records the new epoch and the new
    socket) while another runs the new epoch's sweep, which saw the old epoch when it started and
    waits for that lock. Once the takeover commits, the sweep must leave the connection to its
    new socket. (It used to mark it away: every later message was stored but published to no
    socket, and the client, connected and recovered, missed them all: the fault drill's nginx
    scenario lost 26 acknowledged messages at one reliable client this way.) The takeover here is
    played by psql with the takeover's own writes, so that it can be held open; the new socket is
    a real one, of a plain client that connected after the restart."""
    r = Client(chatr, hub=HUB, user="live-race-r", protocol=RELIABLE)
    kill_nginx(chatr)
    holder = HeldSession(chatr)
    try:
        holder.say("BEGIN;\nSELECT 'locked' FROM pubsub.reliable WHERE conn_id = "
                   f"'{r.conn_id}' FOR NO KEY UPDATE;\n", then="locked")
        start_nginx(chatr)  # a new epoch: hub-events sweeps the old one (and waits for our lock)
        new = Client(chatr, hub=HUB, user="live-race-new")
        with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
            epoch = int(f.read().strip())
        holder.say(f"UPDATE pubsub.connections SET epoch = {epoch} WHERE id = '{r.conn_id}';\n"
                   f"UPDATE pubsub.reliable SET socket = '{new.conn_id}', dropped_at = NULL "
                   f"WHERE conn_id = '{r.conn_id}';\nSELECT 'taken';\n", then="taken")
        assert waiting_sweep(chatr), "no epoch sweep waits for the takeover's lock"
        holder.say("COMMIT;\nSELECT 'committed';\n", then="committed")
        assert wait_until(lambda: not waiting_sweep(chatr, 0), 15)
        assert chatr.sql("SELECT socket FROM pubsub.reliable WHERE conn_id = :'p1'",
                         r.conn_id) == [[new.conn_id]]
        resp = rest(chatr, "POST", f"{H}/connections/{r.conn_id}/:send", body="to the new socket",
                    ctype="text/plain")
        assert resp.status_code == 202, resp.text
        m = new.recv()
        assert m.get("sequenceId") and m["data"] == "to the new socket", m
        assert UPSTREAM.events("disconnected", r.conn_id, timeout=0.5) == []
        new.close()
    finally:
        holder.close()


# ---- channel names are keyed ----------------------------------------------------------------------

def internal(chatr, method, channels, body=b""):
    """A request to nginx's internal publishing socket, as any local user able to reach it."""
    path = os.path.join(chatr.state, "run", "nginx-internal.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    head = (f"{method} /pub HTTP/1.1\r\nHost: localhost\r\nX-Hub-Channels: {channels}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    s.sendall(head.encode() + body)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return int(out.split(b" ", 2)[1])


def unkeyed(a, b, size):
    """The channel hash as it was before it was keyed: BLAKE2b of the public names alone."""
    h = hashlib.blake2b(digest_size=size)
    h.update(a.encode())
    if b is not None:
        h.update(b"\0" + b.encode())
    return h.hexdigest()


def test_publishing_to_the_old_unkeyed_channel_names_reaches_nobody(chatr):
    """Anyone who can reach the internal socket can compute the unkeyed names from a hub, a user
    and a connection id (connection ids are not secret). With keyed names, a fake frame sent
    there reaches nobody, and deleting the socket's old-style channel does not close it."""
    user = "live-victim"
    c = Client(chatr, hub=HUB, user=user)
    hk = unkeyed(HUB, None, 8)
    names = [f"c.{c.conn_id}", f"aj.{hk}", f"uj.{hk}.{unkeyed(HUB, user, 16)}"]
    fake = json.dumps({"type": "message", "from": "server", "dataType": "text",
                       "data": "forged"}).encode()
    for name in names:
        internal(chatr, "POST", name, fake)
    internal(chatr, "DELETE", f"c.{c.conn_id}")
    c.nothing(1.0)
    # still open and served: a real message arrives, and nothing forged before it
    r = rest(chatr, "POST", f"{H}/users/{user}/:send", body="real", ctype="text/plain")
    assert r.status_code == 202, r.text
    assert c.recv()["data"] == "real"
    c.close()


def test_connections_opened_after_a_gateway_restart_carry_the_new_epoch(chatr):
    """hub_node_epoch answers from memory while nginx's pid file is unchanged
    (docs/performance.md#the-node-epoch-cache). A restarted nginx rewrites that file: the
    handshakes after it register with the new nginx's epoch, so the epoch sweep that ends the old
    nginx's connections leaves them alone."""
    old = [Client(chatr, hub=HUB, user=f"live-epoch-old-{i}") for i in range(8)]  # every process
    kill_nginx(chatr)
    start_nginx(chatr)
    with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
        epoch = f.read().strip()
    new = [Client(chatr, hub=HUB, user=f"live-epoch-new-{i}") for i in range(8)]
    for c in old:  # the sweep ran
        assert len(UPSTREAM.events("disconnected", c.conn_id, timeout=15)) == 1
    for c in new:
        assert chatr.sql("SELECT epoch FROM pubsub.connections WHERE id = :'p1'", c.conn_id) == [[epoch]]
        resp = rest(chatr, "POST", f"{H}/connections/{c.conn_id}/:send", body="still here",
                    ctype="text/plain")
        assert resp.status_code == 202
        assert c.recv()["data"] == "still here"
        c.close()
