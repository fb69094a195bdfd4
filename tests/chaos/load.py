"""The steady load a fault drill runs under, and its accounting (docs/fault-drills.md).

- WebSocket clients of hub `chat`, in groups: each joins its group and sends group messages with
  ackIds at a modest rate, pings like the web app (a socket that hears nothing for DEAD_AFTER
  seconds counts as lost) and reconnects with backoff. Some speak the reliable subprotocol:
  they keep their logical connection across a dropped socket (recovery with
  awps_connection_id + awps_reconnection_token), drop replays by sequenceId like the SDK and
  resend unacknowledged messages with the same ackId after a recovery.
- HTTP clients: signed-in guests calling the API (users, chats, getToken, /.auth/me) and the
  hub's REST API (a group's history).
- Churn: one user who signs on and off again every second (getToken, connect with that token,
  every other time with the reliable subprotocol, send a user event that the app's event handler answers through the hub's REST API, close),
  so that every pool is always in use.

Every message carries (sender, seq); every delivery is recorded per receiving client. A message
is LOST when its ack said success and a member did not get it although that member's session
(for a reliable client: its logical connection) began before the send and lasted until at least
SLACK seconds after the ack. A DUPLICATE is a message a client got twice (after the reliable
client's sequenceId filter, i.e. what an application would see). Everything that goes wrong
(a dropped socket, a failed or missing ack, an HTTP error, a failed connect) is a "bad event"
with its time; recovery is measured from the fault to the last bad event (or the moment the last
client is back), once traffic has flowed cleanly for a while after it."""
import collections
import importlib.util
import json
import os
import random
import threading
import time
import urllib.parse

import requests
import websocket

HUB = "chat"
PLAIN = "json.webpubsub.azure.v1"
RELIABLE = "json.reliable.webpubsub.azure.v1"
ROLES = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]
ACK_TIMEOUT = 10.0  # an ack later than this counts as missing
PING_EVERY = 2.0  # keep-alive, like frontend/js/socket.js
DEAD_AFTER = 6.0  # no frame at all for this long: the socket counts as lost
SLACK = 2.0  # a member that left within this long after the ack is excused from a delivery
HTTP_TIMEOUT = 5.0
# a reliable client stops trying to recover after the hub's retention time (README)
RECOVERY_GIVE_UP = int(os.environ.get("CHATR_RELIABLE_RETENTION_MS", "30000")) / 1000


# Tokens minted like the SDK does: the API suite's helper (tests/api/hubtools.py), loaded by path
# so that its folder's conftest.py does not shadow ours.
_spec = importlib.util.spec_from_file_location(
    "chaos_hubtools", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                   "api", "hubtools.py"))
_hubtools = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hubtools)
jwt = _hubtools.jwt


