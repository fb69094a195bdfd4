"""Static routing from frontend/staticwebapp.config.json (docs/protocols.md#route-rules) through
nginx: the app is for signed-in users, signed-out users are sent to /login.html, unknown paths fall
back to the app, and every static response carries the global headers."""
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


def test_the_app_page_is_revalidated_on_every_visit(chatr, signed_in):
    # Cache-Control: no-cache on "/" and "/index.html" (route headers, also through the
    # navigation fallback): a browser asks again each time, so a signed-out visitor is sent to
    # the login page instead of getting the app from its cache. Assets keep the defaults.
    s = signed_in("Revisitor")
    for path in ("/", "/index.html", "/chat/lobby"):
        r = s.get(chatr.url + path, allow_redirects=False, timeout=10)
        assert r.status_code == 200, path
        assert r.headers.get("Cache-Control") == "no-cache", path
        assert has_global_headers(r), path
    assert "Cache-Control" not in s.get(chatr.url + "/js/main.js", allow_redirects=False, timeout=10).headers
    assert "Cache-Control" not in s.get(chatr.url + "/login.html", allow_redirects=False, timeout=10).headers


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


# ---- the renderer's other features, on a second nginx with a test config ----------------------
# It shares the running emulator's auth program (and so its sessions), and serves a temporary
# front end with a staticwebapp.config.json that uses every supported rule.

import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

sys.path.insert(0, os.path.join(ROOT, "infra"))
import nginx_render  # noqa: E402
import swa_routes  # noqa: E402

