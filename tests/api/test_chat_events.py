"""The Chatr API over real sockets: the hub calls /api/eventHandler for every event, which
changes chatr.* and answers through the hub's REST API (docs/protocols.md#chatrs-own-contract).
Users are recorded as getToken records them; sockets use tokens without roles, as getToken
issues them."""
import json
import uuid

import pytest

from hubtools import Client


def user(chatr, name):
    uid = f"{name.lower()}-{uuid.uuid4().hex[:8]}"
    chatr.sql(f"INSERT INTO chatr.users (id, name, provider) VALUES ('{uid}', '{name}', 'guest')")
    return uid


def connect(chatr, uid):
    return Client(chatr, user=uid)


def chat_events(client, kind, timeout=5):
    """Reads frames until a server chatEvent of the kind arrives; returns its data."""
    while True:
        m = client.recv(timeout)
        if m.get("type") == "message" and m.get("from") == "server" and \
                isinstance(m.get("data"), dict) and m["data"].get("chatEvent") == kind:
            return m["data"]["data"]


def event(client, name, data, data_type="json", ack=None):
    ack = ack or (uuid.uuid4().int & 0xFFFFFF)
    return client.request({"type": "event", "event": name, "dataType": data_type, "data": data,
                           "ackId": ack})


def until_group_message(client, group, timeout=5):
    while True:
        m = client.recv(timeout)
        if m.get("type") == "message" and m.get("from") == "group" and m.get("group") == group:
            return m


@pytest.fixture()
def alice(chatr):
    uid = user(chatr, "Alice")
    c = connect(chatr, uid)
    c.uid = uid
    online = json.loads(chat_events(c, "userOnline"))
    assert online["userId"] == uid and online["userName"] == "Alice"
    yield c
    c.close()


@pytest.fixture()
def bob(chatr):
    uid = user(chatr, "Bob")
    c = connect(chatr, uid)
    c.uid = uid
    chat_events(c, "userOnline")
    yield c
    c.close()


def create_chat(client, name="Lobby"):
    cid = str(uuid.uuid4())
    _, ack = event(client, "createChat", {"name": name, "id": cid})
    assert ack["success"], ack
    return cid


def join(client, cid):
    return event(client, "joinChat", cid, "text")


def test_users_lists_online_users_and_offline_after_last_connection(chatr):
    uid = user(chatr, "Tabs")
    tab1 = connect(chatr, uid)
    chat_events(tab1, "userOnline")
    tab2 = connect(chatr, uid)
    chat_events(tab2, "userOnline")  # the second tab still hears itself come online
    assert uid in chatr.get_signed_in("/api/users").json()["users"]
    watcher_id = user(chatr, "Watcher")
    watcher = connect(chatr, watcher_id)
    chat_events(watcher, "userOnline")
    tab1.close()
    watcher.nothing(1.0)  # one tab left: still online, no userOffline
    assert uid in chatr.get_signed_in("/api/users").json()["users"]
    tab2.close()
    assert chat_events(watcher, "userOffline") == uid
    assert uid not in chatr.get_signed_in("/api/users").json()["users"]
    watcher.close()


def test_create_join_message_and_leave(chatr, alice, bob):
    cid = create_chat(alice, "Lobby")
    created = json.loads(chat_events(bob, "chatCreated"))
    assert created == {"id": cid, "name": "Lobby", "members": {}, "owner": alice.uid}
    assert join(alice, cid)[1]["success"]
    assert join(bob, cid)[1]["success"]
    notice = until_group_message(alice, cid)
    assert notice["data"] == "Bob has joined the chat"
    _, ack = alice.request({"type": "sendToGroup", "group": cid, "dataType": "json", "ackId": 77,
                            "data": {"message": "hi", "fromUserId": "forged", "fromUserName": "X"}})
    assert ack["success"], ack
    got = until_group_message(bob, cid)
    assert got["data"]["message"] == "hi" and got["fromUserId"] == alice.uid
    chats = chatr.get_signed_in("/api/chats").json()["chats"]
    assert set(chats[cid]["members"]) == {alice.uid, bob.uid}
    _, ack = event(bob, "leaveChat", {"chatId": cid, "userName": "Bob"})
    assert ack["success"]
    assert until_group_message(alice, cid)["data"] == "Bob has left the chat"
    assert set(chatr.get_signed_in("/api/chats").json()["chats"][cid]["members"]) == {alice.uid}


