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

from conftest import Chatr, running
from hubtools import Client

RATE, BURST = 200, 2000  # HUB_RATE_PER_SEC, HUB_RATE_BURST (gateway/hub/hub.h)
BAD_LOG = ("Assertion", "worker_connections are not enough", "exited on signal")


@pytest.fixture(scope="module")
def own():
    c = Chatr()
    with running(c):
        yield c


def worker_pids(chatr):
    with open(os.path.join(chatr.state, "run", "nginx.pid")) as f:
        master = f.read().strip()
    out = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return sorted(out.split())


QUEUE_MAX = 32  # GATE_QUEUE_MAX (gateway/nginx/module): frames of one socket nchan may queue


def gate(chatr):
    """GET /.chatr/gate on the internal unix-socket server: the nginx worker's free connection
    slots (the fake connection of every queued frame takes one), then its counters."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(os.path.join(chatr.state, "run", "nginx-internal.sock"))
        s.sendall(b"GET /.chatr/gate HTTP/1.0\r\nHost: internal\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    assert head.split()[1] == "200", head
    fields = body.split()
    return dict(free=int(fields[0]), **{k: int(v) for k, v in (f.split("=") for f in fields[1:])})


def free_connections(chatr):
    return gate(chatr)["free"]


def fake_connections(chatr):
    """Slots held by nchan's fake connections (a queued frame or a hook in flight each): what
    leaks when nchan drops a closed socket's queue. Free slots are no measure of that leak: the
    hub programs keep idle keepalive connections to nginx, a few more or fewer from one moment
    to the next."""
    return gate(chatr)["fake"]


def back_to(chatr, baseline, seconds=15):
    """Fake connections once every frame and hook of the test is done: exactly the baseline."""
    deadline = time.monotonic() + seconds
    while (now := fake_connections(chatr)) != baseline and time.monotonic() < deadline:
        time.sleep(0.2)
    return now


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


class Sampler(threading.Thread):
    """Watches the worker's connection slots while a flood runs: the fewest free, the most fake."""

    def __init__(self, chatr):
        super().__init__(daemon=True)
        self.chatr, self.stop, self.low, self.fake, self.samples = chatr, False, None, 0, 0

    def run(self):
        while not self.stop:
            g = gate(self.chatr)
            self.low = g["free"] if self.low is None else min(self.low, g["free"])
            self.fake = max(self.fake, g["fake"])
            self.samples += 1
            time.sleep(0.02)


def flood_frames(n, group="f"):
    return b"".join(ws_frame(json.dumps({"type": "joinGroup", "group": f"{group}{i % 50}"}).encode())
                    for i in range(n))


def test_one_connection_flood_does_not_starve_others_or_leak(own):
    """One socket writes 20,000 joinGroup frames/s for 3 s from a raw socket while two others
    chat: nginx stops reading the flooder once QUEUE_MAX of its frames are queued (TCP slows it
    down), so the worker's free connection slots stay within tens of the baseline; the others'
    pings, messages and 200 plain HTTP requests all get through, the worker lives on with
    nothing alarming in its log, and every connection slot comes back."""
    log_from = len(own.log("nginx-error.log"))
    pids = worker_pids(own)
    alice = Client(own, hub="chat", user="flood-alice", roles=["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"])
    bob = Client(own, hub="chat", user="flood-bob", roles=["webpubsub.joinLeaveGroup"])
    for who, ack in ((alice, 1), (bob, 1)):
        _, a = who.request({"type": "joinGroup", "group": "flood-room", "ackId": ack})
        assert a["success"], a
    before = gate(own)
    baseline, fake_baseline = before["free"], before["fake"]

    flooder = Client(own, hub="chat", user="flooder", roles=["webpubsub.joinLeaveGroup"])
    frames = flood_frames(1000)  # 1,000 frames: 50 ms at 20,000/s
    raw = flooder.ws.sock

    def flood():
        t0 = time.monotonic()
        for k in range(60):  # 3 s, or longer: nginx reads no faster than it answers
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
    sampler = Sampler(own)
    sampler.start()
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
    sampler.stop = True
    sampler.join()
    deadline = time.monotonic() + 30
    while (a_reader.pongs < sent or a_reader.ok < sent) and time.monotonic() < deadline:
        time.sleep(0.2)
    while len(b_reader.messages) < sent and time.monotonic() < deadline:
        time.sleep(0.2)
    assert a_reader.pongs == sent and a_reader.ok == sent, (sent, a_reader.pongs, a_reader.ok, a_reader.errors)
    got = [m["data"] for m in b_reader.messages if m.get("group") == "flood-room"]
    assert got == [f"during {i}" for i in range(1, sent + 1)]

    # Back-pressure: the flooder's queue stayed short, and so did the connections it held.
    after_flood = gate(own)
    assert after_flood["pauses"] > before["pauses"], after_flood
    assert after_flood["queue_max"] <= QUEUE_MAX, after_flood
    # Fake connections: the flooder's queue, plus the frames answered in the current turn of the
    # event loop (nchan frees a fake connection on a 0 ms timer: at the next turn), plus the two
    # chatters' frames and hooks. Free slots also count the plain HTTP requests, the FastCGI
    # connections of frames in flight and the hub programs' keepalive connections to nginx.
    assert sampler.samples > 10 and sampler.fake <= fake_baseline + 3 * QUEUE_MAX, (sampler.fake, fake_baseline)
    assert sampler.low >= baseline - 4 * QUEUE_MAX, (sampler.low, baseline)

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
    assert back_to(own, fake_baseline) == fake_baseline
    a_reader.stop = b_reader.stop = True
    alice.close()
    bob.close()
    assert worker_pids(own) == pids
    assert quiet_log(own, log_from) == []


