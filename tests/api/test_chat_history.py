"""GET /api/chats/{id}/messages (docs/protocols.md#history): a chat's stored messages for its
members only (404 unknown chat, 403 non-member), paged like the hub's history REST extension, gone
with the chat; and the `echo` user event the benchmarks use."""
import base64
import json
import os
import uuid

import pytest

from chattools import server_event
from conftest import ROOT
from hubtools import Client


def page(person, cid, **params):
    r = person.get(f"/api/chats/{cid}/messages", **params)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"value", "more"}
    ids = [m["id"] for m in body["value"]]
    assert ids == sorted(ids, reverse=True)  # newest first
    return body


def texts(body):
    return [m["data"]["message"] if isinstance(m["data"], dict) else m["data"] for m in body["value"]]


# ---- access -----------------------------------------------------------------------------------

def test_history_needs_sign_in(chatr):
    assert chatr.get("/api/chats/anything/messages").status_code == 401


def test_unknown_chat_is_404(chatr, people):
    alice = people("Alice")
    for cid in ("no-such-chat", "x" * 301, "private_a_b"):
        r = alice.get(f"/api/chats/{cid}/messages")
        assert r.status_code == 404, (cid, r.text)


def test_non_members_get_403_for_public_and_private_chats(chatr, people):
    alice, bob, carol = people("Alice"), people("Bob"), people("Carol")
    cid = alice.create_chat()
    r = bob.get(f"/api/chats/{cid}/messages")  # a public chat, but Bob has not joined it
    assert r.status_code == 403, r.text
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": bob.uid})
    assert ack["success"], ack
    pid = json.loads(server_event(bob, "joinPrivateChat"))["id"]
    assert carol.get(f"/api/chats/{pid}/messages").status_code == 403
    # A member who leaves loses access.
    bob.join(cid)
    _, ack = bob.event("leaveChat", {"chatId": cid})
    assert ack["success"]
    assert bob.get(f"/api/chats/{cid}/messages").status_code == 403


@pytest.mark.parametrize("params", [
    {"before": "abc"}, {"after": "-1"}, {"limit": "1.5"}, {"limit": "0"}, {"limit": "-5"},
    {"before": "1e3"}, {"after": " 7"}, {"before": "9" * 19}, {"limit": "9" * 100},
    {"before": "0x10"},
])
def test_bad_paging_parameters_are_400(chatr, people, params):
    alice = people("Alice")
    cid = alice.create_chat()
    r = alice.get(f"/api/chats/{cid}/messages", **params)
    assert r.status_code == 400, (params, r.text)
    assert list(params)[0] in r.json()["error"]


# ---- contents and paging (need the hub's history) ---------------------------------------------

def test_members_read_messages_with_ids_times_and_senders(chatr, people, needs_history):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    assert bob.get(f"/api/chats/{cid}/messages").status_code == 200  # joined: allowed now
    alice.say(cid, "hello")
    bob.say(cid, "hi <b>alice</b>")
    body = page(alice, cid)
    assert texts(body)[:2] == ["hi <b>alice</b>", "hello"]
    newest = body["value"][0]
    assert newest["fromUserId"] == bob.uid and newest["group"] == cid and newest["time"]
    assert body["more"] is False
    # A chat nobody wrote in answers an empty page.
    quiet = alice.create_chat("Quiet")
    chatr.sql("DELETE FROM pubsub.messages WHERE group_name = :'p1'", quiet)  # the join notice
    assert page(alice, quiet) == {"value": [], "more": False}


