"""Mention notices (docs/chat-features.md#mentions): after its line is stored, the author's client
sends the user event `mention` {chatId, messageId}; eventHandler reads the line back from the
hub's history, checks that the caller wrote it (the hub's fromUserId) and is a member, and sends
every mentioned member (the line's stored `mentions`, members of that chat only) the server
chatEvent `mentioned` on all their sockets, even those that do not have the chat open, once per
message (chatr.mention_notices). An edit that adds a mention tells the new names the same way.
Also: the unread counts of GET /api/chats leave the notices out (:countMessages objectsOnly), as
the web app does."""
import json
import uuid

import pytest

from chattools import server_event, wait_for
from hubtools import Client, rest

API = {"api-version": "2024-12-01"}


pytestmark = pytest.mark.usefixtures("needs_history")  # conftest.py


@pytest.fixture()
def elsewhere(chatr):
    """elsewhere(person): another socket of that person (a tab or device) that has opened no
    chat, so the chat's group lines never reach it."""
    made = []

    def make(person):
        c = Client(chatr, user=person.uid)
        server_event(c, "userOnline")
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


def said(person, cid, text, **extra):
    """person says text in chat cid (a chat line as the web app sends it, plus extra data fields);
    returns the stored id, from the person's own copy of the line (as the web app learns it)."""
    before, ack = person.ws.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                                     "ackId": uuid.uuid4().int & 0xFFFFFF,
                                     "data": {"message": text, "fromUserId": person.uid,
                                              "fromUserName": person.name, **extra}})
    assert ack["success"], ack
    person.pending.extend(before)
    line = wait_for(person, lambda m: m.get("group") == cid and isinstance(m.get("data"), dict)
                    and m["data"].get("message") == text)[0]
    return line["id"]


def mention(person, cid, mid):
    return person.event("mention", {"chatId": cid, "messageId": mid})[1]


def refused(ack, status):
    assert not ack["success"] and str(status) in ack["error"]["message"], ack


def mentioned(client, timeout=5):
    data = server_event(client, "mentioned", timeout)
    assert isinstance(data, str)  # string-encoded, like chatCreated
    return json.loads(data)


def chat_with(people, *names):
    ps = [people(n) for n in names]
    cid = ps[0].create_chat("Mentions")
    for p in ps[1:]:
        p.join(cid)
    for p in ps:
        p.settle()
    return cid, ps


def notices(chatr, cid):
    return chatr.sql("SELECT message_id, user_id FROM chatr.mention_notices WHERE chat_id = :'p1' "
                     "ORDER BY message_id, user_id", cid)


# ---- the notice ------------------------------------------------------------------------------

def test_mentioned_member_is_told_on_every_socket_even_without_the_chat_open(
        chatr, people, elsewhere):
    cid, (alice, bob, carol) = chat_with(people, "Alice", "Bob", "Carol")
    other = elsewhere(bob)  # Bob's second tab: the chat is not open there
    text = f"<@{bob.uid}> look at this " + "x" * 300
    mid = said(alice, cid, text, mentions=[bob.uid])
    other.nothing(0.5)  # the line itself does not reach a socket outside the group
    assert mention(alice, cid, mid)["success"]
    doc = mentioned(other)
    assert doc == {"chatId": cid, "chatName": "Mentions", "messageId": mid,
                   "fromUserId": alice.uid, "fromUserName": "Alice", "text": text[:200]}
    assert mentioned(bob) == doc  # the tab with the chat open too
    carol.settle()
    carol.nothing(0.3)  # not mentioned: not told
    alice.settle()
    alice.nothing(0.1)
    assert notices(chatr, cid) == [[str(mid), bob.uid]]


def test_only_the_author_may_send_a_lines_mentions(chatr, people, elsewhere):
    cid, (alice, bob, carol) = chat_with(people, "Alice", "Bob", "Carol")
    other = elsewhere(carol)
    mid = said(alice, cid, f"<@{carol.uid}> hi", mentions=[carol.uid])
    refused(mention(bob, cid, mid), 403)  # Bob is a member, but it is Alice's line
    other.nothing(0.5)
    # A line whose data claims another author: the hub's fromUserId decides.
    forged = said(bob, cid, f"<@{carol.uid}> from 'Alice'", mentions=[carol.uid])
    refused(mention(alice, cid, forged), 403)
    other.nothing(0.3)
    assert mention(bob, cid, forged)["success"]
    doc = mentioned(other)
    assert (doc["fromUserId"], doc["fromUserName"]) == (bob.uid, "Bob")
    # A notice has no author: nobody sends mentions for it.
    notice = int(bob.get(f"/api/chats/{cid}/messages").json()["value"][-1]["id"])
    refused(mention(alice, cid, notice), 403)


