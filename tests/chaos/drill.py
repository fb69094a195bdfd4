#!/usr/bin/python3
"""Fault drills (docs/fault-drills.md): each scenario injects one fault into a running emulator
while load.py's steady chat load runs, waits until traffic flows cleanly again (or a time-out),
and reports what was sent, acknowledged, delivered, lost and duplicated, the recovery time, what
the other clients saw, and any crash the logs show.

    tests/chaos/drill.py [--profile reduced|full] [--only NAME,NAME] [--list]

The pytest form (tests/chaos/test_chaos.py, `make chaos` / `make test-chaos`) runs the same
scenarios and asserts the goals. CHATR_CHAOS_PROFILE (reduced|full) and CHATR_CHAOS_ONLY pick
the scenarios there; CHATR_CHAOS_STATE the folder of the report (default: a new temp folder);
CHATR_CHAOS_TIMEOUT the seconds a scenario may take to recover (default: the profile's)."""
import argparse
import collections
import importlib.util
import json
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time

import websocket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import load as loadmod  # noqa: E402  (tests/chaos/load.py)

ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("chaos_api_conftest", os.path.join(ROOT, "tests", "api", "conftest.py"))
api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api)  # the API suite's emulator wrapper (Chatr) and guest sign-in

PROFILES = {
    # make test-chaos: one scenario of each kind, small load, short time-outs (about 2 minutes)
    "reduced": {"clients": 12, "reliable": 3, "group_size": 4, "rate": 2.0, "http_clients": 2,
                "http_rate": 4.0, "warmup": 1.5, "timeout": 12.0, "quiet": 2.5, "drain": 3.0,
                "flood_rate": 20000, "flood_seconds": 3.0, "db_down": 1.5,
                "scenarios": ["kill:hub-router", "restart:hub-router", "nginx", "postgres", "flood"]},
    # make chaos: every program, the flood
    "full": {"clients": 30, "reliable": 6, "group_size": 6, "rate": 2.0, "http_clients": 4,
             "http_rate": 10.0, "warmup": 3.0, "timeout": 60.0, "quiet": 3.0, "drain": 5.0,
             "flood_rate": 20000, "flood_seconds": 10.0, "db_down": 3.0, "scenarios": None},
}
# what must have succeeded since the last bad event for traffic to count as flowing again
TRAFFIC = ("ack", "http", "churn plain", "churn reliable")
# log lines that mean a crash (nginx worker or a sanitizer report in any program)
CRASH = re.compile(r"exited on signal|Assertion|AddressSanitizer|runtime error:")


def programs():
    """(deploy name, process name) of every FastCGI pool, as infra/emulator finds them."""
    out = []
    for d in sorted(os.listdir(os.path.join(ROOT, "functions"))):
        if os.path.exists(os.path.join(ROOT, "functions", d, "function.json")):
            out.append((d, "fn-" + d))
    for d in sorted(os.listdir(os.path.join(ROOT, "gateway"))):
        if os.path.exists(os.path.join(ROOT, "gateway", d, "program.json")):
            out.append((d, d))
    return out


def all_scenarios():
    units = [u for _n, u in programs()]
    return [f"kill:{u}" for u in units] + [f"restart:{n}" for n, _u in programs()] + ["nginx", "postgres", "flood"]


def describe(name):
    if name.startswith("kill:"):
        return f"kill -9 of every {name[5:]} process"
    if name.startswith("restart:"):
        return f"infra/deploy {name[8:]} restart"
    return {"nginx": "kill -9 of nginx (master and worker), then infra/emulator start",
            "postgres": "infra/emulator db stop, a pause, db start",
            "flood": "one raw socket floods joinGroup frames"}[name]


# ---- processes -----------------------------------------------------------------------------

