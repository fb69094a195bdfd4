"""Static routing from frontend/staticwebapp.config.json (PROTOCOL.md §5.6) through nginx: the
app is for signed-in users, signed-out users are sent to /login.html, unknown paths fall back to
the app, and every static response carries the global headers."""
import json
import os

from conftest import ROOT

GLOBAL = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
          "Referrer-Policy": "same-origin"}


def has_global_headers(r):
    return all(r.headers.get(k) == v for k, v in GLOBAL.items())


def test_our_config_declares_what_the_tests_expect():
    with open(os.path.join(ROOT, "frontend", "staticwebapp.config.json")) as f:
        cfg = json.load(f)
    assert cfg["responseOverrides"]["401"] == {"redirect": "/login.html", "statusCode": 302}
    assert cfg["globalHeaders"] == GLOBAL


def test_signed_out_users_are_sent_to_login(chatr):
    for path in ("/", "/index.html", "/chat/lobby", "/app.js", "/nope.css", "/sub/dir/"):
        r = chatr.get(path)
        assert r.status_code == 302, path
        assert r.headers["Location"] == "/login.html", path
        assert has_global_headers(r), path


def test_login_page_and_its_assets_are_public(chatr):
    r = chatr.get("/login.html")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert 'action="/.auth/login/guest"' in r.text and 'action="/.auth/login/local"' in r.text
    assert '/.auth/login/github' in r.text
    assert has_global_headers(r)
    r = chatr.get("/login.css")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert has_global_headers(r)


def test_auth_endpoints_are_not_subject_to_route_rules(chatr):
    assert chatr.get("/.auth/me").status_code == 200
    assert chatr.get("/.auth/login/guest").status_code == 200


def test_signed_in_users_get_the_app(chatr, signed_in):
    s = signed_in("Router")
    with open(os.path.join(ROOT, "frontend", "index.html"), "rb") as f:
        index = f.read()
    for path in ("/", "/index.html"):
        r = s.get(chatr.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 200, path
        assert r.content == index
        assert has_global_headers(r)
    assert s.get(chatr.url + "/login.html", allow_redirects=False, timeout=10).status_code == 200


def test_slash_and_index_html_are_separate_rules(chatr, signed_in):
    # Route "/" protects only "/"; "/index.html" has its own rule in our config. Both are
    # protected, each by its own rule: a session with neither sees both redirected, and the
    # rendered map names two rules.
    with open(os.path.join(chatr.state, "nginx", "http.d", "swa_routes.conf")) as f:
        routes = f.read()
    assert '"~*^[A-Z]+:(?:/)$" r3;' in routes
    assert '"~*^[A-Z]+:(?:/index[.]html|/)$" r4;' in routes
    assert chatr.get("/").headers["Location"] == "/login.html"
    assert chatr.get("/index.html").headers["Location"] == "/login.html"
    assert chatr.get("/INDEX.HTML").headers["Location"] == "/login.html"  # case-insensitive


def test_navigation_fallback_serves_the_app(chatr, signed_in):
    s = signed_in("Navigator")
    with open(os.path.join(ROOT, "frontend", "index.html"), "rb") as f:
        index = f.read()
    for path in ("/chat/lobby", "/settings", "/deep/link/here"):
        r = s.get(chatr.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 200, path
        assert r.content == index
        assert has_global_headers(r)
    # Excluded (asset-looking) paths that do not exist are a plain 404.
    for path in ("/missing.css", "/js/missing.js", "/img/missing.png"):
        r = s.get(chatr.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 404, path
        assert has_global_headers(r)


def test_config_file_is_never_served(chatr, signed_in):
    assert chatr.get("/staticwebapp.config.json").status_code == 404
    s = signed_in("Curious")
    assert s.get(chatr.url + "/staticwebapp.config.json", timeout=10).status_code == 404


def test_internal_locations_are_not_reachable(chatr, signed_in):
    s = signed_in("Prober")
    for path in ("/.swa/r0", "/.swa/files", "/.chatr/auth/principal", "/.chatr/auth/check"):
        r = s.get(chatr.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 404, path
        assert "X-Chatr-Principal" not in r.headers


def test_api_is_not_given_global_headers(chatr):
    r = chatr.get("/api/no-such-function")
    assert r.status_code == 404
    assert "X-Frame-Options" not in r.headers
