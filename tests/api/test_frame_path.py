"""The frame path's kept FastCGI connections (docs/performance.md#kept-fastcgi-connections):
nginx keeps its connections to hub-router open between frames (http.d/hub_router.conf.in) and
each hub-router process serves many of them (fn_accept_any, hub_loop.c)."""
import threading

from hubtools import Client

HUB = "testhub"


def accepted(chatr):
    """FastCGI connections hub-router accepted so far (chatr_fastcgi_connections_total)."""
    r = chatr.get("/.chatr/metrics")
    assert r.status_code == 200
    for line in r.text.splitlines():
        if line.startswith('chatr_fastcgi_connections_total{program="hub-router"}'):
            return int(line.split()[-1])
    return 0


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