def test_paging_backwards_and_forwards(chatr, people, needs_history):
    alice = people("Alice")
    cid = alice.create_chat()
    for i in range(5):
        alice.say(cid, f"m{i}")
    everything = page(alice, cid, limit=50)
    assert texts(everything)[:5] == ["m4", "m3", "m2", "m1", "m0"]
    ids = [m["id"] for m in everything["value"]]  # m4 ... m0, then the join notice
    first = page(alice, cid, limit=2)
    assert texts(first) == ["m4", "m3"] and first["more"] is True
    second = page(alice, cid, limit=2, before=first["value"][-1]["id"])
    assert texts(second) == ["m2", "m1"] and second["more"] is True
    # Forwards from the join notice: the oldest two after it, still listed newest first.
    fwd = page(alice, cid, limit=2, after=ids[-1])
    assert texts(fwd) == ["m1", "m0"] and fwd["more"] is True
    last = page(alice, cid, limit=2, after=fwd["value"][0]["id"])
    assert texts(last) == ["m3", "m2"]
    tail = page(alice, cid, after=ids[0])
    assert tail == {"value": [], "more": False}
    # Empty parameters are absent ones; a limit above 200 is clamped, not refused.
    assert texts(page(alice, cid, before="", limit=1000))[:5] == texts(everything)[:5]


def test_a_page_too_big_for_one_answer_comes_back_shorter_with_more(chatr, people, needs_history):
    alice = people("Alice")
    cid = alice.create_chat()
    # Three stored messages of 600 KB each: no page of two fits the SDK's 1 MiB answer.
    chatr.sql("INSERT INTO pubsub.messages (hub, group_name, data_type, data) "
              "SELECT 'chat', :'p1', 'text', repeat('x', 600000) || n FROM generate_series(1, 3) n", cid)
    body = page(alice, cid, limit=3)
    assert texts(body) == ["x" * 600000 + "3"] and body["more"] is True
    body = page(alice, cid, before=body["value"][0]["id"])
    assert texts(body) == ["x" * 600000 + "2"] and body["more"] is True


def test_history_is_deleted_with_the_chat(chatr, people, needs_history):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    alice.say(cid, "soon gone")
    bob.command(cid, "/roll")
    assert len(page(bob, cid)["value"]) >= 2
    stored = "SELECT count(*) FROM pubsub.messages WHERE hub = 'chat' AND group_name = :'p1'"
    assert int(chatr.sql(stored, cid)[0][0]) >= 2
    other = alice.create_chat("Other")
    alice.say(other, "stays")
    _, ack = alice.event("deleteChat", cid, "text")
    assert ack["success"], ack
    assert chatr.sql(stored, cid) == [["0"]]
    assert bob.get(f"/api/chats/{cid}/messages").status_code == 404
    assert "stays" in texts(page(alice, other))  # only that chat's history went


# ---- echo ---------------------------------------------------------------------------------------

def echo(client, data_type, data):
    before, ack = client.request({"type": "event", "event": "echo", "dataType": data_type,
                                  "data": data, "ackId": uuid.uuid4().int & 0xFFFFFF})
    return [m for m in before if m.get("type") == "message" and m.get("from") == "server"], ack


def test_echo_event_returns_the_same_body_and_type_before_the_ack(chatr, people):
    alice = people("Alice")
    for data_type, data in (("text", "ping ünïcode"), ("json", {"a": [1, 2, {"b": None}]}),
                            ("binary", base64.b64encode(bytes(range(256))).decode())):
        replies, ack = echo(alice.ws, data_type, data)
        assert ack["success"], ack
        assert len(replies) == 1, replies
        assert replies[0]["dataType"] == data_type and replies[0]["data"] == data
    replies, ack = echo(alice.ws, "text", "x" * 60000)
    assert ack["success"] and replies[0]["data"] == "x" * 60000
    replies, ack = echo(alice.ws, "text", "x" * (64 * 1024 + 1))  # over the 64 KB limit
    assert not ack["success"] and not replies


def test_echo_works_on_every_hub_routed_to_the_event_handler(chatr):
    with open(os.path.join(ROOT, "gateway", "hubs.json")) as f:
        hubs = json.load(f)["hubs"]
    others = [h for h, s in hubs.items() if h != "chat" and any(
        e.get("urlTemplate") == "/api/eventHandler" for e in s.get("eventHandlers", []))]
    if not others:
        pytest.skip("no hub other than chat routes events to /api/eventHandler")
    for hub in others:
        c = Client(chatr, hub=hub, user=None)
        try:
            replies, ack = echo(c, "text", "bench")
            assert ack["success"] and [r["data"] for r in replies] == ["bench"], (hub, ack)
        finally:
            c.close()
