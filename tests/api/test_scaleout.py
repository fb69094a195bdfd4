"""Several gateway nodes sharing PostgreSQL and Redis (docs/scale-out.md, issue 15): an emulator
of this module's own with `--nodes 2` (Redis, two nodes, a balancer on CHATR_PORT). Clients reach
a node directly (the `node <i>:` lines of `infra/emulator status`) or through the balancer, with
tokens issued for the public endpoint. Covered: group, user, connection and hub sends across
nodes, REST via either node, ackIds and Duplicate across a recovery on the other node, history
ids in order, presence across nodes, kill -9 of a node under load (its plain connections'
`disconnected` once, reliable clients recovering through the balancer with nothing lost and
nothing twice), a node added and removed while clients are connected, and two nodes delivering
across a Redis Cluster of three masters. Hub `testhub` reports to hubtools.UPSTREAM."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests
import websocket

from hubtools import PROTO, UPSTREAM, Client, client_token, rest
from conftest import Chatr, free_port, running

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"),
                                reason="redis-server is not installed (make deps installs it)")

RELIABLE = "json.reliable.webpubsub.azure.v1"
HUB = "testhub"
H = f"/api/hubs/{HUB}"
ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]
LEASE_BOUND = 40  # s: a dead node's lease (10 s) + a renewal interval + notification, with room


class Node:
    """One node as a client sees it: its own URL, the instance's key and public URL."""

    def __init__(self, chatr, url):
        self.url, self.public, self.access_key = url, chatr.url, chatr.access_key


def nodes_of(chatr):
    out = chatr.emulator("status", check=False).stdout
    return {int(i): Node(chatr, u) for i, u in re.findall(r"^node (\d+): (http://127\.0\.0\.1:\d+)", out, re.M)}


def client(chatr, where, user, protocol=PROTO, hub=HUB, roles=ROLES):
    """A client of hub on node `where` (a Node, or chatr itself: the balancer), with a token for
    the public endpoint and the public origin, as a browser on the site would have."""
    tok = client_token(chatr, hub=hub, user=user, roles=roles)
    return Client(where, hub=hub, user=user, protocol=protocol, token=tok, origin=chatr.url)


def data(c, timeout=10):
    while True:
        m = c.recv(timeout)
        if m.get("type") == "message":
            return m


@pytest.fixture(scope="module")
def cluster():
    c = Chatr()
    c.env["CHATR_RELIABLE_RETENTION_MS"] = "60000"  # recovery across a node death: lease + reconnect
    with running(c, "--nodes", "2"):
        yield c


def test_status_names_every_node(cluster):
    nodes = nodes_of(cluster)
    assert sorted(nodes) == [1, 2]
    assert len({n.url for n in nodes.values()}) == 2 and cluster.url not in {n.url for n in nodes.values()}
    rows = cluster.sql("SELECT node FROM pubsub.nodes ORDER BY node")
    assert len(rows) == 2  # each node renews its lease
    for n in nodes.values():  # every node answers, and so does the balancer
        assert requests.get(n.url + "/.chatr/health", timeout=5).status_code == 200
    assert requests.get(cluster.url + "/.chatr/health", timeout=5).status_code == 200


def test_group_messages_and_history_ids_across_nodes(cluster):
    n = nodes_of(cluster)
    # hub `chat` keeps history: every message gets its id from the one database
    a, b = client(cluster, n[1], "x-a", hub="chat"), client(cluster, n[2], "x-b", hub="chat")
    for c in (a, b):
        assert c.request({"type": "joinGroup", "group": "xg", "ackId": 1})[1]["success"]
    got = {"x-a": [], "x-b": []}
    for k in range(6):
        sender = (a, b)[k % 2]
        before, ack = sender.request({"type": "sendToGroup", "group": "xg", "dataType": "text",
                                      "data": f"m{k}", "ackId": 10 + k})
        assert ack["success"], ack
        got[sender.user] += [m for m in before if m.get("type") == "message"]
    for c in (a, b):
        while len(got[c.user]) < 6:
            got[c.user].append(data(c))
        assert [m["data"] for m in got[c.user]] == [f"m{k}" for k in range(6)]
    ids = [m["id"] for m in got["x-a"]]
    assert ids == sorted(ids) and len(set(ids)) == 6 and ids == [m["id"] for m in got["x-b"]]
    a.close()
    b.close()


