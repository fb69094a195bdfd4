"""Message history, a hub feature (docs/protocols.md#history, schema/005_history.sql): hub `chat`
stores every group message before delivering it, adds "id" and "time" to the envelope, and serves
GET/DELETE /api/hubs/{hub}/groups/{group}/messages. Hub `bench` keeps none."""
import json
import re
import threading
import uuid

import pytest

from hubtools import Client, rest

ALL = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def group():
    return "hist-" + uuid.uuid4().hex[:8]


def joined(chatr, g, user, hub="chat"):
    c = Client(chatr, hub=hub, user=user, roles=ALL)
    assert c.request({"type": "joinGroup", "group": g, "ackId": 1})[1]["success"]
    return c


def send(c, g, data, ack, **extra):
    _, a = c.request({"type": "sendToGroup", "group": g, "ackId": ack, "dataType": "json",
                      "data": data, **extra})
    return a


def page(chatr, g, hub="chat", **params):
    r = rest(chatr, "GET", f"/api/hubs/{hub}/groups/{g}/messages", params=params or None)
    assert r.status_code == 200, r.text
    body = r.json()
    return [m["data"]["n"] if isinstance(m["data"], dict) else m["data"] for m in body["value"]], body


def test_stored_message_carries_id_and_time_and_is_listed(chatr):
    g = group()
    a, b = joined(chatr, g, "h-a"), joined(chatr, g, "h-b")
    assert send(a, g, {"n": 1}, 2)["success"]
    got = b.recv()
    assert isinstance(got["id"], int) and got["id"] > 0 and TIME.match(got["time"])
    _, body = page(chatr, g)
    assert body == {"value": [got], "more": False}  # exactly the delivered envelope
    a.close()
    b.close()


def test_history_order_and_paging_backwards(chatr):
    g = group()
    a = joined(chatr, g, "h-order")
    for i in range(12):
        assert send(a, g, {"n": i}, 10 + i)["success"]
    ns, body = page(chatr, g, limit=5)
    assert ns == [11, 10, 9, 8, 7] and body["more"] is True
    ids = [m["id"] for m in body["value"]]
    assert ids == sorted(ids, reverse=True)
    ns, body = page(chatr, g, limit=5, before=ids[-1])
    assert ns == [6, 5, 4, 3, 2] and body["more"] is True
    ns, body = page(chatr, g, limit=5, before=body["value"][-1]["id"])
    assert ns == [1, 0] and body["more"] is False
    a.close()


def test_history_paging_forwards_with_after(chatr):
    g = group()
    a = joined(chatr, g, "h-after")
    for i in range(7):
        assert send(a, g, {"n": i}, 10 + i)["success"]
    _, first = page(chatr, g, limit=1, before=10**15)
    oldest = page(chatr, g)[1]["value"][-1]["id"]
    # after = oldest: the next 3 oldest, listed newest first
    ns, body = page(chatr, g, after=oldest, limit=3)
    assert ns == [3, 2, 1] and body["more"] is True
    ns, body = page(chatr, g, after=body["value"][0]["id"], limit=3)
    assert ns == [6, 5, 4] and body["more"] is False
    ns, body = page(chatr, g, after=first["value"][0]["id"])
    assert ns == [] and body["more"] is False
    a.close()


def test_history_limit_is_capped_and_params_validated(chatr):
    g = group()
    for i in range(205):
        r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body=json.dumps({"n": i}),
                 ctype="application/json")
        assert r.status_code == 202
    ns, body = page(chatr, g, limit=100000)
    assert len(ns) == 200 and body["more"] is True and ns[0] == 204
    ns, _ = page(chatr, g)
    assert len(ns) == 50  # default page
    for bad in ({"limit": "0"}, {"limit": "-1"}, {"before": "x"}, {"after": "1e3"}, {"limit": ""}):
        r = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages", params=bad)
        assert r.status_code == 400, bad
    r = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages", token=False)
    assert r.status_code == 401


def test_rest_group_send_is_stored_without_sender(chatr):
    g = group()
    b = joined(chatr, g, "h-rest")
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body="plain words",
             ctype="text/plain")
    assert r.status_code == 202
    got = b.recv()
    assert "fromUserId" not in got and got["data"] == "plain words" and got["dataType"] == "text"
    _, body = page(chatr, g)
    assert body["value"] == [got]
    b.close()


def test_persist_false_is_delivered_but_not_stored(chatr):
    g = group()
    a, b = joined(chatr, g, "h-p1"), joined(chatr, g, "h-p2")
    assert send(a, g, {"n": "typing"}, 2, noEcho=True, persist=False)["success"]
    got = b.recv()
    assert got["data"] == {"n": "typing"} and "id" not in got and "time" not in got
    assert send(a, g, {"n": "kept"}, 3)["success"]
    assert b.recv()["data"] == {"n": "kept"}
    ns, _ = page(chatr, g)
    assert ns == ["kept"]
    a.close()
    b.close()


