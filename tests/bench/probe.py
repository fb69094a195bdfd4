#!/usr/bin/python3
"""tests/bench/probe.py: deterministic cost figures for the handshake, idle-connection and REST
send-to-user paths (issue 14), for a shared, noisy box where rates mean little. Starts the
emulator (release build) in a fresh state directory, runs a fixed number of operations with
chatr-bench and reports, per operation: server CPU ms (utime+stime of nginx, the FastCGI programs
and PostgreSQL from /proc), PostgreSQL transactions (pg_stat_database), and with --strace the
system calls of each program (strace -c -f). `conns` also reports the RSS of nginx + programs
while the connections are held. Figures: docs/performance.md.

    tests/bench/probe.py conns --clients 1000 [--strace]
    tests/bench/probe.py user --clients 200 --rate 1 --duration 5 [--strace]
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import Ours, children_of, cpu_seconds, pss_kb, rss_kb, ROOT  # noqa: E402

GEN = os.path.join(ROOT, "build", "bench", "chatr-bench")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def by_name(pids):
    out = {}
    for p in pids:
        out.setdefault(comm(p), []).append(p)
    return out


def psql(t, sql):
    return subprocess.run(["psql", "-X", "-At", "-d", t.dburl, "-c", sql], capture_output=True,
                          text=True, timeout=30).stdout


def xacts(t):
    """Statements PostgreSQL has logged so far (log_min_duration_statement = 0, set by main)."""
    n = 0
    with open(os.path.join(t.state, "logs", "postgres.log"), errors="replace") as f:
        for line in f:
            if "duration:" in line and ("statement:" in line or "execute" in line):
                n += 1
    return n


def db_pids(t):
    """The postmaster (found by its data directory) and its children."""
    data = os.path.join(t.state, "pg", "data")
    for c in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(c, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"postgres") and data.encode() in argv:
            return children_of([int(c.split("/")[2])])
    return set()


def strace_start(pids, out):
    args = ["strace", "-c", "-f", "-o", out]
    for p in pids:
        args += ["-p", str(p)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached
    return proc


def strace_total(path):
    """The total call count of a strace -c summary."""
    try:
        with open(path) as f:
            for line in f:
                if line.strip().endswith("total"):
                    parts = line.split()
                    return int(parts[3]) if len(parts) >= 5 else int(parts[2])
    except (OSError, ValueError, IndexError):
        pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["conns", "user"])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=1)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--hub", default="bench")
    a = ap.parse_args()
    state = tempfile.mkdtemp(prefix="chatr-probe-")
    os.chmod(state, 0o755)  # PostgreSQL runs as its own account under it
    t = Ours(state, a.hub)
    t.start()
    t.dburl = f"postgresql:///chatr?host={t.state}/pg/sock&user=postgres"
    try:
        time.sleep(2)
        server = t.server_pids()
        db = db_pids(t)
        psql(t, "ALTER SYSTEM SET log_min_duration_statement = 0")
        psql(t, "SELECT pg_reload_conf()")
        time.sleep(1)
        groups = by_name(server)
        straces = {}
        if a.strace:
            for name in ("nginx", "hub-connect", "hub-events", "hub-rest"):
                if name in groups:
                    straces[name] = (strace_start(groups[name], os.path.join(state, name + ".strace")),
                                     os.path.join(state, name + ".strace"))
        rss0 = rss_kb(server)
        rss0_by = {k: rss_kb(v) for k, v in groups.items()}
        cpu0 = {n: cpu_seconds(p) for n, p in groups.items()}
        dbcpu0, x0 = cpu_seconds(db), xacts(t)
        if a.scenario == "conns":
            gen = ["--scenario", "idle", "--concurrency", "128", "--setup-timeout", "150",
                   "--rates", "1", "--duration", str(a.duration)]
        else:
            gen = ["--scenario", "user", "--publishers", "4", "--rates", str(a.rate),
                   "--duration", str(a.duration)]
        cmd = [GEN, *t.args(), "--clients", str(a.clients), "--drain", "2", *gen]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        held = {}
        print("running:", " ".join(cmd), file=sys.stderr)
        snap = None
        for line in proc.stderr:
            if "clients ready" in line and snap is None:
                if a.scenario == "conns":
                    time.sleep(1)  # the last `opened` hooks; the user scenario sends from now on
                held = {"rss_kb": rss_kb(server), "pss_kb": pss_kb(server), "cpu": {n: cpu_seconds(p) for n, p in groups.items()},
                        "dbcpu": cpu_seconds(db), "x": xacts(t)}
                snap = {n: (s, path) for n, (s, path) in straces.items()}
                if a.scenario == "conns":
                    for s, _ in straces.values():
                        s.send_signal(signal.SIGINT)
        out, _ = proc.communicate()
        steps = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        res = {"command": " ".join(cmd), "state": state}
        for s, _ in straces.values():
            if s.poll() is None:
                s.send_signal(signal.SIGINT)
            s.wait(timeout=30)
        if a.scenario == "conns":
            n = held and steps and steps[0].get("ready", 0)
            res["held"] = n
            if n:
                res["kb_per_conn_total"] = round(held["rss_kb"] / n, 2)
                res["kb_per_conn_pss_total"] = round(held["pss_kb"] / n, 2)
                res["kb_per_conn_growth"] = round((held["rss_kb"] - rss0) / n, 2)
                res["cpu_ms_per_1k_handshakes"] = {
                    k: round((held["cpu"][k] - cpu0[k]) / n * 1e6, 1) for k in cpu0}
                res["db_cpu_ms_per_1k"] = round((held["dbcpu"] - dbcpu0) / n * 1e6, 1)
                res["db_xacts_per_handshake"] = round((held["x"] - x0) / n, 2)
                res["syscalls_per_handshake"] = {
                    k: round((strace_total(p) or 0) / n, 1) for k, (_, p) in straces.items()}
                res["rss_growth_by_program_kb"] = {k: rss_kb(v) - rss0_by[k]
                                                   for k, v in groups.items()}
                res["rss_total_kb"] = held["rss_kb"]
        else:
            sent = sum(s.get("sent", 0) for s in steps)
            recv = sum(s.get("received", 0) for s in steps)
            cpu1 = {n: cpu_seconds(p) for n, p in groups.items()}
            res.update(sent=sent, received=recv, lost=sum(s.get("lost", 0) for s in steps))
            # the user scenario's sends happen after "clients ready"
            base_cpu, base_x, base_db = held.get("cpu", cpu0), held.get("x", x0), held.get("dbcpu", dbcpu0)
            if sent:
                res["cpu_ms_per_1k_sends"] = {k: round((cpu1[k] - base_cpu[k]) / sent * 1e6, 1)
                                              for k in cpu1}
                res["db_cpu_ms_per_1k"] = round((cpu_seconds(db) - base_db) / sent * 1e6, 1)
                res["db_xacts_per_send"] = round((xacts(t) - base_x) / sent, 2)
                res["syscalls_per_send_incl_setup"] = {
                    k: round((strace_total(p) or 0) / sent, 1) for k, (_, p) in straces.items()}
        print(json.dumps(res, indent=1))
    finally:
        t.stop()


if __name__ == "__main__":
    main()
