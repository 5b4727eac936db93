"""Shared pieces of ds's integration tests.

Every test gets its own temp root with private runtime, state, config and
workspace directories, starts the dsd it needs and stops it afterwards. It
never touches a user's real daemon.

CI runs as root, but dsd (and later the PostgreSQL it runs) must run as an
ordinary user, and some tests need a second uid. When the tests run as root,
ds and dsd therefore run as the unprivileged user DS_TEST_USER (default
"ds-test", created by scripts/test.sh), from binaries staged in a directory
that user can read (DS_TEST_BIN_DIR).

Every test can run alone. After one scripts/test.sh (which stages the
binaries), pick tests by name with DS_TEST_ONLY (comma-separated substrings
of test names, as unittest's -k), through ctest:

    DS_TEST_ONLY=test_secret_never_in_log ctest --preset release -R integration.current

or run a file directly, with the environment ctest gives it (see
tests/CMakeLists.txt: DS_TEST_BIN_DIR and friends) and unittest's own
arguments, e.g. `python3 test_current.py CurrentTest.test_secret_never_in_log`.

In a sanitizer build (DS_SANITIZE set by ctest; docs/sanitizers.md) every
process a DsEnv starts writes its sanitizer reports into the env's own
directory, whatever happens to its stderr (a dsd that ds spawns has it on
/dev/null), and the test fails at cleanup if any report is there.
"""

import json
import os
import pty
import pwd
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

BIN_DIR = os.environ.get("DS_TEST_BIN_DIR", "")
TEST_USER = os.environ.get("DS_TEST_USER", "ds-test")
IS_ROOT = os.geteuid() == 0
# The PostgreSQL the local provider's tests run (Debian's postgresql-15).
LOCAL_PG_BIN = "/usr/lib/postgresql/15/bin"
# The sanitizers of the build under test ("address,undefined", "thread"),
# empty in a plain build.
SANITIZE = os.environ.get("DS_SANITIZE", "")
SANITIZER_OPTION_VARS = {"ASAN_OPTIONS": "asan", "UBSAN_OPTIONS": "ubsan",
                         "LSAN_OPTIONS": "lsan", "TSAN_OPTIONS": "tsan"}
# How long a stopped dsd may take to exit before it is killed. A sanitizer
# build's dsd checks for leaks on its way out (and a SIGKILL would lose the
# check), so it gets longer.
EXIT_GRACE = 30 if SANITIZE else 10


OTHER_USER = os.environ.get("DS_TEST_USER2", "ds-test2")  # as test_cli.py


def require_local_pg():
    """For setUpClass: skips the class where PostgreSQL 15's server binaries
    (what the local provider runs) are not installed."""
    if not os.path.exists(os.path.join(LOCAL_PG_BIN, "initdb")):
        raise unittest.SkipTest(f"PostgreSQL server binaries are not in {LOCAL_PG_BIN}")


def other_user():
    """A second unprivileged user for the hostile-user cases (scripts/test.sh
    creates it); None when the tests do not run as root, as they then cannot
    act as anyone else. As root a missing user is an error, not a skip."""
    if not IS_ROOT:
        return None
    try:
        pwd.getpwnam(OTHER_USER)
    except KeyError:
        raise AssertionError(f"user {OTHER_USER} does not exist: run "
                             f"scripts/ensure-test-user.sh {OTHER_USER} (scripts/test.sh does)")
    return OTHER_USER


def as_user(user, args):
    """argv running `args` as `user` (root only)."""
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups",
            "--"] + args


def runner_ids():
    """uid/gid that ds and dsd run as in the tests."""
    if IS_ROOT:
        pw = pwd.getpwnam(TEST_USER)
        return pw.pw_uid, pw.pw_gid
    return os.geteuid(), os.getegid()