def proc_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def proc_info(pid):
    """(exe path, ppid, environ bytes, open file paths) or None when gone or unreadable."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
        with open(f"/proc/{pid}/stat") as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read()
        files = []
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                files.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        return exe, ppid, environ, files
    except (OSError, ValueError, IndexError):
        return None


class Drill:
    """One emulator (restarted whenever a scenario leaves it broken) and the scenarios."""

    def __init__(self, profile="reduced", state=None):
        self.profile = profile
        self.cfg = dict(PROFILES[profile])
        if os.environ.get("CHATR_CHAOS_TIMEOUT"):  # seconds a scenario may take to recover
            self.cfg["timeout"] = float(os.environ["CHATR_CHAOS_TIMEOUT"])
        self.root = state or os.environ.get("CHATR_CHAOS_STATE") or tempfile.mkdtemp(prefix="chatr-chaos-")
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o711)  # PostgreSQL's account must traverse it to reach its cluster
        self.chatr = api.Chatr()
        os.rmdir(self.chatr.state)  # Chatr made a temp folder: ours lives under the drill's
        self.chatr.state = os.path.join(self.root, "emulator")
        self.chatr.env["CHATR_STATE_DIR"] = self.chatr.state
        self.marker = f"CHATR_STATE_DIR={self.chatr.state}".encode()
        self.results = []
        self.running = False

    # ---- the emulator ----------------------------------------------------------------------

    def start(self):
        self.chatr.port = api.free_port()
        self.chatr.url = f"http://127.0.0.1:{self.chatr.port}"
        self.chatr.env["CHATR_PORT"] = str(self.chatr.port)
        self.chatr.emulator("start")
        self.running = True

    def ours(self):
        """pids of every process of this emulator (environment or open files in its state),
        never this process or its parents."""
        me = {os.getpid(), os.getppid()}
        out = []
        for pid in proc_pids():
            if pid in me:
                continue
            info = proc_info(pid)
            if info and (self.marker in info[2] or any(f.startswith(self.chatr.state + "/") for f in info[3])):
                out.append(pid)
        return out

    def stop(self):
        self.chatr.emulator("stop", check=False)
        for pid in self.ours():  # whatever a half-broken instance left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.running = False

    def restart(self):
        self.stop()
        time.sleep(0.5)
        self.start()

    def health(self):
        """None when every part runs and answers, else what is wrong."""
        try:
            if self.chatr.get("/.chatr/health").status_code != 200:
                return "health check failed"
        except Exception as e:  # noqa: BLE001
            return f"health check: {type(e).__name__}"
        r = self.chatr.emulator("status", check=False)
        down = [line for line in r.stdout.splitlines() if line.endswith(": stopped")]
        return f"down: {', '.join(down)}" if down or r.returncode != 0 else None

    def pids_of(self, unit):
        """The worker processes of one pool: its binary, with this emulator's environment."""
        binary = os.path.realpath(os.path.join(self.chatr.env["CHATR_BIN_DIR"], unit))
        out = []
        for pid in proc_pids():
            info = proc_info(pid)
            if info and info[0] == binary and self.marker in info[2]:
                out.append(pid)
        return out

    def nginx_pids(self):
        try:
            with open(os.path.join(self.chatr.state, "run", "nginx.pid")) as f:
                master = int(f.read().strip())
        except (OSError, ValueError):
            return []
        return [master] + [p for p in proc_pids() if (proc_info(p) or (0, 0))[1] == master]

    # ---- faults: each returns notes (what happened when it was injected) ------------------

    def fault(self, name):
        if name.startswith("kill:"):
            pids = self.pids_of(name[5:])
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return {"killed": len(pids)}
        if name.startswith("restart:"):
            # a busy moment, as in the issue (400 msg/s): three more sockets ping 180 times a
            # second each meanwhile, so that frames arrive throughout the restart
            stop = threading.Event()
            busy = [threading.Thread(target=pinger, args=(self.chatr, stop, 180), daemon=True) for _ in range(3)]
            for b in busy:
                b.start()
            t = time.time()
            r = self.chatr.deploy(name[8:], "restart")
            took = time.time() - t
            time.sleep(0.5)
            stop.set()
            for b in busy:
                b.join(timeout=5)
            return {"deploy_rc": r.returncode, "deploy_seconds": round(took, 2),
                    "deploy_stderr": r.stderr.strip()[-300:]}
        if name == "nginx":
            pids = self.nginx_pids()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            # an operator (or a supervisor) notices once the processes are gone, then repairs
            deadline = time.time() + 10
            while any(os.path.exists(f"/proc/{p}") for p in pids) and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
            t = time.time()
            r = self.chatr.emulator("start", check=False)
            return {"killed": len(pids), "repair_rc": r.returncode, "repair_seconds": round(time.time() - t, 2),
                    "repair_output": (r.stdout + r.stderr).strip()[-300:]}
        if name == "postgres":
            a = self.chatr.emulator("db", "stop", check=False)
            time.sleep(self.cfg["db_down"])
            b = self.chatr.emulator("db", "start", check=False)
            return {"db_stop_rc": a.returncode, "db_start_rc": b.returncode, "down_seconds": self.cfg["db_down"]}
        if name == "flood":
            return flood(self.chatr, self.cfg["flood_rate"], self.cfg["flood_seconds"])
        raise ValueError(f"no scenario {name}")

    # ---- one scenario ----------------------------------------------------------------------

    def run(self, name):
        cfg = self.cfg
        result = {"scenario": name, "fault": describe(name), "profile": self.profile}
        if not self.running:
            self.start()
        wrong = self.health()
        if wrong:
            result["restarted_before"] = wrong
            self.restart()
        logs = os.path.join(self.chatr.state, "logs")
        offsets = {f: os.path.getsize(os.path.join(logs, f)) for f in os.listdir(logs)}
        tag = re.sub(r"[^a-z0-9]", "", name.lower())[:20] + f"{int(time.time()) % 100000}"
        load = loadmod.Load(self.chatr, cfg, tag, api.sign_in_guest)
        load.start()
        time.sleep(cfg["warmup"])
        notes = {}
        t_fault = time.time()
        done = threading.Event()

        def inject():
            try:
                notes.update(self.fault(name))
            except Exception as e:  # noqa: BLE001 (reported, not raised from a thread)
                notes["error"] = f"{type(e).__name__}: {e}"
            done.set()

        threading.Thread(target=inject, daemon=True).start()
        recovered, recovery = False, None
        while time.time() - t_fault < cfg["timeout"]:
            time.sleep(0.1)
            if not done.is_set() or not load.all_ready() or load.stalled():
                continue
            last = load.quiet_since(t_fault)
            lg = load.rec.last_good
            if time.time() - last >= cfg["quiet"] and all(lg.get(k, 0) > last for k in TRAFFIC):
                recovered, recovery = True, round(max(0.0, last - t_fault), 2)
                break
        done.wait(timeout=120)
        t_end = time.time()
        load.stop(cfg["drain"])
        result.update(load.analyze(t_fault))
        result.update({
            "recovered": recovered, "recovery_s": recovery, "observed_s": round(t_end - t_fault, 1),
            "notes": notes,
            "clients": {"websocket": cfg["clients"], "reliable": cfg["reliable"], "http": cfg["http_clients"]},
            "disconnected_clients": len({w for _t, k, w in load.rec.bad
                                         if t_fault - 0.5 <= _t and k.startswith("disconnect") and isinstance(w, int)}),
            "bad_events": dict(load.bad_after(t_fault)),
        })
        result["crashes"], result["log_notes"] = scan_logs(logs, offsets)
        self.results.append(result)
        wrong = self.health()
        if not recovered or result["crashes"] or wrong:
            result["left_broken"] = wrong or "not recovered"
            self.restart()
        return result

    # ---- the report ------------------------------------------------------------------------

    def write_report(self):
        path = os.path.join(self.root, "chaos-report.json")
        with open(path, "w") as f:
            json.dump({"profile": self.profile, "config": self.cfg, "results": self.results}, f, indent=2)
        return path


