"""Reactions, read state, mentions and unread counts (docs/chat-features.md): the `react` and
`markRead` events (members only, strict input, stored in chatr.reactions / chatr.read_state), their
live chatEvents (`reaction` to the chat, `readState` to the user's own sockets), the reactions of
GET /api/chats/{id}/messages and the unread / mention counts of GET /api/chats."""
import json
import uuid

import pytest

from chattools import server_event
from hubtools import Client, rest


pytestmark = pytest.mark.usefixtures("needs_history")  # conftest.py


def counts_available(chatr):
    """Whether the hub serves :countMessages (h-hist's extension)."""
    r = rest(chatr, "POST", "/api/hubs/chat/:countMessages", params={"api-version": "2024-12-01"},
             body=json.dumps({"groups": {"probe": 0}, "max": 1}), ctype="application/json")
    return r.status_code == 200


@pytest.fixture()
def needs_counts(chatr):
    if not counts_available(chatr):
        pytest.skip("the hub's :countMessages extension has not landed yet")


def newest_id(person, cid):
    r = person.get(f"/api/chats/{cid}/messages", limit="1")
    assert r.status_code == 200, r.text
    return r.json()["value"][0]["id"]


def say(person, cid, text, mentions=None):
    """Sends a chat line (with mentions as the web app writes them); returns its history id."""
    data = {"message": text, "fromUserId": person.uid, "fromUserName": person.name}
    if mentions is not None:
        data["mentions"] = mentions
    _, ack = person.ws.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                                "ackId": uuid.uuid4().int & 0xFFFFFF, "data": data})
    assert ack["success"], ack
    return newest_id(person, cid)


def react(person, cid, mid, emoji, on=True):
    return person.event("react", {"chatId": cid, "messageId": mid, "emoji": emoji, "on": on})[1]


def mark_read(person, cid, mid):
    return person.event("markRead", {"chatId": cid, "messageId": mid})[1]


def chat_with(people, *names):
    """The first person creates a chat, the others join it; returns (cid, persons)."""
    ps = [people(n) for n in names]
    cid = ps[0].create_chat()
    for p in ps[1:]:
        p.join(cid)
    for p in ps:
        p.settle()
    return cid, ps


def reactions_of(person, cid, mid):
    for m in person.get(f"/api/chats/{cid}/messages").json()["value"]:
        if m["id"] == mid:
            return m["reactions"]
    raise AssertionError(f"message {mid} not in the page")


def reaction_rows(chatr, cid):
    return chatr.sql("SELECT message_id, emoji, user_id FROM chatr.reactions WHERE chat_id = :'p1' "
                     "ORDER BY created_at", cid)


def last_read(chatr, cid, uid):
    rows = chatr.sql("SELECT last_read_id FROM chatr.read_state WHERE chat_id = :'p1' "
                     "AND user_id = :'p2'", cid, uid)
    return int(rows[0][0]) if rows else None


def my_chat(person, cid):
    r = person.get("/api/chats")
    assert r.status_code == 200, r.text
    return r.json()["chats"][cid]


# ---- reactions ---------------------------------------------------------------------------------