def test_user_connection_hub_and_rest_sends_via_either_node(cluster):
    n = nodes_of(cluster)
    a, b = client(cluster, n[1], "y-a"), client(cluster, n[2], "y-b")
    for via in (n[1], n[2], cluster):
        # REST tokens name the public URL (the SDK signs for the Endpoint): audience by path
        def call(path, body):
            url = via.url + path
            from hubtools import rest_token
            tok = rest_token(cluster, cluster.url + path)
            return requests.post(url, data=body, headers={"Authorization": "Bearer " + tok,
                                                          "Content-Type": "text/plain"}, timeout=10)
        assert call(f"{H}/users/y-b/:send", "to-user").status_code == 202
        assert data(b)["data"] == "to-user"
        assert call(f"{H}/connections/{a.conn_id}/:send", "to-conn").status_code == 202
        assert data(a)["data"] == "to-conn"
        assert call(f"{H}/:send", "to-all").status_code == 202
        assert data(a)["data"] == "to-all" and data(b)["data"] == "to-all"
    a.nothing()
    b.nothing()
    a.close()
    b.close()


def test_connected_first_on_every_node_during_broadcasts_and_user_sends(cluster):
    """`connected` is every socket's first frame on every node, while broadcasts and sends to the
    connecting users are published through the other node (docs/scale-out.md#one-channel-per-
    socket-in-redis-mode); test_hub_client.py checks the same on one node in memory mode."""
    n = nodes_of(cluster)
    stop = threading.Event()

    def noise(via, users):
        while not stop.is_set():
            rest(via, "POST", f"{H}/:send", body='{"noise":1}', ctype="application/json")
            for u in users:
                rest(via, "POST", f"{H}/users/{u}/:send", body='{"to":1}', ctype="application/json")
    for where, other in ((n[1], n[2]), (n[2], n[1]), (cluster, n[1])):
        users = [f"cf-{where.url[-5:]}-{i}" for i in range(15)]
        stop.clear()
        threads = [threading.Thread(target=noise, args=(via, users), daemon=True)
                   for via in (other, other, where)]
        for t in threads:
            t.start()
        try:
            for u in users:
                client(cluster, where, u).close()  # asserts the first frame is `connected`
        finally:
            stop.set()
            for t in threads:
                t.join(10)


def test_a_new_socket_gets_no_message_published_before_it_connected(cluster):
    """Broadcasts and user sends published before a socket connected never reach it, on the node
    that published them or another, even while older sockets keep the hub's and the user's
    channels alive on both nodes (nchan in Redis mode keeps a node-local copy of a channel's
    messages and replays it to new subscribers: docs/scale-out.md)."""
    n = nodes_of(cluster)
    # the channels exist in Redis before the sockets subscribe: nchan tells a node how many
    # messages a channel keeps only when a publish changes it (not at subscription)
    assert rest(n[1], "POST", f"{H}/:send", body="first", ctype="text/plain").status_code == 202
    assert rest(n[1], "POST", f"{H}/users/old-user/:send", body="first", ctype="text/plain").status_code == 202
    keep = [client(cluster, n[i], "old-user") for i in (1, 2)]
    for via in (n[1], n[2]):
        for k in range(3):
            assert rest(via, "POST", f"{H}/:send", body=f"old-all-{k}", ctype="text/plain").status_code == 202
            assert rest(via, "POST", f"{H}/users/old-user/:send", body=f"old-user-{k}",
                        ctype="text/plain").status_code == 202
    for c in keep:  # the old sockets got them all
        got = [data(c)["data"] for _ in range(12)]
        assert sorted(got) == sorted([f"old-all-{k}" for k in range(3)] * 2 + [f"old-user-{k}" for k in range(3)] * 2)
    for i in (1, 2):
        late = client(cluster, n[i], "old-user")  # asserts `connected` first
        late.nothing(1.0)  # and nothing published before it
        assert rest(n[3 - i], "POST", f"{H}/users/old-user/:send", body=f"new-{i}", ctype="text/plain").status_code == 202
        assert data(late)["data"] == f"new-{i}"
        for c in keep:
            assert data(c)["data"] == f"new-{i}"
        late.close()
    for c in keep:
        c.close()