def test_members_only_and_mentions_of_non_members_are_ignored(chatr, people, elsewhere):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    dave = people("Dave")  # not a member
    dave_tab = elsewhere(dave)
    bob_tab = elsewhere(bob)
    mid = said(alice, cid, f"<@{dave.uid}> <@{bob.uid}> hey", mentions=[dave.uid, bob.uid])
    assert mention(alice, cid, mid)["success"]
    assert mentioned(bob_tab)["messageId"] == mid
    dave.settle()
    dave.nothing(0.3)
    dave_tab.nothing(0.1)
    assert notices(chatr, cid) == [[str(mid), bob.uid]]
    # Dave cannot send a chat's mentions; a chat that does not exist is 404.
    refused(mention(dave, cid, mid), 403)
    refused(mention(alice, str(uuid.uuid4()), mid), 404)
    # A member who left is not told any more.
    _, ack = bob.event("leaveChat", {"chatId": cid})
    assert ack["success"]
    again = said(alice, cid, f"<@{bob.uid}> still there?", mentions=[bob.uid])
    assert mention(alice, cid, again)["success"]
    bob_tab.nothing(0.5)


def test_private_chat_mentions_reach_its_two_members_only(chatr, people, elsewhere):
    alice, bob, carol = people("Alice"), people("Bob"), people("Carol")
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid,
                                               "targetUserId": bob.uid})
    assert ack["success"], ack
    info = json.loads(server_event(bob, "joinPrivateChat"))
    pid = info["id"]
    bob_tab, carol_tab = elsewhere(bob), elsewhere(carol)
    mid = said(alice, pid, f"<@{bob.uid}> <@{carol.uid}> secret",
               mentions=[bob.uid, carol.uid])
    assert mention(alice, pid, mid)["success"]
    doc = mentioned(bob_tab)
    assert (doc["chatId"], doc["chatName"], doc["text"]) == (
        pid, info["name"], f"<@{bob.uid}> <@{carol.uid}> secret")
    carol.settle()
    carol.nothing(0.3)
    carol_tab.nothing(0.1)
    refused(mention(carol, pid, mid), 403)


def test_replay_tells_nobody_twice(chatr, people, elsewhere):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    tab = elsewhere(bob)
    mid = said(alice, cid, f"<@{bob.uid}> once", mentions=[bob.uid])
    assert mention(alice, cid, mid)["success"]
    mentioned(tab)
    assert mention(alice, cid, mid)["success"]  # accepted (a second tab of Alice's may send it)
    assert mention(alice, cid, str(mid))["success"]  # the id as a string of digits too
    tab.nothing(0.7)
    assert notices(chatr, cid) == [[str(mid), bob.uid]]


def test_duplicates_self_and_entries_past_the_bound_tell_nobody(chatr, people, elsewhere):
    cid, (alice, bob, carol) = chat_with(people, "Alice", "Bob", "Carol")
    bob_tab, carol_tab = elsewhere(bob), elsewhere(carol)
    # Bob twice, Alice herself, junk; Carol only as the 21st entry (20 are looked at).
    listed = [bob.uid, bob.uid, alice.uid, 7, "", None] + [f"nobody-{i}" for i in range(14)]
    assert len(listed) == 20
    mid = said(alice, cid, "many", mentions=listed + [carol.uid])
    assert mention(alice, cid, mid)["success"]
    assert mentioned(bob_tab)["messageId"] == mid
    bob_tab.nothing(0.5)  # once
    carol_tab.nothing(0.1)
    alice.settle()
    alice.nothing(0.1)
    assert notices(chatr, cid) == [[str(mid), bob.uid]]
    # A line without mentions is fine and tells nobody.
    plain = said(alice, cid, "nobody named")
    assert mention(alice, cid, plain)["success"]
    bob_tab.nothing(0.3)


