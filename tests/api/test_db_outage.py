"""A PostgreSQL outage (issue 11, item 8; docs/storage.md, "Outages"): the private database is
stopped and started with `infra/emulator db stop|start` while clients send group messages, with
and without ackIds. A short outage loses nothing: every message sent during it is delivered once
the database is back. A longer one fails what it must, visibly: an error ack, a handshake or
REST call answered 503 with Retry-After, and a counter in /.chatr/metrics, never a silent loss.
Also: a transaction whose connection is killed mid-way is run again whole, never statement by
statement (issue 13)."""
import re
import threading
import time

import pytest
import websocket

from conftest import HeldSession
from hubtools import Client, client_token, rest

HUB = "outagehub"  # no settings of its own: no webhooks, no history
HOLD_S = 5  # FN_DB_HOLD_MS (gateway/runtime/fn.h)
RELIABLE = "json.reliable.webpubsub.azure.v1"


def metrics(chatr):
    """GET /.chatr/metrics parsed: {(name, frozenset(labels)): value}."""
    r = chatr.get("/.chatr/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    out = {}
    for line in r.text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([0-9.eE+-]+)', line)
        assert m, f"not exposition format: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def dropped(chatr, reason):
    # HUB is not in hubs.json: its series are labelled hub="other" (docs/observability.md)
    return metrics(chatr).get(("chatr_hub_messages_dropped_total",
                               frozenset({("hub", "other"), ("reason", reason)})), 0)


@pytest.fixture()
def db_restored(chatr):
    """Whatever a test does to the database, it runs again afterwards."""
    yield
    chatr.emulator("db", "start", check=False)


def pair(chatr, tag):
    """A receiver in group g and a sender allowed to send to it."""
    rx = Client(chatr, hub=HUB, user=f"rx-{tag}", roles=["webpubsub.joinLeaveGroup"])
    _, ack = rx.request({"type": "joinGroup", "group": "g", "ackId": 1})
    assert ack["success"], ack
    tx = Client(chatr, hub=HUB, user=f"tx-{tag}", roles=["webpubsub.sendToGroup"])
    return rx, tx


def send(c, text, ack_id=None):
    frame = {"type": "sendToGroup", "group": "g", "dataType": "text", "data": text}
    if ack_id is not None:
        frame["ackId"] = ack_id
    c.send(frame)


def test_short_outage_loses_no_group_message(chatr, db_restored):
    rx, tx = pair(chatr, "short")
    try:
        chatr.emulator("db", "stop")
        expected = set()
        for i in range(5):
            send(tx, f"plain {i}")  # no ackId: lost without a trace on the old code
            send(tx, f"acked {i}", ack_id=100 + i)
            expected |= {f"plain {i}", f"acked {i}"}
        chatr.emulator("db", "start")  # well within the hold: everything waits for it
        got, acks = set(), {}
        deadline = time.time() + 3 * HOLD_S
        while (len(got) < len(expected) or len(acks) < 5) and time.time() < deadline:
            for c in (rx, tx):
                try:
                    m = c.recv(timeout=0.2)
                except websocket.WebSocketTimeoutException:
                    continue
                if m.get("type") == "message":
                    assert c is rx
                    got.add(m["data"])
                elif m.get("type") == "ack":
                    acks[m["ackId"]] = m
        assert got == expected, f"lost during the outage: {sorted(expected - got)}"
        assert sorted(acks) == [100, 101, 102, 103, 104]
        assert all(a["success"] for a in acks.values()), acks
        rx.nothing(0.5)  # and nothing twice
    finally:
        rx.close()
        tx.close()


def test_long_outage_answers_503_acks_the_failure_and_counts_the_drop(chatr, db_restored):
    rx, tx = pair(chatr, "long")
    before = dropped(chatr, "database")
    try:
        chatr.emulator("db", "stop")
        # A handshake that cannot be registered: 503 + Retry-After (was 500), after the hold.
        url = chatr.url.replace("http", "ws", 1) + \
            f"/client/hubs/{HUB}?access_token={client_token(chatr, HUB, 'late')}"
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            websocket.create_connection(url, timeout=3 * HOLD_S,
                                        subprotocols=["json.webpubsub.azure.v1"])
        assert e.value.status_code == 503
        assert int(e.value.resp_headers["retry-after"]) > 0
        # A REST call: 503 + Retry-After as well.
        r = rest(chatr, "HEAD", f"/api/hubs/{HUB}/users/nobody")
        assert r.status_code == 503, r.status_code
        assert int(r.headers["Retry-After"]) > 0
        # Messages sent now outlive the hold: the acked one fails visibly, both are counted.
        send(tx, "plain late")
        send(tx, "acked late", ack_id=7)
        ack = tx.recv(timeout=4 * HOLD_S)
        assert ack["type"] == "ack" and ack["ackId"] == 7 and not ack["success"], ack
        assert ack["error"]["name"] == "InternalServerError"
        chatr.emulator("db", "start")
        assert dropped(chatr, "database") >= before + 2
        m = metrics(chatr)
        assert m[("chatr_db_errors_total", frozenset())] > 0
        # Once it is back, everything works again, without a new socket.
        deadline, ack_id = time.time() + 3 * HOLD_S, 8
        while time.time() < deadline:
            ack_id += 1
            _, ack = tx.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                                 "data": "after", "ackId": ack_id})
            if ack["success"]:
                break
            time.sleep(0.5)
        assert ack["success"], ack
        seen = []
        while True:
            try:
                seen.append(rx.recv(timeout=2)["data"])
            except websocket.WebSocketTimeoutException:
                break
        assert "after" in seen and "plain late" not in seen and "acked late" not in seen
        assert metrics(chatr)[("chatr_db_reconnects_total", frozenset())] > 0
    finally:
        rx.close()
        tx.close()