def test_binary_and_text_round_trip_through_history(chatr):
    g = group()
    a = joined(chatr, g, "h-bin")
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "binary",
                        "data": "AAEC/w=="})
    assert ack["success"]
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 3, "dataType": "text",
                        "data": "héllo \"quoted\""})
    assert ack["success"]
    _, body = page(chatr, g)
    assert [(m["dataType"], m["data"]) for m in body["value"]] == [
        ("text", "héllo \"quoted\""), ("binary", "AAEC/w==")]
    a.close()


def test_ids_strictly_increasing_under_concurrent_senders(chatr):
    g = group()
    senders = [joined(chatr, g, f"h-c{i}") for i in range(4)]
    listener = joined(chatr, g, "h-listen")
    per = 40
    errors = []

    def run(c, k):
        for i in range(per):
            a = send(c, g, {"n": f"{k}-{i}"}, 100 + i)
            if not a.get("success"):
                errors.append(a)

    threads = [threading.Thread(target=run, args=(c, k)) for k, c in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = []
    while len(got) < 4 * per:
        got.append(listener.recv())
    ids = [m["id"] for m in got]
    assert len(set(ids)) == 4 * per
    # each sender's messages were stored (and delivered) in the order it sent them
    for k in range(4):
        mine = [m for m in got if m["data"]["n"].startswith(f"{k}-")]
        assert [m["data"]["n"] for m in mine] == [f"{k}-{i}" for i in range(per)]
        assert [m["id"] for m in mine] == sorted(m["id"] for m in mine)
    # history lists every one of them once, ids strictly decreasing newest first
    listed = []
    before = None
    while True:
        params = {"limit": 50, **({"before": before} if before else {})}
        _, body = page(chatr, g, **params)
        listed += body["value"]
        if not body["more"]:
            break
        before = body["value"][-1]["id"]
    lids = [m["id"] for m in listed]
    assert lids == sorted(set(ids), reverse=True)
    for c in senders + [listener]:
        c.close()


def test_delete_history(chatr):
    g = group()
    a = joined(chatr, g, "h-del")
    assert send(a, g, {"n": 1}, 2)["success"]
    r = rest(chatr, "DELETE", f"/api/hubs/chat/groups/{g}/messages")
    assert r.status_code == 204
    assert page(chatr, g)[0] == []
    assert send(a, g, {"n": 2}, 3)["success"]  # the group still works
    assert page(chatr, g)[0] == [2]
    a.close()


def test_hub_without_history_stores_nothing(chatr):
    g = group()
    a, b = joined(chatr, g, "h-nb1", hub="bench"), joined(chatr, g, "h-nb2", hub="bench")
    assert send(a, g, {"n": 1}, 2)["success"]
    got = b.recv()
    assert "id" not in got and got["data"] == {"n": 1}
    assert page(chatr, g, hub="bench")[0] == []
    a.close()
    b.close()


def test_history_of_unknown_group_is_empty(chatr):
    assert page(chatr, group()) == ([], {"value": [], "more": False})


def test_failed_store_is_an_error_ack_and_nothing_is_delivered(chatr):
    g = group()
    a, b = joined(chatr, g, "h-fail1"), joined(chatr, g, "h-fail2")
    chatr.emulator("db", "stop")
    try:
        ack = send(a, g, {"n": "lost?"}, 2)
        assert ack["success"] is False and ack["error"]["name"] == "InternalServerError"
        b.nothing(1.0)
    finally:
        chatr.emulator("db", "start")
    # the same ackId is not remembered as done: a retry succeeds and is stored once
    assert send(a, g, {"n": "lost?"}, 2)["success"]
    assert b.recv()["data"] == {"n": "lost?"}
    assert page(chatr, g)[0] == ["lost?"]
    a.close()
    b.close()


def test_history_keeps_nulls_and_deep_data_exactly_as_delivered(chatr):
    g = group()
    a, b = joined(chatr, g, "h-null-a"), joined(chatr, g, "h-null-b")
    deep = "leaf"
    for _ in range(40):  # deeper than json-c's default parsing depth once inside a history page
        deep = [deep]
    data = {"n": None, "list": [1, None, {"x": None}], "deep": deep}
    assert send(a, g, data, 2)["success"]
    got = b.recv()
    assert got["data"] == data
    body = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages").json()
    assert body["value"] == [got]  # nulls inside data kept, deep data readable
    # a REST (server) message has no fromUserId at all, in history too
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body='{"k":null}', ctype="application/json")
    assert r.status_code == 202
    live = b.recv()
    assert "fromUserId" not in live and live["data"] == {"k": None}
    body = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages").json()
    assert body["value"][0] == live
    a.close()
    b.close()