def user_exists(chatr, user):
    return rest(chatr, "HEAD", f"{H}/users/{user}").status_code


def test_presence_across_nodes(cluster):
    n = nodes_of(cluster)
    one, two = client(cluster, n[1], "p-user"), client(cluster, n[2], "p-user")
    assert user_exists(cluster, "p-user") == 200
    one.close()
    assert UPSTREAM.events("disconnected", one.conn_id, timeout=15)
    assert user_exists(cluster, "p-user") == 200  # still online on node 2
    two.close()
    assert UPSTREAM.events("disconnected", two.conn_id, timeout=15)
    assert user_exists(cluster, "p-user") == 404


def test_a_disconnected_a_dead_sweeper_owed_is_sent_once_by_another_process(cluster):
    """A node or epoch sweep writes each removed connection's `disconnected` into pubsub.outbox in
    the statement that removes it (schema/017); a sweeper that dies before its webhook leaves the
    row, and a hub-events process of any node sends it once and deletes it. A row still claimed
    (due later) waits for its claim to run out (docs/liveness.md#notifications-a-sweep-owes)."""
    import secrets
    left, claimed = "ob" + secrets.token_hex(15), "ob" + secrets.token_hex(15)
    cluster.sql("INSERT INTO pubsub.outbox (conn_id, hub, user_id, protocol, reason, due_at) VALUES "
                "(:'p1', :'p3', 'ob-user', 'json.webpubsub.azure.v1', 'its sweeper died', now()), "
                "(:'p2', :'p3', 'ob-user', '', 'claimed', now() + interval '4 s')", left, claimed, HUB)
    got = UPSTREAM.events("disconnected", left, timeout=20)
    assert len(got) == 1 and json.loads(got[0][2])["reason"] == "its sweeper died", got
    assert UPSTREAM.events("disconnected", claimed, timeout=2) == []  # its claim holds
    got = UPSTREAM.events("disconnected", claimed, timeout=20)
    assert len(got) == 1 and json.loads(got[0][2])["reason"] == "claimed", got
    time.sleep(6)  # more drains pass: nothing twice, nothing left
    assert UPSTREAM.events("disconnected", left, timeout=0.1) == []
    assert UPSTREAM.events("disconnected", claimed, timeout=0.1) == []
    assert cluster.sql("SELECT count(*) FROM pubsub.outbox WHERE conn_id IN (:'p1', :'p2')", left, claimed) == [["0"]]


def kill_node(chatr, i):
    """kill -9 of node i: its nginx (master and workers), every pool and its log redactor."""
    run = os.path.join(chatr.state, f"node{i}", "run")
    groups = set()
    for f in os.listdir(run):
        if f.endswith(".pid"):
            try:
                pid = int(open(os.path.join(run, f)).read().split()[0])
                groups.add(os.getpgid(pid))
            except (OSError, ValueError, IndexError):
                pass
    for g in groups:
        os.killpg(g, signal.SIGKILL)
    assert groups


def recover(chatr, conn_id, token):
    """The recovery URL the SDK builds, through the balancer."""
    url = chatr.url.replace("http", "ws", 1) + \
        f"/client/hubs/{HUB}?awps_connection_id={conn_id}&awps_reconnection_token={token}"
    ws = websocket.create_connection(url, timeout=10, subprotocols=[RELIABLE], origin=chatr.url)
    return ws


