"""The command line's contract, through the real `ds`: usage errors that name
the unknown word, one exit-code table for every command, passwords kept out
of `ps`, and another user's socket named as such."""

import json
import os
import pwd
import subprocess
import textwrap

from harness import BIN_DIR, IS_ROOT, DsTestCase, main, runner_ids

SECRET = "s3cr3t-Argv-9"
HERE = os.path.dirname(os.path.abspath(__file__))
SECOND_USER = os.environ.get("DS_TEST_USER2", "ds-test2")


def subcommands(help_text):
    """Names listed under "Subcommands:" in CLI11's help."""
    names, inside = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
        elif inside and line.strip():
            names.append(line.split()[0])
        elif inside:
            break
    return names


class CliTest(DsTestCase):

    def all_commands(self, prefix=()):
        """Every leaf command, found from `ds ... --help` so that a new
        command is covered without editing this test."""
        p = self.env.ds(*prefix, "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        subs = subcommands(p.stdout)
        if not subs:
            return [prefix]
        out = []
        for s in subs:
            out += self.all_commands(prefix + (s,))
        return out

    def assertOneLineError(self, p, code, *needles):
        self.assertEqual(p.returncode, code, f"{p.args}: {p.stderr}")
        self.assertEqual(p.stderr.count("\n"), 1, f"one line of error: {p.stderr!r}")
        self.assertTrue(p.stderr.startswith("ds: "), p.stderr)
        for n in needles:
            self.assertIn(n, p.stderr)

    # -- usage errors (item 15) --------------------------------------------

    def test_unknown_option_and_command_are_named(self):
        p = self.env.ds("--bogus")
        self.assertOneLineError(p, 2, "unknown option --bogus")
        self.assertNotIn("subcommand is required", p.stderr)
        p = self.env.ds("nosuchcmd")
        self.assertOneLineError(p, 2, "`ds nosuchcmd` is not a command",
                                "setup, db, jobs, config, daemon, version")
        p = self.env.ds("db", "migrat")
        self.assertOneLineError(p, 2, "did you mean `ds db migrate`?")
        p = self.env.ds("db", "migrate", "--dry-rn")
        self.assertOneLineError(p, 2, "unknown option --dry-rn for `ds db migrate`; "
                                      "did you mean --dry-run?")
        p = self.env.ds("db")
        self.assertOneLineError(p, 2, "`ds db` needs a command: create-branch")

    def test_ranges_read_as_people_write_them(self):
        p = self.env.ds("jobs", "list", "-n", "0")
        self.assertOneLineError(p, 2, "--limit: must be 1 or more, not 0")
        p = self.env.ds("jobs", "list", "-n", "99999999999999")
        self.assertOneLineError(p, 2, "99999999999999 is too large")
        p = self.env.ds("db", "migrate", "--lock-timeout", "-1")
        self.assertOneLineError(p, 2, "--lock-timeout: must be 0 seconds or more, not -1")
        p = self.env.ds("daemon", "logs", "-n", "lots")
        self.assertOneLineError(p, 2, "--lines: takes a whole number, 0 or more, not 'lots'")
        for p in (self.env.ds("jobs", "list", "-n", "0"),
                  self.env.ds("db", "migrate", "--lock-timeout", "-1")):
            self.assertNotIn("0.000000", p.stderr)
            self.assertNotIn("179769313", p.stderr)  # DBL_MAX printed in full

    # -- exit codes (item 11) ----------------------------------------------

    def test_every_command_names_an_unknown_option_with_exit_2(self):
        commands = self.all_commands()
        self.assertGreaterEqual(len(commands), 19, commands)
        for cmd in commands:
            with self.subTest(cmd=" ".join(cmd)):
                p = self.env.ds(*cmd, "--no-such-flag")
                self.assertOneLineError(p, 2, f"unknown option --no-such-flag for "
                                              f"`ds {' '.join(cmd)}`")

    def test_every_command_without_dsd_exits_3(self):
        # No daemon and DS_NO_SPAWN=1. Commands that need no dsd say so.
        needs_no_dsd = {("daemon", "stop"): 0, ("version",): 0, ("daemon", "logs"): 1,
                        ("completion",): 0}
        arguments = {("jobs", "watch"): ["job-1"], ("jobs", "cancel"): ["job-1"],
                     ("jobs", "logs"): ["job-1"], ("completion",): ["bash"],
                     ("db", "set-expiry"): ["dev-x", "7d"]}
        ws = self.env.workspace("ws", "A=1\n")
        for cmd in self.all_commands():
            with self.subTest(cmd=" ".join(cmd)):
                args = list(cmd) + arguments.get(cmd, [])
                p = self.env.ds(*args, "-C", ws)
                self.assertEqual(p.returncode, needs_no_dsd.get(cmd, 3), p.stderr)
                if cmd not in needs_no_dsd:
                    self.assertIn("dsd is not running", p.stderr)

    def migrations(self, ws, journal=None):
        """A drizzle folder with one migration (or the given journal text)."""
        entry = {"idx": 0, "version": "7", "when": 1700000000000, "tag": "0000_init",
                 "breakpoints": True}
        self.env.write(os.path.join(ws, "drizzle", "0000_init.sql"), "CREATE TABLE t (id int);\n")
        self.env.write(os.path.join(ws, "drizzle", "meta", "_journal.json"),
                       journal if journal is not None else
                       json.dumps({"version": "7", "dialect": "postgresql", "entries": [entry]}))

    def test_a_mysql_url_in_env_exits_1_from_every_command(self):
        self.env.start_daemon()
        ws = self.env.workspace("ws", f"DB_CONNECTION_STRING=mysql://app:{SECRET}@db/app\n")
        self.env.mkdir("ws/drizzle")
        self.env.mkdir("ws/drizzle/meta")
        self.migrations(os.path.relpath(ws, self.env.root))
        for args in (("db", "current"), ("db", "current", "--json"),
                     ("db", "migrate"), ("db", "migrate", "--status"),
                     ("db", "migrate", "--dry-run")):
            with self.subTest(cmd=" ".join(args)):
                p = self.env.ds(*args, "-C", ws)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("not a valid", p.stdout + p.stderr)
                self.assertNoSecret(p.stdout + p.stderr, SECRET)

    def test_a_mysql_url_on_the_command_line_exits_2_from_every_command(self):
        self.env.start_daemon()
        ws = self.env.workspace("ws", "A=1\n")
        self.env.mkdir("ws/drizzle")
        self.env.mkdir("ws/drizzle/meta")
        self.migrations("ws")
        url = f"mysql://app:{SECRET}@db/app"
        for args in (("db", "migrate", "--db", url), ("db", "migrate", "--status", "--db", url),
                     ("db", "migrate", "--dry-run", "--db", url)):
            with self.subTest(cmd=" ".join(args[:3])):
                p = self.env.ds(*args, "-C", ws)
                self.assertOneLineError(p, 2, "the database from --db is not a valid connection "
                                              "string")
                self.assertNoSecret(p.stdout + p.stderr, SECRET)

    def test_a_broken_journal_exits_1_from_status_and_from_a_run(self):
        self.env.start_daemon()
        # Nobody listens on port 1: the journal is read before connecting.
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://u@127.0.0.1:1/x\n")
        self.env.mkdir("ws/drizzle")
        self.env.mkdir("ws/drizzle/meta")
        self.migrations("ws", journal="{ not json")
        for args in (("db", "migrate", "--status"), ("db", "migrate", "--dry-run"),
                     ("db", "migrate")):
            with self.subTest(cmd=" ".join(args)):
                p = self.env.ds(*args, "-C", ws)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn("_journal.json is not valid JSON", p.stdout + p.stderr)

    def test_a_bad_source_value_suggests_set_source_db(self):
        self.env.start_daemon()
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://u@127.0.0.1:1/x\n"
                                      f"SOURCE_DB_CONNECTION_STRING=mysql://u:{SECRET}@db/s\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 1, p.stderr)
        source = p.stdout.split("SOURCE DB (SOURCE_DB_CONNECTION_STRING)", 1)[1]
        self.assertIn("not a valid PostgreSQL connection string", source)
        self.assertIn("`ds db set source-db`", source)
        self.assertNotIn("target-db", source)
        self.assertNoSecret(p.stdout + p.stderr, SECRET)

    # -- passwords on the command line (item 8) ------------------------------

    def test_password_in_argv_is_not_visible_while_ds_runs(self):
        # A listener of the test user's own on ds's socket path that accepts
        # and never answers: ds blocks in its first call to "dsd", and the
        # accept proves it got that far (scrubbing comes first).
        os.makedirs(os.path.dirname(self.env.socket), mode=0o700, exist_ok=True)
        uid, gid = runner_ids()
        os.chown(os.path.dirname(self.env.socket), uid, gid)
        listener = subprocess.Popen(
            self.env.argv(["python3", "-c", textwrap.dedent(f"""
                import socket, sys
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind({self.env.socket!r})
                s.listen(8)
                print("listening", flush=True)
                conns = []
                while True:
                    c, _ = s.accept()
                    conns.append(c)
                    print("accepted", flush=True)
            """)]), stdout=subprocess.PIPE, text=True)
        self.addCleanup(listener.stdout.close)
        self.addCleanup(listener.wait)
        self.addCleanup(listener.kill)
        self.assertEqual(listener.stdout.readline().strip(), "listening")
        ws = self.env.workspace("ws", "A=1\n")
        url = f"postgresql://app:{SECRET}@db.example.com:5432/app?sslmode=require"
        ds = subprocess.Popen(
            self.env.argv([os.path.join(BIN_DIR, "ds"), "db", "migrate", "--db", url,
                           "--set", f"neon_api_key=napi_{SECRET}", "-C", ws]),
            env=self.env.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.addCleanup(ds.wait)
        self.addCleanup(ds.kill)
        self.assertEqual(listener.stdout.readline().strip(), "accepted")
        with open(f"/proc/{ds.pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
        self.assertNotIn(SECRET, cmdline)
        self.assertIn("postgresql://app:****@db.example.com", cmdline)
        self.assertIn("neon_api_key=****", cmdline)
        # What every other user sees: ps reads the same memory.
        ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(ds.pid)],
                            capture_output=True, text=True)
        self.assertIn("db migrate --db", ps.stdout)
        self.assertNotIn(SECRET, ps.stdout)

    def test_connection_string_from_stdin_and_from_DS_DB(self):
        self.env.start_daemon()
        ws = self.env.workspace("ws", "A=1\n")
        self.env.mkdir("ws/drizzle")
        self.env.mkdir("ws/drizzle/meta")
        self.migrations("ws")
        bad = f"mysql://app:{SECRET}@db/app"
        # A mysql:// URL proves the value reached dsd: dsd names its source.
        p = self.env.ds("db", "migrate", "--status", "--db", "-", "-C", ws, input=bad + "\n")
        self.assertOneLineError(p, 2, "the database from --db is not a valid connection string")
        self.assertNoSecret(p.stdout + p.stderr, SECRET)
        p = self.env.ds("db", "migrate", "--status", "-C", ws, env={"DS_DB": bad})
        self.assertOneLineError(p, 2, "the database from --db is not a valid connection string")
        p = self.env.ds("db", "migrate", "--status", "--db", "-", "-C", ws, input="")
        self.assertOneLineError(p, 2, "--db - reads the connection string from stdin")
        # DS_DB is a secret, not configuration: dsd's log never sees it.
        self.assertNotIn(SECRET, self.env.read_log())

    # -- another user's socket (item 16) -------------------------------------

    def second_user(self):
        if not IS_ROOT:
            self.skipTest("needs root to run ds as a second user; CI runs this as root")
        subprocess.run([os.path.join(HERE, "..", "..", "scripts", "ensure-test-user.sh"),
                        SECOND_USER], check=True)
        pw = pwd.getpwnam(SECOND_USER)
        return pw.pw_uid, pw.pw_gid

    def ds_as(self, uid, gid, *args, spawn=False):
        """ds as another uid, with the first user's runtime dir (its socket)."""
        argv = [os.path.join(BIN_DIR, "ds")] + list(args)
        if uid != 0:
            argv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"] + argv
        env = self.env.env(spawn=spawn)
        env["HOME"] = "/"
        env["DS_STATE_DIR"] = os.path.join(self.env.root, f"state-{uid}")
        return subprocess.run(argv, env=env, cwd="/", stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=30)

    def test_another_users_ds_is_told_the_socket_is_not_theirs(self):
        uid2, gid2 = self.second_user()
        self.env.start_daemon()
        ws = self.env.workspace("ws", "A=1\n")
        owner = runner_ids()[0]
        for who, (uid, gid) in (("second user", (uid2, gid2)), ("root", (0, 0))):
            for spawn in (False, True):
                with self.subTest(who=who, spawn=spawn):
                    p = self.ds_as(uid, gid, "db", "current", "-C", ws, spawn=spawn)
                    self.assertEqual(p.returncode, 3, p.stderr)
                    self.assertIn(f"belongs to another user (uid {owner}), not to you "
                                  f"(uid {uid})", p.stderr)
                    self.assertNotIn("Broken pipe", p.stderr)
                    self.assertNotIn("not running", p.stderr)
                    self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        # The owner is still served, and nobody started a second daemon.
        self.assertEqual(self.env.ds("daemon", "status").returncode, 0)
        self.assertEqual(len(self.env.dsd_pids()), 1)

    def test_a_listener_of_another_uid_is_named_from_its_credentials(self):
        # The socket file and its directory look like the second user's own,
        # but the first user listens on it: only SO_PEERCRED can tell.
        uid2, gid2 = self.second_user()
        owner = runner_ids()[0]
        d = self.env.mkdir("run2", 0o755)  # the first user's, open to the second
        sock = os.path.join(d, "ds", "dsd.sock")
        self.env.socket = sock  # where start_daemon waits for dsd
        self.env.start_daemon(env={"XDG_RUNTIME_DIR": d})
        # As root, hand the socket and its directory to the second user.
        for path, mode in ((sock, 0o666), (os.path.join(d, "ds"), 0o700)):
            os.chown(path, uid2, gid2)
            os.chmod(path, mode)
        argv = ["setpriv", f"--reuid={uid2}", f"--regid={gid2}", "--init-groups", "--",
                os.path.join(BIN_DIR, "ds"), "daemon", "status"]
        env = self.env.env({"XDG_RUNTIME_DIR": d, "HOME": "/",
                            "DS_STATE_DIR": os.path.join(d, "state2")})
        p = subprocess.run(argv, env=env, cwd="/", capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn(f"{sock} belongs to another user (uid {owner}), not to you (uid {uid2})",
                      p.stderr)
        self.assertNotIn("Broken pipe", p.stderr)


if __name__ == "__main__":
    main()
