"""GET /api/search (functions/search, docs/chat-features.md#search): full-text search over the
messages of the caller's chats only (chatr.members; a private chat for its two members), with the
author's name and a highlight; and GET /api/chats/{id}/messages?around=<id>, the page a search hit
opens."""
import uuid


from chattools import wait_for


def said(person, cid, text):
    before, ack = person.ws.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                                     "ackId": uuid.uuid4().int & 0xFFFFFF,
                                     "data": {"message": text, "fromUserId": person.uid,
                                              "fromUserName": person.name}})
    assert ack["success"], ack
    person.pending.extend(before)
    return wait_for(person, lambda m: m.get("group") == cid and isinstance(m.get("data"), dict)
                    and m["data"].get("message") == text)[0]["id"]


def search(person, **params):
    r = person.get("/api/search", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"value", "more"}
    return body


def word():
    """A word no other test wrote (the session's database is shared)."""
    return "w" + uuid.uuid4().hex[:10]


def test_search_sees_only_the_callers_chats(chatr, people):
    alice, bob, carol, dave = people("Alice"), people("Bob"), people("Carol"), people("Dave")
    w = word()
    shared = alice.create_chat("Shared")
    bob.join(shared)
    carols = carol.create_chat("Carol's")          # bob is not a member
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": dave.uid})
    assert ack["success"]
    private = "private_" + "_".join(sorted([alice.uid, dave.uid]))
    in_shared = said(alice, shared, f"the {w} in the shared chat")
    said(carol, carols, f"the {w} carol keeps to herself")
    in_private = said(dave, private, f"a {w} between alice and dave")

    got = search(bob, q=w)
    assert [h["id"] for h in got["value"]] == [in_shared] and got["more"] is False
    hit = got["value"][0]
    assert hit == {"chatId": shared, "id": in_shared, "time": hit["time"], "fromUserId": alice.uid,
                   "fromUserName": "Alice", "text": f"the {w} in the shared chat",
                   "highlight": f"the \u0002{w}\u0003 in the shared chat"}
    assert [h["id"] for h in search(alice, q=w)["value"]] == [in_private, in_shared]
    assert [h["id"] for h in search(dave, q=w)["value"]] == [in_private]
    assert [h["chatId"] for h in search(carol, q=w)["value"]] == [carols]
    # one chat: members only
    assert [h["id"] for h in search(alice, q=w, chatId=shared)["value"]] == [in_shared]
    assert bob.get("/api/search", q=w, chatId=private).status_code == 403
    assert bob.get("/api/search", q=w, chatId=carols).status_code == 403
    assert bob.get("/api/search", q=w, chatId="no-such-chat").status_code == 404
    # a member who left no longer searches the chat
    _, ack = bob.event("leaveChat", {"chatId": shared, "userName": "Bob"})
    assert ack["success"]
    assert search(bob, q=w)["value"] == []


def test_search_prefix_paging_edits_and_deletions(chatr, people):
    alice = people("Alice")
    w = word()
    cid = alice.create_chat("Many")
    ids = [said(alice, cid, f"note {i} {w}xyz") for i in range(5)]
    got = search(alice, q=w, limit=2)  # a prefix of the word finds it
    assert [h["id"] for h in got["value"]] == [ids[4], ids[3]] and got["more"] is True
    got = search(alice, q=w, limit=2, before=ids[3])
    assert [h["id"] for h in got["value"]] == [ids[2], ids[1]] and got["more"] is True
    assert alice.event("deleteMessage", {"chatId": cid, "messageId": ids[4]})[1]["success"]
    assert alice.event("editMessage", {"chatId": cid, "messageId": ids[3],
                                       "text": "rewritten entirely"})[1]["success"]
    assert [h["id"] for h in search(alice, q=w)["value"]] == [ids[2], ids[1], ids[0]]
    hit = search(alice, q="rewritten entirely")["value"]
    assert [h["id"] for h in hit if h["chatId"] == cid] == [ids[3]] and "editedTime" in hit[0]


def test_search_input_is_checked(chatr, people):
    alice = people("Alice")
    for params in ({}, {"q": ""}, {"q": "   "}, {"q": "x" * 201}, {"q": "a\u0001b"},
                   {"q": "x", "before": "0"}, {"q": "x", "before": "abc"},
                   {"q": "x", "before": "9" * 19}, {"q": "x", "limit": "0"},
                   {"q": "x", "limit": "51"}, {"q": "x", "chatId": "c" * 400}):
        r = alice.get("/api/search", **params)
        assert r.status_code == 400, (params, r.text)
    assert alice.get("/api/search", q="é" * 200).status_code == 200  # characters, not bytes
    assert alice.get("/api/search", q="x", limit="50", before="5").status_code == 200
    r = chatr.get("/api/search?q=x")
    assert r.status_code == 401


def test_around_opens_the_page_of_a_hit(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat("Around")
    ids = [said(alice, cid, f"line {i}") for i in range(30)]
    r = alice.get(f"/api/chats/{cid}/messages", around=ids[10], limit=10)
    assert r.status_code == 200, r.text
    body = r.json()
    got = [m["id"] for m in body["value"]]
    assert got == list(reversed(ids[5:15]))  # 6 at or below the hit, 4 above, newest first
    assert body["more"] is True and body["newer"] is True
    body = alice.get(f"/api/chats/{cid}/messages", around=ids[-1]).json()
    assert body["value"][0]["id"] == ids[-1] and body["newer"] is False
    assert bob.get(f"/api/chats/{cid}/messages", around=ids[10]).status_code == 403
    for bad in ({"around": "0"}, {"around": "x"}, {"around": ids[3], "before": ids[5]},
                {"around": ids[3], "after": ids[1]}):
        assert alice.get(f"/api/chats/{cid}/messages", **bad).status_code == 400, bad
