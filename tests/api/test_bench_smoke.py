"""The benchmark's smoke run (issue 7): a few WebSocket clients of the load generator
(tests/bench, chatr-bench) for two seconds through the real hub, in each of its scenarios
(small groups, one big group, event echo through the event handler, REST send-to-user, the
nchan ceiling). Asserts that every message
reached every receiver exactly once and in order, never how fast."""
import json
import os
import subprocess

import pytest

from conftest import ROOT

BENCH_DIR = os.path.join(ROOT, "tests", "bench")


@pytest.fixture(scope="module")
def generator():
    """Builds chatr-bench against the same library flavour the emulator runs (asan if built)."""
    asan = os.path.isdir(os.path.join(ROOT, "build", "asan", "lib"))
    mode = "asan" if asan else "release"
    r = subprocess.run(["make", "-s", "-C", BENCH_DIR, f"MODE={mode}"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return os.path.join(ROOT, "build", "asan" if asan else "", "bench", "chatr-bench")


def run(generator, chatr, *args):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    r = subprocess.run([generator, "--mode", "wps", "--port", str(chatr.port), "--hub", "bench",
                        *args], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])  # a ramp prints one object per step


def test_small_groups_lose_nothing_and_keep_order(generator, chatr):
    res = run(generator, chatr, "--key", chatr.access_key, "--clients", "20", "--group-size",
              "10", "--rate", "5", "--duration", "2", "--drain", "10", "--strict")
    assert res["ready"] == 20 and res["failed"] == 0 and res["dropped"] == 0, res
    assert res["sent"] >= 150, res  # 20 senders x 5/s x 2 s, give or take the first tick
    assert res["expected"] == res["sent"] * 10, res
    assert res["received"] == res["expected"], res
    assert res["lost"] == 0 and res["duplicated"] == 0 and res["out_of_order"] == 0, res
    assert res["misrouted"] == 0 and res["malformed"] == 0, res
    assert res["latency_ms"]["samples"] == res["received"], res


def assert_all_delivered_in_order(res, receivers_per_message):
    assert res["failed"] == 0 and res["dropped"] == 0 and res["publish_errors"] == 0, res
    assert res["sent"] > 0 and res["expected"] == res["sent"] * receivers_per_message, res
    assert res["received"] == res["expected"] and res["lost"] == 0, res
    assert res["duplicated"] == 0 and res["out_of_order"] == 0, res
    assert res["misrouted"] == 0 and res["malformed"] == 0, res


def test_big_group_reaches_every_member_from_each_sender(generator, chatr):
    res = run(generator, chatr, "--key", chatr.access_key, "--clients", "20", "--group-size",
              "20", "--senders", "2", "--rate", "5", "--duration", "2", "--drain", "10", "--strict")
    assert res["ready"] == 20 and res["senders"] == 2, res
    assert_all_delivered_in_order(res, 20)


def test_rest_send_to_user_reaches_each_user_in_order(generator, chatr):
    res = run(generator, chatr, "--key", chatr.access_key, "--scenario", "user", "--clients", "10",
              "--publishers", "2", "--rate", "5", "--duration", "2", "--drain", "10", "--strict")
    assert res["ready"] == 10, res
    assert_all_delivered_in_order(res, 1)


def test_echo_events_come_back_through_the_event_handler_in_order(generator, chatr):
    res = run(generator, chatr, "--key", chatr.access_key, "--scenario", "echo", "--clients", "10",
              "--rate", "5", "--duration", "2", "--drain", "10", "--strict")
    assert res["ready"] == 10, res
    assert_all_delivered_in_order(res, 1)


def test_ceiling_publishes_straight_into_nchan_and_loses_nothing(generator, chatr):
    sock = os.path.join(chatr.state, "run", "nginx-internal.sock")
    res = run(generator, chatr, "--key", chatr.access_key, "--scenario", "ceiling", "--pub-socket",
              sock, "--clients", "20", "--rates", "2,5", "--duration", "1", "--drain", "10",
              "--strict")
    assert res["step"] == 1 and res["ready"] == 20, res  # the second step of the ramp
    assert_all_delivered_in_order(res, 10)


def test_generator_notices_refused_connections(generator, chatr):
    """The accounting can fail: with a wrong access key the hub refuses every client."""
    res = run(generator, chatr, "--key", "not-the-key", "--clients", "3", "--group-size", "3", "--duration", "1",
              "--setup-timeout", "20")
    assert res["ready"] == 0 and res["failed"] == 3, res
    assert "upgrade refused" in res["first_error"], res
