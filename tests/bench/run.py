#!/usr/bin/python3
"""tests/bench/run.py: `make bench`. Starts the emulator (release build) and the Socket.IO peer
on free ports, runs the scenarios with chatr-bench against both, prints one table and writes the
raw results as JSON under the state directory. Stops everything it started.

    tests/bench/run.py [--step-seconds 10] [--steps 200,500,...] [--light-clients 1000]
                       [--light-seconds 20] [--only ours|peer] [--state DIR]

Scenarios (Azure Web PubSub's performance-guide method: 2,048-byte messages, 1 message/s per
sender, the load raised until p99 passes 1 s or anything is lost):
  1. small groups: groups of 10, every member sends; raised step by step.
  light load: 1,000 connections in groups of 10, 100 messages/s in (0.1/s per sender).
Needs `make` (build/bin, build/lib) and `make -C tests/bench` (build/bench/chatr-bench) first.
"""
import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GEN = os.path.join(ROOT, "build", "bench", "chatr-bench")
EMULATOR = os.path.join(ROOT, "infra", "emulator")
PEER_DIR = os.path.join(HERE, "peer")
NODE = shutil.which("node") or "/usr/bin/node"
P99_LIMIT_MS = 1000.0
AZURE_UNIT = {"groups_in": 400, "groups_out": 4000, "connections": 1000}
CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_STEPS = [200, 500, 1000, 2000, 3000, 4000, 6000, 8000]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def children_of(pids):
    """pids plus their descendants, from /proc."""
    parent = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parent[int(stat.split("/")[2])] = int(fields[1])
        except (OSError, IndexError, ValueError):
            pass
    out, todo = set(), [p for p in pids if p in parent]
    while todo:
        p = todo.pop()
        if p in out:
            continue
        out.add(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def cpu_seconds(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


class Ours:
    name = "ours"

    def __init__(self, state):
        self.state = os.path.join(state, "emulator")
        os.makedirs(self.state)
        self.port = free_port()
        self.env = dict(os.environ, CHATR_PORT=str(self.port), CHATR_STATE_DIR=self.state,
                        CHATR_BIN_DIR=os.path.join(ROOT, "build", "bin"))
        self.env.pop("DATABASE_URL", None)

    def start(self):
        r = subprocess.run([EMULATOR, "start"], env=self.env, capture_output=True, text=True,
                           timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"emulator start failed:\n{r.stdout}\n{r.stderr}")
        with open(os.path.join(self.state, "secrets", "access_key")) as f:
            self.key_file = f.name

    def stop(self):
        subprocess.run([EMULATOR, "stop"], env=self.env, capture_output=True, timeout=120)

    def pids(self):
        """nginx (master and workers), every FastCGI program, PostgreSQL."""
        roots = []
        for pf in glob.glob(os.path.join(self.state, "run", "*.pid")) + \
                glob.glob(os.path.join(self.state, "pg", "data", "postmaster.pid")):
            with open(pf) as f:
                words = f.read().split()
            roots += [int(w) for w in (words[:1] if pf.endswith("postmaster.pid") else words)
                      if w.isdigit()]
        return children_of(roots)

    def args(self):
        return ["--mode", "wps", "--port", str(self.port), "--key-file", self.key_file]


class Peer:
    name = "peer"

    def __init__(self, state):
        self.port = free_port()
        self.log = os.path.join(state, "peer.log")
        self.proc = None

    def start(self):
        subprocess.run([os.path.join(PEER_DIR, "install.sh")], check=True, timeout=300)
        self.proc = subprocess.Popen([NODE, os.path.join(PEER_DIR, "server.js"), str(self.port)],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def pids(self):
        return {self.proc.pid} if self.proc else set()

    def args(self):
        return ["--mode", "sio", "--port", str(self.port)]


def run_gen(target, label, clients, rate, seconds, extra=()):
    pids = target.pids()
    load0 = os.getloadavg()[0]
    cpu0, t0 = cpu_seconds(pids), time.time()
    cmd = [GEN, *target.args(), "--clients", str(clients), "--group-size", "10", "--rate",
           str(rate), "--duration", str(seconds), "--label", label, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 240)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    res = json.loads(r.stdout)
    res["server_cpu_s"] = round(cpu_seconds(pids) - cpu0, 2)
    res["wall_s"] = round(time.time() - t0, 2)
    res["command"] = " ".join(cmd)
    # the box is shared: a load average above the core count means the figures are pessimistic
    res["loadavg_1m"] = [load0, os.getloadavg()[0]]
    lat = res["latency_ms"]
    print(f"  {target.name:4} {label:14} clients={clients:5} in={res['in_per_s']:8.0f}/s "
          f"out={res['out_per_s']:9.0f}/s p50={lat.get('p50', 0):8.1f} p99={lat.get('p99', 0):8.1f} "
          f"ms lost={res['lost']} dup={res['duplicated']} ooo={res['out_of_order']} "
          f"failed={res['failed'] + res['dropped']} cpu={res['server_cpu_s']}s/{res['wall_s']}s "
          f"load={res['loadavg_1m'][1]:.1f}",
          flush=True)
    time.sleep(2)  # let the server finish closing the step's connections
    return res


def passed(res):
    return (res["failed"] == 0 and res["dropped"] == 0 and res["lost"] == 0
            and res["duplicated"] == 0 and res["misrouted"] == 0
            and res["latency_ms"].get("p99", 1e9) <= P99_LIMIT_MS)


def small_groups(target, steps, seconds):
    best, runs = None, []
    for n in steps:
        res = run_gen(target, "small-groups", n, 1, seconds)
        runs.append(res)
        if not passed(res):
            break
        best = res
    # every step passed: the true maximum is above the last step
    return {"best": best, "runs": runs, "below_limit": bool(runs) and passed(runs[-1])}


def fmt(v, unit=""):
    return "-" if v is None else (f"{v:,.0f}{unit}" if abs(v) >= 100 else f"{v:.2f}{unit}")


def ratio(a, b, higher_is_better=True):
    if a is None or b is None or a == 0 or b == 0:
        return "-"
    return f"{(a / b if higher_is_better else b / a):.2f}"


def table(results):
    o, p = results.get("ours", {}), results.get("peer", {})

    def g(t, *path):
        v = t
        for k in path:
            v = v.get(k) if isinstance(v, dict) else None
        return v

    rows = []
    oi, pi = g(o, "small_groups", "best", "in_per_s"), g(p, "small_groups", "best", "in_per_s")
    oo, po = g(o, "small_groups", "best", "out_per_s"), g(p, "small_groups", "best", "out_per_s")
    units = None if oo is None else min(oi / AZURE_UNIT["groups_in"], oo / AZURE_UNIT["groups_out"])
    ge_o = ">=" if g(o, "small_groups", "below_limit") else ""
    ge_p = ">=" if g(p, "small_groups", "below_limit") else ""
    rows.append(("1. small groups: max in/s (p99<1s, no loss)", ge_o + fmt(oi), ge_p + fmt(pi),
                 ratio(oi, pi), fmt(units)))
    rows.append(("1. small groups: max out/s", ge_o + fmt(oo), ge_p + fmt(po), ratio(oo, po), ""))
    for k in ("p50", "p99"):
        a = g(o, "small_groups", "best", "latency_ms", k)
        b = g(p, "small_groups", "best", "latency_ms", k)
        rows.append((f"1. small groups: {k} at max (ms)", fmt(a), fmt(b), ratio(a, b, False), ""))
    def cpu_per_k(t):
        b = g(t, "small_groups", "best")
        return b["server_cpu_s"] / b["received"] * 1e6 if b and b["received"] else None
    a, b = cpu_per_k(o), cpu_per_k(p)
    rows.append(("1. server CPU ms per 1,000 deliveries at max", fmt(a), fmt(b), ratio(a, b, False),
                 ""))
    lc = g(o, "light", "ready")
    for k in ("p50", "p99"):
        a, b = g(o, "light", "latency_ms", k), g(p, "light", "latency_ms", k)
        rows.append((f"light load: {k} (ms)", fmt(a), fmt(b), ratio(a, b, False),
                     fmt(lc / AZURE_UNIT["connections"]) if lc and k == "p50" else ""))
    a, b = g(o, "light", "handshakes_per_s"), g(p, "light", "handshakes_per_s")
    rows.append(("handshakes/s (light-load setup)", fmt(a), fmt(b), ratio(a, b), ""))
    head = ("scenario", "ours", "peer", "ours/peer", "Azure units (ours)")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)),
                    help="connection counts for scenario 1 (1 message/s each)")
    ap.add_argument("--step-seconds", type=float, default=10)
    ap.add_argument("--light-clients", type=int, default=1000)
    ap.add_argument("--light-seconds", type=float, default=20)
    ap.add_argument("--only", choices=["ours", "peer"])
    ap.add_argument("--state", help="state directory (default: a new one under /tmp)")
    a = ap.parse_args()
    if not os.access(GEN, os.X_OK):
        sys.exit(f"{GEN} missing: run `make && make -C tests/bench` first")
    state = a.state or tempfile.mkdtemp(prefix="chatr-bench-")
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o755)  # PostgreSQL runs as its own account under it
    steps = [int(s) for s in a.steps.split(",") if s]
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "nproc": os.cpu_count(),
               "loadavg_before": os.getloadavg(), "steps": steps,
               "step_seconds": a.step_seconds}
    targets = [t for t in (Ours(state), Peer(state)) if a.only in (None, t.name)]
    try:
        for t in targets:
            print(f"== {t.name}: starting", flush=True)
            t.start()
            r = results.setdefault(t.name, {})
            r["light"] = run_gen(t, "light", a.light_clients, 100 / a.light_clients,
                                 a.light_seconds)
            r["small_groups"] = small_groups(t, steps, a.step_seconds)
            t.stop()
    finally:
        for t in targets:
            t.stop()
        out = os.path.join(state, "bench-results.json")
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
    print()
    print(table(results))
    print(f"\nraw results: {out}")


if __name__ == "__main__":
    main()
