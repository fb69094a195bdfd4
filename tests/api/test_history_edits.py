"""The hub's history extension for edits, deletions, search and counts (docs/protocols.md#history,
schema/012_history_edits.sql), through the real REST API with bearer tokens: GET/PUT/DELETE one
stored message, :searchMessages, :countMessages, ?persist=false and ?from=server on group sends."""
import json
import re
import uuid

import requests

from hubtools import Client, rest, rest_token

ALL = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JSON = "application/json"


def group(prefix="edit"):
    return f"{prefix}-" + uuid.uuid4().hex[:8]


def joined(chatr, g, user, hub="chat"):
    c = Client(chatr, hub=hub, user=user, roles=ALL)
    assert c.request({"type": "joinGroup", "group": g, "ackId": 1})[1]["success"]
    return c


def say(c, g, text, ack, **extra):
    """Sends a chat line from c to g; returns its stored id (from c's own copy of it)."""
    before, a = c.request({"type": "sendToGroup", "group": g, "ackId": ack, "dataType": "json",
                           "data": {"message": text, "fromUserId": c.user, **extra}})
    assert a["success"], a
    def own(m):
        return m.get("group") == g and isinstance(m.get("data"), dict) and \
            m["data"].get("message") == text and m.get("fromUserId") == c.user
    for m in before:
        if own(m):
            return m["id"]
    while True:
        m = c.recv()
        if own(m):
            return m["id"]


def post_json(chatr, path, body, hub="chat"):
    return rest(chatr, "POST", f"/api/hubs/{hub}/{path}", body=json.dumps(body), ctype=JSON)


def message_url(g, mid, hub="chat"):
    return f"/api/hubs/{hub}/groups/{g}/messages/{mid}"


def stored(chatr, g):
    """Every stored row of group g in pubsub.messages, oldest first."""
    return chatr.sql("SELECT id, coalesce(data, '<null>'), edited_at IS NOT NULL, "
                     "deleted_at IS NOT NULL FROM pubsub.messages WHERE group_name = :'p1' "
                     "ORDER BY id", g)


