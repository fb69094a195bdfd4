"""The foundation through real nginx: function routes, errors, limits, database restarts,
migrations and per-function deploys."""
import os
import shutil
import subprocess
import tempfile
import threading

from conftest import ROOT


def test_users_route_answers_json(chatr):
    chatr.sql("INSERT INTO chatr.users (id, name, provider, online) VALUES "
              "('u-found-1', 'Ada', 'guest', true), ('u-found-2', 'Off', 'guest', false) "
              "ON CONFLICT DO NOTHING")
    r = chatr.get_signed_in("/api/users")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    users = r.json()["users"]
    assert users["u-found-1"]["userName"] == "Ada"
    assert users["u-found-1"]["userProvider"] == "guest"
    assert users["u-found-1"]["idle"] is False
    assert "u-found-2" not in users  # only online users are listed


def test_chats_route_answers_json_with_members(chatr):
    chatr.sql("INSERT INTO chatr.users (id, name, provider) VALUES ('u-owner', 'Owner', 'guest') "
              "ON CONFLICT DO NOTHING;"
              "INSERT INTO chatr.chats (id, name, owner) VALUES ('c-found', 'Lobby', 'u-owner');"
              "INSERT INTO chatr.members (chat_id, user_id) VALUES ('c-found', 'u-owner')")
    r = chatr.get_signed_in("/api/chats")
    assert r.status_code == 200
    chat = r.json()["chats"]["c-found"]
    assert chat["id"] == "c-found" and chat["name"] == "Lobby" and chat["owner"] == "u-owner"
    assert chat["members"] == {"u-owner": {"userId": "u-owner", "userName": "Owner"}}


def test_unknown_api_route_is_404_json(chatr):
    r = chatr.get("/api/no-such-function")
    assert r.status_code == 404
    assert "error" in r.json()


def test_wrong_method_is_405_with_allow(chatr):
    for path in ("/api/users", "/api/chats"):
        r = chatr.request("DELETE", path)
        assert r.status_code == 405
        assert r.headers["Allow"] == "GET"
        assert "DELETE" in r.json()["error"]


def test_head_is_get_without_body(chatr):
    r = chatr.request_signed_in("HEAD", "/api/users")
    assert r.status_code == 200
    assert r.content == b""


def test_oversized_body_is_413_json(chatr):
    r = chatr.post("/api/users", data=b"x" * 200_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] == "request body too large"


def test_client_principal_from_client_is_ignored(chatr):
    # A forged principal must not reach a function: chats would otherwise reveal private chats.
    chatr.sql("INSERT INTO chatr.users (id, name, provider) VALUES ('u-priv-a', 'A', 'guest'), "
              "('u-priv-b', 'B', 'guest') ON CONFLICT DO NOTHING;"
              "INSERT INTO chatr.chats (id, name, owner, private) VALUES "
              "('private_u-priv-a_u-priv-b', 'A & B', 'u-priv-a', true);"
              "INSERT INTO chatr.members (chat_id, user_id) VALUES "
              "('private_u-priv-a_u-priv-b', 'u-priv-a'), ('private_u-priv-a_u-priv-b', 'u-priv-b')")
    import base64, json
    forged = base64.b64encode(json.dumps({"identityProvider": "guest", "userId": "u-priv-a",
                                          "userDetails": "A", "userRoles": ["anonymous", "authenticated"]
                                          }).encode()).decode()
    r = chatr.get("/api/chats", headers={"x-ms-client-principal": forged})
    assert r.status_code in (200, 401)
    if r.status_code == 200:
        assert "private_u-priv-a_u-priv-b" not in r.json()["chats"]


def test_database_restart_is_survived(chatr):
    assert chatr.get_signed_in("/api/users").status_code == 200
    chatr.emulator("db", "stop")
    try:
        for path in ("/api/users", "/api/chats"):
            r = chatr.get_signed_in(path)
            # 503 + Retry-After after the bounded hold (docs/storage.md, "Outages")
            assert r.status_code == 503
            assert int(r.headers["Retry-After"]) > 0
            assert r.json()["error"] == "database unavailable"
    finally:
        chatr.emulator("db", "start")
    for path in ("/api/users", "/api/chats"):
        assert chatr.get_signed_in(path).status_code == 200
    # The session lookup (auth program, same runtime) is what meets the stopped database first.
    log = chatr.log("auth.log")
    assert "database reconnect failed" in log or "database connect failed" in log
    assert "database connection re-established" in log or \
        "path=/.chatr/auth/principal status=204" in log.rsplit("failed", 1)[1]


def run_migrate(chatr, schema_dir):
    return subprocess.run([os.path.join(schema_dir, "migrate")], capture_output=True, text=True,
                          env=dict(os.environ, DATABASE_URL=chatr.database_url), timeout=60)


def test_migrate_twice_is_a_no_op(chatr):
    before = chatr.sql("SELECT version, applied_at FROM public.schema_migrations ORDER BY version")
    r = run_migrate(chatr, os.path.join(ROOT, "schema"))
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout
    assert chatr.sql("SELECT version, applied_at FROM public.schema_migrations ORDER BY version") == before


def test_failed_migration_leaves_database_as_it_was(chatr):
    tmp = tempfile.mkdtemp()
    try:
        schema = os.path.join(tmp, "schema")
        shutil.copytree(os.path.join(ROOT, "schema"), schema)
        with open(os.path.join(schema, "999_broken.sql"), "w") as f:
            f.write("CREATE TABLE chatr.half_done (x int);\nSELECT 1/0;\n")
        r = run_migrate(chatr, schema)
        assert r.returncode == 1
        assert "999_broken failed" in r.stderr
        assert chatr.sql("SELECT to_regclass('chatr.half_done') IS NULL") == [["t"]]
        assert chatr.sql("SELECT count(*) FROM public.schema_migrations WHERE version = '999_broken'") == [["0"]]
    finally:
        shutil.rmtree(tmp)


def test_redeploying_one_function_leaves_the_others_answering(chatr):
    statuses, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            statuses.append(chatr.get_signed_in("/api/chats").status_code)

    t = threading.Thread(target=hammer)
    t.start()
    try:
        r = chatr.deploy("users", "restart")
        assert r.returncode == 0, r.stderr
    finally:
        stop.set()
        t.join()
    assert statuses and set(statuses) == {200}
    assert chatr.get_signed_in("/api/users").status_code == 200


def test_status_reports_components_and_connection_string(chatr):
    out = chatr.emulator("status").stdout
    assert f"url: {chatr.url}" in out
    assert "nginx: " in out and "postgres: " in out and "fn-users: " in out
    assert f"connection string: Endpoint={chatr.url};AccessKey=" in out
    mode = os.stat(os.path.join(chatr.state, "secrets", "access_key")).st_mode & 0o777
    assert mode == 0o600
