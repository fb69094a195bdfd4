"""The hub's cache of read-only answers (gateway/hub/hub_cache.c, docs/performance.md#the-hub-
cache): a sendToGroup without an ackId to a hub without history, and the connections a REST send
reads, are answered from the process's memory while nothing that could change the answer was
written on the node. Every change must be seen by the next send, whichever process holds the
stale answer: join, leave, REST adds and removals of connections and users, a revoked
permission, a user's new connection. The client sends here carry no ackId (the cached path);
each test warms the cache first and checks that it was used."""
import uuid

from hubtools import RELIABLE, Client, metric, rest

HUB = "bench"  # no history, no system event handlers (gateway/hubs.json)
H = f"/api/hubs/{HUB}"
ALL = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"]


def hits(chatr, kind="group_send"):
    return metric(chatr, f'chatr_hub_cache_total{{kind="{kind}",result="hit"}}')


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def client(chatr, user, roles=ALL):
    return Client(chatr, hub=HUB, user=user, roles=roles)


def join(c, group):
    _, ack = c.request({"type": "joinGroup", "group": group, "ackId": 1 + len(group)})
    assert ack["success"], ack


def leave(c, group):
    _, ack = c.request({"type": "leaveGroup", "group": group, "ackId": 2 + len(group)})
    assert ack["success"], ack


def send(c, group, text):
    """A sendToGroup without an ackId: the cached path."""
    c.send({"type": "sendToGroup", "group": group, "dataType": "text", "data": text,
            "noEcho": True})


def got(c, text, source="group"):
    """c receives the message text from source (group, server) next (other frames are
    skipped)."""
    while True:
        m = c.recv(5)
        if m.get("type") == "message" and m.get("from") == source:
            assert m["data"] == text, m
            return


def check(sender, group, text, to=(), not_to=()):
    """sender's next send to group (no ackId) reaches exactly the members in to, not not_to."""
    send(sender, group, text)
    for m in to:
        got(m, text)
    for m in not_to:
        m.nothing(0.5)


def warm(chatr, sender, group, members):
    """Sends until the router processes answer from memory (a process's first send to the group
    is a miss, and each of the pool's processes keeps its own memory)."""
    before = hits(chatr)
    for i in range(12):
        send(sender, group, f"warm-{i}")
        for m in members:
            got(m, f"warm-{i}")
    assert hits(chatr) > before, "the sends never hit the cache"


def test_sends_without_an_ackid_are_answered_from_memory(chatr):
    g = name("gc-hit")
    a, b = client(chatr, name("gc-a")), client(chatr, name("gc-b"))
    for c in (a, b):
        join(c, g)
    warm(chatr, a, g, [b])
    before = hits(chatr)
    for i in range(20):
        send(a, g, f"m{i}")
        got(b, f"m{i}")
    assert hits(chatr) - before >= 16  # the pool's 4 processes are warm by now, or nearly
    a.close()
    b.close()


def test_a_join_is_seen_by_the_next_send(chatr):
    g = name("gc-join")
    a, b, c = (client(chatr, name(p)) for p in ("gc-a", "gc-b", "gc-c"))
    join(a, g)
    join(b, g)
    warm(chatr, a, g, [b])
    join(c, g)  # acked: the next send must reach c
    check(a, g, "after-join", to=[b, c])
    for x in (a, b, c):
        x.close()


def test_a_leave_is_seen_by_the_next_send(chatr):
    g = name("gc-leave")
    a, b, c = (client(chatr, name(p)) for p in ("gc-a", "gc-b", "gc-c"))
    for x in (a, b, c):
        join(x, g)
    warm(chatr, a, g, [b, c])
    leave(b, g)
    check(a, g, "after-leave", to=[c], not_to=[b])
    for x in (a, b, c):
        x.close()


