#!/usr/bin/python3
"""tests/bench/frame_cost.py: what one client frame costs the server, in deterministic units
(system calls and CPU time per frame), for the frame-path work of issue 14 (docs/performance.md).

A shared, noisy machine makes throughput figures useless for comparing two builds; a fixed load
at a low rate does not saturate anything, so the system calls and the CPU time per frame stay
about the same from run to run. This starts the emulator (build/bin by default), runs
chatr-bench at a fixed rate for a fixed time, and reports, per frame sent:

- CPU ms per 1,000 frames of each program (utime+stime from /proc/<pid>/stat before/after);
- with --strace: system calls per frame of nginx's workers and hub-router (strace -c -f on
  their pids while the load runs; the CPU figures of such a run are strace's, not ours).

    tests/bench/frame_cost.py [--scenario groups|echo] [--clients 100] [--rate 1]
                              [--duration 10] [--strace] [--bin-dir build/bin]

Needs `make` and `make -C tests/bench`. Never part of `make test` (it measures, it checks nothing).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (tests/bench/run.py: the emulator target and /proc helpers)


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            name = f.read().strip()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().split(b"\0")
        if name == "nginx" and b"worker" in cmd[0]:
            return "nginx-worker"
        return name
    except OSError:
        return None


def cpu_by_program(pids):
    out = {}
    for p in pids:
        name = comm(p)
        if name:
            out[name] = out.get(name, 0) + run.cpu_seconds([p])
    return out


def strace_summary(path):
    """(total calls, {syscall: calls}) from strace -c output."""
    calls, total = {}, 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                try:
                    n = int(parts[3])
                except ValueError:
                    continue
                calls[parts[-1]] = n
            elif parts and parts[-1] == "total" and len(parts) >= 5:
                total = int(parts[3])
    return total, calls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="groups", choices=["groups", "echo"])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--rate", type=float, default=1.0, help="messages/s per client")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--bin-dir", default=os.path.join(run.ROOT, "build", "bin"))
    ap.add_argument("--hub", default="bench")
    a = ap.parse_args()

    state = tempfile.mkdtemp(prefix="chatr-framecost-")
    os.chmod(state, 0o755)  # PostgreSQL runs as its own account under it
    t = run.Ours(state, a.hub)
    t.env["CHATR_BIN_DIR"] = os.path.abspath(a.bin_dir)
    t.start()
    try:
        pids = t.pids()
        cmd = [run.GEN, *t.args(), "--clients", str(a.clients), "--duration", str(a.duration),
               "--drain", "3", "--rates", str(a.rate), "--scenario", a.scenario]
        if a.scenario == "groups":
            cmd += ["--group-size", "10"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cpu0 = None
        tracers = {}
        for line in proc.stderr:
            if "clients ready" in line:
                pids = t.pids()  # with the database sessions opened meanwhile
                for prog in ("nginx-worker", "hub-router") if a.strace else ():
                    args = ["strace", "-c", "-f", "-o", os.path.join(state, prog + ".strace")]
                    for p in pids:
                        if comm(p) == prog:
                            args += ["-p", str(p)]
                    tracers[prog] = subprocess.Popen(args, stderr=subprocess.DEVNULL)
                if tracers:
                    time.sleep(1)
                cpu0 = cpu_by_program(pids)
                break
        res = json.loads(proc.stdout.readline())
        cpu1 = cpu_by_program(pids)
        for tr in tracers.values():
            tr.send_signal(signal.SIGINT)
            tr.wait(timeout=30)
        proc.communicate(timeout=60)
    finally:
        t.stop()
    frames = res["sent"]
    out = {"command": " ".join(cmd), "sent": frames, "received": res["received"],
           "lost": res["lost"], "p50_ms": res["latency_ms"].get("p50"),
           "p99_ms": res["latency_ms"].get("p99"),
           "cpu_ms_per_1000_frames": {k: round(1e6 * (cpu1.get(k, 0) - v) / max(frames, 1), 1)
                                      for k, v in (cpu0 or {}).items()
                                      if cpu1.get(k, 0) - v > 0}}
    out["cpu_ms_per_1000_frames"]["total"] = round(sum(out["cpu_ms_per_1000_frames"].values()), 1)
    for prog in tracers:
        total, calls = strace_summary(os.path.join(state, prog + ".strace"))
        out["syscalls_per_frame " + prog] = {
            "total": round(total / max(frames, 1), 2),
            **{k: round(v / max(frames, 1), 2) for k, v in
               sorted(calls.items(), key=lambda kv: -kv[1])[:12]}}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
