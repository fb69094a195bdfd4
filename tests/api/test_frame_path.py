"""The frame path's kept FastCGI connections (docs/performance.md#kept-fastcgi-connections):
nginx keeps its connections to hub-router open between frames (http.d/hub_router.conf.in) and
each hub-router process serves many of them (fn_accept_any, hub_loop.c). The functions' pools
are upstreams with kept connections too (infra/nginx_render.py, function_upstream;
docs/performance.md#the-functions-connections): the hub's webhook calls and the web app's API
calls reuse them."""
import threading

from hubtools import Client, metric

HUB = "testhub"


def accepted(chatr, program="hub-router"):
    """FastCGI connections a program accepted so far (chatr_fastcgi_connections_total)."""
    return metric(chatr, f'chatr_fastcgi_connections_total{{program="{program}"}}')


def pings(c, n):
    for _ in range(n):
        c.send({"type": "ping"})
        assert c.recv() == {"type": "pong"}


def test_frames_reuse_kept_connections(chatr):
    c = Client(chatr, hub=HUB, user="fp-kept")
    pings(c, 3)
    before = accepted(chatr)
    pings(c, 50)
    # before: one connection per frame (50 more); now the kept one serves them all
    assert accepted(chatr) - before <= 2
    c.close()


def test_many_sockets_at_once(chatr):
    """More sockets sending at once than nginx caches connections (keepalive 32): every frame is
    answered, and the connections opened for the burst are few and reused afterwards."""
    clients = [Client(chatr, hub=HUB, user=f"fp-many-{i}") for i in range(80)]
    errors = []

    def run(c):
        try:
            pings(c, 10)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    before = accepted(chatr)
    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert accepted(chatr) - before < 800  # not one per frame
    mid = accepted(chatr)
    pings(clients[0], 20)
    assert accepted(chatr) - mid <= 2
    for c in clients:
        c.close()


def test_pool_restart_with_kept_connections(chatr):
    c = Client(chatr, hub=HUB, user="fp-restart")
    pings(c, 3)
    assert chatr.deploy("hub-router", "restart").returncode == 0
    # the kept connections died with the old processes: nginx notices and opens new ones
    pings(c, 3)
    c.close()


def test_function_calls_reuse_kept_connections(chatr, signed_in):
    """Before: nginx connected to a function's socket for every call (no upstream block, so
    fastcgi_keep_conn did nothing) and each call counted one accepted connection."""
    guest = signed_in("Kept")
    for _ in range(3):
        assert guest.get(chatr.url + "/api/users", timeout=10).status_code == 200
    before = accepted(chatr, "users")
    assert before >= 1  # the counter counts this program's connections
    for _ in range(30):
        assert guest.get(chatr.url + "/api/users", timeout=10).status_code == 200
    assert accepted(chatr, "users") - before <= 2


def test_webhook_calls_reuse_the_event_handlers_connections(chatr):
    """The hub's user events reach the eventHandler function through nginx (the webhook; the
    bench hub's echo event): 30 events, acked one after the other, open at most a couple of
    connections to it."""
    c = Client(chatr, hub="bench", user="fp-events")

    def events(first, n):
        for i in range(first, first + n):
            _, ack = c.request({"type": "event", "event": "echo", "dataType": "json",
                                "data": {"i": i}, "ackId": i})
            assert ack["success"], ack

    events(1, 3)
    before = accepted(chatr, "eventHandler")
    assert before >= 1
    events(100, 30)
    assert accepted(chatr, "eventHandler") - before <= 2
    c.close()
