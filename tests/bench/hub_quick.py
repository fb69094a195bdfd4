#!/usr/bin/python3
"""tests/bench/hub_quick.py: three quick figures for the Web PubSub hub (issue 3), loopback only,
bounded in count and time. Run against a started emulator (release build):

    CHATR_BIN_DIR=$PWD/build/bin CHATR_PORT=4391 CHATR_STATE_DIR=/tmp/hb infra/emulator start
    /usr/bin/python3 tests/bench/hub_quick.py --url http://127.0.0.1:4391 --state /tmp/hb
    CHATR_STATE_DIR=/tmp/hb infra/emulator stop

1. handshakes/s: threads open a JSON-subprotocol socket, wait for `connected`, close.
2. group message round trip: A sends to group ga (B's), B answers to group gb (A's); the time
   until A has the answer, over --messages round trips (p50/p99/max).
3. REST send-to-user requests/s: threads POST /api/hubs/{hub}/users/{user}/:send over keep-alive.
Hub `bench` has no event handler (gateway/hubs.json default): the hub alone is measured.
Prints one JSON object."""
import argparse
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import requests  # noqa: E402
import websocket  # noqa: E402
from hubtools import PROTO, jwt  # noqa: E402

HUB = "bench"


class Target:
    def __init__(self, url, state):
        self.url = url.rstrip("/")
        with open(os.path.join(state, "secrets", "access_key")) as f:
            self.access_key = f.read().strip()

    def token(self, user, roles=None, groups=None):
        now = int(time.time())
        c = {"iat": now, "exp": now + 3600, "aud": f"{self.url}/client/hubs/{HUB}", "sub": user}
        if roles:
            c["role"] = roles
        if groups:
            c["webpubsub.group"] = groups
        return jwt(self.access_key, c)

    def connect(self, user, **kw):
        ws = websocket.create_connection(
            self.url.replace("http", "ws", 1) + f"/client/hubs/{HUB}?access_token={self.token(user, **kw)}",
            subprotocols=[PROTO], timeout=10)
        first = json.loads(ws.recv())
        assert first.get("event") == "connected", first
        return ws


def handshakes(t, threads, count, seconds):
    done, errors = [0], [0]
    lock = threading.Lock()
    deadline = time.time() + seconds

    def run(i):
        n = 0
        while time.time() < deadline:
            with lock:
                if done[0] >= count:
                    return
                done[0] += 1
            try:
                t.connect(f"hs-{i}-{n}").close()
            except Exception:
                with lock:
                    errors[0] += 1
            n += 1
    t0 = time.time()
    ths = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    el = time.time() - t0
    ok = done[0] - errors[0]
    return {"handshakes": ok, "errors": errors[0], "seconds": round(el, 2), "per_second": round(ok / el, 1),
            "threads": threads}


def round_trips(t, messages, seconds):
    roles = ["webpubsub.sendToGroup"]
    a = t.connect("rtt-a", roles=roles, groups=["gb"])
    b = t.connect("rtt-b", roles=roles, groups=["ga"])
    lat = []
    deadline = time.time() + seconds
    for i in range(messages):
        if time.time() > deadline:
            break
        t0 = time.perf_counter()
        a.send(json.dumps({"type": "sendToGroup", "group": "ga", "noEcho": True, "dataType": "json", "data": i}))
        m = json.loads(b.recv())
        assert m["data"] == i, m
        b.send(json.dumps({"type": "sendToGroup", "group": "gb", "noEcho": True, "dataType": "json", "data": i}))
        m = json.loads(a.recv())
        assert m["data"] == i, m
        lat.append((time.perf_counter() - t0) * 1000)
    a.close()
    b.close()
    lat.sort()
    q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 3)  # noqa: E731
    return {"round_trips": len(lat), "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": round(lat[-1], 3),
            "mean_ms": round(statistics.mean(lat), 3)}


def rest_send(t, threads, count, seconds):
    user = "rest-target"
    ws = t.connect(user)  # a live connection, so the message is really delivered
    path = f"/api/hubs/{HUB}/users/{user}/:send"
    url = t.url + path
    now = int(time.time())
    auth = "Bearer " + jwt(t.access_key, {"iat": now, "exp": now + 3600, "aud": url})
    done, bad = [0], [0]
    lock = threading.Lock()
    deadline = time.time() + seconds
    stop = threading.Event()

    def drain():  # keep the receiving socket's buffer empty
        ws.settimeout(0.5)
        while not stop.is_set():
            try:
                ws.recv()
            except Exception:
                pass

    def run():
        s = requests.Session()
        while time.time() < deadline:
            with lock:
                if done[0] >= count:
                    return
                done[0] += 1
            r = s.post(url, data=b"hello", headers={"Authorization": auth, "Content-Type": "text/plain"}, timeout=10)
            if r.status_code != 202:
                with lock:
                    bad[0] += 1
    dr = threading.Thread(target=drain)
    dr.start()
    t0 = time.time()
    ths = [threading.Thread(target=run) for _ in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    el = time.time() - t0
    stop.set()
    dr.join()
    ws.close()
    ok = done[0] - bad[0]
    return {"requests": ok, "non_202": bad[0], "seconds": round(el, 2), "per_second": round(ok / el, 1),
            "threads": threads}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--state", required=True, help="the emulator's CHATR_STATE_DIR (for the access key)")
    ap.add_argument("--handshakes", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--rest", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=30, help="time cap per measurement")
    a = ap.parse_args()
    t = Target(a.url, a.state)
    out = {"handshakes": handshakes(t, a.threads, a.handshakes, a.seconds),
           "group_round_trip": round_trips(t, a.messages, a.seconds * 2),
           "rest_send_to_user": rest_send(t, a.threads, a.rest, a.seconds)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
