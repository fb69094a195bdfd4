"""The emulator's own behaviour: route rendering from declarations, clear failures."""
import os
import subprocess
import sys
import tempfile

from conftest import EMULATOR, ROOT

sys.path.insert(0, os.path.join(ROOT, "infra"))
import nginx_render  # noqa: E402


def test_route_templates_become_anchored_regexes_with_params():
    regex, params = nginx_render.route_regex("chats/{id}/messages")
    assert regex == "^/api/chats/(?<r_id>[^/]+)/messages/?$"
    assert params == ["id"]
    regex, params = nginx_render.route_regex("users")
    assert regex == "^/api/users/?$" and params == []


def test_second_instance_on_a_busy_port_fails_clearly(chatr):
    state = tempfile.mkdtemp(prefix="chatr-test-busy-")
    env = dict(os.environ, CHATR_PORT=str(chatr.port), CHATR_STATE_DIR=state)
    r = subprocess.run([EMULATOR, "start"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"port {chatr.port}" in r.stderr and "in use" in r.stderr
    assert chatr.get_signed_in("/api/users").status_code == 200  # the running one is untouched


def test_state_dir_inside_checkout_is_refused():
    env = dict(os.environ, CHATR_STATE_DIR=os.path.join(ROOT, "state"))
    r = subprocess.run([EMULATOR, "status"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "inside the checkout" in r.stderr
