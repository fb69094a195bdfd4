"""editMessage and deleteMessage (docs/chat-features.md#edit-and-delete): user events to
eventHandler that change a stored chat line through the hub's history extension. Only the
line's author edits it; the author or the chat's owner deletes it; members only; the members hear
it live as server chatEvents (messageEdited, messageDeleted) that are never stored; a deletion
erases the text from pubsub.messages."""
import json


from chattools import decode, is_server_event, wait_for


def said(person, cid, text, **extra):
    """person says text in chat cid (a chat line as the web app sends it, plus extra data);
    returns the line's stored id, read from the person's own copy."""
    before, ack = person.ws.request({"type": "sendToGroup", "group": cid, "dataType": "json",
                                "ackId": abs(hash((cid, text))) % 10**9,
                                "data": {"message": text, "fromUserId": person.uid,
                                         "fromUserName": person.name, **extra}})
    assert ack["success"], ack
    person.pending.extend(before)
    line = wait_for(person, lambda m: m.get("group") == cid and isinstance(m.get("data"), dict)
                    and m["data"].get("message") == text)[0]
    return line["id"]


def edit(person, cid, mid, text, **extra):
    return person.event("editMessage", {"chatId": cid, "messageId": mid, "text": text, **extra})[1]


def delete(person, cid, mid):
    return person.event("deleteMessage", {"chatId": cid, "messageId": mid})[1]


def live(person, kind):
    m = wait_for(person, is_server_event(kind))[0]
    assert set(m) == {"type", "from", "dataType", "data"}  # a server message, no group
    return decode(m["data"]["data"])


def row(chatr, mid):
    return chatr.sql("SELECT coalesce(data, '<null>'), edited_at IS NOT NULL, "
                     "deleted_at IS NOT NULL FROM pubsub.messages WHERE id = :'p1'", mid)[0]


def history(person, cid):
    r = person.get(f"/api/chats/{cid}/messages")
    assert r.status_code == 200, r.text
    return r.json()["value"]


def refused(ack, status):
    assert not ack["success"] and str(status) in ack["error"]["message"], ack


