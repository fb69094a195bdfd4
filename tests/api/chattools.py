"""Helpers for the chat-level tests (bot, history): a person is a signed-in guest session (for
/api/*) with the hub socket getToken would give them, as the web app has both."""
import collections
import json
import time
import uuid

from conftest import sign_in_guest
from hubtools import Client, rest


class Person:
    def __init__(self, chatr, name):
        self.chatr = chatr
        self.name = name
        self.session = sign_in_guest(chatr, name)
        self.uid = self.session.user_id
        r = self.session.get(chatr.url + "/api/getToken", timeout=10)  # records the user
        assert r.status_code == 200, r.text
        self.ws = Client(chatr, user=self.uid)
        self.pending = collections.deque()  # frames read while waiting for an ack
        server_event(self, "userOnline")

    def recv(self, timeout=10):
        return self.pending.popleft() if self.pending else self.ws.recv(timeout)

    def settle(self, wait=0.3):
        """Forgets every frame received so far and any arriving within wait seconds."""
        self.pending.clear()
        while True:
            try:
                self.ws.recv(wait)
            except Exception:
                return

    def nothing(self, wait=0.5):
        """Asserts that no frame arrives (or already arrived) within wait seconds."""
        assert not self.pending, list(self.pending)
        self.ws.nothing(wait)

    def get(self, path, **params):
        return self.session.get(self.chatr.url + path, params=params, timeout=10,
                                allow_redirects=False)

    def event(self, name, data, data_type="json"):
        """Sends a user event; returns (frames before the ack, the ack). The frames stay readable
        through recv too (the hub delivers what the handler sent before the ack)."""
        before, ack = self.ws.request({"type": "event", "event": name, "dataType": data_type,
                                       "data": data, "ackId": uuid.uuid4().int & 0xFFFFFF})
        self.pending.extend(before)
        return before, ack

    def command(self, chat_id, text):
        """A slash command as the web app sends it; returns the ack."""
        return self.event("chatCommand", {"chatId": chat_id, "text": text})[1]

    def say(self, chat_id, text):
        before, ack = self.ws.request({"type": "sendToGroup", "group": chat_id, "dataType": "json",
                                  "ackId": uuid.uuid4().int & 0xFFFFFF,
                                  "data": {"message": text, "fromUserId": self.uid,
                                           "fromUserName": self.name}})
        self.pending.extend(before)
        assert ack["success"], ack
        return ack

    def create_chat(self, name="Lobby"):
        cid = str(uuid.uuid4())
        _, ack = self.event("createChat", {"name": name, "id": cid})
        assert ack["success"], ack
        self.join(cid)
        return cid

    def join(self, cid):
        _, ack = self.event("joinChat", cid, "text")
        assert ack["success"], ack

    def close(self):
        self.ws.close()


def history_available(chatr):
    """Whether the hub serves the history REST extension (GET .../groups/{g}/messages)."""
    r = rest(chatr, "GET", "/api/hubs/chat/groups/probe/messages", params={"api-version": "2024-12-01"})
    return r.status_code == 200


def close_all(chatr, people, timeout=10):
    """Closes the people's sockets and waits until they are offline, so that their userOffline
    broadcasts are out before the next test opens sockets."""
    for p in people:
        p.close()
    deadline = time.time() + timeout
    while people and time.time() < deadline:
        online = people[0].get("/api/users").json()["users"]
        if not any(p.uid in online for p in people):
            return
        time.sleep(0.1)


def server_event(client, kind, timeout=5):
    """Reads frames (from a Person or a Client) until a server chatEvent of the kind arrives; returns its data."""
    while True:
        m = client.recv(timeout)
        if m.get("type") == "message" and m.get("from") == "server" and \
                isinstance(m.get("data"), dict) and m["data"].get("chatEvent") == kind:
            return m["data"]["data"]


def bot_line(client, chat_id, timeout=5):
    """Reads frames until a bot message in the chat arrives; returns its envelope."""
    while True:
        m = client.recv(timeout)
        if m.get("type") == "message" and m.get("from") == "group" and \
                m.get("group") == chat_id and isinstance(m.get("data"), dict) and m["data"].get("bot"):
            return m


def group_message(client, chat_id, timeout=5):
    while True:
        m = client.recv(timeout)
        if m.get("type") == "message" and m.get("from") == "group" and m.get("group") == chat_id:
            return m


def topic_of(chatr, cid):
    return chatr.sql("SELECT coalesce(topic, '<null>') FROM chatr.chats WHERE id = :'p1'", cid)[0][0]


def decode(event_data):
    return json.loads(event_data) if isinstance(event_data, str) else event_data


def is_bot_line(chat_id):
    return lambda m: m.get("type") == "message" and m.get("from") == "group" and \
        m.get("group") == chat_id and isinstance(m.get("data"), dict) and bool(m["data"].get("bot"))


def is_server_event(kind):
    return lambda m: m.get("type") == "message" and m.get("from") == "server" and \
        isinstance(m.get("data"), dict) and m["data"].get("chatEvent") == kind


def wait_for(client, *preds, timeout=5):
    """Reads frames until each predicate has matched one (in any order, since frames from
    different hub channels may interleave); returns the matches in the predicates' order."""
    found = [None] * len(preds)
    while None in found:
        m = client.recv(timeout)
        for i, p in enumerate(preds):
            if found[i] is None and p(m):
                found[i] = m
                break
    return found