class ReliableReader:
    """Reads a reliable socket like @azure/web-pubsub-client: acks every sequenceId, drops any
    at or below the highest seen, keeps the data of the rest."""

    def __init__(self):
        self.seen, self.texts, self.last = 0, [], 0

    def take(self, m):
        if m.get("type") != "message":
            return
        seq = m["sequenceId"]
        if seq <= self.last:
            return
        self.last = seq
        self.texts.append(m["data"])


def test_kill_node_under_load(cluster):
    """Node 2 dies (kill -9) while a sender on node 1 sends to a group: node 2's plain connections
    get their `disconnected` once, within the lease bound; reliable clients of node 2 reconnect
    through the balancer, recover on node 1 and end with every message, none twice; an ackId
    used before the death is a Duplicate after it."""
    n = nodes_of(cluster)
    plain = [client(cluster, n[2], f"k-plain-{i}") for i in range(3)]
    rel = [client(cluster, n[2], f"k-rel-{i}", protocol=RELIABLE) for i in range(2)]
    sender = client(cluster, n[1], "k-sender")
    for c in rel + [sender]:
        assert c.request({"type": "joinGroup", "group": "kg", "ackId": 1})[1]["success"]
    # an ackId claimed on node 2 before the death
    assert rel[0].request({"type": "sendToGroup", "group": "kg-none", "dataType": "text",
                           "data": "x", "ackId": 77})[1]["success"]
    readers = [ReliableReader() for _ in rel]
    total = 60
    sent = []

    def send():
        for k in range(total):
            _, ack = sender.request({"type": "sendToGroup", "group": "kg", "dataType": "text",
                                     "data": f"d{k}", "ackId": 100 + k, "noEcho": True})
            assert ack["success"], ack
            sent.append(k)
            time.sleep(0.2)
    t = threading.Thread(target=send, daemon=True)
    t.start()
    while len(sent) < 10:  # some messages before the death, read and acknowledged
        time.sleep(0.05)
    for c, r in zip(rel, readers):
        while len(r.texts) < 10:
            m = c.recv()
            r.take(m)
            if m.get("type") == "message":
                c.send({"type": "sequenceAck", "sequenceId": m["sequenceId"]})
    kill_node(cluster, 2)
    died = time.time()
    ids = [c.conn_id for c in plain]
    # the reliable clients reconnect through the balancer (node 1 is the one left)
    socks = []
    for c in rel:
        token = c.connected["reconnectionToken"]
        for _ in range(100):
            try:
                socks.append(recover(cluster, c.conn_id, token))
                break
            except (websocket.WebSocketException, OSError):
                time.sleep(0.2)
        else:
            raise AssertionError("no recovery through the balancer")
    for ws in socks:
        first = json.loads(ws.recv())
        assert first["event"] == "connected", first
    t.join(60)
    assert len(sent) == total
    # every message, none twice (after the client's sequenceId rule)
    for ws, r in zip(socks, readers):
        ws.settimeout(15)
        while len(r.texts) < total:
            m = json.loads(ws.recv())
            r.take(m)
            if m.get("type") == "message":
                ws.send(json.dumps({"type": "sequenceAck", "sequenceId": m["sequenceId"]}))
        assert r.texts == [f"d{k}" for k in range(total)], r.texts
    # the recovered connection lives on node 1 now; its ackIds came along
    node1 = cluster.sql("SELECT node FROM pubsub.nodes ORDER BY node")[0][0]
    assert cluster.sql("SELECT node FROM pubsub.connections WHERE id = :'p1'", rel[0].conn_id) == [[node1]]
    socks[0].send(json.dumps({"type": "sendToGroup", "group": "kg-none", "dataType": "text",
                              "data": "x", "ackId": 77}))
    while True:
        m = json.loads(socks[0].recv())
        if m.get("type") == "ack":
            assert m["ackId"] == 77 and m["success"] is False and m["error"]["name"] == "Duplicate", m
            break
    # the plain connections: `disconnected` once each, within the bound
    for cid in ids:
        got = UPSTREAM.events("disconnected", cid, timeout=max(1, LEASE_BOUND - (time.time() - died)))
        assert len(got) == 1, f"no disconnected for {cid}"
    print(f"node death -> last disconnected: {time.time() - died:.1f} s")
    assert cluster.sql("SELECT count(*) FROM pubsub.outbox") == [["0"]]  # all sent, none left
    assert cluster.sql("SELECT count(*) FROM pubsub.connections WHERE id = ANY(string_to_array(:'p1', ','))",
                       ",".join(ids)) == [["0"]]
    time.sleep(3)
    for cid in ids:
        assert UPSTREAM.events("disconnected", cid, timeout=0.5) == []  # not twice
    for ws in socks:
        ws.close()
    sender.close()
    # node 2 comes back (repair) and serves again
    cluster.emulator("start-node", "2")
    c2 = client(cluster, nodes_of(cluster)[2], "k-back")
    assert rest(cluster, "POST", f"{H}/users/k-back/:send", body="back", ctype="text/plain").status_code == 202
    assert data(c2)["data"] == "back"
    c2.close()


