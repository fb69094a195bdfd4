"""The fault suite (issue 11, docs/fault-drills.md): one test per scenario, each run under the
steady chat load of load.py, asserting the goals:

- the fault really happened and the load really ran (so that a test cannot pass vacuously);
- no nginx worker crash and no sanitizer report in any log;
- traffic flows cleanly again before the scenario's time-out (a bound on "it recovers at all",
  never on speed);
- zero acknowledged messages lost, zero duplicated;
- the reliable clients recover their logical connections (none refused) across a gateway
  restart and lose nothing.

CHATR_CHAOS_PROFILE=reduced (make test-chaos, the default) runs one scenario of each kind;
full (make chaos) every program. CHATR_CHAOS_ONLY=name,name picks scenarios."""
import json
import os

import pytest

from conftest import PROFILE
import drill as drillmod

SCENARIOS = drillmod.selected(PROFILE, os.environ.get("CHATR_CHAOS_ONLY"))


def summary(r):
    keys = ("sent", "acked", "delivered", "lost", "lost_examples", "duplicated", "failed_acks",
            "recovered", "recovery_s", "bad_events", "counts", "notes", "crashes", "left_broken")
    return json.dumps({k: r.get(k) for k in keys}, indent=1)


@pytest.mark.parametrize("name", SCENARIOS)
def test_fault(drill, name):
    r = drill.run(name)
    why = summary(r)
    notes = r["notes"]
    assert "error" not in notes, why
    if name.startswith("kill:") or name == "nginx":
        assert notes["killed"] > 0, why
    if name.startswith("restart:"):
        assert notes["deploy_rc"] == 0, why
    if name == "postgres":
        assert notes["db_stop_rc"] == 0 and notes["db_start_rc"] == 0, why
    if name == "flood":
        assert notes.get("frames", 0) > 0, why
    assert r["sent"] > 0 and r["delivered"] > 0, why
    assert not r["crashes"], "worker crash or sanitizer report:\n" + why
    assert r["recovered"], f"traffic did not flow cleanly again within {drill.cfg['timeout']} s:\n" + why
    assert r["lost"] == 0, "acknowledged messages lost:\n" + why
    assert r["duplicated"] == 0, "messages delivered twice:\n" + why
    if name == "nginx":
        assert notes["repair_rc"] == 0, "infra/emulator start did not repair:\n" + why
        assert r["counts"].get("reliable recoveries refused", 0) == 0, why
        assert r["counts"].get("reliable recoveries", 0) > 0, why
        assert r["lost_at_reliable"] == 0, why