def scan_logs(logs, offsets):
    """Crash lines and notable lines written to the logs since the offsets."""
    crashes, notes = [], collections.Counter()
    for name in sorted(os.listdir(logs)):
        path = os.path.join(logs, name)
        try:
            with open(path, "rb") as f:
                f.seek(offsets.get(name, 0))
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if CRASH.search(line):
                if len(crashes) < 20:
                    crashes.append(f"{name}: {line.strip()[:200]}")
                notes[f"{name}: crash lines"] += 1
            if "worker_connections are not enough" in line:
                notes[f"{name}: worker_connections are not enough"] += 1
    return crashes, dict(notes)


def pinger(chatr, stop, rate):
    """Pings at `rate` per second from one socket until stop is set (reconnecting if dropped;
    its own fate is not counted: it only keeps frames coming)."""
    while not stop.is_set():
        tok = loadmod.jwt(chatr.access_key, {"iat": int(time.time()), "exp": int(time.time()) + 3600,
                                             "aud": f"{chatr.url}/client/hubs/{loadmod.HUB}", "sub": "pinger"})
        try:
            ws = websocket.create_connection(chatr.url.replace("http", "ws", 1) + f"/client/hubs/{loadmod.HUB}?access_token={tok}",
                                             timeout=2, subprotocols=[loadmod.PLAIN])
            ws.settimeout(0.001)
            t0, n = time.time(), 0
            while not stop.is_set():
                ws.send('{"type":"ping"}')
                n += 1
                try:
                    while True:
                        ws.recv()
                except websocket.WebSocketTimeoutException:
                    pass
                pause = t0 + n / rate - time.time()
                if pause > 0:
                    time.sleep(pause)
            ws.close(timeout=0.2)
        except (OSError, websocket.WebSocketException):
            time.sleep(0.05)


