#!/usr/bin/python3
"""tests/bench/run.py: `make bench`. Starts the emulator (release build) and the Socket.IO peer
on free ports, runs the scenarios with chatr-bench against both, prints one table and writes the
raw results as JSON (every command line, step and load average) under the state directory.
Stops everything it started. Loopback only; every step is bounded in count and time.

    tests/bench/run.py [--quick] [--hub bench] [--history-hub benchhistory] [--only ours|peer]
                       [--scenarios light,groups,history,big,echo,user,conns,ceiling]
                       [--state DIR] [--nodes N]

--nodes N (ours): the emulator with N gateway nodes behind its balancer, nchan in Redis mode
(docs/scale-out.md); 1 (default) is one node with nchan in memory. The CPU figures then count
Redis and every node's nginx and programs. Compare, on a quiet box, e.g.
    tests/bench/run.py --only ours --scenarios groups,big --nodes 1
    tests/bench/run.py --only ours --scenarios groups,big --nodes 2

Scenarios (Azure Web PubSub's performance-guide method: 2,048-byte messages, the load raised
step by step until p99 passes 1 s or anything is lost; the highest step that passed counts):
  light    1,000 connections in groups of 10, 100 messages/s in (0.1/s per sender).
  groups   1. small groups: groups of 10, every member sends 1 message/s; connections raised.
  history  1. again on --history-hub (group history stored), ours only.
  big      2. one big group: every connection in one group, 10 members send; rate raised.
  echo     3. event round trip: each client sends event `echo`, the hub's event handler
           (/api/eventHandler, upstream webhook) answers with the same body; rate raised.
  user     4. REST send-to-user: publisher threads call the REST API (the service SDK) for
           each connected user; rate raised. Peer: POST /users/<id>/send.
  conns    5. connections: N idle connections held; handshakes/s while opening them; memory
           per connection (RSS of nginx + FastCGI programs, or node, before and while held).
  ceiling  6. the groups fan-out of (1) published straight into nchan (POST /pub on nginx's
           internal socket), no hub-router: what nginx + nchan alone can do. Ours only.
Needs `make` (build/bin, build/lib) and `make -C tests/bench` (build/bench/chatr-bench) first.
"""
import argparse
import glob
import json
import os
import selectors
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
CLK_TCK = os.sysconf("SC_CLK_TCK")
SCENARIOS = ["light", "groups", "history", "big", "echo", "user", "conns", "ceiling"]

# Azure Web PubSub's published capacity of one unit (concept-performance: 2,048-byte messages).
AZURE_UNIT = {"groups_in": 400, "groups_out": 4000, "big_out": 3000, "echo": 500, "user": 180,
              "connections": 1000}

# Step plans. full: `make bench` (about 10 minutes on a quiet 2-core box); quick: a few minutes.
PROFILES = {
    "full": {
        "step_seconds": 8, "ramp_seconds": 5, "drain": 5,
        "light_clients": 1000, "light_rate": 0.1, "light_seconds": 10,
        "groups_steps": [200, 500, 1000, 2000, 3000, 4000, 6000, 8000],
        "big_clients": 1000, "big_senders": 10, "big_rates": [0.2, 0.5, 1, 2, 5, 10, 20],
        "echo_clients": 1000, "echo_rates": [0.1, 0.25, 0.5, 1, 2, 4, 8],
        "user_clients": 1000, "user_rates": [0.1, 0.25, 0.5, 1, 2, 4, 8], "publishers": 8,
        "conn_clients": 10000, "conn_hold": 5,
        "ceiling_clients": 1000, "ceiling_rates": [0.1, 1, 2, 4, 8, 16, 32],
    },
    "quick": {
        "step_seconds": 3, "ramp_seconds": 2, "drain": 3,
        "light_clients": 200, "light_rate": 0.5, "light_seconds": 3,
        "groups_steps": [100, 300, 1000],
        "big_clients": 200, "big_senders": 5, "big_rates": [0.5, 2, 8],
        "echo_clients": 200, "echo_rates": [0.5, 2, 8],
        "user_clients": 200, "user_rates": [0.5, 2, 8], "publishers": 4,
        "conn_clients": 1000, "conn_hold": 2,
        "ceiling_clients": 200, "ceiling_rates": [0.5, 5, 20],
    },
}


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