@pytest.mark.parametrize("how", ["reset", "close"])
def test_flooder_that_closes_mid_flood_leaks_nothing(own, how):
    """A socket that floods and then vanishes (TCP reset, or a close frame behind its flood)
    while frames are queued: nchan never runs nor frees the queued frames of a closed socket, so
    the gate holds the close until they are answered. Every connection slot comes back.
    The close frame case keeps the TCP connection open until then: nchan aborts the queue when
    it reads a close frame, whether or not the client's FIN follows (this used to leak the
    GATE_QUEUE_RESUME frames queued when nchan reached the close frame, whenever hub-router
    answered fast enough for nchan to get there before the FIN)."""
    log_from = len(own.log("nginx-error.log"))
    before = gate(own)
    baseline = before["fake"]
    flooder = Client(own, hub="chat", user=f"vanisher-{how}", roles=["webpubsub.joinLeaveGroup"])
    raw = flooder.ws.sock
    raw.settimeout(60)
    frames = flood_frames(2000, group=how)
    if how == "close":
        frames += bytes([0x88, 0x82, 0, 0, 0, 0]) + struct.pack("!H", 1000)  # close frame, masked
    stop = threading.Event()

    def flood():
        try:
            while not stop.is_set():
                raw.sendall(frames)
                if how == "close":
                    return
        except OSError:
            pass

    flood_t = threading.Thread(target=flood, daemon=True)
    flood_t.start()
    deadline = time.monotonic() + 30
    while gate(own)["pauses"] == before["pauses"] and time.monotonic() < deadline:
        time.sleep(0.01)  # until nginx has stopped reading the flooder (its queue is full)
    assert gate(own)["pauses"] > before["pauses"]
    if how == "reset":
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stop.set()
        raw.close()  # RST: the flood still in flight is discarded
    flood_t.join(60)
    assert back_to(own, baseline) == baseline
    if how == "close":
        raw.close()
    after = gate(own)
    assert after["expired"] == before["expired"], after
    assert after["held"] > before["held"], after
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


NCHAN_TAG_MAX = 32767  # nchan numbers a channel's messages of one second with an int16 counter
FRAMES_PER_SEC = 4096  # GATE_FRAMES_PER_SEC (gateway/nginx/module/frame_gate.h)


class AckCounter(threading.Thread):
    """Counts the acks that come back on a raw socket (server frames are unmasked JSON text)."""

    def __init__(self, sock):
        super().__init__(daemon=True)
        self.sock, self.acks, self.closed = sock, 0, False

    def run(self):
        tail = b""
        try:
            while chunk := self.sock.recv(1 << 16):
                data = tail + chunk
                self.acks += data.count(b'"type":"ack"')
                tail = data[-16:] if data[-16:].count(b'"type":"ack"') == 0 else b""
        except OSError:
            pass
        self.closed = True


def test_burst_of_acks_beyond_one_second_of_nchan_message_ids(own):
    """A client that writes 40,000 frames with ackIds at once: every frame is answered (over the
    rate by the gate itself, at nginx speed), and every answer is a message in the socket's own
    channel. nchan 1.3.6 numbers a channel's messages within one second with a 16-bit counter:
    the 32,768th answer in one second wrapped it, and the next message to the socket's
    multi-channel subscription aborted the worker (nchan_msg.c:675, assert(nonnegs == 1)). The
    gate reads at most GATE_FRAMES_PER_SEC frames per socket and second (docs/frame-gate.md):
    every ack comes back, the worker lives."""
    log_from = len(own.log("nginx-error.log"))
    pids = worker_pids(own)
    n = NCHAN_TAG_MAX + 7000
    flooder = Client(own, hub="chat", user="burster", roles=["webpubsub.joinLeaveGroup"])
    raw = flooder.ws.sock
    raw.settimeout(None)
    counter = AckCounter(raw)
    counter.start()
    frames = b"".join(ws_frame(json.dumps({"type": "joinGroup", "group": f"b{i % 50}", "ackId": i + 1},
                                          separators=(",", ":")).encode()) for i in range(n))
    raw.sendall(frames)
    deadline = time.monotonic() + 120
    while counter.acks < n and not counter.closed and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counter.acks == n, (counter.acks, n, counter.closed)
    g = gate(own)
    assert g["throttles"] > 0 and g["sec_max"] <= FRAMES_PER_SEC, g
    flooder.close()
    assert worker_pids(own) == pids
    assert quiet_log(own, log_from) == []
