"""Issue 12, observability (docs/observability.md): /.chatr/metrics in the Prometheus text format
(parsed with prometheus_client's own parser), its access rule (loopback, or the bearer
CHATR_METRICS_TOKEN), counters that move with traffic, request ids followed across programs,
/.chatr/health and /.chatr/ready.

The module runs an emulator of its own: with CHATR_TRUSTED_PROXIES=127.0.0.1, so a request with
X-Forwarded-For is a client from elsewhere (the test plays the proxy), and with a metrics token;
and because ready is tested by stopping PostgreSQL and a pool."""
import os
import re
import secrets
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from chattools import Person
from conftest import Chatr, running
from hubtools import Client, rest

TOKEN = secrets.token_urlsafe(24)
AFAR = "203.0.113.7"  # a client on the internet, behind the trusted proxy


@pytest.fixture(scope="module")
def node():
    c = Chatr()
    c.env["CHATR_TRUSTED_PROXIES"] = "127.0.0.1"
    c.env["CHATR_METRICS_TOKEN"] = TOKEN
    with running(c):
        yield c


def scrape(node, **headers):
    r = node.get("/.chatr/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text


def samples(text):
    """{(sample name, frozenset of labels): value} of an exposition, through the reference parser."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(snap, name, **labels):
    return snap.get((name, frozenset(labels.items())), 0)


def total(snap, name, **labels):
    """Sum over every series of name whose labels include the given ones."""
    want = set(labels.items())
    return sum(v for (n, ls), v in snap.items() if n == name and want <= ls)


def wait_until(fn, timeout=10):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got or time.time() > deadline:
            return got
        time.sleep(0.1)


# ---- access ------------------------------------------------------------------------------------

def test_loopback_gets_metrics_without_a_token(node):
    families = {f.name: f for f in text_string_to_metric_families(scrape(node))}
    for name, kind in [("chatr_hub_handshakes_accepted", "counter"),
                       ("chatr_function_duration_seconds", "histogram"),
                       ("chatr_hub_webhook_duration_seconds", "histogram"),
                       ("chatr_hub_connections", "gauge"),
                       ("chatr_nchan_subscribers", "gauge"),
                       ("chatr_process_starts", "counter"),
                       ("chatr_db_errors", "counter")]:
        assert name in families, name
        assert families[name].type == kind, (name, families[name].type)


def test_a_client_from_elsewhere_is_refused_without_the_token(node):
    r = node.get("/.chatr/metrics", headers={"X-Forwarded-For": AFAR})
    assert r.status_code == 401, r.text
    assert "chatr_" not in r.text
    r = node.get("/.chatr/metrics",
                 headers={"X-Forwarded-For": AFAR, "Authorization": "Bearer " + TOKEN[:-1] + "x"})
    assert r.status_code == 401, r.text
    r = node.get("/.chatr/metrics", headers={"X-Forwarded-For": AFAR, "Authorization": "Bearer"})
    assert r.status_code == 401, r.text


def test_the_token_lets_a_client_from_elsewhere_in(node):
    text = scrape(node, **{"X-Forwarded-For": AFAR, "Authorization": "Bearer " + TOKEN})
    assert ("chatr_db_errors_total", frozenset()) in samples(text)


# ---- counters move with traffic ----------------------------------------------------------------

def test_counters_move_when_traffic_flows(node):
    before = samples(scrape(node))
    alice = Person(node, "alice")       # guest sign-in, getToken (a function), a handshake and
    bob = Person(node, "bob")           # the `connected` webhook to the event handler
    try:
        cid = alice.create_chat("Metrics")  # user events: webhooks, REST calls from the handler
        bob.join(cid)
        alice.say(cid, "hello")             # a group message, delivered to both
        _, ack = alice.ws.request({"type": "joinGroup", "group": "not-mine", "ackId": 7})
        assert ack["success"] is False and ack["error"]["name"] == "Forbidden", ack
        r = rest(node, "POST", "/api/hubs/chat/groups/" + cid + "/:send", body=b'"from rest"',
                 ctype="application/json")
        assert r.status_code == 202, r.text
        r = rest(node, "GET", "/api/hubs/chat/groups/" + cid + "/connections", token=False)
        assert r.status_code == 401

        def moved():
            after = samples(scrape(node))
            checks = {
                "handshake": total(after, "chatr_hub_handshakes_accepted_total", hub="chat",
                                   protocol="json.webpubsub.azure.v1")
                - total(before, "chatr_hub_handshakes_accepted_total", hub="chat",
                        protocol="json.webpubsub.azure.v1") >= 2,
                "message in": value(after, "chatr_hub_messages_in_total", hub="chat", source="client")
                - value(before, "chatr_hub_messages_in_total", hub="chat", source="client") >= 1,
                "rest message in": value(after, "chatr_hub_messages_in_total", hub="chat", source="rest")
                - value(before, "chatr_hub_messages_in_total", hub="chat", source="rest") >= 1,
                "deliveries": value(after, "chatr_hub_deliveries_total", hub="chat")
                - value(before, "chatr_hub_deliveries_total", hub="chat") >= 4,
                "ack ok": value(after, "chatr_hub_acks_total", hub="chat", error="none")
                - value(before, "chatr_hub_acks_total", hub="chat", error="none") >= 3,
                "ack error": value(after, "chatr_hub_acks_total", hub="chat", error="Forbidden")
                - value(before, "chatr_hub_acks_total", hub="chat", error="Forbidden") >= 1,
                "webhook connected": value(after, "chatr_hub_webhook_calls_total", hub="chat",
                                           event="connected", outcome="ok")
                - value(before, "chatr_hub_webhook_calls_total", hub="chat", event="connected",
                        outcome="ok") >= 2,
                "webhook user event": value(after, "chatr_hub_webhook_calls_total", hub="chat",
                                            event="createChat", outcome="ok")
                - value(before, "chatr_hub_webhook_calls_total", hub="chat", event="createChat",
                        outcome="ok") >= 1,
                "webhook latency": value(after, "chatr_hub_webhook_duration_seconds_count",
                                         event="createChat")
                - value(before, "chatr_hub_webhook_duration_seconds_count", event="createChat") >= 1,
                "rest 202": value(after, "chatr_hub_rest_calls_total",
                                  operation="POST /groups/{}/:send", status="202")
                - value(before, "chatr_hub_rest_calls_total", operation="POST /groups/{}/:send",
                        status="202") >= 1,
                "rest 401": value(after, "chatr_hub_rest_calls_total",
                                  operation="GET /groups/{}/connections", status="401")
                - value(before, "chatr_hub_rest_calls_total",
                        operation="GET /groups/{}/connections", status="401") >= 1,
                "function": value(after, "chatr_function_requests_total", function="getToken",
                                  status="200")
                - value(before, "chatr_function_requests_total", function="getToken",
                        status="200") >= 2,
                "function latency": value(after, "chatr_function_duration_seconds_count",
                                          function="getToken")
                - value(before, "chatr_function_duration_seconds_count", function="getToken") >= 2,
                "connections gauge": total(after, "chatr_hub_connections", hub="chat") >= 2,
                "nchan": value(after, "chatr_nchan_up") == 1
                and value(after, "chatr_nchan_subscribers") >= 2,
            }
            return checks if all(checks.values()) else (checks, None)[1]

        got = wait_until(moved)
        if not got:
            after = samples(scrape(node))
            pytest.fail("counters did not move: " + repr(
                {k: v for k, v in after.items() if k not in before or before[k] != v}))
        # histogram buckets are cumulative and end with +Inf == _count
        after = samples(scrape(node))
        inf = value(after, "chatr_function_duration_seconds_bucket", function="getToken", le="+Inf")
        assert inf == value(after, "chatr_function_duration_seconds_count", function="getToken")
    finally:
        alice.close()
        bob.close()


def test_refused_handshakes_are_counted_by_reason(node):
    before = samples(scrape(node))
    with pytest.raises(Exception):
        Client(node, token="not-a-jwt")
    after = samples(scrape(node))
    assert value(after, "chatr_hub_handshakes_refused_total", hub="chat", reason="token") \
        - value(before, "chatr_hub_handshakes_refused_total", hub="chat", reason="token") == 1


def test_hub_and_event_labels_stay_bounded(node):
    """Hubs outside hubs.json count as "other"; a client's invented event names stop getting
    series of their own after the cap (32)."""
    hub = "zz" + uuid.uuid4().hex[:10]
    c = Client(node, hub=hub, user="u1")
    c.close()
    p = Person(node, "carol")
    try:
        for i in range(40):
            p.event(f"madeUp{i}", {})
    finally:
        p.close()
    text = scrape(node)
    assert hub not in text
    snap = samples(text)
    assert total(snap, "chatr_hub_handshakes_accepted_total", hub="other") >= 1
    events = {dict(ls).get("event") for (n, ls) in snap if n == "chatr_hub_webhook_calls_total"}
    made_up = {e for e in events if e and e.startswith("madeUp")}
    assert 0 < len(made_up) <= 32, sorted(made_up)
    assert total(snap, "chatr_hub_webhook_calls_total", event="other") >= 8


# ---- request ids ------------------------------------------------------------------------------

def log_lines(node, unit, start=0):
    return node.log(unit + ".log")[start:].splitlines()


def req_ids(lines, **fields):
    """req= of the structured request lines whose key=value fields include the given ones."""
    out = []
    for line in lines:
        if " request " not in line:
            continue
        kv = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line.split(" request ", 1)[1]))
        if all(kv.get(k) == v for k, v in fields.items()):
            out.append(kv.get("req"))
    return out


def test_one_chat_action_is_followed_across_programs(node):
    """createChat: a frame (hub-router) -> the webhook to the event handler (its X-Request-Id) ->
    the handler's REST calls (the SDK's X-Request-Id) -> hub-rest: one id in the three logs."""
    alice = Person(node, "dora")
    try:
        mark = {u: len(node.log(u + ".log")) for u in ("hub-router", "fn-eventHandler", "hub-rest")}
        alice.create_chat("Traced")

        def traced():
            frames = set(req_ids(log_lines(node, "hub-router", mark["hub-router"]), hook="frame"))
            handled = set(req_ids(log_lines(node, "fn-eventHandler", mark["fn-eventHandler"]),
                                  path="/api/eventHandler", status="200"))
            rested = set(req_ids(log_lines(node, "hub-rest", mark["hub-rest"])))
            return frames & handled & rested
        common = wait_until(traced)
        assert common, "no request id in hub-router, eventHandler and hub-rest at once"
        rid = next(iter(common))
        assert re.fullmatch(r"[0-9a-f]{32}", rid), rid
    finally:
        alice.close()


def test_a_local_request_id_is_carried_on_and_a_remote_one_is_not(node):
    s = Person(node, "erin").session
    mine, theirs = "test-" + uuid.uuid4().hex, "evil-" + uuid.uuid4().hex
    r = s.get(node.url + "/api/getToken", headers={"X-Request-Id": mine}, timeout=10)
    assert r.status_code == 200
    r = s.get(node.url + "/api/getToken",
              headers={"X-Request-Id": theirs, "X-Forwarded-For": AFAR}, timeout=10)
    assert r.status_code == 200
    assert wait_until(lambda: mine in req_ids(log_lines(node, "fn-getToken"), path="/api/getToken"))
    assert mine in node.log("access.log")
    assert theirs not in node.log("fn-getToken.log")
    assert theirs not in node.log("access.log")
    # a malformed id from the node itself is not taken either (log lines stay one token)
    r = s.get(node.url + "/api/getToken", headers={"X-Request-Id": "a b\"c"}, timeout=10)
    assert r.status_code == 200
    assert 'a b"c' not in node.log("fn-getToken.log")


def test_every_program_logs_one_structured_line_per_request(node):
    p = Person(node, "fay")
    p.close()
    for unit in ("auth", "fn-getToken", "hub-connect", "hub-events", "hub-router", "hub-rest"):
        lines = [l for l in log_lines(node, unit) if " request " in l]
        assert lines, unit
        for line in lines[-5:]:
            rest_of = line.split(" request ", 1)[1]
            assert re.fullmatch(r'(\w+=("(?:[^"\\]|\\.)*"|\S+) ?)+', rest_of), line
            assert re.search(r" req=[0-9A-Za-z-]+", line), line


def test_a_worker_replaced_by_multiwatch_counts_as_a_restart(node):
    before = samples(scrape(node))
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    worker = None
    for p in pids:
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{p}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"/fn-users") and \
                b"\0CHATR_STATE_DIR=" + node.state.encode() + b"\0" in b"\0" + env:
            worker = int(p)
            break
    assert worker, "no fn-users worker of this node"
    # a start counts as a restart once the pool is older than METRICS_POOL_GRACE_S (2 s)
    with open(f"/proc/{worker}/stat") as f:
        pool = int(f.read().rsplit(")", 1)[1].split()[1])
    with open(f"/proc/{pool}/stat") as f:
        started = int(f.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
    with open("/proc/uptime") as f:
        age = float(f.read().split()[0]) - started
    if age < 3:
        time.sleep(3 - age)
    os.kill(worker, 9)

    def restarted():
        after = samples(scrape(node))
        return value(after, "chatr_process_restarts_total", program="users") \
            - value(before, "chatr_process_restarts_total", program="users") >= 1
    assert wait_until(restarted, timeout=20), ([l for l in scrape(node).splitlines() if "users" in l], node.log("fn-users.log")[-600:])


# ---- health and readiness ---------------------------------------------------------------------

def test_health_is_nginx_answering(node):
    r = node.get("/.chatr/health")
    assert r.status_code == 200 and r.text.strip() == "ok"


def ready(node):
    r = node.get("/.chatr/ready")
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    return r.status_code, r.json()


def test_ready_names_each_check(node):
    status, body = ready(node)
    assert status == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    for unit in ("fn-getToken", "fn-eventHandler", "auth", "hub-connect", "hub-rest"):
        assert body["checks"]["pool " + unit] == "ok", body


def test_ready_is_503_while_the_database_is_away(node):
    node.emulator("db", "stop")
    try:
        status, body = ready(node)
        assert status == 503, body
        assert body["status"] == "unavailable"
        assert body["checks"]["database"] != "ok"
        assert body["checks"]["pool hub-rest"] == "ok"
    finally:
        node.emulator("db", "start")
    assert wait_until(lambda: ready(node)[0] == 200, timeout=20)


def test_ready_is_503_while_a_pool_is_down(node):
    r = node.deploy("users", "stop")
    assert r.returncode == 0, r.stderr
    try:
        status, body = ready(node)
        assert status == 503, body
        assert body["checks"]["pool fn-users"] != "ok"
        assert body["checks"]["database"] == "ok"
    finally:
        r = node.deploy("users", "start")
        assert r.returncode == 0, r.stderr
    assert ready(node)[0] == 200


def test_ready_is_503_when_hub_rest_itself_is_down(node):
    r = node.deploy("hub-rest", "stop")
    assert r.returncode == 0, r.stderr
    try:
        status, body = ready(node)
        assert status == 503, body
        assert body["checks"]["pool hub-rest"] != "ok"
    finally:
        r = node.deploy("hub-rest", "start")
        assert r.returncode == 0, r.stderr
    assert ready(node)[0] == 200
