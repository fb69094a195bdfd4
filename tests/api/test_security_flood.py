"""Issue 11 items 2, 4 (rate per connection) and 5 (empty router pool): the frame gate in nginx
(gateway/nginx/module, docs/frame-gate.md). One connection's frame flood must not freeze the hub,
leak nginx connections or crash the worker; the per-connection rate is one limit however many
router processes run; a frame hub-router cannot take gets an error ack (or is dropped), never a
worker crash. These tests run their own emulator: a flood must not disturb the shared one."""
import json
import os
import socket
import struct
import subprocess
import threading
import time

import pytest
import requests

from conftest import Chatr
from hubtools import Client

RATE, BURST = 200, 2000  # HUB_RATE_PER_SEC, HUB_RATE_BURST (gateway/hub/hub.h)
BAD_LOG = ("Assertion", "worker_connections are not enough", "exited on signal")


@pytest.fixture(scope="module")
def own():
    c = Chatr()
    try:
        c.emulator("start")
        yield c
    finally:
        c.emulator("stop", check=False)
        import shutil
        shutil.rmtree(c.state, ignore_errors=True)


def worker_pids(chatr):
    with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
        master = f.read().strip()
    out = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return sorted(out.split())


def free_connections(chatr):
    """The nginx worker's free connection slots (fake connections of queued frames included)."""
    r = requests.get(chatr.url + "/.chatr/gate", timeout=10)
    assert r.status_code == 200, r.status_code
    return int(r.text.split()[0])


def ws_frame(payload):
    """A masked client text frame (mask key 0: the payload goes as is)."""
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n))
    return head + b"\0\0\0\0" + payload


