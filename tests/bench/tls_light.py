#!/usr/bin/python3
"""tests/bench/tls_light.py: light-load latency over TLS next to plain http, same run, same
generator (docs/tls.md, "Cost"). chatr-bench (C, epoll) has no TLS, so this small generator
measures both with the same Python code:

    make && /usr/bin/python3 tests/bench/tls_light.py [--clients 50] [--group-size 5]
                                                      [--interval-ms 500] [--seconds 20]

It makes a CA and a certificate for 127.0.0.1 with openssl, then, for each mode in --modes
(default: http then https, repeated --rounds times, alternating), starts an emulator of its own
(release build, build/bin; a fresh state dir on a free port), opens --clients sockets to hub
`bench` (json.webpubsub.azure.v1; https: wss:// verified against the CA), groups of
--group-size, and has every client send a group message every --interval-ms (staggered), for
--seconds after a warm-up. Latency: from just before the send to the moment each member
(sender included) has the message, on one clock; p50/p90/p99/max over every delivery, plus
lost. One thread per client does both (send when due, otherwise read): one SSL object is never
used by two threads. Prints a table and one JSON object. Run it on a quiet machine only.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
import websocket  # noqa: E402
from hubtools import PROTO, jwt  # noqa: E402

HUB = "bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_pki(folder):
    def ossl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=bench CA")
    ossl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(folder, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
         "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf")
    return [os.path.join(folder, n) for n in ("ca.pem", "server.pem", "server.key")]


class Emulator:
    def __init__(self, bin_dir, tls=None):
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix="chatr-tlsbench-")
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.env = dict(os.environ, CHATR_PORT=str(self.port), CHATR_STATE_DIR=self.state,
                        CHATR_BIN_DIR=bin_dir)
        for k in ("DATABASE_URL", "CHATR_PUBLIC_URL", "CHATR_LISTEN", "CHATR_TLS_CERT", "CHATR_TLS_KEY"):
            self.env.pop(k, None)
        if tls:
            self.env.update(CHATR_TLS_CERT=tls[0], CHATR_TLS_KEY=tls[1])

    def run(self, cmd):
        r = subprocess.run([os.path.join(ROOT, "infra", "emulator"), cmd], env=self.env,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0 and cmd == "start":
            raise SystemExit(f"emulator start failed:\n{r.stdout}{r.stderr}")

    def access_key(self):
        with open(os.path.join(self.state, "secrets", "access_key")) as f:
            return f.read().strip()

    def stop(self):
        self.run("stop")
        shutil.rmtree(self.state, ignore_errors=True)


def measure(em, ca, a):
    key = em.access_key()
    wsurl = em.url.replace("http", "ws", 1) + f"/client/hubs/{HUB}"
    sslopt = {"ca_certs": ca} if em.url.startswith("https") else {}
    now = int(time.time())
    socks = []
    for i in range(a.clients):
        g = f"g{i // a.group_size}"
        tok = jwt(key, {"iat": now, "exp": now + 3600, "aud": wsurl.replace("ws", "http", 1),
                        "sub": f"u{i}", "role": ["webpubsub.sendToGroup"], "webpubsub.group": [g]})
        ws = websocket.create_connection(f"{wsurl}?access_token={tok}", subprotocols=[PROTO],
                                         timeout=10, sslopt=sslopt, origin=em.url)
        first = json.loads(ws.recv())
        assert first.get("event") == "connected", first
        socks.append((ws, g))
    lat, lock = [], threading.Lock()
    sent = [0]
    t_start = time.monotonic() + 1.0
    t_measure = t_start + a.warmup
    t_end = t_measure + a.seconds
    interval = a.interval_ms / 1000.0

    def client(i):
        ws, g = socks[i]
        mine = []
        n_sent = 0
        due = t_start + interval * i / a.clients
        drain_until = t_end + 2.0
        while True:
            now = time.monotonic()
            if now >= due and now < t_end:
                ws.send(json.dumps({"type": "sendToGroup", "group": g, "dataType": "json",
                                    "data": {"t": time.monotonic(), "m": due >= t_measure}}))
                n_sent += due >= t_measure
                due += interval
                continue
            if now >= drain_until:
                break
            ws.settimeout(max(0.001, min(due if now < t_end else drain_until, drain_until) - now))
            try:
                m = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            got = time.monotonic()
            d = m.get("data") if m.get("type") == "message" else None
            if isinstance(d, dict) and d.get("m"):
                mine.append((got - d["t"]) * 1000.0)
        with lock:
            lat.extend(mine)
            sent[0] += n_sent

    ths = [threading.Thread(target=client, args=(i,)) for i in range(a.clients)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    for ws, _ in socks:
        ws.close()
    lat.sort()
    expected = sent[0] * a.group_size

    def q(p):
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None
    return {"url": em.url, "deliveries": len(lat), "expected": expected, "lost": expected - len(lat),
            "p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99),
            "max_ms": round(lat[-1], 2) if lat else None,
            "in_per_s": round(sent[0] / a.seconds, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--group-size", type=int, default=5)
    p.add_argument("--interval-ms", type=int, default=500)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--modes", default="http,https")
    p.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    a = p.parse_args()
    if a.clients % a.group_size:
        raise SystemExit("--clients must be a multiple of --group-size")
    pki = tempfile.mkdtemp(prefix="chatr-tlsbench-pki-")
    os.chmod(pki, 0o755)
    ca, cert, key = make_pki(pki)
    results = []
    try:
        for r in range(a.rounds):
            for mode in a.modes.split(","):
                em = Emulator(a.bin_dir, (cert, key) if mode == "https" else None)
                try:
                    em.run("start")
                    res = measure(em, ca, a)
                finally:
                    em.stop()
                res.update(mode=mode, round=r + 1)
                results.append(res)
                print(f"{mode:6} round {r + 1}: p50 {res['p50_ms']} ms  p90 {res['p90_ms']} ms  "
                      f"p99 {res['p99_ms']} ms  max {res['max_ms']} ms  deliveries {res['deliveries']}"
                      f"  lost {res['lost']}  in {res['in_per_s']}/s", file=sys.stderr)
    finally:
        shutil.rmtree(pki, ignore_errors=True)
    print(json.dumps({"command": " ".join(sys.argv), "clients": a.clients, "group_size": a.group_size,
                      "interval_ms": a.interval_ms, "seconds": a.seconds, "results": results}, indent=1))


if __name__ == "__main__":
    main()