def proc_kb(pids, name, field):
    """The sum over pids of one kB field of /proc/<pid>/<name>, "VmRSS:" of status say."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/{name}") as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1])
                        break
        except (OSError, IndexError, ValueError):
            pass
    return total


def rss_kb(pids):
    return proc_kb(pids, "status", "VmRSS:")


def pss_kb(pids):
    """Proportional set size: each shared page counted once across the processes that map it
    (the kernel divides it among them), so a pool of 4 processes of one program counts its
    libraries once, not 4 times as the RSS sum does."""
    return proc_kb(pids, "smaps_rollup", "Pss:")


class Ours:
    name = "ours"

    def __init__(self, state, hub, nodes=1):
        self.state = os.path.join(state, "emulator")
        os.makedirs(self.state)
        self.nodes = nodes
        self.port = free_port()
        self.hub = hub
        self.env = dict(os.environ, CHATR_PORT=str(self.port), CHATR_STATE_DIR=self.state,
                        CHATR_BIN_DIR=os.path.join(ROOT, "build", "bin"))
        self.env.pop("DATABASE_URL", None)
        self.key_file = os.path.join(self.state, "secrets", "access_key")
        # the ceiling scenario publishes into nchan on the (first) node
        self.pub_socket = os.path.join(self.state, "node1" if nodes > 1 else "", "run",
                                       "nginx-internal.sock")

    def start(self):
        more = ["--nodes", str(self.nodes)] if self.nodes > 1 else []
        r = subprocess.run([EMULATOR, "start", *more], env=self.env, capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"emulator start failed:\n{r.stdout}\n{r.stderr}")

    def stop(self):
        subprocess.run([EMULATOR, "stop"], env=self.env, capture_output=True, timeout=120)

    def pid_files(self):
        """Every node's (and the balancer's, Redis') pid files."""
        return glob.glob(os.path.join(self.state, "run", "*.pid")) + \
            glob.glob(os.path.join(self.state, "node*", "run", "*.pid"))

    def server_pids(self):
        """nginx (master and workers) and every FastCGI program."""
        roots = []
        for pf in self.pid_files():
            with open(pf) as f:
                roots += [int(w) for w in f.read().split() if w.isdigit()]
        return children_of(roots)

    def db_pids(self):
        try:
            with open(os.path.join(self.state, "pg", "data", "postmaster.pid")) as f:
                return children_of([int(f.readline())])
        except (OSError, ValueError):
            return set()

    def pids(self):
        return self.server_pids() | self.db_pids()

    def args(self, hub=None):
        return ["--mode", "wps", "--port", str(self.port), "--key-file", self.key_file,
                "--hub", hub or self.hub]


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

    def server_pids(self):
        return {self.proc.pid} if self.proc else set()

    def db_pids(self):
        return set()

    def pids(self):
        return self.server_pids()

    def args(self, hub=None):
        return ["--mode", "sio", "--port", str(self.port)]


