"""Moderation through the real hub: hub `chat` masks listed words (gateway/hubs.json, the shipped
gateway/moderation/words.txt), hub `testhub` rejects them. Every group message passes the
filter: client sends, REST sends, stored or not (persist:false is no way around it). The matching
rules themselves are unit-tested in tests/unit/test_moderation.c."""
import json
import uuid

from hubtools import Client, rest

ALL = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


def pair(chatr, hub):
    g = "mod-" + uuid.uuid4().hex[:8]
    a = Client(chatr, hub=hub, user="m-a-" + g, roles=ALL)
    b = Client(chatr, hub=hub, user="m-b-" + g, roles=ALL)
    for c in (a, b):
        assert c.request({"type": "joinGroup", "group": g, "ackId": 1})[1]["success"]
    return g, a, b


def history(chatr, g):
    r = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages")
    assert r.status_code == 200
    return [m["data"] for m in r.json()["value"]]


def test_mask_is_delivered_and_stored_masked(chatr):
    g, a, b = pair(chatr, "chat")
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "json",
                        "data": {"message": "you BASTARD, this is crap", "fromUserName": "x"}})
    assert ack["success"]
    got = b.recv()
    assert got["data"]["message"] == "you *******, this is ****"
    assert history(chatr, g) == [got["data"]]
    a.close()
    b.close()


def test_mask_sees_through_evasions(chatr):
    g, a, b = pair(chatr, "chat")
    for i, (text, masked) in enumerate([("b4st4rd!", "*******!"), ("baaastaaard", "***********"),
                                        ("(CrAaaP)", "(******)")]):
        _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 10 + i, "dataType": "text",
                            "data": text})
        assert ack["success"]
        assert b.recv()["data"] == masked, text
    a.close()
    b.close()


def test_innocent_words_pass_untouched(chatr):
    g, a, b = pair(chatr, "chat")
    text = "A classic class assessment: the passage in Scunthorpe, a cocktail, scrappy grass."
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "text",
                        "data": text})
    assert ack["success"]
    assert b.recv()["data"] == text
    a.close()
    b.close()


def test_persist_false_is_moderated_too(chatr):
    g, a, b = pair(chatr, "chat")
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "json",
                        "persist": False, "data": {"typing": "crap"}})
    assert ack["success"]
    assert b.recv()["data"] == {"typing": "****"}
    assert history(chatr, g) == []
    a.close()
    b.close()


def test_rest_group_send_is_moderated(chatr):
    g, a, b = pair(chatr, "chat")
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send",
             body=json.dumps({"message": "crap", "n": 1}), ctype="application/json")
    assert r.status_code == 202
    for c in (a, b):
        assert c.recv()["data"] == {"message": "****", "n": 1}
    a.close()
    b.close()


def test_reject_is_a_forbidden_ack_and_nothing_is_delivered(chatr):
    g, a, b = pair(chatr, "testhub")
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "text",
                        "data": "what a b4stard"})
    assert ack["success"] is False and ack["error"]["name"] == "Forbidden"
    assert "blocked word" in ack["error"]["message"]
    b.nothing(0.7)
    # the same ackId is not remembered: a clean retry goes through
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "text",
                        "data": "what a day"})
    assert ack["success"]
    assert b.recv()["data"] == "what a day"
    r = rest(chatr, "POST", f"/api/hubs/testhub/groups/{g}/:send", body="crap",
             ctype="text/plain")
    assert r.status_code == 403
    b.nothing(0.5)
    a.close()
    b.close()


def test_binary_is_not_filtered(chatr):
    g, a, b = pair(chatr, "chat")
    import base64
    data = base64.b64encode(b"crap").decode()
    _, ack = a.request({"type": "sendToGroup", "group": g, "ackId": 2, "dataType": "binary",
                        "data": data})
    assert ack["success"]
    assert b.recv()["data"] == data
    a.close()
    b.close()