def test_sending_needs_joining_first(chatr, alice, bob):
    cid = create_chat(alice)
    _, ack = bob.request({"type": "sendToGroup", "group": cid, "dataType": "text", "data": "x",
                          "ackId": 5})
    assert not ack["success"] and ack["error"]["name"] == "Forbidden"


def test_join_unknown_chat_is_an_error_ack(chatr, alice):
    _, ack = join(alice, "no-such-chat")
    assert not ack["success"]


def test_bad_chat_input_is_refused_and_nothing_stored(chatr, alice):
    before = chatr.sql("SELECT count(*) FROM chatr.chats")
    for data in ({"name": "", "id": str(uuid.uuid4())}, {"name": "x" * 101, "id": str(uuid.uuid4())},
                 {"name": "ok"}, {"name": "ok", "id": "bad id!"}, {"name": "ok", "id": "private_a_b"},
                 {"name": "bad\u0007name", "id": str(uuid.uuid4())}):
        _, ack = event(alice, "createChat", data)
        assert not ack["success"], data
    assert chatr.sql("SELECT count(*) FROM chatr.chats") == before


def test_private_chat_between_two_that_a_third_cannot_join(chatr, alice, bob):
    carol_id = user(chatr, "Carol")
    carol = connect(chatr, carol_id)
    chat_events(carol, "userOnline")
    before, ack = event(alice, "createPrivateChat", {"initiatorUserId": alice.uid, "targetUserId": bob.uid})
    assert ack["success"], ack
    # The handler tells the initiator before it answers, so that arrives before the ack.
    mine = [json.loads(m["data"]["data"]) for m in before
            if m.get("from") == "server" and m["data"].get("chatEvent") == "joinPrivateChat"][0]
    theirs = json.loads(chat_events(bob, "joinPrivateChat"))
    lo, hi = sorted([alice.uid, bob.uid])
    assert mine["id"] == theirs["id"] == f"private_{lo}_{hi}"
    assert mine["grabFocus"] is True and theirs["grabFocus"] is False
    pid = mine["id"]
    # Both may talk without a joinChat of their own: the server pulled them in.
    _, ack = bob.request({"type": "sendToGroup", "group": pid, "dataType": "text", "data": "psst",
                          "ackId": 9})
    assert ack["success"], ack
    assert until_group_message(alice, pid)["data"] == "psst"
    # Carol can neither join nor send nor see it.
    assert not join(carol, pid)[1]["success"]
    _, ack = carol.request({"type": "sendToGroup", "group": pid, "dataType": "text", "data": "hi",
                            "ackId": 10})
    assert not ack["success"]
    carol.close()


def test_private_chat_keeps_its_name_whoever_opens_it_again(chatr, alice, bob):
    """The pair's chat is named once, when it is created; the other member opening it again
    (clicking the first one's name) gets that same name, so no tab is renamed under anyone."""
    def opened(who, other):
        before, ack = event(who, "createPrivateChat", {"initiatorUserId": who.uid, "targetUserId": other.uid})
        assert ack["success"], ack
        return [json.loads(m["data"]["data"]) for m in before
                if m.get("from") == "server" and m["data"].get("chatEvent") == "joinPrivateChat"][0]

    first = opened(alice, bob)
    chat_events(bob, "joinPrivateChat")
    again = opened(bob, alice)
    assert again["id"] == first["id"]
    assert again["name"] == first["name"], (first, again)
    assert json.loads(chat_events(alice, "joinPrivateChat"))["name"] == first["name"]


def test_private_chat_must_be_started_as_yourself(chatr, alice, bob):
    _, ack = event(alice, "createPrivateChat", {"initiatorUserId": bob.uid, "targetUserId": alice.uid})
    assert not ack["success"]


