"""The production install (`make install`, infra/systemd, docs/deployment.md).

A DESTDIR install into a temp dir, then: `systemd-analyze verify` on every unit it installed (in a
verification root made of that DESTDIR plus the host's own units and the few host programs the
units run), the layout (every program, a socket and a service per program, a target that wants
them all, nobody runs as root, migrations before the programs, hardening), the settings file (no
development sign-in, every setting documented, never overwritten), the production nginx
configuration rendered from the installed templates and checked by `nginx -t`, and the setup
step (secrets 0600, derived settings). No systemd needs to run.
"""
import configparser
import glob
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"


def programs():
    """{unit: binary} of every FastCGI program, from the declarations (as infra/emulator)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "functions", "*", "function.json"))):
        name = os.path.basename(os.path.dirname(path))
        out[f"chatr-fn-{name}"] = f"fn-{name}"
    for path in sorted(glob.glob(os.path.join(ROOT, "gateway", "*", "program.json"))):
        name = os.path.basename(os.path.dirname(path))
        out[f"chatr-{name}"] = name
    return out


def make_install(destdir, *args):
    # The test suite runs on the ASan build (make test): install that one instead of building a
    # release only for this test; the layout is the same.
    mode = "asan" if "asan" in os.environ.get("CHATR_BIN_DIR", "") else "release"
    r = subprocess.run(["make", "-s", "--no-print-directory", "install", f"DESTDIR={destdir}",
                        f"MODE={mode}", *args], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"make install failed:\n{r.stdout}\n{r.stderr}"
    return r


class Install:
    def __init__(self, destdir, prefix):
        self.destdir = destdir
        self.prefix = prefix
        self.libexec = f"{prefix}/lib/chatr"
        self.share = f"{prefix}/share/chatr"
        self.unitdir = f"{prefix}/lib/systemd/system"

    def path(self, p):
        return self.destdir + p

    def units(self):
        return sorted(os.path.basename(p) for p in glob.glob(self.path(self.unitdir) + "/chatr*"))

    def unit(self, name):
        """The unit file as {section: {key: [values]}} (keys may repeat)."""
        out, section = {}, None
        with open(self.path(f"{self.unitdir}/{name}")) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("["):
                    section = out.setdefault(line.strip("[]"), {})
                    continue
                k, _, v = line.partition("=")
                section.setdefault(k, []).append(v)
        return out


@pytest.fixture(scope="module", params=["/usr", "/usr/local"])
def installed(request, tmp_path_factory):
    destdir = str(tmp_path_factory.mktemp("destdir"))
    make_install(destdir, f"PREFIX={request.param}")
    return Install(destdir, request.param)


def verification_root(inst, tmp_path):
    """A root for `systemd-analyze verify --root`: the DESTDIR install, the host's own units
    (sysinit.target, sockets.target, ...: a unit's default dependencies) and a copy of each host
    program a unit runs (verify checks that ExecStart's program is executable inside the root;
    symlinks to the host would be resolved inside the root too)."""
    root = str(tmp_path / "root")
    shutil.copytree(inst.destdir, root, symlinks=True)
    os.makedirs(root + "/usr/lib/systemd", exist_ok=True)
    shutil.copytree("/usr/lib/systemd/system", root + "/usr/lib/systemd/system", symlinks=True,
                    dirs_exist_ok=True)
    for unit in inst.units():
        for values in inst.unit(unit).get("Service", {}).items():
            key, vals = values
            if not key.startswith("Exec"):
                continue
            for v in vals:
                prog = v.lstrip("-@:+!").split()[0]
                ours = prog.startswith((inst.libexec + "/", inst.share + "/"))
                if not ours and os.path.exists(prog) and not os.path.exists(root + prog):
                    os.makedirs(os.path.dirname(root + prog), exist_ok=True)
                    shutil.copy2(prog, root + prog)
    return root


def verify(root, unitdir, names):
    """`systemd-analyze verify` on the units: (ok, output). Any output at all fails it: verify
    only warns (exit 0) about an unknown key or a value it cannot parse, and ignores it."""
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", f"--root={root}", *names], cwd=root + unitdir,
                       capture_output=True, text=True)
    out = (r.stdout + r.stderr).strip()
    return r.returncode == 0 and not out, out


def test_units_pass_systemd_analyze_verify(installed, tmp_path):
    root = verification_root(installed, tmp_path)
    ok, out = verify(root, installed.unitdir, installed.units())
    assert ok, out


def test_verify_catches_a_broken_unit(installed, tmp_path):
    """The check above can fail: a misspelt key, a bad value, a program that is not there, a
    socket unit that is missing."""
    root = verification_root(installed, tmp_path)
    unitdir = root + installed.unitdir
    unit = "chatr-fn-users.service"
    with open(f"{unitdir}/{unit}") as f:
        good = f.read()
    broken = {
        "misspelt key": good.replace("\nRestart=always", "\nRestrat=always"),
        "bad value": good.replace("\nRestart=always", "\nRestart=sometimes"),
        "missing program": good.replace("/usr/bin/multiwatch", "/usr/bin/no-such-multiwatch"),
    }
    for what, text in broken.items():
        assert text != good, what
        with open(f"{unitdir}/{unit}", "w") as f:
            f.write(text)
        ok, out = verify(root, installed.unitdir, [unit])
        assert not ok, f"verify accepted a unit with a {what}"
    with open(f"{unitdir}/{unit}", "w") as f:
        f.write(good)
    assert verify(root, installed.unitdir, [unit])[0]
    os.unlink(f"{unitdir}/chatr-fn-users.socket")
    assert not verify(root, installed.unitdir, [unit])[0], "verify accepted a missing socket unit"


def test_every_program_has_its_socket_and_service(installed):
    progs = programs()
    assert len(progs) >= 9  # 4 functions, 4 hub programs, auth
    for unit, binary in progs.items():
        exe = installed.path(f"{installed.libexec}/{binary}")
        assert os.access(exe, os.X_OK), f"{exe} is not installed"
        svc = installed.unit(f"{unit}.service")["Service"]
        # multiwatch runs the installed program on the socket systemd hands over as fd 0
        argv = svc["ExecStart"][0].split()
        assert argv[0] == "/usr/bin/multiwatch" and argv[-1] == f"{installed.libexec}/{binary}"
        assert svc["StandardInput"] == ["socket"]
        assert svc["Restart"] == ["always"]
        assert svc["KillMode"] == ["mixed"]
        sock = installed.unit(f"{unit}.socket")["Socket"]
        assert sock["ListenStream"] == [f"/run/chatr/{binary}.sock"]
        assert sock["SocketUser"] == ["chatr"] and sock["SocketMode"] == ["0660"]


def test_target_wants_every_unit(installed):
    units = installed.units()
    wants = set(installed.unit("chatr.target")["Unit"]["Wants"][0].split())
    assert wants == set(units) - {"chatr.target"}
    for name in ("chatr-setup.service", "chatr-migrate.service", "chatr-nginx.service",
                 "chatr-log-redactor.service"):
        assert name in wants
    for unit in units:
        if unit != "chatr.target":
            assert installed.unit(unit)["Unit"]["PartOf"] == ["chatr.target"], unit


HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
             "PrivateTmp": "yes", "RuntimeDirectory": "chatr", "RuntimeDirectoryPreserve": "yes"}


def test_no_unit_runs_as_root_and_every_one_is_hardened(installed):
    for unit in installed.units():
        if not unit.endswith(".service"):
            continue
        svc = installed.unit(unit)["Service"]
        assert svc.get("User") == ["chatr"] and svc.get("Group") == ["chatr"], unit
        for k, v in HARDENING.items():
            assert svc.get(k) == [v], f"{unit}: {k}"
        # nginx binds ports below 1024 with this capability only, not as root
        caps = " ".join(svc.get("AmbientCapabilities", []))
        assert caps in ("", "CAP_NET_BIND_SERVICE"), unit
    with open(installed.path(f"{installed.prefix}/lib/sysusers.d/chatr.conf")) as f:
        assert re.search(r"^u chatr - ", f.read(), re.M)
    with open(installed.path(f"{installed.prefix}/lib/tmpfiles.d/chatr.conf")) as f:
        tmpfiles = f.read()
    assert re.search(r"^d /run/chatr 0750 chatr chatr -$", tmpfiles, re.M)
    assert re.search(r"^L /var/lib/chatr/run - - - - /run/chatr$", tmpfiles, re.M)


def test_migrations_run_before_the_programs(installed):
    mig = installed.unit("chatr-migrate.service")
    assert mig["Service"]["Type"] == ["oneshot"]
    assert mig["Service"]["RemainAfterExit"] == ["yes"]
    script = mig["Service"]["ExecStart"][0]
    assert script == f"{installed.share}/schema/migrate"
    assert os.access(installed.path(script), os.X_OK)
    sql = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "schema", "*.sql")))
    assert sorted(os.path.basename(p) for p in glob.glob(installed.path(installed.share) + "/schema/*.sql")) == sql
    before = set(mig["Unit"]["Before"][0].split())
    for unit in list(programs()) + ["chatr-nginx"]:
        assert f"{unit}.service" in before
    for unit in programs():
        u = installed.unit(f"{unit}.service")["Unit"]
        for dep in ("chatr-migrate.service", "chatr-setup.service"):
            assert dep in u["Requires"][0].split() and dep in u["After"][0].split(), unit


def test_settings_file(installed):
    path = installed.path("/etc/chatr/chatr.env")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o640
    with open(path) as f:
        lines = f.read().splitlines()
    settings = [l for l in lines if l and not l.startswith("#")]
    assert not any(l.startswith("CHATR_DEV_AUTH") for l in settings), "dev sign-in is on"
    assert any(l.startswith("DATABASE_URL=") for l in settings)
    # every setting, given or commented out, comes after a comment saying what it is
    names = []
    for i, line in enumerate(lines):
        m = re.match(r"^#?([A-Z][A-Z0-9_]+)=", line)
        if m:
            names.append(m.group(1))
            j = i - 1
            while j >= 0 and re.match(r"^#?[A-Z][A-Z0-9_]+=", lines[j]):
                j -= 1
            assert j >= 0 and lines[j].startswith("# "), f"{m.group(1)} is not documented"
    for name in ("DATABASE_URL", "CHATR_PUBLIC_URL", "CHATR_PORT", "CHATR_LISTEN", "CHATR_TLS_CERT",
                 "CHATR_TLS_KEY", "CHATR_TRUSTED_PROXIES", "WEBPUBSUB_CONNECTION_STRING",
                 "CHATR_HUB_SETTINGS", "CHATR_NGINX_WORKERS", "CHATR_NCHAN_SHM", "CHATR_REDIS_URL",
                 "CHATR_NODE_ID"):
        assert name in names, f"{name} is not in chatr.env"
    assert not re.search(r"@[A-Z_]+@", "\n".join(lines)), "a placeholder was left in"


def test_settings_file_is_never_overwritten(tmp_path):
    destdir = str(tmp_path / "d")
    make_install(destdir, "PREFIX=/usr")
    path = destdir + "/etc/chatr/chatr.env"
    with open(path, "a") as f:
        f.write("CHATR_PORT=9999\n")
    r = make_install(destdir, "PREFIX=/usr")
    assert "kept /etc/chatr/chatr.env" in r.stdout
    with open(path) as f:
        assert f.read().endswith("CHATR_PORT=9999\n")


def test_production_hub_settings_hold_the_app_hub_only(installed):
    """The installed hubs.json has the app's `chat` hub only: the emulator's bench and test hubs
    (and their event handlers) are no part of a production node."""
    with open(installed.path(installed.share) + "/gateway/hubs.json") as f:
        hubs = json.load(f)["hubs"]
    assert list(hubs) == ["chat"]
    with open(os.path.join(ROOT, "gateway", "hubs.json")) as f:
        assert hubs["chat"] == json.load(f)["hubs"]["chat"]


def test_front_end_with_its_vendored_files(installed):
    www = installed.path(f"{installed.share}/frontend")
    with open(os.path.join(www, "index.html")) as f:
        html = f.read()
    used = re.findall(r"/node_modules/[^\"' )]+", html)
    assert len(used) >= 3
    for p in used:
        assert os.path.isfile(www + p), p
    with open(www + "/node_modules/@fortawesome/fontawesome-free/css/all.min.css") as f:
        for font in set(re.findall(r"url\(\.\./webfonts/([^)?#]+)", f.read())):
            assert os.path.isfile(www + "/node_modules/@fortawesome/fontawesome-free/webfonts/" + font)
    assert not os.path.exists(www + "/node_modules/vue/package.json")  # only what is served
    assert os.path.isfile(os.path.join(www, "staticwebapp.config.json"))


def production_env(installed, run, state, port=4280, **extra):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CHATR_SHARE_DIR": installed.path(installed.share),
           "CHATR_RUN_DIR": run, "CHATR_STATE_DIR": state, "CHATR_PORT": str(port),
           "DATABASE_URL": "postgresql:///chatr", "CHATR_PUBLIC_URL": "https://chat.example.org"}
    env.update(extra)
    return env


def test_production_nginx_configuration(installed, tmp_path):
    """chatr-nginx renders the installed templates for production and nginx -t accepts them;
    nginx reaches every pool on the path its socket unit listens on."""
    run, state = str(tmp_path / "run"), str(tmp_path / "state")
    os.makedirs(run)
    os.makedirs(state)
    r = subprocess.run([installed.path(f"{installed.libexec}/chatr-nginx"), "--render-only"],
                       env=production_env(installed, run, state), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    conf_dir = os.path.join(run, "nginx")
    text = ""
    for p in sorted(glob.glob(conf_dir + "/**/*.conf", recursive=True)):
        with open(p) as f:
            text += f.read()
    assert not re.search(r"^\s*user\s", text, re.M)  # nginx runs as chatr: no user switch
    assert "access_log syslog:server=unix:/run/systemd/journal/dev-log," in text
    assert f"error_log syslog:server=unix:{run}/nginx-log.sock" in text
    assert f"root {installed.path(installed.share)}/frontend;" in text
    assert f"pid {run}/nginx.pid;" in text
    # a pool reached directly (fastcgi_pass unix:...) or through an upstream block whose
    # connections nginx keeps (server unix:...; http.d/hub_router.conf.in, hub_upstreams.conf.in)
    passes = set(re.findall(r"fastcgi_pass unix:([^;]+);", text))
    passes |= set(re.findall(r"^\s*server unix:([^;\s]+)", text, re.M))
    sockets = {f"{run}/{b}.sock" for b in programs().values()}
    assert passes and passes <= sockets, passes - sockets
    assert {f"{run}/{b}.sock" for b in ("auth", "hub-connect", "hub-router", "fn-users")} <= passes


def test_production_nginx_starts_on_its_listener(installed, tmp_path):
    """chatr-nginx without --render-only: opens the listening socket itself and execs nginx on
    it (the NGINX variable); nginx answers on it."""
    run, state = str(tmp_path / "run"), str(tmp_path / "state")
    os.makedirs(run)
    os.makedirs(state)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([installed.path(f"{installed.libexec}/chatr-nginx")],
                            env=production_env(installed, run, state, port), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/.chatr/health", timeout=2) as resp:
                    body = resp.read()
                break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        assert body == b"ok\n", proc.stdout.read() if proc.poll() is not None else "no answer"
        with open(os.path.join(run, "nginx.pid")) as f:
            assert int(f.read()) == proc.pid  # exec'd: the unit's main process is nginx's master
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_setup_generates_secrets_and_derived_settings(installed, tmp_path):
    run, state = str(tmp_path / "run"), str(tmp_path / "state")
    os.makedirs(run)
    os.makedirs(state)
    setup = installed.path(f"{installed.libexec}/chatr-setup")
    env = production_env(installed, run, state)
    r = subprocess.run([setup], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    key_file = os.path.join(state, "secrets", "access_key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(key_file)).st_mode) == 0o700
    with open(key_file) as f:
        key = f.read().strip()
    assert len(key) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", key)
    settings = os.path.join(run, "app-settings.env")
    assert stat.S_IMODE(os.stat(settings).st_mode) == 0o600
    with open(settings) as f:
        text = f.read()
    assert f"WEBPUBSUB_CONNECTION_STRING=Endpoint=https://chat.example.org;AccessKey={key};Version=1.0;\n" in text
    assert key not in r.stdout + r.stderr
    assert os.path.realpath(os.path.join(state, "run")) == os.path.realpath(run)
    # the key stays the same across starts
    assert subprocess.run([setup], env=env, capture_output=True).returncode == 0
    with open(settings) as f:
        assert f.read() == text
    # a key set in chatr.env wins: nothing is derived for it
    r = subprocess.run([setup], env=dict(env, WEBPUBSUB_CONNECTION_STRING="Endpoint=x;AccessKey=y;"),
                       capture_output=True, text=True)
    with open(settings) as f:
        assert "WEBPUBSUB_CONNECTION_STRING" not in f.read()
    # refusals: the development sign-in mocks, no database, no public URL
    for bad, msg in ((dict(env, CHATR_DEV_AUTH="1"), "CHATR_DEV_AUTH"),
                     ({k: v for k, v in env.items() if k != "DATABASE_URL"}, "DATABASE_URL"),
                     (dict(env, CHATR_PUBLIC_URL="chat.example.org/x"), "CHATR_PUBLIC_URL")):
        r = subprocess.run([setup], env=bad, capture_output=True, text=True)
        assert r.returncode != 0 and msg in r.stderr, (msg, r.stderr)


def test_log_redactor_writes_the_journal_without_credentials(installed, tmp_path):
    """chatr-log-redactor.service runs the redactor with "-": redacted lines on standard output,
    which systemd sends to the journal."""
    sock = str(tmp_path / "log.sock")
    proc = subprocess.Popen(["/usr/bin/python3", installed.path(f"{installed.libexec}/log-redactor"),
                             sock, "-"], stdout=subprocess.PIPE)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(f"<11>Dec  1 01:02:03 nginx: 2026/12/01 01:02:03 [error] 1#1: GET "
                     f"/client/hubs/chat?access_token={token} HTTP/1.1".encode(), sock)
        line = proc.stdout.readline()
        assert b"[error]" in line and b"access_token=*" in line
        assert token.encode() not in line and b"c2lnbmF0dXJl" not in line
    finally:
        proc.terminate()
        proc.wait()


# ---- the installed node, run as systemd would run it ---------------------------------------------

def unit_env(inst, unit, base):
    """The environment systemd gives a unit's processes: Environment=, then EnvironmentFile=s."""
    env = dict(base)
    svc = inst.unit(unit)["Service"]
    for line in svc.get("Environment", []):
        env.update(kv.split("=", 1) for kv in line.split())
    for path in svc.get("EnvironmentFile", []):
        with open(path.lstrip("-")) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    k, _, v = line.partition("=")
                    env[k] = v
    return env


def test_installed_node_serves_a_chat(chatr, tmp_path):
    """A real install (no DESTDIR; every path under a temp dir), started the way the units say:
    chatr-setup, chatr-migrate on a fresh database, each pool on a socket bound for it and handed
    over as fd 0 (what the .socket unit does), the redactor and chatr-nginx. Then a guest signs
    in through it, gets a token (its URL from CHATR_PUBLIC_URL), connects to the hub, and a REST
    call signed with the key chatr-setup generated reaches the socket. Runs as root, so nginx's
    workers are `nobody` here: the sockets are opened to them (production: everything is chatr)."""
    import tempfile
    from hubtools import Client, rest
    from conftest import free_port, sign_in_guest

    top = tempfile.mkdtemp(prefix="chatr-install-")
    os.chmod(top, 0o755)
    procs = []
    try:
        t = top
        run, state = f"{t}/run/chatr", f"{t}/var/lib/chatr"
        mode = "asan" if "asan" in os.environ.get("CHATR_BIN_DIR", "") else "release"
        r = subprocess.run(["make", "-s", "--no-print-directory", "install", f"MODE={mode}",
                            f"PREFIX={t}/usr", f"SYSCONFDIR={t}/etc", f"STATEDIR={state}",
                            f"RUNDIR={run}"], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        inst = Install("", f"{t}/usr")
        assert os.path.islink(f"{state}/run")  # made by systemd-tmpfiles at install
        os.chmod(run, 0o755)  # for nginx's workers (nobody) in this root-run test only
        port = free_port()
        db = "chatr_install_test"
        subprocess.run(["dropdb", "--if-exists", "-h", f"{chatr.state}/pg/sock", "-U", "postgres", db],
                       capture_output=True)
        subprocess.run(["createdb", "-h", f"{chatr.state}/pg/sock", "-U", "postgres", db], check=True)
        with open(f"{t}/etc/chatr/chatr.env", "a") as f:
            f.write(f"DATABASE_URL=postgresql:///{db}?host={chatr.state}/pg/sock&user=postgres\n"
                    f"CHATR_PUBLIC_URL=http://127.0.0.1:{port}\nCHATR_PORT={port}\n")
        base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ASAN_OPTIONS": "detect_leaks=0"}

        def start(unit, **kw):
            argv = inst.unit(unit)["Service"]["ExecStart"][0].split()
            p = subprocess.Popen(argv, env=unit_env(inst, unit, base), start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
            procs.append(p)
            return p

        for unit in ("chatr-setup.service", "chatr-migrate.service"):
            argv = inst.unit(unit)["Service"]["ExecStart"][0].split()
            r = subprocess.run(argv, env=unit_env(inst, unit, base), capture_output=True, text=True)
            assert r.returncode == 0, f"{unit}: {r.stdout}{r.stderr}"
        for unit in programs():
            path = inst.unit(f"{unit}.socket")["Socket"]["ListenStream"][0]
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen(4096)
            os.chmod(path, 0o666)
            start(f"{unit}.service", stdin=s.fileno())
            s.close()  # the pool holds it now (systemd would keep its own copy)
        start("chatr-log-redactor.service")
        nginx = start("chatr-nginx.service")
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/.chatr/health", timeout=2):
                    break
            except OSError:
                assert nginx.poll() is None, "chatr-nginx exited"
                time.sleep(0.1)
        node = type("Node", (), {})()
        node.url = f"http://127.0.0.1:{port}"
        with open(f"{state}/secrets/access_key") as f:
            node.access_key = f.read().strip()

        guest = sign_in_guest(node, "Installed")
        r = guest.get(node.url + "/api/getToken", timeout=10)
        assert r.status_code == 200, r.text
        url = r.json()["url"]
        assert url.startswith(f"ws://127.0.0.1:{port}/client/hubs/chat?access_token=")
        ws = Client(node, token=url.split("access_token=", 1)[1], headers=[f"Origin: {node.url}"])
        r = rest(node, "POST", "/api/hubs/chat/:send", body='{"n":1}', ctype="application/json",
                 params={"api-version": "2024-12-01"})
        assert r.status_code == 202, r.text
        for _ in range(10):  # the chat's own frames (userOnline, ...) may come first
            frame = ws.recv()
            if frame.get("from") == "server" and frame.get("data") == {"n": 1}:
                break
        else:
            raise AssertionError("the REST message never reached the socket")
        ws.close()
        assert guest.get(node.url + "/api/users", timeout=10).status_code == 200
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, 9)
            except ProcessLookupError:
                pass
            p.wait()
        subprocess.run(["dropdb", "--if-exists", "-h", f"{chatr.state}/pg/sock", "-U", "postgres",
                        "chatr_install_test"], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
