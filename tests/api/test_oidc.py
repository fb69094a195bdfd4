"""Issue 12, sign-in with OpenID Connect (docs/sign-in.md, "OpenID Connect").

An emulator of its own, configured like a Static Web Apps site with custom OpenID Connect
providers (CHATR_SWA_CONFIG: auth.identityProviders.customOpenIdConnectProviders), whose client
ids and secrets are app settings. Next to it:

- a real provider, node's oidc-provider (tests/oidc/provider.mjs), with two clients: `testrs`
  (RS256 ID tokens) and `testes` (ES256, nameClaimType email). PKCE is required there.
- `forge`, a test fixture issuer of our own (Python http.server): discovery, an authorization
  endpoint that sends the browser straight back, a token endpoint that checks the client secret
  and the PKCE verifier and answers the ID token the test crafted (signed with openssl(1) by the
  key its JWKS publishes, or by another), and the JWKS. It is how the ID token checks are tested
  one by one: expired, wrong audience, wrong issuer, wrong nonce, signed by another key, altered
  after signing, alg none or HS256.
- `gone`, a provider whose well-known URL answers nothing (down).

The flow is driven with plain HTTP, following redirects by hand, like a browser would."""
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest
import requests

from conftest import ROOT, Chatr, free_port

COOKIE = "StaticWebAppsAuthCookie"
ACCOUNT = {"sub": "ada-0001", "claims": {"preferred_username": "ada", "name": "Ada Lovelace",
                                         "email": "ada@example.test", "email_verified": True}}
NODE_MODULES = os.path.join(ROOT, "tests", "oidc", "node_modules", "oidc-provider")


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_json(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


class RsaKey:
    """An RSA key made and used by openssl(1) (no Python crypto library on this machine)."""

    def __init__(self, directory, name):
        self.path = os.path.join(directory, name + ".pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", self.path], check=True, capture_output=True)
        out = subprocess.run(["openssl", "rsa", "-in", self.path, "-noout", "-modulus"],
                             check=True, capture_output=True, text=True).stdout
        self.n = b64u(bytes.fromhex(out.strip().split("=", 1)[1]))

    def jwk(self, kid):
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": self.n, "e": "AQAB"}

    def sign(self, data):
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.path], input=data,
                              check=True, capture_output=True).stdout


class Forge(http.server.ThreadingHTTPServer):
    """The fixture issuer. craft(claims, header) -> token is set by the test for the next
    token request; it gets the claims a correct token would have."""

    def __init__(self, directory, client_id, client_secret):
        super().__init__(("127.0.0.1", 0), ForgeHandler)
        self.issuer = f"http://127.0.0.1:{self.server_address[1]}"
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RsaKey(directory, "forge")
        self.other_key = RsaKey(directory, "other")  # not published
        self.codes = {}
        self.craft = None
        self.token_status = 200
        self.jwks_fetches = 0

    def sign(self, header, claims, key=None):
        signing_input = f"{b64u_json(header)}.{b64u_json(claims)}".encode()
        return signing_input.decode() + "." + b64u((key or self.key).sign(signing_input))

    def good_claims(self, nonce):
        now = int(time.time())
        return {"iss": self.issuer, "sub": "forged-user", "aud": self.client_id, "exp": now + 300,
                "iat": now, "nonce": nonce, "preferred_username": "forged"}


class ForgeHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=None, location=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        f, url = self.server, urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/.well-known/openid-configuration":
            return self.answer(200, {
                "issuer": f.issuer, "authorization_endpoint": f.issuer + "/authorize",
                "token_endpoint": f.issuer + "/token", "jwks_uri": f.issuer + "/jwks",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]})
        if url.path == "/jwks":
            f.jwks_fetches += 1
            return self.answer(200, {"keys": [f.key.jwk("forge-1")]})
        if url.path == "/authorize":
            code = secrets.token_urlsafe(16)
            f.codes[code] = q
            back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
            return self.answer(302, location=back)
        self.answer(404, {"error": "not found"})

    def do_POST(self):
        f = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        form = dict(urllib.parse.parse_qsl(body))
        expected = "Basic " + base64.b64encode(f"{f.client_id}:{f.client_secret}".encode()).decode()
        asked = f.codes.pop(form.get("code"), None)
        if self.headers.get("Authorization") != expected:
            return self.answer(401, {"error": "invalid_client"})
        if not asked or form.get("redirect_uri") != asked["redirect_uri"]:
            return self.answer(400, {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "")
        if asked.get("code_challenge_method") != "S256" or \
                b64u(hashlib.sha256(verifier.encode()).digest()) != asked.get("code_challenge"):
            return self.answer(400, {"error": "invalid_grant", "error_description": "PKCE"})
        if f.token_status != 200:
            return self.answer(f.token_status, {"error": "server_error"})
        claims = f.good_claims(asked["nonce"])
        token = f.craft(claims, {"alg": "RS256", "kid": "forge-1", "typ": "JWT"})
        self.answer(200, {"access_token": "at", "token_type": "Bearer", "id_token": token})


@pytest.fixture(scope="module")
def oidc():
    if not os.path.isdir(NODE_MODULES):
        pytest.skip("tests/oidc/node_modules missing: run make deps")
    c = Chatr()
    work = tempfile.mkdtemp(prefix="chatr-oidc-")
    node = forge = None
    try:
        port = free_port()
        redirect = lambda name: f"{c.url}/.auth/login/{name}/callback"
        clients = [
            {"client_id": "chatr-rs", "client_secret": "rs-secret", "redirect_uris": [redirect("testrs")]},
            {"client_id": "chatr-es", "client_secret": "es-secret", "redirect_uris": [redirect("testes")],
             "id_token_signed_response_alg": "ES256"},
        ]
        node = subprocess.Popen(
            ["node", os.path.join(ROOT, "tests", "oidc", "provider.mjs")],
            env=dict(os.environ, OIDC_TEST_CONFIG=json.dumps(
                {"port": port, "clients": clients, "account": ACCOUNT})),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = node.stdout.readline()
        assert line.startswith("ready "), node.stderr.read()
        issuer = line.split()[1]
        forge = Forge(work, "chatr-forge", "forge-secret")
        threading.Thread(target=forge.serve_forever, daemon=True).start()
        dead = free_port()  # nothing listens there

        def provider(wk, client_setting, secret_setting, login=None):
            p = {"registration": {"clientIdSettingName": client_setting,
                                  "clientCredential": {"clientSecretSettingName": secret_setting},
                                  "openIdConnectConfiguration": {"wellKnownOpenIdConfiguration":
                                                                 wk + "/.well-known/openid-configuration"}}}
            if login:
                p["login"] = login
            return p

        config = {"auth": {"identityProviders": {"customOpenIdConnectProviders": {
            "testrs": provider(issuer, "TESTRS_CLIENT_ID", "TESTRS_CLIENT_SECRET"),
            "testes": provider(issuer, "TESTES_CLIENT_ID", "TESTES_CLIENT_SECRET",
                               {"nameClaimType": "email", "scopes": ["openid", "profile", "email"]}),
            "forge": provider(forge.issuer, "FORGE_CLIENT_ID", "FORGE_CLIENT_SECRET"),
            "gone": provider(f"http://127.0.0.1:{dead}", "FORGE_CLIENT_ID", "FORGE_CLIENT_SECRET"),
            # refused: the development mock's name, and a name that is no provider name
            "github": provider(issuer, "TESTRS_CLIENT_ID", "TESTRS_CLIENT_SECRET"),
            "Bad.Name": provider(issuer, "TESTRS_CLIENT_ID", "TESTRS_CLIENT_SECRET"),
        }}}}
        path = os.path.join(work, "staticwebapp.config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        c.env.update(CHATR_SWA_CONFIG=path, TESTRS_CLIENT_ID="chatr-rs", TESTRS_CLIENT_SECRET="rs-secret",
                     TESTES_CLIENT_ID="chatr-es", TESTES_CLIENT_SECRET="es-secret",
                     FORGE_CLIENT_ID="chatr-forge", FORGE_CLIENT_SECRET="forge-secret")
        c.emulator("start")
        c.issuer, c.forge, c.node = issuer, forge, node
        yield c
    finally:
        c.emulator("stop", check=False)
        if forge:
            forge.shutdown()
        if node:
            node.terminate()
            node.wait(timeout=10)
        if os.environ.get("CHATR_KEEP_STATE"):
            print(f"state kept in {c.state}")
        else:
            shutil.rmtree(c.state, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(autouse=True)
def fresh_limits(oidc):
    """Every test starts sign-ins from 127.0.0.1: each starts with the client's allowance."""
    oidc.sql("DELETE FROM swa.attempts")
    yield


def start(chatr, provider, session=None, path=None):
    """GET /.auth/login/<provider>; returns (session, the authorization URL)."""
    s = session or requests.Session()
    r = s.get(chatr.url + (path or f"/.auth/login/{provider}"), allow_redirects=False, timeout=10)
    assert r.status_code == 302, (r.status_code, r.text)
    return s, r.headers["Location"]


def to_callback(chatr, s, url):
    """Follows the provider's redirects by hand until one leads back to us: the callback URL."""
    for _ in range(10):
        if url.startswith(chatr.url):
            return url
        r = s.get(url, allow_redirects=False, timeout=10)
        assert r.status_code in (302, 303), (r.status_code, r.text[:500])
        url = urllib.parse.urljoin(url, r.headers["Location"])
    raise AssertionError("the provider never sent the browser back")


def sign_in(chatr, provider, session=None):
    """The whole flow: (session, callback URL, the callback's answer)."""
    s, url = start(chatr, provider, session)
    callback = to_callback(chatr, s, url)
    return s, callback, s.get(callback, allow_redirects=False, timeout=10)


def me(chatr, s):
    return s.get(chatr.url + "/.auth/me", timeout=10).json()["clientPrincipal"]


def query(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def with_query(url, **kw):
    parts = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(parts.query))
    q.update(kw)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))


def expected_user_id(provider, issuer, sub):
    return provider + "." + hashlib.sha256(issuer.encode() + b"\0" + sub.encode()).hexdigest()[:32]


def assert_refused(chatr, s, r, status):
    """A clear error page, and no session."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Sign-in failed" in r.text and "You are not signed in" in r.text
    assert COOKIE not in r.headers.get("Set-Cookie", "")
    assert me(chatr, s) is None


# ---- the flow with the real provider ------------------------------------------------------------

def test_sign_in_rs256(oidc):
    s, url = start(oidc, "testrs", path="/.auth/login/testrs?post_login_redirect_uri=/chat/x")
    q = query(url)
    assert url.startswith(oidc.issuer + "/auth?")
    assert q["response_type"] == "code" and q["client_id"] == "chatr-rs"
    assert q["redirect_uri"] == oidc.url + "/.auth/login/testrs/callback"
    assert q["scope"] == "openid profile email"
    assert q["code_challenge_method"] == "S256" and len(q["code_challenge"]) == 43
    assert len(q["state"]) == 43 and len(q["nonce"]) == 43 and q["state"] != q["nonce"]
    binding = [c for c in s.cookies if c.name == "ChatrOidcBinding"]
    assert binding and binding[0].has_nonstandard_attr("HttpOnly") and binding[0].path == "/.auth/login/"
    callback = to_callback(oidc, s, url)
    r = s.get(callback, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/chat/x"
    assert COOKIE in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    p = me(oidc, s)
    assert p["identityProvider"] == "testrs"
    assert p["userId"] == expected_user_id("testrs", oidc.issuer, ACCOUNT["sub"])
    assert p["userDetails"] == "ada"  # preferred_username, by default
    assert sorted(p["userRoles"]) == ["anonymous", "authenticated"]
    # the API sees the same principal (nginx's auth_request through the session)
    assert s.get(oidc.url + "/api/getToken", timeout=10).status_code == 200


def test_sign_in_es256_name_claim_and_stable_user_id(oidc):
    s, _, r = sign_in(oidc, "testes")
    assert r.status_code == 302, r.text
    p = me(oidc, s)
    assert p["identityProvider"] == "testes"
    assert p["userDetails"] == "ada@example.test"  # login.nameClaimType: email
    assert p["userId"] == expected_user_id("testes", oidc.issuer, ACCOUNT["sub"])
    # the same person signs in again from another browser: the same user id
    s2, _, r2 = sign_in(oidc, "testes")
    assert r2.status_code == 302 and me(oidc, s2)["userId"] == p["userId"]


def test_providers_listed(oidc):
    r = oidc.get("/.auth/providers")
    assert r.status_code == 200
    body = r.json()
    # in configuration order; the mock's name and an invalid name are refused
    assert body["openIdConnect"] == ["testrs", "testes", "forge", "gone"]
    assert body["development"] == ["github", "aad", "twitter"]  # CHATR_DEV_AUTH=1 here
    log = oidc.log("auth.log")
    assert "provider name github refused" in log and "provider name Bad.Name refused" in log


def test_mock_name_stays_the_mock(oidc):
    """`github` in the site's configuration does not take over the development mock's page."""
    r = oidc.get("/.auth/login/github")
    assert r.status_code == 200 and "Development sign-in" in r.text


# ---- state ------------------------------------------------------------------------------------

def test_wrong_state(oidc):
    s, url = start(oidc, "testrs")
    callback = to_callback(oidc, s, url)
    r = s.get(with_query(callback, state=secrets.token_urlsafe(32)), allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 400)
    r = s.get(with_query(callback, state="x"), allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 400)
    r = s.get(oidc.url + "/.auth/login/testrs/callback?code=abc", allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 400)


def test_callback_in_another_browser(oidc):
    """A callback URL carried to another browser (login CSRF, a leaked URL) signs nobody in
    there, and is used up."""
    s, url = start(oidc, "testrs")
    callback = to_callback(oidc, s, url)
    other = requests.Session()
    r = other.get(callback, allow_redirects=False, timeout=10)
    assert_refused(oidc, other, r, 400)
    r = s.get(callback, allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 400)


def test_replayed_code(oidc):
    s, callback, r = sign_in(oidc, "testrs")
    assert r.status_code == 302
    # the same callback again: its state was used
    again = requests.Session()
    again.cookies.update({c.name: c.value for c in s.cookies if c.name == "ChatrOidcBinding"})
    r = again.get(callback, allow_redirects=False, timeout=10)
    assert_refused(oidc, again, r, 400)
    # the code with a fresh state of this browser: the provider refuses it (used, and its PKCE
    # verifier is another sign-in's)
    _, url = start(oidc, "testrs", again)
    r = again.get(with_query(callback, state=query(url)["state"]), allow_redirects=False, timeout=10)
    assert_refused(oidc, again, r, 502)


def test_provider_error_answer(oidc):
    s, url = start(oidc, "testrs")
    cb = f"{oidc.url}/.auth/login/testrs/callback?" + urllib.parse.urlencode(
        {"error": "access_denied", "error_description": "<script>x</script>", "state": query(url)["state"]})
    r = s.get(cb, allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 401)
    assert "<script>" not in r.text


def test_mixed_up_issuer(oidc):
    s, url = start(oidc, "testrs")
    callback = to_callback(oidc, s, url)
    r = s.get(with_query(callback, iss=oidc.forge.issuer), allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 400)


def test_flow_rows_are_single_use(oidc):
    oidc.sql("DELETE FROM swa.oidc_flows")
    s, url = start(oidc, "testrs")
    assert oidc.sql("SELECT count(*) FROM swa.oidc_flows") == [["1"]]
    assert oidc.sql("SELECT count(*) FROM swa.oidc_flows WHERE state_hash = :'p1'",
                    hashlib.sha256(query(url)["state"].encode()).hexdigest()) == [["1"]]
    s.get(to_callback(oidc, s, url), allow_redirects=False, timeout=10)
    assert oidc.sql("SELECT count(*) FROM swa.oidc_flows") == [["0"]]


# ---- the ID token (the forge fixture) -----------------------------------------------------------

def forged(oidc, craft):
    oidc.forge.craft = craft
    return sign_in(oidc, "forge")


def test_forge_valid_token_signs_in(oidc):
    """The fixture's correct token is accepted: the refusals below are for what was changed."""
    s, _, r = forged(oidc, lambda c, h: oidc.forge.sign(h, c))
    assert r.status_code == 302, r.text
    p = me(oidc, s)
    assert p["identityProvider"] == "forge" and p["userDetails"] == "forged"
    assert p["userId"] == expected_user_id("forge", oidc.forge.issuer, "forged-user")


def edit(**changes):
    return lambda c: {**c, **changes}


NOW = lambda: int(time.time())

# case: (the token the forge answers, the reason the auth log gives for refusing it)
CASES = {
    "expired": (lambda f: lambda c, h: f.sign(h, {**c, "exp": NOW() - 3600, "iat": NOW() - 3900}),
                "expired"),
    "wrong audience": (lambda f: lambda c, h: f.sign(h, {**c, "aud": "someone-else"}), "wrong audience"),
    "audiences without azp": (lambda f: lambda c, h: f.sign(h, {**c, "aud": [f.client_id, "other"]}),
                              "wrong audience"),
    "wrong issuer": (lambda f: lambda c, h: f.sign(h, {**c, "iss": "http://127.0.0.1:1"}), "wrong issuer"),
    "wrong nonce": (lambda f: lambda c, h: f.sign(h, {**c, "nonce": "n" * 43}), "wrong nonce"),
    "no nonce": (lambda f: lambda c, h: f.sign(h, {k: v for k, v in c.items() if k != "nonce"}),
                 "wrong nonce"),
    "issued in the future": (lambda f: lambda c, h: f.sign(h, {**c, "iat": NOW() + 3600}),
                             "issued in the future"),
    "stale": (lambda f: lambda c, h: f.sign(h, {**c, "iat": NOW() - 7200}), "issued too long ago"),
    "not yet valid": (lambda f: lambda c, h: f.sign(h, {**c, "nbf": NOW() + 3600}), "not valid yet"),
    "signed by another key": (lambda f: lambda c, h: f.sign(h, c, f.other_key), "bad signature"),
    "unknown kid": (lambda f: lambda c, h: f.sign({**h, "kid": "forge-2"}, c, f.other_key),
                    "no key in the JWKS"),
    "altered after signing": (lambda f: lambda c, h: tamper(f.sign(h, c), sub="someone-else"),
                              "bad signature"),
    "alg none": (lambda f: lambda c, h: f"{b64u_json({'alg': 'none'})}.{b64u_json(c)}.",
                 "signature algorithm not accepted"),
    "HS256 with the client secret": (lambda f: lambda c, h: hs256(c, f.client_secret),
                                     "signature algorithm not accepted"),
    "garbage": (lambda f: lambda c, h: "not.a.token", "malformed token"),
}


def tamper(token, **changes):
    h, p, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims.update(changes)
    return f"{h}.{b64u_json(claims)}.{sig}"


def hs256(claims, secret):
    import hmac
    signing_input = f"{b64u_json({'alg': 'HS256', 'typ': 'JWT'})}.{b64u_json(claims)}"
    return signing_input + "." + b64u(hmac.new(secret.encode(), signing_input.encode(), "sha256").digest())


@pytest.mark.parametrize("case", list(CASES))
def test_forged_token_refused(oidc, case):
    craft, reason = CASES[case]
    before = oidc.log("auth.log").count("ID token refused")
    s, _, r = forged(oidc, craft(oidc.forge))
    assert_refused(oidc, s, r, 401)
    assert "could not be verified" in r.text
    # refused for the reason the case is about (not for another flaw of the fixture)
    for _ in range(50):
        refusals = re.findall(r"ID token refused: ([A-Za-z ]+)", oidc.log("auth.log"))
        if len(refusals) > before:
            break
        time.sleep(0.1)
    assert refusals[-1].startswith(reason), refusals[-1]


def test_token_endpoint_fails(oidc):
    oidc.forge.token_status = 500
    try:
        s, _, r = forged(oidc, lambda c, h: oidc.forge.sign(h, c))
    finally:
        oidc.forge.token_status = 200
    assert_refused(oidc, s, r, 502)
    assert "could not be reached" in r.text


def test_provider_down(oidc):
    s = requests.Session()
    r = s.get(oidc.url + "/.auth/login/gone", allow_redirects=False, timeout=30)
    assert_refused(oidc, s, r, 502)
    assert "could not be reached" in r.text
    assert "ChatrOidcBinding" not in r.headers.get("Set-Cookie", "")


def test_starts_are_rate_limited(oidc):
    """Each start stores a flow row: one client gets 30 a minute free, then waits after each
    further one (429, Retry-After), as the other throttle counters do."""
    for _ in range(31):
        start(oidc, "testrs")
    s = requests.Session()
    r = s.get(oidc.url + "/.auth/login/testrs", allow_redirects=False, timeout=10)
    assert_refused(oidc, s, r, 429)
    assert int(r.headers["Retry-After"]) >= 1