def test_only_the_owner_deletes_a_chat(chatr, alice, bob):
    cid = create_chat(alice)
    assert join(bob, cid)[1]["success"]
    _, ack = event(bob, "deleteChat", cid, "text")
    assert not ack["success"]
    assert chatr.sql(f"SELECT count(*) FROM chatr.chats WHERE id = '{cid}'") == [["1"]]
    _, ack = event(alice, "deleteChat", cid, "text")
    assert ack["success"]
    assert chat_events(bob, "chatDeleted") == cid
    assert chatr.sql(f"SELECT count(*) FROM chatr.chats WHERE id = '{cid}'") == [["0"]]
    # Bob is out of the group: sending is refused now.
    _, ack = bob.request({"type": "sendToGroup", "group": cid, "dataType": "text", "data": "x",
                          "ackId": 11})
    assert not ack["success"]


def test_idle_and_back_for_the_caller_only(chatr, alice, bob):
    _, ack = event(alice, "userEnterIdle", alice.uid, "text")
    assert ack["success"]
    assert chat_events(bob, "userIsIdle") == alice.uid
    assert chatr.get_signed_in("/api/users").json()["users"][alice.uid]["idle"] is True
    _, ack = event(alice, "userEnterIdle", bob.uid, "text")
    assert not ack["success"]
    _, ack = event(alice, "userExitIdle", alice.uid, "text")
    assert ack["success"]
    assert chat_events(bob, "userNotIdle") == alice.uid


def test_messages_reach_members_only(chatr, alice, bob):
    cid = create_chat(alice)
    chat_events(bob, "chatCreated")
    assert join(alice, cid)[1]["success"]
    _, ack = alice.request({"type": "sendToGroup", "group": cid, "dataType": "text", "data": "m",
                            "ackId": 12})
    assert ack["success"]
    bob.nothing(1.0)


# The handler's own checks (signature, abuse protection, who may call it) are in
# test_security_webhook.py: only the hub reaches it, through nginx's internal socket.


def test_get_token_needs_sign_in(chatr):
    r = chatr.get("/api/getToken")
    assert r.status_code == 401


def test_signed_in_user_gets_a_token_for_themselves_and_chats_with_it(chatr, signed_in):
    import websocket
    s = signed_in("Grace")
    r = s.get(chatr.url + "/api/getToken", params={"userId": s.user_id}, timeout=10)
    assert r.status_code == 200, r.text
    tok = r.json()
    assert set(tok) == {"token", "baseUrl", "url"}
    assert tok["baseUrl"] == chatr.url.replace("http", "ws", 1) + "/client/hubs/chat"
    assert tok["url"] == tok["baseUrl"] + "?access_token=" + tok["token"]
    # Someone else's id is refused: tokens are only for the signed-in user.
    r = s.get(chatr.url + "/api/getToken", params={"userId": "someone-else"}, timeout=10)
    assert r.status_code == 403
    # The token opens a socket as that user, and the user comes online under the session's name.
    ws = websocket.create_connection(tok["url"], subprotocols=["json.webpubsub.azure.v1"], timeout=10)
    try:
        first = json.loads(ws.recv())
        assert first["event"] == "connected" and first["userId"] == s.user_id
        while True:
            m = json.loads(ws.recv())
            if m.get("type") == "message" and m["data"].get("chatEvent") == "userOnline":
                online = json.loads(m["data"]["data"])
                break
        assert online == {"userId": s.user_id, "userName": "Grace", "userProvider": "guest", "idle": False}
        users = s.get(chatr.url + "/api/users", timeout=10).json()["users"]
        assert users[s.user_id]["userName"] == "Grace"
        # No global roles: joining a group directly is refused (chats are joined via events).
        ws.send(json.dumps({"type": "joinGroup", "group": "anything", "ackId": 1}))
        while True:
            m = json.loads(ws.recv())
            if m.get("type") == "ack":
                break
        assert m["success"] is False and m["error"]["name"] == "Forbidden"
    finally:
        ws.close()