def flood(chatr, rate, seconds):
    """One raw socket sends joinGroup frames at `rate` per second for `seconds` (reading and
    discarding what comes back), then closes."""
    tok = loadmod.jwt(chatr.access_key, {"iat": int(time.time()), "exp": int(time.time()) + 3600,
                                         "aud": f"{chatr.url}/client/hubs/{loadmod.HUB}", "sub": "flooder",
                                         "role": loadmod.ROLES})
    s = socket.create_connection(("127.0.0.1", chatr.port), timeout=5)
    s.sendall((f"GET /client/hubs/{loadmod.HUB}?access_token={tok} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {loadmod.PLAIN}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            return {"error": "flood socket closed during the handshake"}
        head += chunk
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 101 " not in status:
        return {"error": f"flood handshake: {status}"}
    received = [len(head)]

    def drain():
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    return
                received[0] += len(b)
        except OSError:
            return

    threading.Thread(target=drain, daemon=True).start()

    def frame(i):
        payload = json.dumps({"type": "joinGroup", "group": "flood", "ackId": i}).encode()
        return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload  # masked with zeros

    batch = max(1, rate // 100)  # every 10 ms
    batches = [b"".join(frame(b * batch + k + 1) for k in range(batch)) for b in range(100)]
    sent, t0, err = 0, time.time(), None
    s.settimeout(2)
    try:
        while time.time() - t0 < seconds:
            s.sendall(batches[(sent // batch) % len(batches)])
            sent += batch
            pause = t0 + sent / rate - time.time()
            if pause > 0:
                time.sleep(pause)
    except OSError as e:
        err = f"{type(e).__name__}: {e}"
    took = time.time() - t0
    try:
        s.close()
    except OSError:
        pass
    out = {"frames": sent, "seconds": round(took, 2), "frames_per_s": round(sent / max(took, 0.001)),
           "bytes_back": received[0]}
    if err:
        out["flood_error"] = err
    return out


# ---- the table -------------------------------------------------------------------------------

COLUMNS = [("scenario", 22), ("sent", 6), ("acked", 6), ("deliv", 7), ("lost", 5), ("dup", 4),
           ("failack", 7), ("recovery", 9), ("disc", 5), ("http err", 8), ("crash", 5)]


def row(r):
    http_err = sum(n for k, n in r["http"].items() if not k.endswith(" 200"))
    rec = f"{r['recovery_s']:.1f}s" if r["recovered"] else f">{r['observed_s']:.0f}s"
    vals = [r["scenario"], r["sent"], r["acked"], r["delivered"], r["lost"], r["duplicated"], r["failed_acks"],
            rec, r["disconnected_clients"], http_err, len(r["crashes"])]
    return " ".join(str(v).ljust(w) for v, (_c, w) in zip(vals, COLUMNS))


def table(results):
    lines = [" ".join(c.ljust(w) for c, w in COLUMNS), " ".join("-" * w for _c, w in COLUMNS)]
    lines += [row(r) for r in results]
    lines.append("lost: acked messages a member missed; disc: WebSocket clients disconnected; "
                 "recovery: fault -> traffic flows cleanly (>: never, within the time-out)")
    for r in results:
        extra = {k: v for k, v in (("notes", r["notes"]), ("bad", r["bad_events"]), ("counts", r["counts"]),
                                    ("failed acks", r["failed_ack_reasons"]), ("logs", r["log_notes"])) if v}
        lines.append(f"  {r['scenario']}: " + "; ".join(f"{k} {json.dumps(v, sort_keys=True)}" for k, v in extra.items()))
        for c in r["crashes"][:3]:
            lines.append(f"    crash: {c}")
    return "\n".join(lines)


def selected(profile, only=None):
    names = PROFILES[profile]["scenarios"] or all_scenarios()
    if only:
        names = [n for n in all_scenarios() if n in only.split(",")]
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=PROFILES, default=os.environ.get("CHATR_CHAOS_PROFILE", "full"))
    ap.add_argument("--only", default=os.environ.get("CHATR_CHAOS_ONLY"))
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    names = selected(a.profile, a.only)
    if a.list:
        print("\n".join(f"{n:22} {describe(n)}" for n in all_scenarios()))
        return 0
    d = Drill(a.profile)
    try:
        for n in names:
            print(f"--- {n}: {describe(n)}", flush=True)
            r = d.run(n)
            print(row(r), flush=True)
    finally:
        d.stop()
        print(table(d.results))
        print(f"report: {d.write_report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