class Recorder:
    """Everything the load saw, with times; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = {}  # (sender, seq) -> dict(group, t_send, t_ack, ok, error)
        self.deliveries = collections.defaultdict(collections.Counter)  # key -> receiver -> n
        self.bad = []  # (t, kind, who)
        self.good = collections.Counter()  # kind -> count (for "traffic flows")
        self.last_good = {}  # kind -> t
        self.http = collections.Counter()  # "GET /api/users 200" -> n
        self.counts = collections.Counter()  # disconnects, reconnects, recoveries, ...
        self.replays_dropped = 0

    def bad_event(self, kind, who, t=None):
        with self.lock:
            self.bad.append((t or time.time(), kind, who))

    def good_event(self, kind):
        with self.lock:
            self.good[kind] += 1
            self.last_good[kind] = time.time()

    def count(self, what, n=1):
        with self.lock:
            self.counts[what] += n


class WsClient(threading.Thread):
    """One WebSocket user of hub `chat` in one group; runs until the load stops."""

    def __init__(self, load, idx, user, group, reliable):
        super().__init__(daemon=True, name=f"ws-{idx}")
        self.load, self.rec, self.idx, self.user, self.group = load, load.rec, idx, user, group
        self.reliable = reliable
        self.ws = None
        self.ready = False
        self.sessions = []  # [start, end]: plain: one per socket; reliable: per logical connection
        self.conn_id = self.reconn_token = None
        self.last_seq_id = 0  # reliable: highest sequenceId seen
        self.acked_seq_id = 0
        self.seq = 0
        self.pending = {}  # ackId -> (key, t_send)
        self.next_send = time.time() + random.random() / load.cfg["rate"]
        self.sending = True
        self.recovering = False
        self.dropped_at = None

    # ---- connection ----------------------------------------------------------------------

    def url(self, recover):
        token = jwt(self.load.key, {"iat": int(time.time()), "exp": int(time.time()) + 3600,
                                    "aud": f"{self.load.url}/client/hubs/{HUB}", "sub": self.user,
                                    "role": ROLES})
        q = {"access_token": token}
        if recover:
            q.update(awps_connection_id=self.conn_id, awps_reconnection_token=self.reconn_token)
        return self.load.ws_url + f"/client/hubs/{HUB}?" + urllib.parse.urlencode(q)

    def open(self):
        """Connects (a reliable client recovers its logical connection when it has one) and
        joins the group; True when the client is ready to send."""
        if self.reliable and self.conn_id is not None and self.dropped_at and \
                time.time() - self.dropped_at > RECOVERY_GIVE_UP:  # as the SDK does
            self.rec.count("reliable recoveries given up")
            self.rec.bad_event("recovery given up", self.idx)
            self.end_session(self.dropped_at)
            self.conn_id = None
            self.fail_pending("recovery given up")
        recover = self.recovering = self.reliable and self.conn_id is not None
        try:
            self.ws = websocket.create_connection(self.url(recover), timeout=5,
                                                  subprotocols=[RELIABLE if self.reliable else PLAIN])
            self.last_frame = time.time()
            while True:
                m = self.read(5)
                if m is None:
                    raise ConnectionError("closed before connected")
                if m.get("type") == "system" and m.get("event") == "connected":
                    break
            self.recovering = False
            if recover:
                self.rec.count("reliable recoveries")
                self.reconn_token = m.get("reconnectionToken") or self.reconn_token
                for ack_id, (key, _t) in list(self.pending.items()):  # the SDK's resend
                    self.send_message(key[1], ack_id=ack_id, resend=True)
                if self.sessions and self.sessions[-1][1] is None:
                    self.became_ready()
                    return True
                # dropped before its join was acknowledged: join now (ackId 1 may be a Duplicate)
            else:
                self.conn_id, self.reconn_token = m["connectionId"], m.get("reconnectionToken")
                self.last_seq_id = self.acked_seq_id = 0
            self.ws.send(json.dumps({"type": "joinGroup", "group": self.group, "ackId": 1}))
            deadline = time.time() + 5
            while time.time() < deadline:
                m = self.read(1)
                if m and m.get("type") == "ack" and m.get("ackId") == 1:
                    if not m.get("success") and (m.get("error") or {}).get("name") != "Duplicate":
                        raise ConnectionError(f"joinGroup: {m.get('error')}")
                    self.sessions.append([time.time(), None])
                    self.became_ready()
                    return True
            raise ConnectionError("no joinGroup ack")
        except RecoveryRefused:
            self.rec.count("reliable recoveries refused")
            self.rec.bad_event("recovery refused", self.idx)
            self.end_session(self.dropped_at or time.time())
            self.conn_id = None
            self.fail_pending("recovery refused")
        except (OSError, websocket.WebSocketException, ConnectionError, ValueError, KeyError) as e:
            self.rec.bad_event(f"connect failed: {type(e).__name__}", self.idx)
            self.rec.count("connect failures")
        self.close_socket()
        return False

    def became_ready(self):
        if self.load.started and not self.ready:
            self.rec.bad_event("back", self.idx)  # the end of an outage for this client
        self.ready = True
        self.rec.good_event("connect")

    def end_session(self, t):
        if self.sessions and self.sessions[-1][1] is None:
            self.sessions[-1][1] = t

    def close_socket(self):
        if self.ws:
            try:
                self.ws.close(timeout=0.2)
            except Exception:  # noqa: BLE001 (already broken)
                pass
        self.ws = None

    def dropped(self, why):
        """The socket is gone (why: a reason, or None when the load stops)."""
        self.ready = False
        self.dropped_at = time.time()
        if why:
            self.rec.bad_event(f"disconnect: {why}", self.idx)
            self.rec.count(f"disconnects ({why})")
        if not self.reliable or not why:
            self.end_session(self.dropped_at)
            self.fail_pending("connection lost" if why else None)
        self.close_socket()

    def fail_pending(self, why):
        for ack_id, (key, t_send) in list(self.pending.items()):
            if why:
                self.rec.bad_event(f"no ack: {why}", self.idx, t_send)
                with self.rec.lock:
                    self.rec.messages[key]["error"] = why
        self.pending.clear()

    # ---- frames --------------------------------------------------------------------------

    def read(self, timeout):
        """One JSON frame, or None when the socket closed; raises on timeout."""
        self.ws.settimeout(timeout)
        while True:
            op, frame = self.ws.recv_data_frame(True)
            self.last_frame = time.time()
            if op == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else None
                if code == 1008 and self.recovering:
                    raise RecoveryRefused()
                self.close_code = code
                return None
            if op == websocket.ABNF.OPCODE_TEXT:
                m = json.loads(frame.data)
                self.handle(m)
                return m

    def handle(self, m):
        t = time.time()
        kind = m.get("type")
        if self.reliable and "sequenceId" in m:
            sid = m["sequenceId"]
            if sid <= self.last_seq_id and sid != 0:
                with self.rec.lock:
                    self.rec.replays_dropped += 1
                m["_replay"] = True
                return
            self.last_seq_id = max(self.last_seq_id, sid)
        if kind == "ack":
            entry = self.pending.pop(m.get("ackId"), None)
            if entry is None:
                return
            key, _t = entry
            err = m.get("error") or {}
            ok = bool(m.get("success")) or err.get("name") == "Duplicate"
            with self.rec.lock:
                msg = self.rec.messages[key]
                msg["t_ack"], msg["ok"] = t, ok
                msg["error"] = None if ok else err.get("name", "?")
            if ok:
                self.rec.good_event("ack")
            else:
                self.rec.bad_event(f"error ack: {err.get('name')}", self.idx)
        elif kind == "message" and m.get("from") == "group":
            d = m.get("data")
            if isinstance(d, dict) and "chaos" in d:
                key = (d["chaos"][0], d["chaos"][1])
                with self.rec.lock:
                    self.rec.deliveries[key][self.idx] += 1

    def send_message(self, seq, ack_id=None, resend=False):
        key = (self.idx, seq)
        ack_id = ack_id or seq + 1  # ackId 1 is the joinGroup
        now = time.time()
        if not resend:
            with self.rec.lock:
                self.rec.messages[key] = {"group": self.group, "t_send": now, "t_ack": None,
                                          "ok": None, "error": None}
        self.pending[ack_id] = (key, now)  # a resend waits ACK_TIMEOUT again
        self.ws.send(json.dumps({"type": "sendToGroup", "group": self.group, "dataType": "json",
                                 "ackId": ack_id, "data": {"chaos": [self.idx, seq]}}))

    # ---- the loop ------------------------------------------------------------------------

    def pump(self):
        """Reads, sends and pings until the socket fails; returns why."""
        next_ping = time.time() + PING_EVERY
        while not self.load.stopping:
            now = time.time()
            if self.sending and self.load.sending and now >= self.next_send:
                self.seq += 1
                self.send_message(self.seq)
                self.next_send = max(now, self.next_send + 1 / self.load.cfg["rate"])
            if now >= next_ping:
                self.ws.send('{"type":"ping"}')
                next_ping = now + PING_EVERY
            if self.reliable and self.last_seq_id > self.acked_seq_id:
                self.ws.send(json.dumps({"type": "sequenceAck", "sequenceId": self.last_seq_id}))
                self.acked_seq_id = self.last_seq_id
            for ack_id, (key, t_send) in list(self.pending.items()):
                if now - t_send > ACK_TIMEOUT:
                    del self.pending[ack_id]
                    self.rec.bad_event("no ack: timeout", self.idx, t_send)
                    with self.rec.lock:
                        self.rec.messages[key]["error"] = "timeout"
            if now - self.last_frame > DEAD_AFTER:
                return "silent socket"
            try:
                if self.read(0.05) is None:
                    return f"closed {getattr(self, 'close_code', None)}"
            except websocket.WebSocketTimeoutException:
                continue
        return None

    def run(self):
        backoff = 0.1
        while not self.load.stopping:
            if not self.open():
                time.sleep(backoff * (0.5 + random.random() / 2))
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            try:
                why = self.pump()
            except (OSError, websocket.WebSocketException, ValueError) as e:
                why = f"{type(e).__name__}"
            self.dropped(why)
            if why:
                self.rec.count("reconnects")


class RecoveryRefused(Exception):
    pass


class HttpClient(threading.Thread):
    """A signed-in guest calling the API round-robin at its share of the HTTP rate."""

    def __init__(self, load, idx, session, group):
        super().__init__(daemon=True, name=f"http-{idx}")
        self.load, self.rec, self.session = load, load.rec, session
        self.paths = ["/api/users", "/api/chats", "/api/getToken", "/.auth/me",
                      f"REST /api/hubs/{HUB}/groups/{group}/messages"]
        self.idx = idx
        self.inflight = None  # when the request under way began

    def run(self):
        period = self.load.cfg["http_clients"] / self.load.cfg["http_rate"]
        i = self.idx
        while not self.load.stopping:
            path = self.paths[i % len(self.paths)]
            i += 1
            t = self.inflight = time.time()
            try:
                if path.startswith("REST "):
                    url = self.load.url + path[5:] + "?limit=1&api-version=2024-12-01"
                    tok = jwt(self.load.key, {"iat": int(t), "exp": int(t) + 3600, "aud": url})
                    r = requests.get(url, headers={"Authorization": "Bearer " + tok}, timeout=HTTP_TIMEOUT)
                else:
                    r = self.session.get(self.load.url + path, timeout=HTTP_TIMEOUT, allow_redirects=False)
                status = str(r.status_code)
            except requests.RequestException as e:
                status = type(e).__name__
            self.inflight = None
            label = path.split("?")[0].replace("REST ", "").split("/groups/")[0]
            with self.rec.lock:
                self.rec.http[f"{label} {status}"] += 1
            if status == "200":
                self.rec.good_event("http")
            else:
                self.rec.bad_event(f"http {status}", f"http-{self.idx}", t)
            time.sleep(max(0.0, period - (time.time() - t)))


class Churn(threading.Thread):
    """A user who comes and goes once a second: getToken, connect with it (every other time
    as a reliable client, whose handshake goes through hub-events), a user event
    (userEnterIdle/userExitIdle: router, eventHandler, hub-rest), close."""

    def __init__(self, load, session):
        super().__init__(daemon=True, name="churn")
        self.load, self.rec, self.session = load, load.rec, session
        self.inflight = None

    def run(self):
        while not self.load.stopping:
            t = self.inflight = time.time()
            ws = None
            try:
                r = self.session.get(self.load.url + "/api/getToken", timeout=HTTP_TIMEOUT)
                if r.status_code != 200:
                    raise ConnectionError(f"getToken {r.status_code}")
                self.rounds = getattr(self, "rounds", 0) + 1  # every other round a reliable client
                ws = websocket.create_connection(
                    self.load.ws_url + f"/client/hubs/{HUB}?access_token={r.json()['token']}",
                    timeout=5, subprotocols=[RELIABLE if self.rounds % 2 else PLAIN])
                while json.loads(ws.recv()).get("type") != "system":
                    pass
                # a user event the app's handler answers through the hub's REST API (idle on/off)
                self.idle = not getattr(self, "idle", False)
                ws.send(json.dumps({"type": "event", "event": "userEnterIdle" if self.idle else "userExitIdle",
                                    "dataType": "text", "data": "", "ackId": 1}))
                while True:
                    m = json.loads(ws.recv())
                    if m.get("type") == "ack":
                        break
                if not m.get("success"):
                    raise ConnectionError(f"event ack {m.get('error', {}).get('name')}")
                self.rec.good_event("churn reliable" if self.rounds % 2 else "churn plain")
            except (OSError, websocket.WebSocketException, ConnectionError, ValueError,
                    requests.RequestException) as e:
                self.rec.bad_event(f"churn: {type(e).__name__} {e}"[:80], "churn", t)
                self.rec.count("churn failures")
            finally:
                self.inflight = None
                if ws:
                    try:
                        ws.close(timeout=0.2)
                    except Exception:  # noqa: BLE001
                        pass
            time.sleep(max(0.0, 1.0 - (time.time() - t)))


class Load:
    """cfg: clients, reliable (how many of them), group_size, rate (msg/s per client),
    http_clients, http_rate (requests/s in all)."""

    def __init__(self, chatr, cfg, tag, sign_in):
        self.cfg, self.url, self.key = cfg, chatr.url, chatr.access_key
        self.ws_url = chatr.url.replace("http", "ws", 1)
        self.rec = Recorder()
        self.stopping = False
        self.sending = True
        self.started = False
        self.clients, self.http, self.churn = [], [], None
        n = cfg["clients"]
        sessions = [sign_in(chatr, f"chaos{i}") for i in range(n + cfg["http_clients"] + 1)]
        for s in sessions[:n]:
            r = s.get(self.url + "/api/getToken", timeout=HTTP_TIMEOUT)  # records the user
            assert r.status_code == 200, r.text
        reliable = {k * n // cfg["reliable"] for k in range(cfg["reliable"])}  # spread over the groups
        for i in range(n):
            group = f"chaos-{tag}-{i // cfg['group_size']}"
            self.clients.append(WsClient(self, i, sessions[i].user_id, group, i in reliable))
        for j in range(cfg["http_clients"]):
            self.http.append(HttpClient(self, j, sessions[n + j], f"chaos-{tag}-0"))
        self.churn = Churn(self, sessions[-1])

    def start(self, timeout=30):
        for c in self.clients:
            c.start()
        deadline = time.time() + timeout
        while not all(c.ready for c in self.clients):
            if time.time() > deadline:
                raise RuntimeError(f"load: {sum(not c.ready for c in self.clients)} clients never connected")
            time.sleep(0.05)
        for h in self.http:
            h.start()
        self.churn.start()
        self.started = True

    def all_ready(self):
        return all(c.ready for c in self.clients)

    def stalled(self, limit=1.5):
        """Whether an operation has been under way for more than limit seconds (an ack not
        yet come, an HTTP request or a churn round not yet answered): its outcome, and so the
        end of the outage, is not known yet. Bad events carry the time the failed operation
        began, so this keeps a hung operation from being taken for a recovery."""
        now = time.time()
        starts = [t for c in self.clients for _k, t in list(c.pending.values())]
        starts += [h.inflight for h in self.http + [self.churn] if h.inflight]
        return any(now - t > limit for t in starts)

    def stop(self, drain):
        """Stops sending, waits (at most drain seconds) for outstanding acks and deliveries,
        then closes everything."""
        self.sending = False
        deadline = time.time() + drain
        while time.time() < deadline and any(c.pending for c in self.clients):
            time.sleep(0.1)
        time.sleep(min(SLACK, max(0.0, deadline - time.time())))
        self.stopping = True
        for t in self.clients + self.http + [self.churn]:
            t.join(timeout=8)
        for c in self.clients:
            if c.ws:
                c.dropped(None)

    # ---- the figures ---------------------------------------------------------------------

    def analyze(self, t_fault):
        rec = self.rec
        members = collections.defaultdict(list)
        for c in self.clients:
            members[c.group].append(c)
        sent = len(rec.messages)
        acked = failed = lost_msgs = lost_pairs = dup_pairs = dup_msgs = delivered = 0
        lost_reliable = 0
        fail_reasons = collections.Counter()
        lost_examples = []
        for key, m in rec.messages.items():
            got = rec.deliveries.get(key, {})
            delivered += sum(got.values())
            dups = [r for r, n in got.items() if n > 1]
            dup_pairs += len(dups)
            dup_msgs += bool(dups)
            if m["ok"]:
                acked += 1
            else:
                failed += 1
                fail_reasons[m["error"] or "no ack"] += 1
                continue
            missing = []
            for c in members[m["group"]]:
                if got.get(c.idx):
                    continue
                if any(s <= m["t_send"] and (e is None or e >= m["t_ack"] + SLACK) for s, e in c.sessions):
                    missing.append(c)
            if missing:
                lost_msgs += 1
                lost_pairs += len(missing)
                lost_reliable += sum(c.reliable for c in missing)
                if len(lost_examples) < 5:
                    lost_examples.append({"sender": key[0], "seq": key[1], "t_send": round(m["t_send"] - t_fault, 3),
                                          "missing_at": [c.idx for c in missing]})
        return {
            "sent": sent, "acked": acked, "failed_acks": failed,
            "failed_ack_reasons": dict(fail_reasons), "delivered": delivered,
            "lost": lost_msgs, "lost_deliveries": lost_pairs, "lost_at_reliable": lost_reliable,
            "lost_examples": lost_examples,
            "duplicated": dup_msgs, "duplicate_deliveries": dup_pairs,
            "replays_dropped": rec.replays_dropped,
            "counts": dict(rec.counts), "http": dict(rec.http),
            "good": dict(rec.good),
        }

    def quiet_since(self, t_fault):
        """The time of the last bad event at or after t_fault (t_fault when none)."""
        with self.rec.lock:
            times = [t for t, _k, _w in self.rec.bad if t >= t_fault - 0.5]
        return max(times, default=t_fault)

    def bad_after(self, t_fault):
        with self.rec.lock:
            return collections.Counter(k for t, k, _w in self.rec.bad if t >= t_fault - 0.5 and k != "back")
