"""Chatr Bot over real sockets (docs/protocols.md#the-bot): a chatCommand event from a member runs
the command and the bot answers into the chat through the hub's REST API (no envelope fromUserId,
data.bot true); bad arguments and unknown commands get a bot reply, non-members an error ack."""
import json
import re

import pytest

from chattools import (bot_line, decode, history_available, is_bot_line, is_server_event, server_event, 
                       topic_of, wait_for)

BOT = {"fromUserId": "chatr-bot", "fromUserName": "Chatr Bot", "bot": True}


def bot_says(person, cid, text):
    """Runs a command and returns the bot's reply as the caller sees it (checking the bot's
    identity fields and that the server, not a user, sent it)."""
    ack = person.command(cid, text)
    assert ack["success"], ack
    m = bot_line(person, cid)
    assert m.get("fromUserId") is None, m  # sent by the server, not by a user
    assert {k: m["data"][k] for k in BOT} == BOT
    return m["data"]


def test_help_lists_every_command_to_the_whole_chat(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    text = bot_says(alice, cid, "/help")["message"]
    for cmd in ("/help", "/who", "/me", "/roll", "/topic"):
        assert cmd in text
    assert bot_line(bob, cid)["data"]["message"] == text  # posted into the chat, not a whisper


def test_who_lists_members_and_who_is_online(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    carol = people("Carol")
    carol.join(cid)
    carol.close()  # a member who went offline
    while server_event(alice, "userOffline") != carol.uid:
        pass
    _, ack = bob.event("userEnterIdle", bob.uid, "text")
    assert ack["success"]
    text = bot_says(alice, cid, "/who")["message"]
    assert text.startswith("Members (3, 2 online): "), text
    assert "Alice (online)" in text and "Bob (idle)" in text and "Carol (offline)" in text


def test_me_posts_an_action_line_from_the_caller_not_from_data_fields(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    _, ack = alice.event("chatCommand", {"chatId": cid, "text": "/me waves at everyone",
                                         "actorId": bob.uid, "fromUserId": bob.uid})
    assert ack["success"], ack
    data = bot_line(bob, cid)["data"]
    assert data == {**BOT, "message": "waves at everyone", "action": True, "actorId": alice.uid,
                    "actorName": "Alice"}


def test_me_without_an_action_explains_usage(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    data = bot_says(alice, cid, "/me   ")
    assert "Usage: /me <action>" in data["message"] and "action" not in data


def test_roll_rolls_the_dice_asked_for(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    text = bot_says(alice, cid, "/roll 3d6")["message"]
    m = re.fullmatch(r"Alice rolled 3d6: (\d+) \+ (\d+) \+ (\d+) = (\d+)", text)
    assert m, text
    rolls = [int(x) for x in m.groups()[:3]]
    assert all(1 <= r <= 6 for r in rolls) and sum(rolls) == int(m.group(4))
    m = re.fullmatch(r"Alice rolled 1d6: (\d+)", bot_says(alice, cid, "/roll")["message"])
    assert m and 1 <= int(m.group(1)) <= 6
    m = re.fullmatch(r"Alice rolled 1d20: (\d+)", bot_says(alice, cid, "/ROLL d20")["message"])
    assert m and 1 <= int(m.group(1)) <= 20
    text = bot_says(alice, cid, "/roll 100d1000")["message"]
    assert text.startswith("Alice rolled 100d1000: ") and text.count(" + ") == 99


@pytest.mark.parametrize("spec,why", [
    ("0d6", "1 to 100 dice"), ("101d6", "1 to 100 dice"), ("1d1", "2 to 1000 sides"),
    ("2d1001", "2 to 1000 sides"), ("two dice", "NdM"), ("2d6+1", "NdM"), ("-1d6", "NdM"),
])
def test_roll_with_bad_dice_says_what_is_wrong(chatr, people, spec, why):
    alice = people("Alice")
    cid = alice.create_chat()
    text = bot_says(alice, cid, "/roll " + spec)["message"]
    assert text.startswith(f'Cannot roll "{spec}"') and why in text, text
    assert "rolled" not in text


def test_unknown_command_gets_a_reply_pointing_at_help(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    text = bot_says(alice, cid, "/dance wildly")["message"]
    assert "Unknown command /dance" in text and "/help" in text
    assert "/help" in bot_says(alice, cid, "/")["message"]
    long_name = "/" + "x" * 500
    text = bot_says(alice, cid, long_name)["message"]
    assert "/help" in text and len(text) < 200  # the name is quoted, cut short


def test_topic_by_the_owner_is_stored_announced_to_everyone_and_posted(chatr, people):
    alice, bob, carol = people("Alice"), people("Bob"), people("Carol")
    cid = alice.create_chat()
    bob.join(cid)
    assert alice.command(cid, "/topic  Release planning ")["success"]
    wait_for(alice, is_bot_line(cid), is_server_event("chatTopic"))
    line, event = wait_for(bob, is_bot_line(cid), is_server_event("chatTopic"))
    assert line["data"] == {**BOT, "message": "Alice set the topic: Release planning"}
    assert decode(event["data"]["data"]) == {"chatId": cid, "topic": "Release planning"}
    # A public chat: everyone, members or not, hears it so that their chat list stays current.
    assert decode(server_event(carol, "chatTopic")) == {"chatId": cid, "topic": "Release planning"}
    assert topic_of(chatr, cid) == "Release planning"
    assert carol.get("/api/chats").json()["chats"][cid]["topic"] == "Release planning"
    # Exactly 200 characters is allowed; one more is refused with a reason and changes nothing.
    assert bot_says(alice, cid, "/topic " + "é" * 200)["message"].endswith("é" * 200)
    assert "at most 200 characters" in bot_says(alice, cid, "/topic " + "a" * 201)["message"]
    assert topic_of(chatr, cid) == "é" * 200
    # No text clears it.
    server_event(bob, "chatTopic")
    assert bot_says(alice, cid, "/topic")["message"] == "Alice cleared the topic"
    assert decode(server_event(bob, "chatTopic")) == {"chatId": cid, "topic": ""}
    assert topic_of(chatr, cid) == "<null>"


def test_topic_by_a_member_who_is_not_the_owner_is_refused(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    bob.join(cid)
    bot_says(alice, cid, "/topic Rules")
    wait_for(bob, is_bot_line(cid), is_server_event("chatTopic"))
    text = bot_says(bob, cid, "/topic Bob rules")["message"]
    assert "Only the chat's owner can set the topic" in text
    assert topic_of(chatr, cid) == "Rules"
    bob.nothing(0.5)  # no chatTopic went out


def test_topic_of_a_private_chat_reaches_its_two_members_only(chatr, people):
    alice, bob, carol = people("Alice"), people("Bob"), people("Carol")
    _, ack = alice.event("createPrivateChat", {"initiatorUserId": alice.uid,
                                                    "targetUserId": bob.uid})
    assert ack["success"], ack
    pid = json.loads(server_event(bob, "joinPrivateChat"))["id"]
    assert alice.command(pid, "/topic just us")["success"]
    for who in (alice, bob):
        line, event = wait_for(who, is_bot_line(pid), is_server_event("chatTopic"))
        assert line["data"]["message"] == "Alice set the topic: just us"
        assert decode(event["data"]["data"]) == {"chatId": pid, "topic": "just us"}
    carol.nothing(1.0)
    # A non-member cannot even ask.
    ack = carol.command(pid, "/topic mine now")
    assert not ack["success"]
    assert topic_of(chatr, pid) == "just us"


def test_commands_from_a_non_member_or_for_an_unknown_chat_are_refused(chatr, people):
    alice, bob = people("Alice"), people("Bob")
    cid = alice.create_chat()
    alice.settle()
    ack = bob.command(cid, "/roll")
    assert not ack["success"] and "403" in ack["error"]["message"], ack
    alice.nothing(0.5)  # the bot said nothing
    ack = bob.command("no-such-chat", "/help")
    assert not ack["success"] and "404" in ack["error"]["message"], ack
    # A member who left is a non-member again.
    bob.join(cid)
    _, ack = bob.event("leaveChat", {"chatId": cid})
    assert ack["success"]
    assert not bob.command(cid, "/who")["success"]


@pytest.mark.parametrize("data", [
    {"text": "/help"},
    {"chatId": "", "text": "/help"},
    {"chatId": "x" * 301, "text": "/help"},
    {"chatId": 5, "text": "/help"},
    {"chatId": "CID", "text": "hello"},
    {"chatId": "CID", "text": ""},
    {"chatId": "CID"},
    {"chatId": "CID", "text": ["/help"]},
    {"chatId": "CID", "text": "/me " + "a" * 2000},
    {"chatId": "CID", "text": "/me bell\u0007"},
    {"chatId": "CID\n", "text": "/help"},
])
def test_malformed_commands_are_refused_without_a_bot_reply(chatr, people, data):
    alice = people("Alice")
    cid = alice.create_chat()
    data = {k: (v.replace("CID", cid) if isinstance(v, str) else v) for k, v in data.items()}
    alice.settle()
    _, ack = alice.event("chatCommand", data)
    assert not ack["success"], (data, ack)
    alice.nothing(0.3)


def test_command_text_up_to_the_limit_is_accepted(chatr, people):
    alice = people("Alice")
    cid = alice.create_chat()
    action = "b" * (2000 - len("/me "))
    assert bot_says(alice, cid, "/me " + action)["message"] == action


def test_bot_lines_are_stored_in_the_chat_history(chatr, people):
    if not history_available(chatr):
        pytest.skip("the hub's history extension has not landed yet")
    alice = people("Alice")
    cid = alice.create_chat()
    reply = bot_says(alice, cid, "/roll 2d6")
    page = alice.get(f"/api/chats/{cid}/messages")
    assert page.status_code == 200, page.text
    stored = [m for m in page.json()["value"] if isinstance(m.get("data"), dict) and m["data"].get("bot")]
    assert stored and stored[0]["data"] == reply
    assert stored[0].get("fromUserId") is None and isinstance(stored[0]["id"], int) and stored[0]["time"]
