"""Shared fixtures: one real Chatr emulator (PostgreSQL, spawn-fcgi pools, nginx + nchan) per
test session, on a free port with a fresh state directory, stopped at the end even when tests
fail. Tests talk to it over HTTP and WebSocket only, like a client would."""
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR = os.path.join(ROOT, "infra", "emulator")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chatr:
    """A running emulator instance."""

    def __init__(self):
        self.port = free_port()
        self.state = tempfile.mkdtemp(prefix="chatr-test-")
        self.url = f"http://127.0.0.1:{self.port}"
        default_bin = os.path.join(ROOT, "build", "asan", "bin")
        if not os.path.isdir(default_bin):
            default_bin = os.path.join(ROOT, "build", "bin")
        self.env = dict(os.environ, CHATR_PORT=str(self.port), CHATR_STATE_DIR=self.state,
                        CHATR_BIN_DIR=os.environ.get("CHATR_BIN_DIR", default_bin),
                        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                        # hundreds of browsers on one address (test_security_auth.py: the default)
                        CHATR_GUEST_SIGNINS_PER_MINUTE="100000")
        self.env.pop("DATABASE_URL", None)

    def emulator(self, *args, check=True):
        r = subprocess.run([EMULATOR, *args], env=self.env, capture_output=True, text=True, timeout=180)
        if check and r.returncode != 0:
            raise RuntimeError(f"emulator {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r

    def deploy(self, name, action):
        return subprocess.run([os.path.join(ROOT, "infra", "deploy"), name, action], env=self.env,
                              capture_output=True, text=True, timeout=60)

    @property
    def access_key(self):
        with open(os.path.join(self.state, "secrets", "access_key")) as f:
            return f.read().strip()

    @property
    def connection_string(self):
        return f"Endpoint={self.url};AccessKey={self.access_key};Version=1.0;"

    @property
    def database_url(self):
        return f"postgresql:///chatr?host={self.state}/pg/sock&user=postgres"

    def sql(self, query, *params):
        """Runs one SQL statement with psql; returns rows as lists of strings."""
        args = ["psql", self.database_url, "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        for i, p in enumerate(params, 1):
            args += ["-v", f"p{i}={p}"]
        r = subprocess.run(args, input=query, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def log(self, name):
        path = os.path.join(self.state, "logs", name)
        return open(path).read() if os.path.exists(path) else ""

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=10, allow_redirects=False, **kw)

    def post(self, path, **kw):
        return requests.post(self.url + path, timeout=10, allow_redirects=False, **kw)

    def request(self, method, path, **kw):
        return requests.request(method, self.url + path, timeout=10, allow_redirects=False, **kw)

    def get_signed_in(self, path, **kw):
        """GET as a signed-in guest (the API is for signed-in users); one guest per test run."""
        return self.request_signed_in("GET", path, **kw)

    def request_signed_in(self, method, path, **kw):
        if not getattr(self, "_guest", None):
            self._guest = sign_in_guest(self, "Tester")
        return self._guest.request(method, self.url + path, timeout=10, allow_redirects=False, **kw)


def sign_in_guest(chatr, name):
    """A requests.Session signed in as a new guest (POST /.auth/login/guest, like a browser);
    its .user_id is the guest's id."""
    s = requests.Session()
    r = s.post(chatr.url + "/.auth/login/guest", data={"name": name}, allow_redirects=False,
               timeout=10)
    assert r.status_code == 302, r.text
    s.user_id = s.get(chatr.url + "/.auth/me", timeout=10).json()["clientPrincipal"]["userId"]
    return s


@contextlib.contextmanager
def running(c, *start):
    """An emulator of the test's own (c: a Chatr, its env already set), started (`start`: more
    arguments, "--nodes", "2" say), and stopped with its state removed at the end even when the
    test fails (CHATR_KEEP_STATE=1 keeps the state)."""
    try:
        c.emulator("start", *start)
        yield c
    finally:
        c.emulator("stop", check=False)
        if os.environ.get("CHATR_KEEP_STATE"):
            print(f"state kept in {c.state}")
        else:
            shutil.rmtree(c.state, ignore_errors=True)


class HeldSession:
    """A psql session of the test's own that stays open between statements: it holds a
    transaction and its row locks while the hub's programs run into them. say() sends SQL and,
    with `then`, waits for psql to print that line (a SELECT 'then' at the end of the SQL)."""

    def __init__(self, chatr):
        self.proc = subprocess.Popen(["psql", chatr.database_url, "-XAtq", "-v", "ON_ERROR_STOP=1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def say(self, sql, then=None):
        self.proc.stdin.write(sql)
        self.proc.stdin.flush()
        if then is not None:
            assert self.proc.stdout.readline().strip() == then

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def chatr():
    with running(Chatr()) as c:
        yield c


@pytest.fixture()
def signed_in(chatr):
    """signed_in(name) -> a requests.Session signed in as a new guest called name (through
    POST /.auth/login/guest, like a browser); its .user_id is the guest's id."""
    return lambda name="Guest": sign_in_guest(chatr, name)


@pytest.fixture()
def people(chatr):
    """people("Ann"): a signed-in chat user with an open socket (chattools.Person); every one a
    test made is closed at its end."""
    from chattools import Person, close_all  # chattools imports this module
    made = []

    def make(name):
        p = Person(chatr, name)
        made.append(p)
        return p
    yield make
    close_all(chatr, made)


@pytest.fixture()
def needs_history(chatr):
    """Skips a test when the hub keeps no history (message ids come from it)."""
    from chattools import history_available
    if not history_available(chatr):
        pytest.skip("the hub's history extension is needed for message ids")