def pg_log(chatr):
    return chatr.log("postgres.log")


def waiting_push(chatr, exclude=(), timeout=15):
    """The pid of the backend waiting for a row lock in pubsub.reliable_push."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rows = chatr.sql("SELECT pid FROM pg_stat_activity "
                         "WHERE wait_event_type = 'Lock' AND query LIKE '%reliable_push%'")
        rows = [r for r in rows if r[0] not in exclude]
        if rows:
            return rows[0][0]
        time.sleep(0.05)
    raise AssertionError("no backend is waiting in reliable_push")


def test_a_transaction_killed_mid_way_runs_again_whole(chatr):
    """hub_reliable_send's transaction (BEGIN, reliable_push under the row lock, publish, COMMIT)
    loses its backend while it waits for the lock. The statement must not be run again alone
    in autocommit (the row lock that orders sequenceIds would be gone before the publish, and
    the COMMIT would find no transaction): the whole transaction runs again, and the message
    arrives once, with the next sequenceId."""
    c = Client(chatr, hub=HUB, user="tx-kill", protocol=RELIABLE)
    holder = HeldSession(chatr)
    warnings_before = pg_log(chatr).count("there is no transaction in progress")
    try:
        holder.say("BEGIN;\nSELECT 'locked' FROM pubsub.reliable WHERE conn_id = "
                   f"'{c.conn_id}' FOR UPDATE;\n", then="locked")
        result = {}
        sender = threading.Thread(target=lambda: result.update(r=rest(
            chatr, "POST", f"/api/hubs/{HUB}/connections/{c.conn_id}/:send", body="once",
            ctype="text/plain")))
        sender.start()
        pid = waiting_push(chatr)
        assert chatr.sql("SELECT pg_terminate_backend(:'p1')", pid) == [["t"]]
        # The hub runs the transaction again: its push waits for our lock once more (the old
        # code ran the push again alone, in autocommit, then a COMMIT with no transaction).
        waiting_push(chatr, exclude=(pid,))
        holder.say("COMMIT;\n")
        sender.join(30)
        assert result["r"].status_code == 202, result["r"].text
        m = c.recv()
        assert m["type"] == "message" and m["data"] == "once" and m["sequenceId"] == 1, m
        c.nothing(0.5)
        assert chatr.sql("SELECT seq, unacked FROM pubsub.reliable WHERE conn_id = :'p1'",
                         c.conn_id) == [["1", "1"]]
        assert chatr.sql("SELECT count(*) FROM pubsub.reliable_messages WHERE conn_id = :'p1'",
                         c.conn_id) == [["1"]]
        # No statement of it ran outside a transaction (a lone COMMIT warns).
        assert pg_log(chatr).count("there is no transaction in progress") == warnings_before
        # The lock works again: a second message is ordered after the first.
        r = rest(chatr, "POST", f"/api/hubs/{HUB}/connections/{c.conn_id}/:send", body="twice",
                 ctype="text/plain")
        assert r.status_code == 202
        m = c.recv()
        assert m["data"] == "twice" and m["sequenceId"] == 2, m
    finally:
        holder.close()
        c.close()