TEST_CONFIG = {
    "routes": [
        {"route": "/old", "redirect": "/new.html", "statusCode": 301},
        {"route": "/temp", "redirect": "/new.html"},
        {"route": "/alias", "rewrite": "/new.html"},
        {"route": "/secret-alias", "rewrite": "/admin.html"},
        {"route": "/blocked/*", "statusCode": 404},
        {"route": "/admin*", "allowedRoles": ["admin"]},
        {"route": "/form.html", "methods": ["POST"], "allowedRoles": ["authenticated"]},
        {"route": "/headers.html", "headers": {"X-Extra": "1", "X-Frame-Options": ""}},
        {"route": "/profile/index.html", "allowedRoles": ["authenticated"]},
        {"route": "/images/*.{png,jpg}", "headers": {"Cache-Control": "max-age=60"}},
    ],
    "responseOverrides": {
        "401": {"redirect": "/.auth/login/github?post_login_redirect_uri=.referrer", "statusCode": 302},
        "403": {"rewrite": "/403.html"},
        "404": {"rewrite": "/404.html", "statusCode": 404},
    },
    "globalHeaders": {"X-Frame-Options": "DENY", "X-Global": "yes"},
}
FILES = ["new.html", "403.html", "404.html", "admin.html", "adminpanel.html", "headers.html",
         "profile/index.html", "images/a.png", "images/a.gif", "form.html", "blocked/secret.html"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(chatr):
    tmp = tempfile.mkdtemp(prefix="chatr-routes-")
    front, ngx = os.path.join(tmp, "front"), os.path.join(tmp, "nginx")
    for name in FILES:
        os.makedirs(os.path.dirname(os.path.join(front, name)), exist_ok=True)
        with open(os.path.join(front, name), "w") as f:
            f.write(f"file {name}\n")
    for d in ("http.d", "server.d", "tmp"):
        os.makedirs(os.path.join(ngx, d))
    http, server = swa_routes.Renderer(TEST_CONFIG, front).render()
    with open(os.path.join(ngx, "http.d", "swa_routes.conf"), "w") as f:
        f.write(http)
    with open(os.path.join(ngx, "server.d", "static.conf"), "w") as f:
        f.write(server)
    with open(os.path.join(ROOT, "gateway", "nginx", "server.d", "auth.conf.in")) as f:
        auth = nginx_render.substitute(f.read(), {"RUN_DIR": os.path.join(chatr.state, "run")}, "auth")
    with open(os.path.join(ngx, "server.d", "auth.conf"), "w") as f:
        f.write(auth)
    port = _free_port()
    temps = "".join(f"{k}_temp_path {ngx}/tmp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = (("user root root;\n" if os.geteuid() == 0 else "") +
            f"pid {ngx}/nginx.pid;\nerror_log {ngx}/error.log;\nevents {{}}\n"
            f"http {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{temps}"
            f"include {ngx}/http.d/*.conf;\n"
            f"server {{\nlisten 127.0.0.1:{port};\nroot {front};\ninclude {ngx}/server.d/*.conf;\n}}\n}}\n")
    with open(os.path.join(ngx, "nginx.conf"), "w") as f:
        f.write(conf)
    cmd = ["nginx", "-p", ngx, "-c", os.path.join(ngx, "nginx.conf"), "-e", os.path.join(ngx, "error.log")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    url = f"http://127.0.0.1:{port}"
    for _ in range(50):
        try:
            requests.get(url + "/new.html", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        subprocess.run(cmd + ["-s", "quit"], capture_output=True)
        time.sleep(0.2)
        shutil.rmtree(tmp, ignore_errors=True)


def mock_cookie(chatr, roles=""):
    r = chatr.post("/.auth/login/github", data={"userDetails": "routes", "userRoles": roles})
    assert r.status_code == 302
    return {"StaticWebAppsAuthCookie": re.search(r"StaticWebAppsAuthCookie=([^;]*)",
                                                 r.headers["Set-Cookie"]).group(1)}


def get(site, path, method="GET", **kw):
    return requests.request(method, site + path, allow_redirects=False, timeout=10, **kw)


def test_rule_redirects(site):
    r = get(site, "/old")
    assert r.status_code == 301 and r.headers["Location"] == "/new.html"
    r = get(site, "/temp")
    assert r.status_code == 302 and r.headers["Location"] == "/new.html"
    assert r.headers["X-Global"] == "yes"


def test_rule_rewrite_keeps_the_url_and_the_targets_rules(site):
    r = get(site, "/alias")
    assert r.status_code == 200 and r.text == "file new.html\n"
    # A rewrite is served as its target, whose own rules still apply.
    r = get(site, "/secret-alias")
    assert r.status_code == 302 and r.headers["Location"].startswith("/.auth/login/github")


def test_rule_status_code_and_404_override(site):
    r = get(site, "/blocked/secret.html")
    assert r.status_code == 404 and r.text == "file 404.html\n"
    r = get(site, "/no/such/file")
    assert r.status_code == 404 and r.text == "file 404.html\n"  # no navigationFallback here
    assert r.headers["X-Global"] == "yes"


def test_roles_401_and_403(chatr, site):
    r = get(site, "/admin.html")
    assert r.status_code == 302
    assert r.headers["Location"] == "/.auth/login/github?post_login_redirect_uri=/admin.html"  # .referrer
    r = get(site, "/adminpanel.html", cookies=mock_cookie(chatr))  # "/admin*" matches it too
    assert r.status_code == 403 and r.text == "file 403.html\n"
    r = get(site, "/admin.html", cookies=mock_cookie(chatr, "admin"))
    assert r.status_code == 200 and r.text == "file admin.html\n"


def test_methods_limit_a_rule(chatr, site):
    assert get(site, "/form.html").status_code == 200  # the rule is for POST only
    r = get(site, "/form.html", method="POST")
    assert r.status_code == 302  # signed out: 401 override
    r = get(site, "/form.html", method="POST", cookies=mock_cookie(chatr))
    assert r.status_code == 405  # allowed through; static files take no POST


def test_folder_index_rule(chatr, site):
    for path in ("/profile", "/profile/", "/profile/index.html"):
        assert get(site, path).status_code == 302, path
        r = get(site, path, cookies=mock_cookie(chatr))
        assert r.status_code == 200 and r.text == "file profile/index.html\n", path


def test_route_headers_override_global_ones(site):
    r = get(site, "/headers.html")
    assert r.headers["X-Extra"] == "1" and r.headers["X-Global"] == "yes"
    assert "X-Frame-Options" not in r.headers  # "" removes a global header
    r = get(site, "/images/a.png")
    assert r.headers["Cache-Control"] == "max-age=60" and r.headers["X-Frame-Options"] == "DENY"
    assert "Cache-Control" not in get(site, "/images/a.gif").headers


def test_bad_configs_are_refused():
    bad = [{"routes": [{"route": "no-slash"}]},
           {"routes": [{"route": "/x", "allowedRoles": ["bad role"]}]},
           {"routes": [{"route": "/x", "methods": ["BREW"]}]},
           {"routes": [{"route": "/x", "redirect": "//evil.example"}]},
           {"globalHeaders": {"X-A": "has $variable"}},
           {"responseOverrides": {"500": {"statusCode": 404}}}]
    for cfg in bad:
        with pytest.raises(SystemExit):
            swa_routes.Renderer(cfg, "/tmp").render()