def test_add_and_remove_a_node_with_clients_connected(cluster):
    n = nodes_of(cluster)
    a, b = client(cluster, n[1], "ar-a"), client(cluster, n[2], "ar-b")
    for c in (a, b):
        assert c.request({"type": "joinGroup", "group": "arg", "ackId": 1})[1]["success"]
    out = cluster.emulator("start-node", "3").stdout
    assert "node 3:" in out
    n = nodes_of(cluster)
    assert sorted(n) == [1, 2, 3]
    c3 = client(cluster, n[3], "ar-c")
    assert c3.request({"type": "joinGroup", "group": "arg", "ackId": 1})[1]["success"]
    c3.request({"type": "sendToGroup", "group": "arg", "dataType": "text", "data": "from3", "ackId": 2})
    assert data(a)["data"] == "from3" and data(b)["data"] == "from3"
    # the balancer spreads new clients over three nodes now
    via = [client(cluster, cluster, f"ar-lb-{i}") for i in range(6)]
    rows = cluster.sql("SELECT DISTINCT node FROM pubsub.connections WHERE user_id LIKE 'ar-lb-%'")
    assert len(rows) == 3, rows
    for c in via:
        c.close()
    cluster.emulator("stop-node", "3")
    assert UPSTREAM.events("disconnected", c3.conn_id, timeout=LEASE_BOUND)
    a.request({"type": "sendToGroup", "group": "arg", "dataType": "text", "data": "after", "ackId": 3})
    assert data(b)["data"] == "after"
    # new clients through the balancer only reach the nodes that run
    late = client(cluster, cluster, "ar-late")
    assert cluster.sql("SELECT node LIKE '%/3' FROM pubsub.connections WHERE id = :'p1'", late.conn_id) == [["f"]]
    for c in (a, b, late):
        c.close()
    cluster.emulator("start-node", "3")  # leave the instance whole


def redis_cluster(tmp, procs):
    """Three Redis Cluster masters on run-time ports, joined with redis-cli --cluster create.
    Every server started goes into procs at once, so the caller stops them even when this fails."""
    ports = []
    for _ in range(3):
        for _attempt in range(5):  # a run-time port someone else took meanwhile: another one
            p = free_port()
            while p + 10000 > 65535:  # a cluster node also listens on port + 10000
                p = free_port()
            d = os.path.join(tmp, str(p))
            os.makedirs(d)
            proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(p), "--dir", d,
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "",
                 "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            for _ in range(200):
                if proc.poll() is not None:
                    break
                if subprocess.run(["redis-cli", "-p", str(p), "ping"], capture_output=True,
                                  text=True).stdout.strip() == "PONG":
                    ports.append(p)
                    break
                time.sleep(0.05)
            else:
                proc.terminate()
            if ports and ports[-1] == p:
                break
        else:
            raise AssertionError("a Redis Cluster master did not start")
    r = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    for _ in range(100):
        info = subprocess.run(["redis-cli", "-p", str(ports[0]), "cluster", "info"], capture_output=True, text=True).stdout
        if "cluster_state:ok" in info:
            break
        time.sleep(0.1)
    return ports