class Reader(threading.Thread):
    """Reads one client's frames in the background: pongs, acks (by error name), messages."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.client, self.stop = client, False
        self.pongs = self.ok = 0
        self.errors = {}
        self.messages = []
        self.last = time.monotonic()

    def run(self):
        while not self.stop:
            try:
                m = self.client.recv(timeout=1)
            except Exception:
                continue
            self.last = time.monotonic()
            if m.get("type") == "pong":
                self.pongs += 1
            elif m.get("type") == "ack":
                if m.get("success"):
                    self.ok += 1
                else:
                    name = m["error"]["name"]
                    self.errors[name] = self.errors.get(name, 0) + 1
            else:
                self.messages.append(m)


def quiet_log(chatr, since):
    log = chatr.log("nginx-error.log")[since:]
    return [line for line in log.splitlines() if any(b in line for b in BAD_LOG)]


def test_rate_limit_is_one_limit_across_router_processes(own):
    """10 s of pings at ~1,000/s from one connection: about BURST + RATE * 10 = 4,000 get a pong,
    every other one a TooManyRequests ack, whatever the number of hub-router processes (4)."""
    c = Client(own, hub="chat", user="rate-user")
    reader = Reader(c)
    reader.start()
    sent, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 10:
        for _ in range(50):
            c.send({"type": "ping", "ackId": sent + 1})
            sent += 1
        time.sleep(0.05)
    elapsed = time.monotonic() - t0
    deadline = time.monotonic() + 30
    while reader.pongs + sum(reader.errors.values()) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    reader.stop = True
    c.close()
    assert reader.pongs + sum(reader.errors.values()) == sent, (reader.pongs, reader.errors, sent)
    assert set(reader.errors) == {"TooManyRequests"}, reader.errors
    assert BURST <= reader.pongs <= BURST + RATE * (elapsed + 1), (reader.pongs, elapsed)


def test_one_connection_flood_does_not_starve_others_or_leak(own):
    """One socket writes 20,000 joinGroup frames/s for 3 s from a raw socket while two others
    chat: their pings, messages and 200 plain HTTP requests all get through, the worker lives
    on with nothing alarming in its log, and every connection slot comes back."""
    log_from = len(own.log("nginx-error.log"))
    pids = worker_pids(own)
    alice = Client(own, hub="chat", user="flood-alice", roles=["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"])
    bob = Client(own, hub="chat", user="flood-bob", roles=["webpubsub.joinLeaveGroup"])
    for who, ack in ((alice, 1), (bob, 1)):
        _, a = who.request({"type": "joinGroup", "group": "flood-room", "ackId": ack})
        assert a["success"], a
    baseline = free_connections(own)

    flooder = Client(own, hub="chat", user="flooder", roles=["webpubsub.joinLeaveGroup"])
    frames = b"".join(ws_frame(json.dumps({"type": "joinGroup", "group": f"f{i % 50}"}).encode())
                      for i in range(1000))  # 1,000 frames: 50 ms at 20,000/s
    raw = flooder.ws.sock

    def flood():
        t0 = time.monotonic()
        for k in range(60):  # 3 s
            raw.sendall(frames)
            pause = t0 + (k + 1) * 0.05 - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    http = []

    def plain_http():
        for _ in range(100):
            try:
                http.append(requests.get(own.url + "/.chatr/health", timeout=10).status_code)
            except requests.RequestException as e:
                http.append(repr(e))
            time.sleep(0.03)

    a_reader, b_reader = Reader(alice), Reader(bob)
    a_reader.start()
    b_reader.start()
    flood_t, http_t = threading.Thread(target=flood), threading.Thread(target=plain_http)
    flood_t.start()
    http_t.start()
    sent = 0
    while flood_t.is_alive():
        sent += 1
        alice.send({"type": "ping"})
        alice.send({"type": "sendToGroup", "group": "flood-room", "dataType": "text",
                    "data": f"during {sent}", "ackId": 100 + sent, "persist": False})
        time.sleep(0.1)
    flood_t.join()
    http_t.join()
    deadline = time.monotonic() + 30
    while (a_reader.pongs < sent or a_reader.ok < sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    while len(b_reader.messages) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    assert a_reader.pongs == sent and a_reader.ok == sent, (sent, a_reader.pongs, a_reader.ok, a_reader.errors)
    got = [m["data"] for m in b_reader.messages if m.get("group") == "flood-room"]
    assert got == [f"during {i}" for i in range(1, sent + 1)]

    # The flooder's queue drains: a ping sent after the flood is answered (pong, or refused).
    flooder.ws.sock.settimeout(60)
    flooder.send({"type": "ping", "ackId": 1})
    while True:
        m = flooder.recv(timeout=60)
        if m.get("type") == "pong" or (m.get("type") == "ack" and m.get("ackId") == 1):
            break
    flooder.close()

    after = [requests.get(own.url + "/.chatr/health", timeout=10).status_code for _ in range(100)]
    assert http + after == [200] * 200, [s for s in http + after if s != 200][:5]
    deadline = time.monotonic() + 15
    while free_connections(own) < baseline - 3 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert free_connections(own) >= baseline - 3, (free_connections(own), baseline)
    a_reader.stop = b_reader.stop = True
    alice.close()
    bob.close()
    assert worker_pids(own) == pids
    assert quiet_log(own, log_from) == []


def test_empty_router_pool_gets_error_acks_and_the_socket_survives(own):
    """With no hub-router process, frames get an InternalServerError ack (or are dropped) and the
    worker lives; once the pool is back, the same socket works again."""
    log_from = len(own.log("nginx-error.log"))
    pids = worker_pids(own)
    c = Client(own, hub="chat", user="no-router", roles=["webpubsub.joinLeaveGroup"])
    assert own.deploy("hub-router", "stop").returncode == 0
    try:
        for i in range(1, 21):
            _, ack = c.request({"type": "joinGroup", "group": "lonely", "ackId": i})
            assert not ack["success"] and ack["error"]["name"] == "InternalServerError", ack
        c.send({"type": "ping"})  # no ackId: dropped
        c.nothing(0.5)
        assert worker_pids(own) == pids
    finally:
        assert own.deploy("hub-router", "start").returncode == 0
    _, ack = c.request({"type": "joinGroup", "group": "lonely", "ackId": 100})
    assert ack["success"], ack
    c.send({"type": "ping"})
    assert c.recv()["type"] == "pong"
    c.close()
    assert worker_pids(own) == pids
    assert quiet_log(own, log_from) == []