def search(chatr, q, groups, **extra):
    r = post_json(chatr, ":searchMessages", {"q": q, "groups": groups, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def test_get_edit_delete_one_message(chatr):
    g = group()
    a, b = joined(chatr, g, "e-a"), joined(chatr, g, "e-b")
    mid = say(a, g, "first words", 2)
    sent = b.recv()
    assert sent["id"] == mid
    r = rest(chatr, "GET", message_url(g, mid))
    assert r.status_code == 200 and r.json() == sent  # the stored envelope, as delivered

    r = rest(chatr, "PUT", message_url(g, mid), body=json.dumps(
        {"message": "second words", "fromUserId": "e-a"}), ctype=JSON)
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["data"] == {"message": "second words", "fromUserId": "e-a"}
    assert edited["id"] == mid and edited["time"] == sent["time"] and edited["fromUserId"] == "e-a"
    assert TIME.match(edited["editedTime"]) and "deletedTime" not in edited
    page = rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages").json()
    assert page["value"] == [edited]

    r = rest(chatr, "DELETE", message_url(g, mid))
    assert r.status_code == 204
    gone = rest(chatr, "GET", message_url(g, mid)).json()
    assert gone["data"] is None and TIME.match(gone["deletedTime"])
    assert gone["id"] == mid and gone["fromUserId"] == "e-a" and gone["time"] == sent["time"]
    assert rest(chatr, "GET", f"/api/hubs/chat/groups/{g}/messages").json()["value"] == [gone]
    # the text is erased from storage, not hidden
    assert stored(chatr, g) == [[str(mid), "<null>", "t", "t"]]
    # idempotent; an edit of a deleted message is a conflict
    assert rest(chatr, "DELETE", message_url(g, mid)).status_code == 204
    r = rest(chatr, "PUT", message_url(g, mid), body='{"message":"back"}', ctype=JSON)
    assert r.status_code == 409
    assert stored(chatr, g) == [[str(mid), "<null>", "t", "t"]]
    a.close()
    b.close()


def test_unknown_ids_other_groups_and_bad_ids(chatr):
    g, other = group(), group()
    a = joined(chatr, g, "e-ids")
    mid = say(a, g, "mine", 2)
    for method, body in (("GET", None), ("PUT", '{"message":"x"}'), ("DELETE", None)):
        # an id of another group is not found in this one
        r = rest(chatr, method, message_url(other, mid), body=body, ctype=JSON)
        assert r.status_code == 404, (method, r.text)
        r = rest(chatr, method, message_url(g, 10**17), body=body, ctype=JSON)
        assert r.status_code == 404, (method, r.text)
        for bad in ("0", "-1", "abc", "1e3", "1234567890123456789", "%20"):
            r = rest(chatr, method, message_url(g, bad), body=body, ctype=JSON)
            assert r.status_code == 400, (method, bad, r.text)
        r = rest(chatr, method, message_url(g, mid), body=body, ctype=JSON, token=False)
        assert r.status_code == 401
    # a token for another path (another message) is refused: aud is compared by path
    url = chatr.url + message_url(g, mid)
    tok = rest_token(chatr, chatr.url + message_url(g, mid + 1))
    assert requests.delete(url, headers={"Authorization": "Bearer " + tok}, timeout=10).status_code == 401
    assert stored(chatr, g)[0][1] != "<null>"
    a.close()


def test_edit_body_checks(chatr):
    g = group()
    a = joined(chatr, g, "e-body")
    mid = say(a, g, "original", 2)
    url = message_url(g, mid)
    assert rest(chatr, "PUT", url, body="{not json", ctype=JSON).status_code == 400
    assert rest(chatr, "PUT", url, body="x", ctype="image/png").status_code == 415
    big = json.dumps({"message": "x" * (1024 * 1024 + 10)})
    assert rest(chatr, "PUT", url, body=big, ctype=JSON).status_code == 413
    assert json.loads(stored(chatr, g)[0][1])["message"] == "original"  # nothing changed
    # text data becomes dataType text
    r = rest(chatr, "PUT", url, body="plain now", ctype="text/plain")
    assert r.status_code == 200 and r.json()["dataType"] == "text" and r.json()["data"] == "plain now"
    a.close()


def test_edit_passes_the_hubs_word_filter(chatr):
    g = group()
    a = joined(chatr, g, "e-mod")
    mid = say(a, g, "clean", 2)
    r = rest(chatr, "PUT", message_url(g, mid), body=json.dumps({"message": "you bastard"}),
             ctype=JSON)
    assert r.status_code == 200 and r.json()["data"]["message"] == "you *******"
    assert "bastard" not in stored(chatr, g)[0][1]
    a.close()


def test_search_finds_words_and_prefixes_newest_first_with_highlight(chatr):
    g1, g2, g3 = group("s"), group("s"), group("s")
    a = joined(chatr, g1, "s-a")
    assert a.request({"type": "joinGroup", "group": g2, "ackId": 2})[1]["success"]
    assert a.request({"type": "joinGroup", "group": g3, "ackId": 3})[1]["success"]
    say(a, g1, "The Zebra crossing is closed today", 4)
    say(a, g2, "zebras are striped horses", 5)
    say(a, g3, "a zebra in the secret group", 6)
    say(a, g1, "nothing to see here", 7)
    _, ack = a.request({"type": "sendToGroup", "group": g2, "ackId": 8, "dataType": "text",
                        "data": "plain text about a zebra"})
    assert ack["success"]
    got = search(chatr, "zebr", [g1, g2])
    assert [(h["group"], h["data"] if h["dataType"] == "text" else h["data"]["message"])
            for h in got["value"]] == [
        (g2, "plain text about a zebra"), (g2, "zebras are striped horses"),
        (g1, "The Zebra crossing is closed today")]
    assert got["more"] is False
    hit = got["value"][2]
    assert hit["highlight"].count("\u0002") == 1 and "\u0002Zebra\u0003" in hit["highlight"]
    assert hit["fromUserId"] == "s-a" and TIME.match(hit["time"]) and isinstance(hit["id"], int)
    assert set(hit) == {"group", "id", "time", "fromUserId", "dataType", "data", "highlight"}
    # the third group was not named: never searched
    assert all(h["group"] != g3 for h in got["value"])
    # paging: limit and before
    first = search(chatr, "zebra", [g1, g2], limit=2)
    assert len(first["value"]) == 2 and first["more"] is True
    rest_ = search(chatr, "zebra", [g1, g2], limit=2, before=first["value"][-1]["id"])
    assert [h["id"] for h in rest_["value"]] == [got["value"][2]["id"]] and rest_["more"] is False
    # phrases and exclusions (web search syntax), case-insensitive
    assert [h["group"] for h in search(chatr, '"ZEBRA crossing"', [g1, g2])["value"]] == [g1]
    assert len(search(chatr, "zebra -striped", [g1, g2])["value"]) == 2
    assert search(chatr, "giraffe", [g1, g2])["value"] == []
    a.close()


def test_search_skips_deleted_and_finds_edited(chatr):
    g = group("s")
    a = joined(chatr, g, "s-del")
    first = say(a, g, "ocelot one", 2)
    second = say(a, g, "ocelot two", 3)
    assert rest(chatr, "DELETE", message_url(g, first)).status_code == 204
    r = rest(chatr, "PUT", message_url(g, second), body=json.dumps({"message": "margay two"}),
             ctype=JSON)
    assert r.status_code == 200
    assert search(chatr, "ocelot", [g])["value"] == []
    hits = search(chatr, "margay", [g])["value"]
    assert [h["id"] for h in hits] == [second] and TIME.match(hits[0]["editedTime"])
    a.close()


def test_search_multilingual_and_odd_input(chatr):
    g = group("s")
    a = joined(chatr, g, "s-lang")
    say(a, g, "Die Straße ist naß", 2)
    say(a, g, "Привет мир", 3)
    say(a, g, "it's a \\ backslash: & | ! <-> 'quotes'", 4)
    say(a, g, "nul \u0000 inside", 5)  # never searchable, never breaks a search
    assert len(search(chatr, "straße", [g])["value"]) == 1
    assert len(search(chatr, "ПРИВЕТ", [g])["value"]) == 1
    for q in ["it's", "\\", "& | !", "<->", "'", ":*", "a:b", '"', "((", "-"]:
        search(chatr, q, [g])  # 200 whatever the syntax
    assert len(search(chatr, "backslash", [g])["value"]) == 1
    a.close()


def test_search_input_limits(chatr):
    g = group("s")
    ok = {"q": "x", "groups": [g]}
    for bad in ({}, {"q": "", "groups": [g]}, {"q": "   ", "groups": [g]}, {"q": 5, "groups": [g]},
                {"q": "x" * 1025, "groups": [g]}, {"q": "x"}, {"q": "x", "groups": g},
                {"q": "x", "groups": [""]}, {"q": "x", "groups": [5]},
                {"q": "x", "groups": ["g%d" % i for i in range(1001)]},
                {**ok, "limit": 0}, {**ok, "limit": 51}, {**ok, "limit": "x"},
                {**ok, "before": 0}, {**ok, "before": -5}, {**ok, "before": "1e3"}):
        r = post_json(chatr, ":searchMessages", bad)
        assert r.status_code == 400, (bad, r.text)
    r = rest(chatr, "POST", "/api/hubs/chat/:searchMessages", body="[", ctype=JSON)
    assert r.status_code == 400
    r = rest(chatr, "POST", "/api/hubs/chat/:searchMessages", body=json.dumps(ok), ctype=JSON,
             token=False)
    assert r.status_code == 401
    assert search(chatr, "x", ["g%d" % i for i in range(1000)])["value"] == []
    assert search(chatr, "x", [g], limit=50, before="12")["value"] == []
    assert search(chatr, "x", [])["value"] == []


def test_count_messages_after_ids(chatr):
    g1, g2, empty = group("c"), group("c"), group("c")
    a, b = joined(chatr, g1, "c-a"), joined(chatr, g1, "c-b")
    assert b.request({"type": "joinGroup", "group": g2, "ackId": 2})[1]["success"]
    first = say(a, g1, "one", 3)
    say(b, g1, "two from b", 3, mentions=["c-a"])
    say(b, g1, "three from b", 4)
    say(a, g1, "four", 4, mentions=["c-b"])
    say(b, g2, "in g2", 5, mentions=["c-a", "c-x"])
    ids = [int(r[0]) for r in stored(chatr, g1)]
    g2_last = int(stored(chatr, g2)[-1][0])
    r = post_json(chatr, ":countMessages", {"groups": {g1: 0, g2: str(0), empty: 0}})
    assert r.status_code == 200, r.text
    assert r.json() == {g1: {"count": 4, "lastId": ids[-1]}, g2: {"count": 1, "lastId": g2_last},
                        empty: {"count": 0, "lastId": None}}
    # unread for c-a: after its first message, not its own
    r = post_json(chatr, ":countMessages", {"groups": {g1: first, g2: 0}, "exceptUser": "c-a"})
    assert r.json()[g1]["count"] == 2 and r.json()[g2]["count"] == 1
    # mentions of c-a
    r = post_json(chatr, ":countMessages", {"groups": {g1: 0, g2: 0}, "exceptUser": "c-a",
                                            "contains": {"mentions": ["c-a"]}})
    assert {k: v["count"] for k, v in r.json().items()} == {g1: 1, g2: 1}
    # capped at max; deleted messages do not count
    r = post_json(chatr, ":countMessages", {"groups": {g1: 0}, "max": 2})
    assert r.json()[g1] == {"count": 2, "lastId": ids[-1]}
    assert rest(chatr, "DELETE", message_url(g1, ids[1])).status_code == 204
    r = post_json(chatr, ":countMessages", {"groups": {g1: 0}, "contains": {"mentions": ["c-a"]}})
    assert r.json()[g1]["count"] == 0
    a.close()
    b.close()


def test_count_input_limits(chatr):
    g = group("c")
    for bad in ({}, {"groups": [g]}, {"groups": {g: -1}}, {"groups": {g: "x"}}, {"groups": {g: 1.5}},
                {"groups": {"": 0}}, {"groups": {"g%d" % i: 0 for i in range(1001)}},
                {"groups": {g: 0}, "max": 0}, {"groups": {g: 0}, "max": 1001},
                {"groups": {g: 0}, "exceptUser": 7}, {"groups": {g: 0}, "exceptUser": ""},
                {"groups": {g: 0}, "contains": [1]}, {"groups": {g: 0}, "contains": "x"},
                {"groups": {g: 0}, "contains": {"k": "x" * 5000}},
                {"groups": {g: 0}, "contains": {"k": "\u0000"}}):
        r = post_json(chatr, ":countMessages", bad)
        assert r.status_code == 400, (bad, r.text)
    r = post_json(chatr, ":countMessages", {"groups": {"g%d" % i: 0 for i in range(1000)}})
    assert r.status_code == 200 and len(r.json()) == 1000


def test_persist_false_rest_send_is_delivered_not_stored(chatr):
    g = group("p")
    b = joined(chatr, g, "p-b")
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body='{"live":1}', ctype=JSON,
             params={"persist": "false"})
    assert r.status_code == 202
    got = b.recv()
    assert got["from"] == "group" and got["data"] == {"live": 1} and "id" not in got
    assert stored(chatr, g) == []
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body='{"kept":1}', ctype=JSON,
             params={"persist": "true"})
    assert r.status_code == 202 and "id" in b.recv() and len(stored(chatr, g)) == 1
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body='{}', ctype=JSON,
             params={"persist": "nope"})
    assert r.status_code == 400
    b.close()


def test_from_server_group_send_reaches_members_only_as_server_message(chatr):
    g = group("p")
    b, outsider = joined(chatr, g, "p-member"), joined(chatr, group("p"), "p-out")
    body = {"chatEvent": "messageEdited", "data": "{}"}
    r = rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body=json.dumps(body), ctype=JSON,
             params={"from": "server"})
    assert r.status_code == 202
    assert b.recv() == {"type": "message", "from": "server", "dataType": "json", "data": body}
    outsider.nothing()
    assert stored(chatr, g) == []
    assert rest(chatr, "POST", f"/api/hubs/chat/groups/{g}/:send", body="{}", ctype=JSON,
                params={"from": "anyone"}).status_code == 400
    b.close()
    outsider.close()