def test_react_and_unreact_live_and_in_history(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = say(alice, cid, "hello")
    assert react(bob, cid, mid, "👍")["success"]
    ev = json.loads(server_event(alice, "reaction"))  # string-encoded, like chatCreated
    assert ev == {"chatId": cid, "messageId": mid, "emoji": "👍", "userId": bob.uid, "on": True,
                  "count": 1}
    assert json.loads(server_event(bob, "reaction")) == ev  # the reacting member's tabs too
    assert reactions_of(alice, cid, mid) == [
        {"emoji": "👍", "count": 1, "userIds": [bob.uid], "me": False}]
    assert reactions_of(bob, cid, mid)[0]["me"] is True
    around = alice.get(f"/api/chats/{cid}/messages", around=str(mid)).json()["value"]
    assert [m["reactions"] for m in around if m["id"] == mid] == [reactions_of(alice, cid, mid)]
    assert react(alice, cid, mid, "👍")["success"]
    assert json.loads(server_event(bob, "reaction"))["count"] == 2
    server_event(alice, "reaction")
    assert react(bob, cid, mid, "👍", on=False)["success"]
    ev = json.loads(server_event(alice, "reaction"))
    assert (ev["userId"], ev["on"], ev["count"]) == (bob.uid, False, 1)
    assert reactions_of(bob, cid, mid) == [
        {"emoji": "👍", "count": 1, "userIds": [alice.uid], "me": False}]
    # The live event is not a chat line: history holds the message alone.
    assert [m["id"] for m in alice.get(f"/api/chats/{cid}/messages").json()["value"]][0] == mid
    # Every entry has the field, [] when nobody reacted.
    other = say(bob, cid, "no reactions here")
    assert reactions_of(alice, cid, other) == []


def test_duplicate_reaction_is_one_and_sends_nothing(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = say(alice, cid, "hello")
    assert react(bob, cid, mid, "🎉")["success"]
    server_event(alice, "reaction")
    assert react(bob, cid, mid, "🎉")["success"]  # already there: fine, but no change
    alice.nothing(0.7)
    assert reaction_rows(chatr, cid) == [[str(mid), "🎉", bob.uid]]
    # Removing what is not there changes nothing either.
    assert react(alice, cid, mid, "🎉", on=False)["success"]
    bob.settle()
    assert len(reaction_rows(chatr, cid)) == 1


def test_emoji_spellings_are_one_kind(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = say(alice, cid, "love")
    assert react(bob, cid, mid, "\u2764")["success"]  # ❤ without the emoji selector
    assert json.loads(server_event(alice, "reaction"))["emoji"] == "\u2764\ufe0f"
    assert react(bob, cid, mid, "\u2764\ufe0f")["success"]  # the same kind: a duplicate
    assert reaction_rows(chatr, cid) == [[str(mid), "\u2764\ufe0f", bob.uid]]


def test_kinds_per_message_are_bounded(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = say(alice, cid, "react away")
    kinds = [chr(0x1F600 + i) for i in range(20)]  # 😀 ... 20 kinds
    for e in kinds:
        assert react(alice, cid, mid, e)["success"], e
    ack = react(alice, cid, mid, "🚀")
    assert not ack["success"] and ack["error"]["name"] == "InternalServerError", ack
    # An existing kind still takes more people; a freed slot takes a new kind.
    assert react(bob, cid, mid, kinds[3])["success"]
    assert react(alice, cid, mid, kinds[0], on=False)["success"]
    assert react(bob, cid, mid, "🚀")["success"]
    rows = reaction_rows(chatr, cid)
    assert len({r[1] for r in rows}) == 20 and len(rows) == 21
    # Straight into the table, past the eventHandler: the schema refuses a 21st kind too.
    with pytest.raises(RuntimeError, match="kinds of reaction"):
        chatr.sql("INSERT INTO chatr.reactions (chat_id, message_id, emoji, user_id) "
                  "VALUES (:'p1', :'p2', '🛸', :'p3')", cid, mid, bob.uid)


@pytest.mark.parametrize("emoji", [
    "", "a", "A", "1", " ", ":)", "<b>", "<img src=x onerror=alert(1)>", "👍👍", "👍a", "a👍",
    " 👍", "👍 ", "\u200d", "\ufe0f", "\U0001F1E6", "1\ufe0f\u20e3", "é", "\u00e9\u0301", "中",
    "\ud83d", "\U0001F469\U0001F3FB\u200d\u2764\ufe0f\u200d\U0001F48B\u200d\U0001F468\U0001F3FC",
    "👍" * 9, "\x00", 5, None, ["👍"], {"e": "👍"}])
def test_bad_emoji_is_refused(chatr, people, emoji):
    cid, (alice,) = chat_with(people, "Alice")
    mid = say(alice, cid, "hello")
    ack = react(alice, cid, mid, emoji)
    assert not ack["success"], (emoji, ack)
    assert reaction_rows(chatr, cid) == []


@pytest.mark.parametrize("emoji", ["👍", "❤️", "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "👍🏽", "🏳️\u200d🌈", "©️"])
def test_good_emoji_are_taken(chatr, people, emoji):
    cid, (alice,) = chat_with(people, "Alice")
    mid = say(alice, cid, "hello")
    assert react(alice, cid, mid, emoji)["success"], emoji
    assert reaction_rows(chatr, cid) == [[str(mid), emoji, alice.uid]]


@pytest.mark.parametrize("data", [
    {"messageId": 1, "emoji": "👍", "on": True},                       # no chatId
    {"chatId": "x" * 301, "messageId": 1, "emoji": "👍", "on": True},
    {"chatId": "C", "emoji": "👍", "on": True},                         # no messageId
    {"chatId": "C", "messageId": 0, "emoji": "👍", "on": True},
    {"chatId": "C", "messageId": -3, "emoji": "👍", "on": True},
    {"chatId": "C", "messageId": 1.5, "emoji": "👍", "on": True},
    {"chatId": "C", "messageId": "1e3", "emoji": "👍", "on": True},
    {"chatId": "C", "messageId": "9" * 19, "emoji": "👍", "on": True},
    {"chatId": "C", "messageId": "M", "emoji": "👍"},                   # no on
    {"chatId": "C", "messageId": "M", "emoji": "👍", "on": "yes"},
    {"chatId": "C", "messageId": "M", "emoji": "👍", "on": 1},
])
def test_malformed_react_is_refused(chatr, people, data):
    cid, (alice,) = chat_with(people, "Alice")
    mid = say(alice, cid, "hello")
    data = {k: (cid if v == "C" else str(mid) if v == "M" else v) for k, v in data.items()}
    assert not react_raw(alice, data)["success"], data
    assert reaction_rows(chatr, cid) == []
    # The well-formed event with a numeric-string id works.
    assert react(alice, cid, str(mid), "👍")["success"]


def react_raw(person, data):
    return person.event("react", data)[1]


def test_non_members_can_neither_react_nor_mark_read(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    carol = people("Carol")
    mid = say(alice, cid, "members only")
    assert not react(carol, cid, mid, "👍")["success"]
    assert not mark_read(carol, cid, mid)["success"]
    # A private chat of two others: the same.
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": bob.uid})
    assert ack["success"], ack
    pid = json.loads(server_event(bob, "joinPrivateChat"))["id"]
    pmid = say(alice, pid, "just us")
    assert not react(carol, pid, pmid, "👍")["success"]
    assert not mark_read(carol, pid, pmid)["success"]
    # Unknown chats, and a message id of another chat.
    assert not react(carol, "no-such-chat", mid, "👍")["success"]
    assert not react(bob, cid, pmid, "👍")["success"]
    assert not mark_read(bob, cid, pmid)["success"]
    assert not react(bob, cid, mid + 10_000, "👍")["success"]
    # A member who left is refused too; their reaction from before stays.
    assert react(bob, cid, mid, "👍")["success"]
    _, ack = bob.event("leaveChat", {"chatId": cid})
    assert ack["success"]
    assert not react(bob, cid, mid, "👍", on=False)["success"]
    assert not react(bob, cid, mid, "🎉")["success"]
    assert reaction_rows(chatr, cid) == [[str(mid), "👍", bob.uid]]
    assert chatr.sql("SELECT count(*) FROM chatr.read_state WHERE user_id = :'p1'", carol.uid) == [["0"]]


def test_deleted_message_takes_no_reactions(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = say(alice, cid, "soon gone")
    assert react(bob, cid, mid, "👍")["success"]
    other = say(alice, cid, "deleted behind the app's back")
    assert react(bob, cid, other, "👍")["success"]
    _, ack = alice.event("deleteMessage", {"chatId": cid, "messageId": mid})
    assert ack["success"], ack
    assert reaction_rows(chatr, cid) == [[str(other), "👍", bob.uid]]  # the message's went with it
    # Deleted straight through the hub (no deleteMessage): the page still shows none.
    r = rest(chatr, "DELETE", f"/api/hubs/chat/groups/{cid}/messages/{other}",
             params={"api-version": "2024-12-01"})
    assert r.status_code == 204, r.text
    page = {m["id"]: m for m in alice.get(f"/api/chats/{cid}/messages").json()["value"]}
    for gone in (mid, other):
        assert page[gone]["data"] is None and page[gone]["reactions"] == []
    assert not react(alice, cid, mid, "🎉")["success"]  # 409: nothing to react to
    assert react(bob, cid, other, "👍", on=False)["success"]  # taking one back still works
    assert reaction_rows(chatr, cid) == []
    assert mark_read(alice, cid, mid)["success"]  # still a place in the chat


def test_reaction_event_reaches_members_only(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    carol = people("Carol")
    mid = say(alice, cid, "hello")
    carol.settle()
    assert react(alice, cid, mid, "😀")["success"]
    ev = json.loads(server_event(bob, "reaction"))
    assert ev["emoji"] == "😀" and ev["userId"] == alice.uid
    carol.nothing(0.7)


# ---- read state --------------------------------------------------------------------------------

def test_mark_read_never_goes_back(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    m1 = say(bob, cid, "one")
    m2 = say(bob, cid, "two")
    assert mark_read(alice, cid, m2)["success"]
    assert last_read(chatr, cid, alice.uid) == m2
    assert mark_read(alice, cid, m1)["success"]  # an older one: accepted, changes nothing
    assert last_read(chatr, cid, alice.uid) == m2
    assert my_chat(alice, cid)["lastReadId"] == m2
    # A message that is not there cannot move it (a huge id would hide every future message).
    assert not mark_read(alice, cid, m2 + 10_000)["success"]
    assert last_read(chatr, cid, alice.uid) == m2


def test_read_state_reaches_the_users_other_sockets(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    m1 = say(bob, cid, "one")
    m2 = say(bob, cid, "two")
    tab2 = Client(chatr, user=alice.uid)  # a second tab or device of Alice
    server_event(tab2, "userOnline")
    assert mark_read(alice, cid, m2)["success"]
    assert json.loads(server_event(tab2, "readState")) == {"chatId": cid, "messageId": m2}
    assert json.loads(server_event(alice, "readState")) == {"chatId": cid, "messageId": m2}
    bob.settle()
    assert mark_read(alice, cid, m1)["success"]  # no move: nothing to tell
    tab2.nothing(0.7)
    bob.nothing(0.1)  # never to others
    tab2.close()


def test_joining_starts_at_the_newest_message_and_leaving_forgets(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    say(alice, cid, "before Carol")
    carol = people("Carol")
    carol.join(cid)
    newest = newest_id(carol, cid)  # "Carol has joined the chat"
    assert last_read(chatr, cid, carol.uid) == newest
    _, ack = carol.event("leaveChat", {"chatId": cid})
    assert ack["success"]
    assert last_read(chatr, cid, carol.uid) is None
    # Deleting the chat takes every row with it.
    mid = say(alice, cid, "x")
    assert react(bob, cid, mid, "👍")["success"]
    assert mark_read(bob, cid, mid)["success"]
    _, ack = alice.event("deleteChat", cid, "text")
    assert ack["success"], ack
    assert chatr.sql("SELECT (SELECT count(*) FROM chatr.reactions WHERE chat_id = :'p1') + "
                     "(SELECT count(*) FROM chatr.read_state WHERE chat_id = :'p1')", cid) == [["0"]]


# ---- counts ------------------------------------------------------------------------------------

def test_unread_and_mention_counts(chatr, people, needs_counts):
    cid, (alice, bob, carol) = chat_with(people, "Alice", "Bob", "Carol")
    assert mark_read(alice, cid, newest_id(alice, cid))["success"]  # past the join notices
    assert mark_read(bob, cid, newest_id(bob, cid))["success"]
    chat = my_chat(alice, cid)
    assert (chat["unread"], chat["mentions"]) == (0, 0)
    say(bob, cid, "hi all")
    say(bob, cid, f"<@{alice.uid}> look", mentions=[alice.uid])
    say(carol, cid, f"<@{alice.uid}> <@{bob.uid}> both", mentions=[alice.uid, bob.uid])
    last = say(alice, cid, f"<@{alice.uid}> my own", mentions=[alice.uid])  # own: never unread
    chat = my_chat(alice, cid)
    assert (chat["unread"], chat["mentions"]) == (3, 2), chat
    chat = my_chat(bob, cid)
    assert (chat["unread"], chat["mentions"]) == (2, 1), chat
    # The original contract's fields are all still there.
    assert {"id", "name", "members", "owner"} <= set(chat) and chat["id"] == cid
    # After a reload (a fresh request) they come from the server; reading moves them.
    assert mark_read(alice, cid, last)["success"]
    chat = my_chat(alice, cid)
    assert (chat["unread"], chat["mentions"], chat["lastReadId"]) == (0, 0, last)
    assert my_chat(bob, cid)["unread"] == 2


def test_counts_are_for_the_callers_chats_only(chatr, people, needs_counts):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    dave = people("Dave")
    say(alice, cid, f"<@{dave.uid}> you are not here", mentions=[dave.uid])
    # Dave sees the public chat listed, but no counts of a chat he is not in.
    chat = my_chat(dave, cid)
    assert (chat["unread"], chat["mentions"], chat["lastReadId"]) == (0, 0, None)
    # A private chat of two others is not even listed to him, nor counted.
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": bob.uid})
    assert ack["success"], ack
    pid = json.loads(server_event(bob, "joinPrivateChat"))["id"]
    say(alice, pid, f"<@{dave.uid}> secret", mentions=[dave.uid])
    assert pid not in dave.get("/api/chats").json()["chats"]
    chat = my_chat(bob, pid)
    assert chat["unread"] >= 1 and chat["mentions"] == 0


def test_unread_counts_are_capped(chatr, people, needs_counts):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    assert mark_read(alice, cid, newest_id(alice, cid))["success"]
    # 1001 lines straight through the REST API (as the bot's are), faster than a socket.
    for i in range(1001):
        r = rest(chatr, "POST", f"/api/hubs/chat/groups/{cid}/:send",
                 params={"api-version": "2024-12-01"}, body=json.dumps({"message": str(i)}),
                 ctype="application/json")
        assert r.status_code == 202
    assert my_chat(alice, cid)["unread"] == 1000