def test_rest_adds_and_removals_are_seen_by_the_next_send(chatr):
    g = name("gc-rest")
    ub = name("gc-user")
    a, b, c = client(chatr, name("gc-a")), client(chatr, ub), client(chatr, name("gc-c"))
    join(a, g)
    join(c, g)
    warm(chatr, a, g, [c])
    # a connection added by the REST API
    assert rest(chatr, "PUT", f"{H}/groups/{g}/connections/{b.conn_id}").status_code == 200
    check(a, g, "added", to=[c, b])
    assert rest(chatr, "DELETE", f"{H}/groups/{g}/connections/{b.conn_id}").status_code == 204
    check(a, g, "removed", to=[c], not_to=[b])
    # a user added and removed (what deleting a chat does to its members)
    assert rest(chatr, "PUT", f"{H}/users/{ub}/groups/{g}").status_code == 200
    check(a, g, "user-added", to=[c, b])
    assert rest(chatr, "DELETE", f"{H}/users/{ub}/groups/{g}").status_code == 204
    check(a, g, "user-removed", to=[c], not_to=[b])
    for x in (a, b, c):
        x.close()


def test_a_revoked_permission_is_seen_by_the_next_send(chatr):
    g = name("gc-perm")
    a = client(chatr, name("gc-a"), roles=["webpubsub.joinLeaveGroup"])
    b = client(chatr, name("gc-b"))
    join(a, g)
    join(b, g)
    perm = f"{H}/permissions/sendToGroup/connections/{a.conn_id}"
    assert rest(chatr, "PUT", perm, params={"targetName": g}).status_code == 200
    warm(chatr, a, g, [b])
    assert rest(chatr, "DELETE", perm, params={"targetName": g}).status_code == 204
    check(a, g, "after-revoke", not_to=[b])
    # with an ackId (never cached) the refusal is visible
    _, ack = a.request({"type": "sendToGroup", "group": g, "dataType": "text", "data": "x",
                        "ackId": 99})
    assert not ack["success"] and ack["error"]["name"] == "Forbidden", ack
    b.nothing(0.5)
    a.close()
    b.close()


def rest_send(chatr, path, text):
    r = rest(chatr, "POST", f"{H}/{path}/:send", body=text, ctype="text/plain")
    assert r.status_code == 202, r.text


def test_a_users_new_connection_gets_the_next_rest_send(chatr):
    """A send to a user reads the user's connections (which channels to publish to, which
    reliable connections get a sequenced copy): a user who comes online, and a reliable
    connection the user opens, get the next send."""
    u = name("gc-user")
    before = hits(chatr, "user")
    for i in range(12):  # nobody connected: the kept answer is empty
        rest_send(chatr, f"users/{u}", f"nobody-{i}")
    assert hits(chatr, "user") > before, "the sends never hit the cache"
    c1 = client(chatr, u)  # registered: the next send must reach it
    rest_send(chatr, f"users/{u}", "online")
    got(c1, "online", "server")
    for i in range(12):
        rest_send(chatr, f"users/{u}", f"warm-{i}")
        got(c1, f"warm-{i}", "server")
    c2 = Client(chatr, hub=HUB, user=u, roles=ALL, protocol=RELIABLE)
    rest_send(chatr, f"users/{u}", "both")
    got(c1, "both", "server")
    got(c2, "both", "server")
    c1.close()
    c2.close()


def test_rest_group_sends_see_a_join(chatr):
    """REST group sends read the group's connections: a plain send (the hub keeps no history)
    and our from=server send (hub_send_group_server)."""
    g = name("gc-rg")
    a, b = client(chatr, name("gc-a")), client(chatr, name("gc-b"))
    join(a, g)
    before = (hits(chatr, "group_send"), hits(chatr, "group"))
    for i in range(12):
        rest_send(chatr, f"groups/{g}", f"warm-{i}")
        got(a, f"warm-{i}")
        r = rest(chatr, "POST", f"{H}/groups/{g}/:send", body=f"srv-{i}", ctype="text/plain",
                 params={"from": "server"})
        assert r.status_code == 202, r.text
        got(a, f"srv-{i}", "server")
    assert hits(chatr, "group_send") > before[0] and hits(chatr, "group") > before[1]
    join(b, g)
    rest_send(chatr, f"groups/{g}", "after-join")
    got(a, "after-join")
    got(b, "after-join")
    r = rest(chatr, "POST", f"{H}/groups/{g}/:send", body="srv-after", ctype="text/plain",
             params={"from": "server"})
    assert r.status_code == 202
    got(a, "srv-after", "server")
    got(b, "srv-after", "server")
    a.close()
    b.close()