def test_an_edit_tells_the_members_it_adds(chatr, people, elsewhere):
    cid, (alice, bob, carol) = chat_with(people, "Alice", "Bob", "Carol")
    bob_tab, carol_tab = elsewhere(bob), elsewhere(carol)
    mid = said(alice, cid, f"<@{bob.uid}> first", mentions=[bob.uid])
    assert mention(alice, cid, mid)["success"]
    mentioned(bob_tab)
    _, ack = alice.event("editMessage", {"chatId": cid, "messageId": mid,
                                         "text": f"<@{bob.uid}> <@{carol.uid}> both",
                                         "mentions": [bob.uid, carol.uid]})
    assert ack["success"], ack
    doc = mentioned(carol_tab)
    assert (doc["messageId"], doc["text"]) == (mid, f"<@{bob.uid}> <@{carol.uid}> both")
    bob_tab.nothing(0.5)  # told already
    # Editing again (or the author's client sending `mention` late) tells nobody again.
    _, ack = alice.event("editMessage", {"chatId": cid, "messageId": mid,
                                         "text": f"<@{carol.uid}> again", "mentions": [carol.uid]})
    assert ack["success"], ack
    assert mention(alice, cid, mid)["success"]
    carol_tab.nothing(0.5)
    # Deleting the line forgets its records; its mentions cannot be sent any more.
    _, ack = alice.event("deleteMessage", {"chatId": cid, "messageId": mid})
    assert ack["success"], ack
    assert notices(chatr, cid) == []
    refused(mention(alice, cid, mid), 409)


def test_bad_input_is_400_and_changes_nothing(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    mid = said(alice, cid, f"<@{bob.uid}> x", mentions=[bob.uid])
    for data in [{}, {"chatId": cid}, {"messageId": mid}, {"chatId": cid, "messageId": 0},
                 {"chatId": cid, "messageId": -1}, {"chatId": cid, "messageId": "12a"},
                 {"chatId": cid, "messageId": 1.5}, {"chatId": cid, "messageId": "1" * 19},
                 {"chatId": 5, "messageId": mid}, {"chatId": "", "messageId": mid},
                 {"chatId": "c" * 301, "messageId": mid}, {"chatId": cid, "messageId": [mid]},
                 [cid, mid], "text"]:
        refused(alice.event("mention", data)[1], 400)
    refused(alice.event("mention", f"{cid} {mid}", "text")[1], 400)  # not JSON
    refused(mention(alice, cid, 10**15), 404)  # no such message in the chat
    bob.settle()
    bob.nothing(0.3)
    assert notices(chatr, cid) == []


# ---- unread counts without notices -------------------------------------------------------------

def count(chatr, body):
    r = rest(chatr, "POST", "/api/hubs/chat/:countMessages", params=API, body=json.dumps(body),
             ctype="application/json")
    return r


def test_unread_counts_leave_the_notices_out(chatr, people):
    cid, (alice, bob) = chat_with(people, "Alice", "Bob")
    r = count(chatr, {"groups": {cid: 0}, "objectsOnly": True})
    assert r.status_code == 200, r.text
    assert r.json()[cid]["count"] == 0, r.json()  # two notices ("... has joined the chat")
    assert count(chatr, {"groups": {cid: 0}}).json()[cid]["count"] == 2
    assert count(chatr, {"groups": {cid: 0}, "objectsOnly": False}).json()[cid]["count"] == 2
    for bad in ["yes", 1, {}]:
        assert count(chatr, {"groups": {cid: 0}, "objectsOnly": bad}).status_code == 400
    # Bob's position is his join notice; Carol's join notice after it does not count for him,
    # Alice's line does.
    carol = people("Carol")
    carol.join(cid)
    chat = bob.get("/api/chats").json()["chats"][cid]
    assert (chat["unread"], chat["mentions"]) == (0, 0), chat
    said(alice, cid, f"<@{bob.uid}> hi", mentions=[bob.uid])
    _, ack = carol.event("leaveChat", {"chatId": cid})  # "Carol has left the chat"
    assert ack["success"]
    chat = bob.get("/api/chats").json()["chats"][cid]
    assert (chat["unread"], chat["mentions"]) == (1, 1), chat