class Bench:
    """Runs chatr-bench against one target and collects its steps with the server's CPU time
    per step (sampled when the clients are ready and after every step) and the load average."""

    def __init__(self, prof, log):
        self.prof = prof
        self.log = log
        self.max_load = 0.0

    def load(self):
        la = os.getloadavg()[0]
        self.max_load = max(self.max_load, la)
        return round(la, 2)

    def run(self, target, label, clients, gen_args, rates, seconds, hub=None, on_ready=None):
        pids = target.pids()
        cmd = [GEN, *target.args(hub), "--clients", str(clients), "--duration", str(seconds),
               "--drain", str(self.prof["drain"]), "--label", label, "--p99-limit",
               str(P99_LIMIT_MS), "--rates", ",".join(str(r) for r in rates), *gen_args]
        budget = 120 + len(rates) * (seconds + self.prof["drain"] + 5) + clients / 20
        t0 = time.time()
        load0 = self.load()
        cpu_prev, t_prev = cpu_seconds(pids), t0
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        steps, extra, errors = [], {}, []
        open_pipes = 2
        while open_pipes:
            if time.time() - t0 > budget:
                proc.kill()
                errors.append(f"killed after {budget:.0f} s")
                break
            for key, _ in sel.select(timeout=1):
                line = key.fileobj.readline()
                if not line:
                    sel.unregister(key.fileobj)
                    open_pipes -= 1
                    continue
                if key.data == "err":
                    errors.append(line.rstrip())
                    if "clients ready" in line:
                        extra["setup_server_cpu_s"] = round(cpu_seconds(pids) - cpu_prev, 2)
                        cpu_prev, t_prev = cpu_seconds(pids), time.time()
                        if on_ready:
                            extra.update(on_ready())
                    continue
                res = json.loads(line)
                now, cpu = time.time(), cpu_seconds(pids)
                res["server_cpu_s"] = round(cpu - cpu_prev, 2)
                res["server_wall_s"] = round(now - t_prev, 2)
                res["server_cpu_pct"] = round(100 * (cpu - cpu_prev) / max(now - t_prev, 1e-3), 1)
                res["loadavg_1m"] = self.load()
                cpu_prev, t_prev = cpu, now
                steps.append(res)
                self.print_step(target, res)
        proc.wait(timeout=30)
        time.sleep(2)  # let the server finish closing the connections
        out = {"command": " ".join(cmd), "steps": steps, "loadavg_1m_before": load0,
               "wall_s": round(time.time() - t0, 1), "stderr": errors[-20:], **extra}
        passed = [s for s in steps if s["passed"]]
        out["best"] = passed[-1] if passed else None
        out["light"] = steps[0] if steps else None
        # every step passed: the real maximum is above the last one
        out["below_limit"] = bool(steps) and len(passed) == len(steps) == len(rates)
        return out

    def print_step(self, target, res):
        lat = res["latency_ms"]
        line = (f"  {target.name:4} {res['label']:14} clients={res['ready']:5} "
                f"in={res['in_per_s']:8.0f}/s out={res['out_per_s']:9.0f}/s "
                f"p50={lat.get('p50', 0):8.1f} p99={lat.get('p99', 0):8.1f} ms lost={res['lost']} "
                f"dup={res['duplicated']} ooo={res['out_of_order']} "
                f"failed={res['failed'] + res['dropped'] + res['publish_errors']} "
                f"cpu={res['server_cpu_pct']}% load={res['loadavg_1m']:.1f} "
                f"{'ok' if res['passed'] else 'FAILED'}")
        print(line, flush=True)
        self.log.write(line + "\n")


def small_groups(bench, target, steps, seconds, hub=None, label="small-groups"):
    """Scenario 1: the connection count raised, one generator run per step (1 message/s each)."""
    best, runs = None, []
    for n in steps:
        r = bench.run(target, label, n, ["--group-size", "10"], [1], seconds, hub=hub)
        runs.append(r)
        if not r["best"]:
            break
        best = r["best"]
    return {"best": best, "runs": runs, "below_limit": bool(runs) and runs[-1]["best"] is not None}


def connections(bench, target, n, hold):
    """Scenario 5: n idle connections; RSS before and while they are held."""
    before = {"server_rss_kb": rss_kb(target.server_pids()), "db_rss_kb": rss_kb(target.db_pids()),
              "server_pss_kb": pss_kb(target.server_pids())}

    def sample():
        time.sleep(min(1.0, hold / 2))
        return {"held_server_rss_kb": rss_kb(target.server_pids()),
                "held_db_rss_kb": rss_kb(target.db_pids()),
                "held_server_pss_kb": pss_kb(target.server_pids())}
    r = bench.run(target, "connections", n, ["--scenario", "idle", "--concurrency", "128",
                                             "--setup-timeout", "150"], [1], hold, on_ready=sample)
    r.update({f"before_{k}": v for k, v in before.items()})
    s = r["steps"][0] if r["steps"] else None
    if s and s["ready"] and "held_server_rss_kb" in r:
        r["held"] = s["ready"]
        r["handshakes_per_s"] = s["handshakes_per_s"]
        r["kb_per_connection"] = round((r["held_server_rss_kb"] - before["server_rss_kb"]) / s["ready"], 2)
        r["kb_per_connection_total"] = round(r["held_server_rss_kb"] / s["ready"], 2)
        r["kb_per_connection_pss_total"] = round(r["held_server_pss_kb"] / s["ready"], 2)
    return r


def echo_answered(bench, target, hub):
    """Is the echo event answered on this hub at all? (a few clients, one second)"""
    r = bench.run(target, "echo-probe", 5, ["--scenario", "echo"], [1], 1, hub=hub)
    return bool(r["steps"]) and r["steps"][0]["received"] > 0


