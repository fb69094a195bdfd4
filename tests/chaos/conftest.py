"""The fault suite's fixture: one Drill (tests/chaos/drill.py) for the session, its emulator
stopped at the end even when tests fail; the table is printed after the tests and the JSON
report written into the drill's state folder (docs/fault-drills.md)."""
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drill as drillmod  # noqa: E402

PROFILE = os.environ.get("CHATR_CHAOS_PROFILE", "reduced")
_DRILLS = []


@pytest.fixture(scope="session")
def drill():
    d = drillmod.Drill(PROFILE)
    _DRILLS.append(d)
    try:
        d.start()
        yield d
    finally:
        d.stop()
        d.write_report()
        if not os.environ.get("CHATR_KEEP_STATE"):
            shutil.rmtree(d.chatr.state, ignore_errors=True)  # the emulator's; the report stays


def pytest_terminal_summary(terminalreporter):
    for d in _DRILLS:
        if d.results:
            terminalreporter.write_sep("=", f"fault drills ({d.profile})")
            terminalreporter.write_line(drillmod.table(d.results))
            terminalreporter.write_line(f"report: {os.path.join(d.root, 'chaos-report.json')}")
