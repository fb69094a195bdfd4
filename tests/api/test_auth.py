"""Static Web Apps sign-in through nginx (docs/protocols.md#static-web-apps-sign-in,
docs/sign-in.md): every provider, /.auth/me, logout, expiry, wrong passwords, registration, rate
limits, open redirects, Origin, and the principal the API sees."""
import base64
import hashlib
import json
import os
import re
import subprocess

import pytest
import requests

from conftest import ROOT

COOKIE = "StaticWebAppsAuthCookie"


@pytest.fixture(autouse=True)
def fresh_limits(chatr):
    """Every test here starts without failed attempts on record (all tests share 127.0.0.1)."""
    chatr.sql("DELETE FROM swa.attempts")
    yield
    chatr.sql("DELETE FROM swa.attempts")


def login(chatr, provider, data, query="", **kw):
    return chatr.post(f"/.auth/login/{provider}{query}", data=data, **kw)


def cookie_of(r):
    m = re.search(COOKIE + r"=([^;]*)", r.headers.get("Set-Cookie", ""))
    return m.group(1) if m else None


def me(chatr, cookie):
    r = chatr.get("/.auth/me", cookies={COOKIE: cookie} if cookie else None)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()["clientPrincipal"]


def jwt_sub(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def test_me_signed_out_is_null(chatr):
    assert chatr.get("/.auth/me").json() == {"clientPrincipal": None}
    assert me(chatr, "not-a-session") is None
    assert me(chatr, "A" * 43) is None


def test_login_pages_are_forms_posting_to_the_same_url(chatr):
    for provider, field in (("guest", 'name="name"'), ("local", 'name="password"'),
                            ("github", 'name="userRoles"'), ("aad", 'name="userId"'),
                            ("twitter", 'name="userDetails"')):
        r = chatr.get(f"/.auth/login/{provider}?post_login_redirect_uri=/index.html")
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/html")
        assert f'action="/.auth/login/{provider}?post_login_redirect_uri=/index.html"' in r.text
        assert field in r.text
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_unknown_provider_is_404(chatr):
    for path in ("/.auth/login/nope", "/.auth/login/GitHub", "/.auth/login/", "/.auth/login/a%2Fb"):
        assert chatr.get(path).status_code == 404
    assert chatr.get("/.auth/other").status_code == 404


def test_guest_sign_in(chatr):
    r = login(chatr, "guest", {"name": "  Ada Lovelace "}, "?post_login_redirect_uri=/chat/lobby")
    assert r.status_code == 302
    assert r.headers["Location"] == "/chat/lobby"
    set_cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/" in set_cookie
    assert "Secure" not in set_cookie
    p = me(chatr, cookie_of(r))
    assert p["identityProvider"] == "guest"
    assert re.fullmatch(r"[0-9a-f]{32}", p["userId"])
    assert p["userDetails"] == "Ada Lovelace"
    assert p["userRoles"] == ["anonymous", "authenticated"]
    assert p["claims"] == []
    # Every guest sign-in is a new guest, even with the same name.
    again = login(chatr, "guest", {"name": "Ada Lovelace"})
    assert again.headers["Location"] == "/"
    assert me(chatr, cookie_of(again))["userId"] != p["userId"]


def test_cookie_is_secure_behind_https(chatr):
    r = login(chatr, "guest", {"name": "Sec"}, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 302
    assert "; Secure" in r.headers["Set-Cookie"]


def test_sessions_are_stored_hashed_with_expiry(chatr):
    cookie = cookie_of(login(chatr, "guest", {"name": "Hashed"}))
    assert len(cookie) == 43
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    rows = chatr.sql("SELECT id_hash, expires_at > now() + interval '7 hours' FROM swa.sessions "
                     "WHERE id_hash = :'p1'", digest)
    assert rows == [[digest, "t"]]
    assert chatr.sql("SELECT count(*) FROM swa.sessions WHERE id_hash = :'p1'", cookie) == [["0"]]


def test_guest_name_is_validated(chatr):
    for name in ("", "   ", "x" * 33, "bad\x01name", "tab\tname", "bidi\u202ename"):
        r = login(chatr, "guest", {"name": name})
        assert r.status_code == 400, name
        assert COOKIE not in r.headers.get("Set-Cookie", "")
        assert "display name" in r.text
    assert login(chatr, "guest", {"name": "\u00c9lodie \u674e"}).status_code == 302
    assert login(chatr, "guest", {}).status_code == 400
    r = chatr.post("/.auth/login/guest", json={"name": "json"})  # forms only
    assert r.status_code == 400


def test_local_register_then_sign_in(chatr):
    r = login(chatr, "local", {"username": "grace", "password": "correct horse", "action": "register"},
              "?post_login_redirect_uri=/index.html")
    assert r.status_code == 302 and r.headers["Location"] == "/index.html"
    first = me(chatr, cookie_of(r))
    assert first["identityProvider"] == "local" and first["userDetails"] == "grace"
    assert re.fullmatch(r"[0-9a-f]{32}", first["userId"])
    r = login(chatr, "local", {"username": "Grace", "password": "correct horse", "action": "login"})
    assert r.status_code == 302
    assert me(chatr, cookie_of(r))["userId"] == first["userId"]  # stable per account
    [[hash_]] = chatr.sql("SELECT password_hash FROM swa.accounts WHERE username_key = 'grace'")
    assert hash_.startswith("$argon2id$") and "correct horse" not in hash_
    assert "correct horse" not in chatr.log("auth.log")
    assert "correct horse" not in chatr.log("access.log")


def test_local_wrong_password_and_unknown_user_look_alike(chatr):
    login(chatr, "local", {"username": "hopper", "password": "right password", "action": "register"})
    wrong = login(chatr, "local", {"username": "hopper", "password": "wrong password", "action": "login"})
    unknown = login(chatr, "local", {"username": "nobody", "password": "wrong password", "action": "login"})
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert "Wrong username or password." in r.text
        assert COOKIE not in r.headers.get("Set-Cookie", "")
        assert r.headers["Content-Type"].startswith("text/html")
        assert 'name="password"' in r.text  # the form again


def test_local_registration_rules(chatr):
    ok = {"username": "lovelace", "password": "analytical engine", "action": "register"}
    assert login(chatr, "local", ok).status_code == 302
    taken = login(chatr, "local", dict(ok, username="LoveLace"))
    assert taken.status_code == 409 and "taken" in taken.text
    assert chatr.sql("SELECT count(*) FROM swa.accounts WHERE username_key = 'lovelace'") == [["1"]]
    assert login(chatr, "local", dict(ok, username="ab")).status_code == 400
    assert login(chatr, "local", dict(ok, username="has space")).status_code == 400
    assert login(chatr, "local", dict(ok, username="shortpw", password="short")).status_code == 400
    assert login(chatr, "local", dict(ok, username="longpw", password="x" * 129)).status_code == 400
    assert login(chatr, "local", dict(ok, action="delete")).status_code == 400


@pytest.mark.parametrize("provider", ["github", "aad", "twitter"])
def test_mock_providers(chatr, provider):
    r = login(chatr, provider, {"userId": "d75b260a64504067bfc5b2905e3b8182", "userDetails": "alice",
                                "userRoles": "admin\r\nwriter\n\nauthenticated\n"},
              "?post_login_redirect_uri=/index.html")
    assert r.status_code == 302 and r.headers["Location"] == "/index.html"
    p = me(chatr, cookie_of(r))
    # The id is scoped to the provider's namespace (docs/sign-in.md): never a local or guest id.
    assert p == {"identityProvider": provider, "userId": f"{provider}.d75b260a64504067bfc5b2905e3b8182",
                 "userDetails": "alice", "userRoles": ["admin", "writer", "anonymous", "authenticated"],
                 "claims": []}


def test_mock_input_is_validated_and_escaped(chatr):
    evil = '<img src=x onerror="alert(1)">'
    r = login(chatr, "github", {"userId": "a/b", "userDetails": evil})
    assert r.status_code == 400
    assert "<img" not in r.text and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in r.text
    assert login(chatr, "github", {"userId": "x", "userDetails": "u", "userRoles": "bad role"}).status_code == 400
    assert login(chatr, "github", {"userId": "x", "userDetails": ""}).status_code == 400
    # No userId: one is made up, like the CLI's random one.
    p = me(chatr, cookie_of(login(chatr, "github", {"userDetails": "nouid"})))
    assert re.fullmatch(r"github\.[0-9a-f]{32}", p["userId"])


def test_mock_providers_are_off_without_dev_auth(chatr):
    def restart(dev):
        r = subprocess.run([os.path.join(ROOT, "infra", "deploy"), "auth", "restart"],
                           env=dict(chatr.env, CHATR_DEV_AUTH=dev), capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
    restart("0")
    try:
        assert chatr.get("/.auth/login/github").status_code == 404
        assert login(chatr, "github", {"userId": "x", "userDetails": "y"}).status_code == 404
        assert login(chatr, "guest", {"name": "still works"}).status_code == 302
    finally:
        restart("1")
    assert chatr.get("/.auth/login/github").status_code == 200


def test_logout_ends_the_session_server_side(chatr):
    cookie = cookie_of(login(chatr, "guest", {"name": "Leaving"}))
    assert me(chatr, cookie) is not None
    r = chatr.get("/.auth/logout?post_logout_redirect_uri=/login.html", cookies={COOKIE: cookie})
    assert r.status_code == 302 and r.headers["Location"] == "/login.html"
    assert re.search(COOKIE + r"=deleted;.*Expires=Thu, 01 Jan 1970", r.headers["Set-Cookie"])
    # The old cookie, replayed, is worth nothing now.
    assert me(chatr, cookie) is None
    assert chatr.get("/api/getToken", cookies={COOKIE: cookie}).status_code == 401
    assert chatr.get("/", cookies={COOKIE: cookie}).headers["Location"] == "/login.html"


def test_purge_is_logout(chatr):
    cookie = cookie_of(login(chatr, "guest", {"name": "Purged"}))
    r = chatr.get("/.auth/purge/github", cookies={COOKIE: cookie})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert me(chatr, cookie) is None


def test_expired_session_is_signed_out(chatr):
    cookie = cookie_of(login(chatr, "guest", {"name": "Expiring"}))
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    chatr.sql("UPDATE swa.sessions SET expires_at = now() - interval '1 second' WHERE id_hash = :'p1'",
              digest)
    assert me(chatr, cookie) is None
    assert chatr.get("/", cookies={COOKIE: cookie}).status_code == 302
    assert chatr.get("/api/getToken", cookies={COOKIE: cookie}).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "http://evil.example/", "https://evil.example",
                                    "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
                                    "%2F%2Fevil.example", "/\r\nSet-Cookie: x=1", " //evil.example",
                                    "evil.example", "http://127.0.0.1@evil.example/"])
def test_no_open_redirect(chatr, target):
    r = chatr.post("/.auth/login/guest?post_login_redirect_uri=" + requests.utils.quote(target, safe=""),
                   data={"name": "Redirected"})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    r = chatr.get("/.auth/logout?post_logout_redirect_uri=" + requests.utils.quote(target, safe=""))
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_own_absolute_url_is_accepted_as_a_path(chatr):
    r = login(chatr, "guest", {"name": "Abs"}, "?post_login_redirect_uri=" +
              requests.utils.quote(chatr.url + "/index.html?x=1", safe=""))
    assert r.headers["Location"] == "/index.html?x=1"


def test_origin_must_be_this_site(chatr):
    r = login(chatr, "guest", {"name": "Csrf"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert COOKIE not in r.headers.get("Set-Cookie", "")
    assert login(chatr, "guest", {"name": "Null"}, headers={"Origin": "null"}).status_code == 403
    assert login(chatr, "guest", {"name": "Same"}, headers={"Origin": chatr.url}).status_code == 302


def test_wrong_passwords_slow_down_the_client_not_the_owner(chatr):
    """Five wrong passwords from one client: that client waits (429, Retry-After, a growing delay,
    not a 15-minute lockout); the owner, elsewhere, does not. More in test_security_auth.py."""
    creds = {"username": "turing", "password": "enigma machine", "action": "register"}
    assert login(chatr, "local", creds).status_code == 302
    creds["action"] = "login"
    for _ in range(5):
        assert login(chatr, "local", dict(creds, password="bombe guess")).status_code == 401
    assert login(chatr, "local", dict(creds, password="bombe guess")).status_code == 401
    r = login(chatr, "local", creds)  # even the right password waits, from this client
    assert r.status_code == 429
    assert "Too many" in r.text and 1 <= int(r.headers["Retry-After"]) <= 300
    # Another user is not affected; nor is this one once its delay has passed.
    assert login(chatr, "local", {"username": "other", "password": "whatever!", "action": "register"}).status_code == 302
    chatr.sql("UPDATE swa.attempts SET blocked_until = now() WHERE key LIKE 'pair:turing|%'")
    assert login(chatr, "local", creds).status_code == 302


def test_failures_are_counted_per_client_with_backoff(chatr):
    for _ in range(30):
        assert login(chatr, "guest", {"name": ""}).status_code == 400
    assert chatr.sql("SELECT failures FROM swa.attempts WHERE key = 'client:127.0.0.1'") == [["30"]]
    assert login(chatr, "guest", {"name": ""}).status_code == 400  # the 31st: past the allowance
    r = login(chatr, "guest", {"name": "Blocked"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert COOKIE not in r.headers.get("Set-Cookie", "")
    # A delay, not a lockout: once it has passed, this client signs in.
    chatr.sql("UPDATE swa.attempts SET blocked_until = now() WHERE key = 'client:127.0.0.1'")
    assert login(chatr, "guest", {"name": "Later"}).status_code == 302


def test_api_sees_the_session_principal_only(chatr, signed_in):
    forged = base64.b64encode(json.dumps({"identityProvider": "github", "userId": "victim",
                                          "userDetails": "victim",
                                          "userRoles": ["anonymous", "authenticated"]}).encode()).decode()
    # Without a session, a forged principal is discarded: still signed out.
    assert chatr.get("/api/getToken", headers={"x-ms-client-principal": forged}).status_code == 401
    assert chatr.get("/api/getToken", headers={"x-ms-client-principal": "garbage!"}).status_code == 401
    # With a session, the function sees the session's user, not the forged one.
    s = signed_in("Real")
    r = s.get(chatr.url + "/api/getToken", headers={"x-ms-client-principal": forged}, timeout=10)
    assert r.status_code == 200
    assert jwt_sub(r.json()["token"]) == s.user_id


def test_me_and_logout_refuse_other_methods(chatr):
    assert chatr.post("/.auth/me").status_code == 405
    assert chatr.request("DELETE", "/.auth/logout").status_code == 405
    assert chatr.request("PUT", "/.auth/login/guest").status_code == 405


def test_users_and_chats_need_a_session(chatr, signed_in):
    for path in ("/api/users", "/api/chats"):
        r = chatr.get(path)
        assert r.status_code == 401 and r.json()["error"] == "sign-in required"
    s = signed_in("Member")
    for path in ("/api/users", "/api/chats"):
        assert s.get(chatr.url + path, timeout=10).status_code == 200