# ---- the table --------------------------------------------------------------------------------

def g(t, *path):
    v = t
    for k in path:
        v = v.get(k) if isinstance(v, dict) else None
    return v


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def ratio(a, b, higher_is_better=True):
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)) or not a or not b:
        return "-"
    return f"{(a / b if higher_is_better else b / a):.2f}"


def cpu_per_k(step):
    """Server CPU ms per 1,000 deliveries in one step."""
    if not step or not step.get("received"):
        return None
    return step["server_cpu_s"] / step["received"] * 1e6


def ge(t, key):
    return ">=" if g(t, key, "below_limit") else ""


def table(results, notes):
    o, p = results.get("ours", {}), results.get("peer", {})
    rows = []

    def row(name, a, b, lower_better=False, ceil=None, units=None, prefix=("", "")):
        rows.append((name, prefix[0] + fmt(a), prefix[1] + fmt(b),
                     ratio(a, b, not lower_better), ceil or "", fmt(units) if units is not None else ""))

    # light load
    for k in ("p50", "p99"):
        row(f"light load (1,000 conn, 100 msg/s in): {k} ms", g(o, "light", "light", "latency_ms", k),
            g(p, "light", "light", "latency_ms", k), True)
    # 1. small groups
    oi, pi = g(o, "groups", "best", "in_per_s"), g(p, "groups", "best", "in_per_s")
    oo, po = g(o, "groups", "best", "out_per_s"), g(p, "groups", "best", "out_per_s")
    co = g(o, "ceiling", "best", "out_per_s")
    gx = (ge(o, "groups"), ge(p, "groups"))
    row("1. small groups: max in/s (p99<1s, no loss)", oi, pi, prefix=gx,
        units=min(oi / AZURE_UNIT["groups_in"], oo / AZURE_UNIT["groups_out"]) if oi else None,
        ceil=ratio(oi, g(o, "ceiling", "best", "in_per_s")))
    row("1. small groups: max out/s", oo, po, prefix=gx, ceil=ratio(oo, co))
    for k in ("p50", "p99"):
        row(f"1. small groups: {k} at max (ms)", g(o, "groups", "best", "latency_ms", k),
            g(p, "groups", "best", "latency_ms", k), True)
    row("1. small groups: server CPU ms / 1,000 deliveries", cpu_per_k(g(o, "groups", "best")),
        cpu_per_k(g(p, "groups", "best")), True)
    if "history" in o:
        hi = g(o, "history", "best", "in_per_s")
        row("1. small groups, history on: max in/s", hi, None, prefix=(ge(o, "history"), ""),
            units=hi / AZURE_UNIT["groups_in"] if hi else None)
        row("1. small groups, history on: p99 at max (ms)", g(o, "history", "best", "latency_ms", "p99"),
            None, True)
    # 2. one big group
    bo, bp = g(o, "big", "best", "out_per_s"), g(p, "big", "best", "out_per_s")
    row("2. one big group: max out/s", bo, bp, prefix=(ge(o, "big"), ge(p, "big")),
        units=bo / AZURE_UNIT["big_out"] if bo else None)
    row("2. one big group: p99 at max (ms)", g(o, "big", "best", "latency_ms", "p99"),
        g(p, "big", "best", "latency_ms", "p99"), True)
    row("2. one big group: server CPU ms / 1,000 deliveries", cpu_per_k(g(o, "big", "best")),
        cpu_per_k(g(p, "big", "best")), True)
    # 3. echo, 4. REST send-to-user
    for key, name, unit in (("echo", "3. webhook echo", "echo"), ("user", "4. REST send-to-user", "user")):
        a, b = g(o, key, "best", "in_per_s"), g(p, key, "best", "in_per_s")
        if key in o and not o[key].get("steps") and o[key].get("skipped"):
            a = "skipped"
        row(f"{name}: max msg/s", a, b, prefix=(ge(o, key), ge(p, key)),
            units=a / AZURE_UNIT[unit] if isinstance(a, float) else None)
        row(f"{name}: p99 at max (ms)", g(o, key, "best", "latency_ms", "p99"),
            g(p, key, "best", "latency_ms", "p99"), True)
        row(f"{name}: p99 at light load (ms)", g(o, key, "light", "latency_ms", "p99"),
            g(p, key, "light", "latency_ms", "p99"), True)
        row(f"{name}: server CPU ms / 1,000 messages", cpu_per_k(g(o, key, "best")),
            cpu_per_k(g(p, key, "best")), True)
    # 5. connections
    ho, hp = g(o, "conns", "held"), g(p, "conns", "held")
    row("5. connections held (idle)", ho, hp, units=ho / AZURE_UNIT["connections"] if ho else None)
    row("5. handshakes/s", g(o, "conns", "handshakes_per_s"), g(p, "conns", "handshakes_per_s"))
    row("5. KB per connection (RSS growth / conn)", g(o, "conns", "kb_per_connection"),
        g(p, "conns", "kb_per_connection"), True)
    row("5. KB per connection (RSS total / conn)", g(o, "conns", "kb_per_connection_total"),
        g(p, "conns", "kb_per_connection_total"), True)
    row("5. KB per connection (PSS total / conn)", g(o, "conns", "kb_per_connection_pss_total"),
        g(p, "conns", "kb_per_connection_pss_total"), True)
    # 6. ceiling
    row("6. ceiling (nchan, no router): max in/s", g(o, "ceiling", "best", "in_per_s"), None,
        prefix=(ge(o, "ceiling"), ""))
    row("6. ceiling: max out/s", co, None, prefix=(ge(o, "ceiling"), ""),
        units=co / AZURE_UNIT["groups_out"] if co else None)
    row("6. ceiling: p99 at max (ms)", g(o, "ceiling", "best", "latency_ms", "p99"), None, True)
    row("6. ceiling: server CPU ms / 1,000 deliveries", cpu_per_k(g(o, "ceiling", "best")), None, True)

    head = ("scenario", "ours", "peer", "ours/peer", "ours/ceiling", "Azure units (ours)")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    lines = [" | ".join(str(c).ljust(w) for c, w in zip(head, widths)).rstrip(),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(notes + lines)


# ---- main -------------------------------------------------------------------------------------

def scenario_runs(bench, t, prof, a):
    """name -> what runs it against target t (ours only: history, ceiling)."""
    rs, ss = prof["ramp_seconds"], prof["step_seconds"]
    ours = t.name == "ours"

    def echo():
        if ours and not echo_answered(bench, t, a.hub):
            print(f"  ours echo: skipped (event echo is not answered on hub {a.hub})", flush=True)
            return {"skipped": f"event echo is not answered on hub {a.hub}", "steps": []}
        return bench.run(t, "echo", prof["echo_clients"], ["--scenario", "echo"],
                         prof["echo_rates"], rs)
    n = prof["big_clients"]
    runs = {
        "light": lambda: bench.run(t, "light", prof["light_clients"], ["--group-size", "10"],
                                   [prof["light_rate"]], prof["light_seconds"]),
        "groups": lambda: small_groups(bench, t, prof["groups_steps"], ss),
        "big": lambda: bench.run(t, "big-group", n, ["--group-size", str(n), "--senders",
                                                     str(prof["big_senders"])], prof["big_rates"], rs),
        "echo": echo,
        "user": lambda: bench.run(t, "rest-user", prof["user_clients"],
                                  ["--scenario", "user", "--publishers", str(prof["publishers"])],
                                  prof["user_rates"], rs),
        "conns": lambda: connections(bench, t, prof["conn_clients"], prof["conn_hold"]),
    }
    if ours:
        runs["history"] = lambda: small_groups(bench, t, prof["groups_steps"], ss,
                                               hub=a.history_hub, label="groups-history")
        # as many publisher threads as hub-router has processes (gateway/hub-router/program.json)
        runs["ceiling"] = lambda: bench.run(t, "ceiling", prof["ceiling_clients"],
                                            ["--scenario", "ceiling", "--group-size", "10",
                                             "--pub-socket", t.pub_socket, "--publishers", "4"],
                                            prof["ceiling_rates"], rs)
    return runs


def overloaded(res):
    """Did the scenario end with a failed (overloaded) step? Its backlog stays in the server
    (ours: nchan keeps up to 16 messages per channel for 30 s in shared memory, and a full
    shared memory refuses new sockets with 507), so the next scenario gets a fresh server."""
    if not isinstance(res, dict):
        return False
    return any(not s["passed"] for r in res.get("runs") or [res] for s in r.get("steps", []))


def run_target(bench, t, prof, todo, a, results):
    r = results.setdefault(t.name, {})
    runs = scenario_runs(bench, t, prof, a)
    previous = None
    for name in SCENARIOS:
        if name not in todo or name not in runs:
            continue
        if previous and (overloaded(r.get(previous)) or previous == "conns" or name == "conns"):
            # after `conns`, 10,000 sockets are still being closed (a hook each): start afresh;
            # and `conns` itself starts on a fresh server, both sides: its memory figures would
            # otherwise count what earlier scenarios left (ours: nchan's shared memory pages
            # touched by the message buffers stay in every nginx process's RSS)
            why = ("10,000 connections" if previous == "conns"
                   else "an overloaded step" if overloaded(r.get(previous))
                   else "a fresh server for the memory figures")
            print(f"  {t.name}: restarting ({why})", flush=True)
            t.stop()
            t.start()
        r[name] = runs[name]()
        previous = name


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small steps, a few minutes (iteration)")
    ap.add_argument("--hub", default="bench", help="our hub for every scenario (default bench)")
    ap.add_argument("--history-hub", default="benchhistory",
                    help="our hub with group history for the 'history on' rows (default benchhistory: hub bench plus history)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated subset of " + ",".join(SCENARIOS))
    ap.add_argument("--only", choices=["ours", "peer"])
    ap.add_argument("--state", help="state directory (default: a new one under /tmp)")
    ap.add_argument("--nodes", type=int, default=1,
                    help="ours: gateway nodes behind the balancer, nchan in Redis mode when > 1")
    a = ap.parse_args()
    if not 1 <= a.nodes <= 16:
        sys.exit("--nodes: 1 to 16")
    if not os.access(GEN, os.X_OK):
        sys.exit(f"{GEN} missing: run `make && make -C tests/bench` first")
    todo = [s for s in a.scenarios.split(",") if s]
    if set(todo) - set(SCENARIOS):
        sys.exit(f"unknown scenario(s): {', '.join(sorted(set(todo) - set(SCENARIOS)))}")
    prof = PROFILES["quick" if a.quick else "full"]
    state = a.state or tempfile.mkdtemp(prefix="chatr-bench-")
    os.makedirs(state, exist_ok=True)
    os.chmod(state, 0o755)  # PostgreSQL runs as its own account under it
    log = open(os.path.join(state, "bench.log"), "a")
    bench = Bench(prof, log)
    command = " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": command,
               "nproc": os.cpu_count(), "loadavg_before": os.getloadavg(), "profile": prof,
               "hub": a.hub, "history_hub": a.history_hub, "p99_limit_ms": P99_LIMIT_MS,
               "azure_unit": AZURE_UNIT, "nodes": a.nodes}
    targets = [t for t in (Ours(state, a.hub, a.nodes), Peer(state)) if a.only in (None, t.name)]
    t_start = time.time()
    try:
        for t in targets:
            print(f"== {t.name}: starting", flush=True)
            t.start()
            run_target(bench, t, prof, todo, a, results)
            t.stop()
    finally:
        for t in targets:
            t.stop()
        results["loadavg_after"] = os.getloadavg()
        results["loadavg_max_1m"] = bench.max_load
        results["wall_s"] = round(time.time() - t_start, 1)
        out = os.path.join(state, "bench-results.json")
        with open(out, "w") as f:
            json.dump(results, f, indent=1)
    la0, la1 = results["loadavg_before"], results["loadavg_after"]
    notes = [f"chatr bench {results['started']}: `{command}` ({results['wall_s']:.0f} s, "
             f"{results['nproc']} cores, our hub {a.hub}, history hub {a.history_hub}, "
             f"{a.nodes} node{'s, nchan in Redis' if a.nodes > 1 else ', nchan in memory'})",
             f"load average (1/5/15 min) before {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, "
             f"after {la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f}, highest 1-min seen {bench.max_load:.2f}",
             ""]
    text = table(results, notes)
    print()
    print(text)
    with open(os.path.join(state, "bench-table.txt"), "w") as f:
        f.write(text + "\n")
    print(f"\nraw results: {out}")


if __name__ == "__main__":
    main()
