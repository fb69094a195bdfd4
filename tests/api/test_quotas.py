"""What one user may take (issue 11, item 4; docs/storage.md, "Quotas"): a history quota per
sender (hub `quotahub`: 1,000,000 bytes per hour in gateway/hubs.json), and the per-user
connection limit (HUB_MAX_CONNS_PER_USER = 64) for every protocol, under concurrent handshakes."""
import concurrent.futures
import time

import websocket

from hubtools import PROTO, Client, client_token

HUB = "quotahub"
QUOTA = 1_000_000
LIMIT = 64  # HUB_MAX_CONNS_PER_USER
RELIABLE = "json.reliable.webpubsub.azure.v1"


def stored(chatr, user):
    return int(chatr.sql("SELECT count(*) FROM pubsub.messages WHERE hub = :'p1' "
                         "AND from_user = :'p2'", HUB, user)[0][0])


def test_history_quota_refuses_and_stores_nothing(chatr):
    roles = ["webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"]
    hog = Client(chatr, hub=HUB, user="hog", roles=roles)
    other = Client(chatr, hub=HUB, user="polite", roles=roles)
    try:
        _, ack = other.request({"type": "joinGroup", "group": "g", "ackId": 1})
        assert ack["success"]
        big = "x" * 300_000
        for i in range(3):  # 900,000 bytes: within the quota
            _, ack = hog.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                                  "data": big, "ackId": 10 + i})
            assert ack["success"], ack
        assert stored(chatr, "hog") == 3
        for _ in range(3):
            assert other.recv()["data"] == big
        # The fourth would take it to 1,200,000: refused, not stored, not delivered.
        _, ack = hog.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                              "data": big, "ackId": 13})
        assert not ack["success"] and ack["error"]["name"] == "Forbidden", ack
        assert "quota" in ack["error"]["message"]
        hog.send({"type": "sendToGroup", "group": "g", "dataType": "text", "data": big})
        time.sleep(0.5)
        assert stored(chatr, "hog") == 3
        other.nothing(0.5)
        # The refused ackId was not claimed: the same id is refused again, not "Duplicate".
        _, ack = hog.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                              "data": big, "ackId": 13})
        assert ack["error"]["name"] == "Forbidden", ack
        # A small message still fits; a message never stored is not counted; others are free.
        _, ack = hog.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                              "data": "small", "ackId": 14})
        assert ack["success"], ack
        _, ack = hog.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                              "data": big, "persist": False, "ackId": 15})
        assert ack["success"], ack
        _, ack = other.request({"type": "sendToGroup", "group": "g", "dataType": "text",
                                "data": big, "ackId": 2})
        assert ack["success"], ack
        assert stored(chatr, "hog") == 4 and stored(chatr, "polite") == 1
    finally:
        hog.close()
        other.close()


def handshake(chatr, user, protocol):
    url = chatr.url.replace("http", "ws", 1) + \
        f"/client/hubs/{HUB}?access_token={client_token(chatr, HUB, user)}"
    try:
        return websocket.create_connection(url, timeout=30, subprotocols=[protocol])
    except websocket.WebSocketBadStatusException as e:
        return e.status_code


def concurrent_handshakes(chatr, user, protocol, n):
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: handshake(chatr, user, protocol), range(n)))


def settle(results):
    socks = [r for r in results if not isinstance(r, int)]
    refused = [r for r in results if isinstance(r, int)]
    return socks, refused


def test_connection_limit_holds_for_concurrent_reliable_handshakes(chatr):
    results = concurrent_handshakes(chatr, "many-reliable", RELIABLE, LIMIT + 8)
    socks, refused = settle(results)
    try:
        assert len(socks) == LIMIT, f"{len(socks)} of {LIMIT + 8} opened"
        assert refused == [403] * 8
        assert chatr.sql("SELECT count(*) FROM pubsub.connections WHERE hub = :'p1' "
                         "AND user_id = 'many-reliable'", HUB) == [[str(LIMIT)]]
    finally:
        for s in socks:
            s.close()


def test_connection_limit_holds_for_concurrent_json_handshakes(chatr):
    results = concurrent_handshakes(chatr, "many-json", PROTO, LIMIT + 8)
    socks, refused = settle(results)
    try:
        assert len(socks) == LIMIT and refused == [403] * 8, (len(socks), refused)
    finally:
        for s in socks:
            s.close()