def test_author_edits_and_members_see_it_live(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat("Edits")
    bob.join(cid)
    mid = said(alice, cid, "helo wrold", mentions=[bob.uid])
    stored_before = int(chatr.sql("SELECT count(*) FROM pubsub.messages WHERE group_name = :'p1'",
                                  cid)[0][0])
    bob.settle()
    ack = edit(alice, cid, mid, "hello world", mentions=[bob.uid, bob.uid])
    assert ack["success"], ack
    ev = live(bob, "messageEdited")
    assert ev["chatId"] == cid and ev["messageId"] == mid and ev["text"] == "hello world"
    assert ev["mentions"] == [bob.uid] and ev["editedTime"]
    data = json.loads(row(chatr, mid)[0])
    assert data == {"message": "hello world", "fromUserId": alice.uid, "fromUserName": "Alice",
                    "mentions": [bob.uid]}
    line = [m for m in history(bob, cid) if m["id"] == mid][0]
    assert line["data"]["message"] == "hello world" and line["editedTime"] == ev["editedTime"]
    # the live event is not stored
    assert int(chatr.sql("SELECT count(*) FROM pubsub.messages WHERE group_name = :'p1'",
                         cid)[0][0]) == stored_before
    # an edit without mentions drops the old ones
    assert edit(alice, cid, mid, "no names now")["success"]
    assert "mentions" not in json.loads(row(chatr, mid)[0])


def test_edit_by_someone_else_is_refused(chatr, people):
    alice, bob, carol = people("Alice"), people("Bob"), people("Carol")
    cid = alice.create_chat("Mine")
    bob.join(cid)
    mid = said(alice, cid, "only I may change this")
    refused(edit(bob, cid, mid, "bob was here"), 403)        # a member, not the author
    refused(edit(carol, cid, mid, "carol was here"), 403)    # not a member
    refused(delete(carol, cid, mid), 403)
    assert json.loads(row(chatr, mid)[0])["message"] == "only I may change this"
    # the owner may delete any line but edit only their own
    bob_line = said(bob, cid, "bob's own words")
    refused(edit(alice, cid, bob_line, "owner rewrites"), 403)
    refused(delete(bob, cid, mid), 403)  # a member may not delete the owner's line
    assert row(chatr, mid)[2] == "f"


def test_delete_erases_the_text_and_tells_members(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat("Deletes")
    bob.join(cid)
    mid = said(bob, cid, "my secret plan xyzzy-42")
    alice.settle()
    assert delete(bob, cid, mid)["success"]
    ev = live(alice, "messageDeleted")
    assert ev["chatId"] == cid and ev["messageId"] == mid and ev["deletedTime"]
    assert row(chatr, mid) == ["<null>", "f", "t"]
    assert chatr.sql("SELECT count(*) FROM pubsub.messages WHERE data LIKE '%xyzzy-42%'") == [["0"]]
    line = [m for m in history(alice, cid) if m["id"] == mid][0]
    assert line["data"] is None and line["deletedTime"] == ev["deletedTime"]
    assert line["fromUserId"] == bob.uid
    # deleted: an edit is a conflict, a second delete changes nothing and tells nobody
    refused(edit(bob, cid, mid, "back again"), 409)
    alice.settle()
    assert delete(bob, cid, mid)["success"]
    alice.nothing()


def test_owner_deletes_anyones_line(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat("Moderated")
    bob.join(cid)
    mid = said(bob, cid, "something rude")
    assert delete(alice, cid, mid)["success"]
    assert live(bob, "messageDeleted")["messageId"] == mid
    assert row(chatr, mid) == ["<null>", "f", "t"]


def test_private_chat_lines_only_for_its_two(chatr, people):
    alice, bob, eve = people("Alice"), people("Bob"), people("Eve")
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": bob.uid})
    assert ack["success"]
    cid = "private_" + "_".join(sorted([alice.uid, bob.uid]))
    mid = said(alice, cid, "between us")
    refused(edit(eve, cid, mid, "eve"), 403)
    refused(delete(eve, cid, mid), 403)
    refused(delete(bob, cid, mid), 403)  # private chats' owner is the initiator
    assert edit(alice, cid, mid, "still between us")["success"]


def test_bad_input_is_refused_and_changes_nothing(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat("Bad input")
    mid = said(alice, cid, "untouched")
    other = alice.create_chat("Other")
    cases = [
        ({"chatId": cid, "text": "x"}, 400),                            # no messageId
        ({"chatId": cid, "messageId": 0, "text": "x"}, 400),
        ({"chatId": cid, "messageId": -3, "text": "x"}, 400),
        ({"chatId": cid, "messageId": "12a", "text": "x"}, 400),
        ({"chatId": cid, "messageId": 1.5, "text": "x"}, 400),
        ({"chatId": cid, "messageId": "9" * 19, "text": "x"}, 400),
        ({"messageId": mid, "text": "x"}, 400),                          # no chatId
        ({"chatId": "c" * 301, "messageId": mid, "text": "x"}, 400),
        ({"chatId": cid, "messageId": mid}, 400),                        # no text
        ({"chatId": cid, "messageId": mid, "text": ""}, 400),
        ({"chatId": cid, "messageId": mid, "text": " \n\t "}, 400),
        ({"chatId": cid, "messageId": mid, "text": "x" * 4001}, 400),
        ({"chatId": cid, "messageId": mid, "text": "bell\u0007"}, 400),
        ({"chatId": cid, "messageId": mid, "text": "x", "mentions": "u"}, 400),
        ({"chatId": cid, "messageId": mid, "text": "x", "mentions": ["u%d" % i for i in range(21)]}, 400),
        ({"chatId": cid, "messageId": mid, "text": "x", "mentions": [""]}, 400),
        ({"chatId": cid, "messageId": mid, "text": "x", "mentions": [7]}, 400),
        ({"chatId": "no-such-chat", "messageId": mid, "text": "x"}, 404),
        ({"chatId": cid, "messageId": 10**17, "text": "x"}, 404),
        ({"chatId": other, "messageId": mid, "text": "x"}, 404),          # a line of another chat
    ]
    for data, status in cases:
        _, ack = alice.event("editMessage", data)
        refused(ack, status)
    _, ack = alice.event("editMessage", "not json", "text")
    refused(ack, 400)
    for data, status in [({"chatId": cid, "messageId": "x"}, 400), ({"chatId": cid}, 400),
                         ({"chatId": other, "messageId": mid}, 404)]:
        refused(alice.event("deleteMessage", data)[1], status)
    assert row(chatr, mid) == [json.dumps({"message": "untouched", "fromUserId": alice.uid,
                                           "fromUserName": "Alice"}, separators=(",", ":")),
                               "f", "f"]
    # the longest line is fine, with new lines; a numeric string id too
    assert edit(alice, cid, str(mid), "y" * 3990 + "\nline 2")["success"]


def test_notices_are_not_chat_lines(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat("Notices")
    bob.join(cid)  # "Bob has joined the chat": a server notice without an author
    notice = chatr.sql("SELECT id FROM pubsub.messages WHERE group_name = :'p1' AND from_user IS NULL",
                       cid)[0][0]
    refused(edit(alice, cid, int(notice), "rewritten"), 403)
    assert delete(alice, cid, int(notice))["success"]  # the owner clears it