def test_two_nodes_deliver_across_a_redis_cluster():
    tmp = tempfile.mkdtemp(prefix="chatr-rcluster-")
    procs = []
    c = Chatr()
    try:
        ports = redis_cluster(tmp, procs)
        c.env["CHATR_REDIS_URL"] = ",".join(f"redis://127.0.0.1:{p}" for p in ports)
        c.emulator("start", "--nodes", "2")
        status = c.emulator("status", check=False).stdout
        assert "redis: external" in status
        n = nodes_of(c)
        a, b = client(c, n[1], "rc-a"), client(c, n[2], "rc-b")
        groups = [f"rcg-{k}" for k in range(8)]  # channels spread over the cluster's slots
        for cl in (a, b):
            for k, g in enumerate(groups):
                assert cl.request({"type": "joinGroup", "group": g, "ackId": 1 + k})[1]["success"]
        for k, g in enumerate(groups):
            a.request({"type": "sendToGroup", "group": g, "dataType": "text", "data": g, "ackId": 50 + k})
        assert [data(b)["data"] for _ in groups] == groups
        assert rest(c, "POST", f"{H}/users/rc-a/:send", body="hi-a", ctype="text/plain").status_code == 202
        assert data(a)["data"] == "hi-a"
        # nchan keeps its channels in the cluster (on which masters depends on the channel names'
        # hash slots: with one channel per socket all of them may land on one master)
        keys = [int(subprocess.run(["redis-cli", "-p", str(p), "dbsize"], capture_output=True,
                                   text=True).stdout.strip() or 0) for p in ports]
        assert sum(keys) > 0, keys
        a.close()
        b.close()
    finally:
        c.emulator("stop", check=False)
        shutil.rmtree(c.state, ignore_errors=True)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def redis_server(port, tmp):
    p = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", tmp,
                          "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG":
            return p
        time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def ready(c, timeout=5):
    try:
        r = requests.get(c.url + "/.chatr/ready", timeout=timeout)
    except requests.ConnectionError:  # a worker that died (the log is checked at the end)
        return 0, None
    return r.status_code, r.json()["checks"].get("redis")


def log_of(c):
    return open(os.path.join(c.state, "logs", "nginx-error.log"), errors="replace").read()[-3000:]


def test_a_node_is_ready_only_while_its_nchan_reaches_redis():
    """/.chatr/ready names Redis in Redis mode: 503 while the node's nchan has no Redis connection
    (a balancer sends it no clients; a worker may still abort while it connects, nchan 1.3.6), 200
    again when Redis is back; starting, losing and regaining Redis aborts no worker
    (docs/scale-out.md#worker-aborts-while-connecting-to-redis)."""
    tmp = tempfile.mkdtemp(prefix="chatr-redis-")
    port = free_port()
    redis = redis_server(port, tmp)
    c = Chatr()
    c.env["CHATR_REDIS_URL"] = f"redis://127.0.0.1:{port}"
    try:
        c.emulator("start")
        assert ready(c) == (200, "ok")
        redis.terminate()
        redis.wait(10)
        deadline = time.time() + 20
        while ready(c)[0] == 200 and time.time() < deadline:
            time.sleep(0.2)
        status, why = ready(c)
        assert status == 503 and why != "ok", (status, why)
        redis = redis_server(port, tmp)
        deadline = time.time() + 30
        while ready(c)[0] != 200 and time.time() < deadline:
            time.sleep(0.2)
        assert ready(c) == (200, "ok"), log_of(c)
        a = Client(c, hub="chat", user="back-user")
        assert rest(c, "POST", "/api/hubs/chat/users/back-user/:send", body="back", ctype="text/plain").status_code == 202
        assert data(a)["data"] == "back"
        a.close()
        assert "exited on signal" not in log_of(c), log_of(c)
    finally:
        c.emulator("stop", check=False)
        shutil.rmtree(c.state, ignore_errors=True)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