def poll_until(predicate, timeout, interval=0.01):
    """True once predicate() holds, False if it still does not at the deadline.
    The predicate is asked once more at the deadline, so a slow last poll
    never turns a condition that came true into a timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


def wait_until(predicate, timeout=10.0, what="condition", interval=0.01):
    """Waits for a condition instead of sleeping for a guessed time; fails
    naming `what` when it does not hold within `timeout` seconds."""
    if not poll_until(predicate, timeout, interval):
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")
    return True


def wait_for(predicate, timeout=10.0, interval=0.01, what="condition"):
    """wait_until under its older name and argument order."""
    return wait_until(predicate, timeout, what, interval)


def socket_answers(path):
    """Whether something listens on the Unix socket `path`. A connection
    from root is accepted by the kernel and only then refused by dsd, so
    this proves a listener, not that dsd serves the test user."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def open_fds(pid):
    """{fd: what it points at} for a process ("/path", "socket:[123]", ...)."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except FileNotFoundError:  # closed meanwhile
            pass
    return out


def fds_without_cloexec(pid):
    """The fds beyond 0-2 of a process that an exec would pass on."""
    leaky = []
    for fd in open_fds(pid):
        if fd <= 2:
            continue
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                flags = next(l for l in f if l.startswith("flags:")).split()[1]
        except FileNotFoundError:
            continue
        if not int(flags, 8) & os.O_CLOEXEC:
            leaky.append(fd)
    return leaky


def dotenv(path):
    """The KEY=value lines of a .env file (simple values; for assertions)."""
    values = {}
    with open(path) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                k, v = line.rstrip("\n").split("=", 1)
                values[k.strip()] = v.strip().strip("'\"")
    return values


# ds's picker begins every frame it draws (and its exit) with this.
PICKER_FRAME = b"\r\x1b[J"


def run_in_pty(env, args, keys, wait_for_text, timeout=20):
    """Runs ds on a pseudo-terminal and returns (exit code, everything it printed).

    Once `wait_for_text` shows, types each (key, then) of `keys` in turn and
    waits until `then` appears in what ds prints *after* that key: proof that
    ds has read it. A key must not be typed before ds has read the previous
    one when that was an escape sequence (an arrow, Esc): the picker reads it
    together with whatever bytes came with it. With `then` None, a key that
    another follows waits instead until the picker has drawn a frame for each
    key typed so far (it draws one per key it reads); the last key waits for
    nothing. After the last key, ds must exit within `timeout` seconds."""
    pid, fd = pty.fork()
    if pid == 0:
        argv = env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds")] + args)
        os.execvpe(argv[0], argv, {**env.env(), "TERM": "xterm"})
    out = b""
    closed = False

    def read_until(done):
        """Reads until done() (True), or until ds closes the terminal or the
        timeout passes (False); done None reads to the end."""
        nonlocal out, closed
        deadline = time.monotonic() + timeout
        while not closed and time.monotonic() < deadline:
            if done is not None and done():
                return True
            r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: ds closed its side
                    chunk = b""
                out += chunk
                closed = not chunk
        return done is not None and done()

    try:
        if not read_until(lambda: wait_for_text in out):
            raise AssertionError(f"never saw {wait_for_text!r}: {out!r}")
        frames_before = out.count(PICKER_FRAME)
        typed = 0
        for i, (key, then) in enumerate(keys):
            since = len(out)
            os.write(fd, key)
            typed += 1 if key.startswith(b"\x1b") else len(key)
            if then is not None:
                if not read_until(lambda: then in out[since:]):
                    raise AssertionError(f"typed {key!r}, never saw {then!r} after it: {out!r}")
            elif i + 1 < len(keys):
                want = frames_before + typed
                if not read_until(lambda: out.count(PICKER_FRAME) >= want):
                    raise AssertionError(f"typed {key!r}, the picker did not read it: {out!r}")
        read_until(None)
        if not closed:
            raise AssertionError(f"ds did not exit within {timeout}s of the last key: {out!r}")
    finally:
        if not closed:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


class DsEnv:
    """One isolated ds installation: temp dirs, env vars, a dsd to start."""

    def __init__(self, name="t"):
        if not BIN_DIR or not os.path.exists(os.path.join(BIN_DIR, "ds")):
            raise unittest.SkipTest("DS_TEST_BIN_DIR does not hold ds and dsd")
        self.uid, self.gid = runner_ids()
        # Short paths: a Unix socket path must fit in 108 bytes.
        self.root = tempfile.mkdtemp(prefix=f"ds-{name}-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.runtime = self.mkdir("run", 0o700)
        self.state = self.mkdir("state", 0o700)
        self.config = self.mkdir("config", 0o700)
        self.data = self.mkdir("data", 0o700)
        self.home = self.mkdir("home", 0o700)
        self.socket = os.path.join(self.runtime, "ds", "dsd.sock")
        self.log_file = os.path.join(self.state, "dsd.log")
        # Writable by the test user, who runs ds and dsd.
        self.sanitizer_logs = self.mkdir("sanitizer", 0o700) if SANITIZE else None
        self.daemon = None

    # -- files -------------------------------------------------------------

    def mkdir(self, rel, mode=0o755):
        path = os.path.join(self.root, rel)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)
        return path

    def write(self, rel, text, mode=0o644):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="") as f:
            f.write(text)
        os.chmod(path, mode)
        os.chown(path, self.uid, self.gid)
        return path

    def write_drizzle_folder(self, ws, entries, rel="drizzle"):
        """A drizzle-kit 0.x migrations folder `rel` in workspace `ws`: entries
        are (tag, sql) or (tag, when, sql) in journal order (`when` defaults to
        1700000000000 + the index); a None sql leaves that file out, for the
        tests of a missing file. Returns the folder's path."""
        rows = [e if len(e) == 3 else (e[0], 1700000000000 + i, e[1])
                for i, e in enumerate(entries)]
        journal = {"version": "7", "dialect": "postgresql", "entries": [
            {"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True}
            for i, (tag, when, _) in enumerate(rows)]}
        base = os.path.relpath(os.path.join(ws, rel), self.root)
        self.mkdir(base)
        self.mkdir(os.path.join(base, "meta"))
        self.write(os.path.join(base, "meta", "_journal.json"), json.dumps(journal, indent=2))
        for tag, _, sql in rows:
            if sql is not None:
                self.write(os.path.join(base, f"{tag}.sql"), sql)
        return os.path.join(ws, rel)

    def workspace(self, rel, env_text=None, toml_text=None):
        path = self.mkdir(rel)
        if env_text is not None:
            self.write(os.path.join(rel, ".env"), env_text)
        if toml_text is not None:
            self.write(os.path.join(rel, "ds.toml"), toml_text)
        return path

    def read_log(self):
        try:
            with open(self.log_file) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- processes ---------------------------------------------------------

    def env(self, extra=None, spawn=False):
        e = {
            "PATH": "/usr/bin:/bin",
            "HOME": self.home,
            "USER": pwd.getpwuid(self.uid).pw_name,
            "XDG_RUNTIME_DIR": self.runtime,
            "XDG_STATE_HOME": os.path.join(self.root, "xdg-state"),
            "DS_STATE_DIR": self.state,
            "XDG_CONFIG_HOME": self.config,
            "XDG_DATA_HOME": self.data,
            "LANG": "C.UTF-8",
        }
        if not spawn:
            e["DS_NO_SPAWN"] = "1"
        if self.sanitizer_logs:
            # log_path=DIR/asan makes the runtime write DIR/asan.<pid>.
            for var, tool in SANITIZER_OPTION_VARS.items():
                given = os.environ.get(var, "")
                log_path = f"log_path={os.path.join(self.sanitizer_logs, tool)}"
                e[var] = f"{given}:{log_path}" if given else log_path
        if extra:
            e.update(extra)
        return e

    def sanitizer_reports(self):
        """The text of every sanitizer report written so far, or ""."""
        if not self.sanitizer_logs or not os.path.isdir(self.sanitizer_logs):
            return ""
        reports = []
        for name in sorted(os.listdir(self.sanitizer_logs)):
            with open(os.path.join(self.sanitizer_logs, name), errors="replace") as f:
                text = f.read()
            if text.strip():
                reports.append(f"--- {name}\n{text}")
        return "\n".join(reports)

    def argv(self, args):
        """Runs as the test user when we are root."""
        if IS_ROOT:
            return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}",
                    "--init-groups", "--"] + args
        return args

    def ds(self, *args, cwd=None, env=None, spawn=False, timeout=30, input=None):
        proc = subprocess.run(
            self.argv([os.path.join(BIN_DIR, "ds")] + list(args)),
            cwd=cwd or self.root, env=self.env(env, spawn=spawn),
            stdin=subprocess.DEVNULL if input is None else None, input=input,
            capture_output=True, text=True, timeout=timeout)
        return proc

    def ds_json(self, *args, **kw):
        proc = self.ds(*args, "--json", **kw)
        if proc.returncode != 0:
            raise AssertionError(f"ds {' '.join(args)} --json failed: {proc.stderr}")
        return json.loads(proc.stdout)

    def start_daemon(self, binary="dsd", extra_args=(), env=None, wait=True, pass_fds=()):
        """Starts dsd in the foreground as a child; waits for its socket.
        `pass_fds` are left open in dsd, as a careless parent would."""
        with open(os.path.join(self.root, f"{binary}.stderr"), "w") as log:
            self.daemon = subprocess.Popen(
                self.argv([os.path.join(BIN_DIR, binary), "--foreground"] + list(extra_args)),
                env=self.env(env), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.root, pass_fds=pass_fds)
        if wait:
            # dsd logs this line once it listens. (Not a probe connection: as
            # root it would be refused and logged as a refusal.)
            serving = f" serving on {self.socket} (pid {self.daemon.pid}"
            wait_until(lambda: serving in self.read_log() or self.daemon.poll() is not None,
                       what="dsd to listen")
            if self.daemon.poll() is not None:
                raise AssertionError(f"dsd exited early: {self.daemon_stderr()}")
        return self.daemon

    def daemon_stderr(self, binary="dsd"):
        with open(os.path.join(self.root, f"{binary}.stderr")) as f:
            return f.read()

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(EXIT_GRACE)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    def dsd_pids(self):
        """pids of every dsd whose state dir is ours (spawned ones included)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().split(b"\0")
                with open(f"/proc/{entry}/environ", "rb") as f:
                    environ = f.read().split(b"\0")
            except OSError:
                continue
            if not cmd or not os.path.basename(cmd[0].decode(errors="replace")).startswith("dsd"):
                continue
            if f"DS_STATE_DIR={self.state}".encode() in environ:
                pids.append(int(entry))
        return pids

    # -- behind dsd: its local cluster -------------------------------------

    def pg_secret(self, name):
        """A file of the local cluster's state (pg.superuser, pg.port, ...)."""
        with open(os.path.join(self.data, "ds", name)) as f:
            return f.read().strip()

    def superuser_uri(self, database):
        """dsd's superuser on the local cluster: for tests that arrange or
        inspect what no branch role may."""
        return (f"postgresql://ds_superuser:{self.pg_secret('pg.superuser')}@127.0.0.1:"
                f"{self.pg_secret('pg.port')}/{urllib.parse.quote(database, safe='')}")

    def local_psql(self, uri, sql):
        """psql -c sql as the test user; the CompletedProcess."""
        return subprocess.run(
            self.argv([os.path.join(LOCAL_PG_BIN, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                       uri, "-c", sql]),
            env=self.env(), capture_output=True, text=True, timeout=60)

    def branch_uri(self, branch):
        """The URI dsd hands out for a local branch: its own role and password."""
        name = branch.replace("'", "''")
        p = self.local_psql(self.superuser_uri("ds_meta"),
                            f"SELECT role, database FROM branches WHERE name = '{name}'")
        if p.returncode != 0 or "|" not in p.stdout:
            raise AssertionError(f"no local branch {branch}: {p.stdout}{p.stderr}")
        role, database = p.stdout.strip().split("|", 1)
        password = self.pg_secret(os.path.join("pg.roles", role))
        return (f"postgresql://{role}:{password}@127.0.0.1:{self.pg_secret('pg.port')}/"
                f"{urllib.parse.quote(database, safe='')}")

    def stop_all_daemons(self):
        """Stops our dsd and every one ds spawned (SIGTERM, then SIGKILL)."""
        self.stop_daemon()
        for pid in self.dsd_pids():  # daemons that ds spawned
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        poll_until(lambda: not self.dsd_pids(), EXIT_GRACE, interval=0.02)
        for pid in self.dsd_pids():
            os.kill(pid, signal.SIGKILL)

    def cleanup(self):
        self.stop_all_daemons()
        # Read before the tree goes: every daemon has exited (LeakSanitizer
        # reports at exit), so the reports are complete.
        reports = self.sanitizer_reports()
        shutil.rmtree(self.root, ignore_errors=True)
        if reports:
            raise AssertionError(f"sanitizer reports from ds, dsd or a helper:\n{reports}")


class DsTestCase(unittest.TestCase):
    """A test with a fresh DsEnv in self.env, cleaned up afterwards."""

    def setUp(self):
        self.env = DsEnv(self.id().split(".")[-1][:20])
        self.addCleanup(self.env.cleanup)

    def assertNoSecret(self, text, secret):
        self.assertNotIn(secret, text, "a secret leaked into output")


def main():
    """unittest's runner; DS_TEST_ONLY=a,b runs only the tests whose names
    contain a or b (what ctest cannot pass as arguments)."""
    argv = list(sys.argv)
    for pattern in filter(None, os.environ.get("DS_TEST_ONLY", "").split(",")):
        argv += ["-k", pattern.strip()]
    unittest.main(argv=argv, verbosity=2)
