"""The embedded local provider and the branch commands, on a real cluster.

One cluster serves the whole class (initdb takes seconds); each test uses
its own branch names.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import unittest
import urllib.parse

from harness import (BIN_DIR, LOCAL_PG_BIN as PG_BIN, DsEnv, as_user, dotenv,
                     fds_without_cloexec, main, open_fds, other_user, require_local_pg,
                     run_in_pty, wait_for)


class LocalProviderTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_local_pg()
        cls.env = DsEnv("local")
        cls.ws = cls.env.workspace("ws", "# app settings\nAPP_PORT=3000\n",
                                   'developer = "phil"\n')
        # A careless parent's fd: neither dsd nor PostgreSQL may keep it.
        cls.marker = cls.env.write("parent-file", "held open by whoever started dsd\n")
        fd = os.open(cls.marker, os.O_RDONLY)
        try:
            cls.env.start_daemon(pass_fds=(fd,))
        finally:
            os.close(fd)

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    def ds(self, *args, **kw):
        return self.env.ds(*args, "-C", self.ws, **kw)

    def psql(self, uri, sql, check=True):
        p = self.env.local_psql(uri, sql)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def env_values(self):
        return dotenv(os.path.join(self.ws, ".env"))

    def test_01_setup_and_copy_on_write(self):
        p = self.ds("setup")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dev-phil-local", p.stdout)
        values = self.env_values()
        self.assertEqual(values["APP_PORT"], "3000", "other keys are kept")
        uri = values["DB_CONNECTION_STRING"]
        # The branch's own role (ds_<name>_<id>), not one shared by all.
        self.assertRegex(uri, r"^postgresql://ds_dev_phil_local_[a-z0-9]{12}:")
        self.assertTrue(uri.endswith("/dev-phil-local"), uri)
        # The workspace's .env was 0644: with a password in it, it is now
        # the owner's alone, and ds said so once.
        env_file = os.path.join(self.ws, ".env")
        self.assertEqual(oct(os.stat(env_file).st_mode & 0o777), "0o600")
        self.assertIn(f"{env_file} holds a database password and was readable by other users "
                      "(mode 0644); it is now 0600", p.stderr)
        self.assertEqual(self.psql(uri, "select current_database()"), "dev-phil-local")
        if other_user():
            # Another local user cannot read it (nor, so, connect as its role).
            r = subprocess.run(as_user(other_user(), ["cat", env_file]),
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn("Permission denied", r.stderr)
        # Idempotent, and the notice is not repeated.
        p = self.ds("setup")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("already exists", p.stdout)
        self.assertNotIn("readable by other users", p.stderr)
        # current resolves the local project and branch.
        p = self.ds("db", "current")
        self.assertIn("Project:  local\nBranch:   dev-phil-local\nHost:     127.0.0.1:", p.stdout)
        self.assertNotIn(uri.split(":")[2].split("@")[0], p.stdout, "password not shown")

        # Rows written to main appear in a new branch; rows in the branch
        # stay out of main.
        p = self.ds("db", "set", "source-db", "--branch", "main")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Restart your backend", p.stdout)
        main_uri = self.env_values()["SOURCE_DB_CONNECTION_STRING"]
        self.psql(main_uri, "create table t(x int); insert into t values (1), (2)")
        p = self.ds("db", "create-branch", "cow-test")
        self.assertEqual(p.returncode, 0, p.stderr)
        branch_uri = self.env_values()["DB_CONNECTION_STRING"]
        self.assertTrue(branch_uri.endswith("/cow-test"))
        self.assertEqual(self.psql(branch_uri, "select count(*) from t"), "2")
        self.psql(branch_uri, "insert into t values (3)")
        self.assertEqual(self.psql(main_uri, "select count(*) from t"), "2")
        self.assertEqual(self.psql(branch_uri, "select count(*) from t"), "3")
        # The copied objects belong to the new branch's own role.
        self.assertEqual(self.psql(branch_uri, "select tableowner from pg_tables where tablename='t'"),
                         urllib.parse.urlsplit(branch_uri).username)
        self.assertEqual(self.psql(main_uri, "select tableowner from pg_tables where tablename='t'"),
                         urllib.parse.urlsplit(main_uri).username)

    def postgres_pids(self):
        """The postmaster and every process it started."""
        with open(os.path.join(self.env.data, "ds", "pg", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        pids = [postmaster]
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(entry))
            except (OSError, ValueError, IndexError):
                continue
        return pids

    def test_01b_postgres_inherits_no_fd_of_dsd(self):
        self.assertEqual(self.ds("setup").returncode, 0)
        dsd = self.env.daemon.pid
        dsd_fds = open_fds(dsd)
        self.assertNotIn(self.marker, dsd_fds.values(), dsd_fds)
        self.assertEqual(fds_without_cloexec(dsd), [], dsd_fds)
        # dsd's sockets (gRPC, clients, libpq), pipes and files (its log) stay
        # its own. ("anon_inode:[eventpoll]" names every epoll fd alike, so it
        # tells nothing apart; the close-on-exec check above covers those.)
        mine = {t for fd, t in dsd_fds.items()
                if fd > 2 and t != "/dev/null" and not t.startswith("anon_inode:")}
        for pid in self.postgres_pids():
            shared = mine & set(open_fds(pid).values())
            self.assertEqual(shared, set(), f"postgres pid {pid} holds dsd's {shared}")
            self.assertNotIn(self.marker, open_fds(pid).values())

    def test_02_branches_and_projects(self):
        self.ds("setup")
        doc = self.env.ds_json("db", "branches", "-C", self.ws)
        names = {b["name"]: b for b in doc["branches"]}
        self.assertTrue(names["main"]["protected"])
        self.assertTrue(names["main"]["is_default"])
        self.assertEqual(names["dev-phil-local"]["parent_name"], "main")
        self.assertGreater(int(names["main"]["size_bytes"]), 0)
        p = self.ds("db", "branches")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("NAME"), p.stdout)
        projects = self.env.ds_json("db", "list-projects", "-C", self.ws)["projects"]
        self.assertEqual([(pr["name"], pr["region"]) for pr in projects], [("local", "local")])
        p = self.ds("db", "list-projects")
        self.assertIn("NAME", p.stdout)
        self.assertIn("REGION", p.stdout)

    def test_02a_format_for_prompts(self):
        self.ds("setup")
        p = self.ds("db", "current", "--format", "{branch}|{project}|{provider}|{protected}|{host}")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "dev-phil-local|local|local||127.0.0.1\n")
        # main is the default (and protected) branch: the prompt's warning marker.
        self.assertEqual(self.ds("db", "set", "source-db", "--branch", "main").returncode, 0)
        p = self.ds("db", "current", "--format", "{source_branch}:{source_protected}")
        self.assertEqual(p.stdout, "main:protected\n")

    def test_02b_completion_offers_branch_names(self):
        self.ds("setup")
        script = self.env.write("ds.bash", self.ds("completion", "bash").stdout)
        ds = os.path.join(BIN_DIR, "ds")

        def complete(*words):
            # Tab after `words`: the script's function fills COMPREPLY.
            line = " ".join(words)
            code = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); "
                    "_ds; printf '%s\\n' \"${COMPREPLY[@]}\"")
            p = subprocess.run(self.env.argv(["bash", "-c", code]), env=self.env.env(),
                               cwd=self.ws, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.split()

        offered = complete(ds, "db", "delete-branch", "''")
        self.assertIn("dev-phil-local", offered)
        self.assertIn("main", offered)
        self.assertEqual(complete(ds, "db", "set", "target-db", "--branch", "dev-p"),
                         ["dev-phil-local"])
        # -C names the workspace the branch list comes from, from anywhere.
        self.assertIn("main", complete(ds, "-C", self.ws, "db", "create-branch", "--parent", "''"))
        # The hidden command answers from dsd's memory, one name per line.
        p = self.ds("__complete", "branches")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dev-phil-local\n", p.stdout)

    def test_03_refusals_and_bad_names(self):
        p = self.ds("db", "delete-branch", "main")
        self.assertEqual(p.returncode, 1)
        self.assertIn("default branch", p.stderr)
        for bad, why in (("x" * 257, "257 characters"), ("a\x01b", "control character")):
            p = self.ds("db", "create-branch", bad)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(why, p.stderr)
        p = self.ds("db", "create-branch")
        self.assertEqual(p.returncode, 2)
        p = self.ds("db", "delete-branch", "no-such-branch")
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not exist", p.stderr)
        p = self.ds("db", "create-branch", "orphan", "--parent", "nope")
        self.assertEqual(p.returncode, 1)
        self.assertIn("parent branch \"nope\" does not exist", p.stderr)
        # A name longer than PostgreSQL's 63 bytes still works.
        long_name = "feature/" + "x" * 100
        p = self.ds("db", "create-branch", long_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.ds("db", "delete-branch", long_name, "--yes")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_04_duplicate_switches_and_delete_warns(self):
        self.assertEqual(self.ds("db", "create-branch", "dup").returncode, 0)
        self.assertEqual(self.ds("db", "create-branch", "other").returncode, 0)
        p = self.ds("db", "create-branch", "dup")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("already exists; switched", p.stdout)
        self.assertTrue(self.env_values()["DB_CONNECTION_STRING"].endswith("/dup"))
        # .env points at it: --yes is needed (test_safety has the rule's cases).
        p = self.ds("db", "delete-branch", "dup")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("points at it", p.stderr)
        p = self.ds("db", "delete-branch", "dup", "--yes")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("still points to the deleted branch", p.stderr)

    def test_04b_dangling_source_hint_names_source_db(self):
        # Each variable's warning names its own `ds db set` command, whatever
        # the variable is called (source_var).
        self.assertEqual(self.ds("db", "create-branch", "src-only").returncode, 0)
        self.assertEqual(self.ds("db", "create-branch", "tgt-only").returncode, 0)
        renamed = ("--set", "source_var=UPSTREAM_DB")
        p = self.ds("db", "set", "source-db", "--branch", "src-only", *renamed)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.ds("db", "delete-branch", "src-only", "--yes", *renamed)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("UPSTREAM_DB in .env still points to the deleted branch; "
                      "run `ds db set source-db`", p.stderr)
        self.assertNotIn("target-db", p.stderr)
        p = self.ds("db", "delete-branch", "tgt-only", "--yes")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("DB_CONNECTION_STRING in .env still points to the deleted branch; "
                      "run `ds db set target-db`", p.stderr)

    def test_04c_table_columns_align_by_display_width(self):
        # 7 letters in 11 bytes: padding by bytes shifted every later column.
        name = "ünïcødé"
        self.assertEqual(self.ds("db", "create-branch", name).returncode, 0)
        self.addCleanup(self.ds, "db", "delete-branch", name, "--yes")
        p = self.ds("db", "branches")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        header = lines[0]
        row = next(line for line in lines if line.startswith(name))
        plain = next(line for line in lines if line.startswith("main"))
        # Code points are columns here (precomposed Latin, one column each).
        for column in ("PARENT", "CREATED", "SIZE"):
            start = header.index(column)
            self.assertEqual(row[start - 2:start], "  ", f"{column}: {row!r}")
            self.assertNotEqual(row[start], " ", f"{column}: {row!r}")
            self.assertNotEqual(plain[start], " ", f"{column}: {plain!r}")

    def test_05_busy_parent_reports_sessions_and_force(self):
        self.ds("db", "set", "source-db", "--branch", "main")
        main_uri = self.env_values()["SOURCE_DB_CONNECTION_STRING"]
        holder = subprocess.Popen(
            self.env.argv([os.path.join(PG_BIN, "psql"), "-X", main_uri, "-c",
                           "select pg_sleep(60)"]),
            env={**self.env.env(), "PGAPPNAME": "busy-holder"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            postgres_uri = main_uri.rsplit("/", 1)[0] + "/postgres"
            wait_for(lambda: self.psql(postgres_uri, "select count(*) from pg_stat_activity"
                                                     " where datname = 'main'"
                                                     " and application_name = 'busy-holder'")
                     == "1", timeout=30, what="the holder to connect to main")
            p = self.ds("db", "create-branch", "busy-copy")
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("in use by 1 session", p.stderr)
            self.assertIn("busy-holder", p.stderr)
            self.assertIn("--force", p.stderr)
            p = self.ds("db", "create-branch", "busy-copy", "--force")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIsNotNone(holder.wait(10), "--force terminated the session")
        finally:
            holder.kill()
            holder.wait()

    def test_06_stage_mapping(self):
        p = self.ds("db", "create-branch", "--target", "ci")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("dev-phil-ci", p.stdout)
        p = self.ds("db", "create-branch", "--target", "qa", env={"DS_DEVELOPER": "ann"})
        self.assertIn("dev-ann-qa", p.stdout)
        p = self.ds("db", "set", "target-db", "--target", "ci")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.env_values()["DB_CONNECTION_STRING"].endswith("/dev-phil-ci"))

    def test_07_concurrent_creates(self):
        results = {}

        def create(key, name):
            results[key] = self.ds("db", "create-branch", name)

        threads = [threading.Thread(target=create, args=(i, f"par-{i}")) for i in range(4)]
        threads += [threading.Thread(target=create, args=(f"same{i}", "same-name"))
                    for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, p in results.items():
            self.assertEqual(p.returncode, 0, f"{key}: {p.stderr}")
        same = [results[f"same{i}"].stdout for i in range(4)]
        self.assertEqual(sum("Created branch same-name" in s for s in same), 1, same)
        self.assertEqual(sum("already exists; switched" in s for s in same), 3, same)
        names = {b["name"] for b in self.env.ds_json("db", "branches", "-C", self.ws)["branches"]}
        self.assertTrue({"par-0", "par-1", "par-2", "par-3", "same-name"} <= names)

    def test_08_picker(self):
        self.ds("db", "create-branch", "pick-alpha")
        self.ds("db", "create-branch", "pick-beta")
        self.ds("db", "set", "target-db", "--branch", "main", "--yes")
        args = ["db", "set", "target-db", "-C", self.ws]
        # Filter to "pick-", move down to the second match, Enter.
        code, out = run_in_pty(self.env, args,
                               [(b"pick-", b"pick-beta"), (b"\x1b[B", None), (b"\r", None)],
                               b"Choose the target database")
        self.assertEqual(code, 0, out)
        self.assertTrue(self.env_values()["DB_CONNECTION_STRING"].endswith("/pick-beta"), out)
        # Esc aborts and writes nothing.
        before = open(os.path.join(self.ws, ".env")).read()
        code, out = run_in_pty(self.env, args, [(b"alp", None), (b"\x1b", None)],
                               b"Choose the target database")
        self.assertEqual(code, 1, out)
        self.assertIn(".env was not changed", out)
        self.assertEqual(open(os.path.join(self.ws, ".env")).read(), before)
        # No terminal and no --branch: a usage error, never a hang.
        p = self.ds("db", "set", "target-db")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--branch", p.stderr)

    def test_08a_prompts_and_confirmation_on_a_terminal(self):
        # create-branch without a name asks for one.
        code, out = run_in_pty(self.env, ["db", "create-branch", "-C", self.ws],
                               [(b"typed-name\r", b"points to it")], b"Name of the new branch")
        self.assertEqual(code, 0, out)
        self.assertIn("Created branch typed-name", out)
        # delete-branch without a name offers a picker (never main), then asks
        # (.env points elsewhere: the branch .env targets needs --yes).
        self.ds("db", "create-branch", "victim")
        self.ds("db", "set", "target-db", "--branch", "typed-name")
        code, out = run_in_pty(self.env, ["db", "delete-branch", "-C", self.ws],
                               [(b"victim", b"victim"), (b"\r", b"[y/N]"), (b"n\r", None)],
                               b"Delete which branch?")
        self.assertEqual(code, 1, out)
        self.assertNotIn("main (", out)
        self.assertIn("nothing was deleted", out)
        code, out = run_in_pty(self.env, ["db", "delete-branch", "victim", "-C", self.ws],
                               [(b"y\r", b"Deleted branch")], b"[y/N]")
        self.assertEqual(code, 0, out)
        names = {b["name"] for b in self.env.ds_json("db", "branches", "-C", self.ws)["branches"]}
        self.assertNotIn("victim", names)
        self.assertIn("typed-name", names)

    def test_08b_watch_branches_sees_changes(self):
        watcher = subprocess.Popen(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds_watch_for_test"),
                           "--branches", self.env.socket, self.ws]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(watcher.stdout.readline())
            self.assertIn("main", [b["name"] for b in first["branches"]])
            self.assertEqual(self.ds("db", "create-branch", "watched").returncode, 0)
            update = json.loads(watcher.stdout.readline())
            self.assertEqual(update.get("added"), ["watched"])
            self.assertEqual(self.ds("db", "delete-branch", "watched", "--yes").returncode, 0)
            while True:  # the .env switch may produce an update of its own
                update = json.loads(watcher.stdout.readline())
                if update.get("removed"):
                    break
            self.assertEqual(update["removed"], ["watched"])
        finally:
            watcher.kill()
            watcher.wait()

    def test_09_restart_keeps_branches_and_crash_recovery(self):
        self.ds("db", "create-branch", "survivor")
        before = {b["name"] for b in self.env.ds_json("db", "branches", "-C", self.ws)["branches"]}
        p = self.env.ds("daemon", "stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.env.daemon.wait(30)
        self.env.start_daemon()
        after = {b["name"] for b in self.env.ds_json("db", "branches", "-C", self.ws)["branches"]}
        self.assertEqual(before, after)
        # Kill PostgreSQL behind dsd's back: the next call restarts it and says so.
        pidfile = os.path.join(self.env.data, "ds", "pg", "postmaster.pid")
        os.kill(int(open(pidfile).read().split()[0]), signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{open(pidfile).read().split()[0]}"),
                 what="postgres to die")
        p = self.ds("db", "branches")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("restarted", p.stderr)
        self.assertIn("survivor", p.stdout)

    def write_migration(self, ws, count):
        """A drizzle folder with `count` migrations, each making a table."""
        self.env.write_drizzle_folder(
            ws, [(f"{i:04d}_m{i}", f"CREATE TABLE t{i} (id int);\n") for i in range(count)])

    def postmaster_pid(self):
        with open(os.path.join(self.env.data, "ds", "pg", "postmaster.pid")) as f:
            return int(f.readline())

    def test_09b_migrate_starts_a_dead_cluster_and_skips_dead_connections(self):
        ws = self.env.workspace("ws-restart", "", 'developer = "phil"\n')
        p = self.env.ds("db", "create-branch", "restart-mig", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.write_migration(ws, 1)
        p = self.env.ds("db", "migrate", "-C", ws, "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # PostgreSQL dies (the OOM killer, say): migrate and --status start it
        # again instead of failing with "Connection refused".
        old = self.postmaster_pid()
        children = [pid for pid in self.postgres_pids() if pid != old]
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in [old] + children),
                 timeout=30, what="postgres and its backends to die")
        p = self.env.ds("db", "migrate", "--status", "-C", ws, "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("refused", p.stdout + p.stderr)
        self.write_migration(ws, 2)
        p = self.env.ds("db", "migrate", "-C", ws, "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(self.env_values_of(ws)["DB_CONNECTION_STRING"],
                                   "select count(*) from pg_tables where tablename like 't_'"), "2")
        # Restarted behind dsd's back (same port): every session dsd kept is
        # gone, and none of them may fail the next command.
        pgdata = os.path.join(self.env.data, "ds", "pg")
        r = subprocess.run(self.env.argv([os.path.join(PG_BIN, "pg_ctl"), "-D", pgdata, "-l",
                                          os.path.join(self.env.data, "ds", "pg.log"), "-m",
                                          "fast", "-w", "restart"]),
                           env=self.env.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for args in (("db", "create-branch", "after-restart"), ("db", "migrate", "--status",
                                                                 "--yes"), ("db", "branches")):
            p = self.env.ds(*args, "-C", ws)
            self.assertEqual(p.returncode, 0, f"{args}: {p.stdout}{p.stderr}")
            self.assertNotIn("encoding", p.stderr)

    def blocked_migration(self, name, key=None):
        """A branch whose migrate run commits two migrations and then waits:
        on advisory lock `key`, which a psql session (started here) holds,
        or with no key in pg_sleep, which only the end of its session ends."""
        ws = self.env.workspace(f"ws-{name}", "", 'developer = "phil"\n')
        p = self.env.ds("db", "create-branch", name, "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        uri = self.env_values_of(ws)["DB_CONNECTION_STRING"]
        wait = f"SELECT pg_advisory_xact_lock({key});" if key else "SELECT pg_sleep(600);"
        self.env.write_drizzle_folder(ws, [("0000_a", "CREATE TABLE a (id int);"),
                               ("0001_alone", "-- ds:no-transaction\nCREATE TABLE alone (id int);"),
                               ("0002_wait", wait)])
        if key:
            holder = subprocess.Popen(
                self.env.argv([os.path.join(PG_BIN, "psql"), "-X", uri, "-c",
                               f"select pg_advisory_lock({key})", "-c", "select pg_sleep(600)"]),
                env={**self.env.env(), "PGAPPNAME": "lock-holder"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.addCleanup(lambda: (holder.kill(), holder.wait()))
            wait_for(lambda: self.psql(uri, "select count(*) from pg_locks where locktype = "
                                            f"'advisory' and objid = {key} and granted") == "1",
                     timeout=30, what="psql to hold the lock")
        return ws, uri

    def wait_blocked(self, uri, key=None):
        if key:
            query = ("select count(*) from pg_locks where locktype = 'advisory' and "
                     f"objid = {key} and not granted")
        else:
            query = ("select count(*) from pg_stat_activity where datname = current_database() "
                     "and wait_event = 'PgSleep' and query like '%pg_sleep(600)%'")
        wait_for(lambda: self.psql(uri, query) == "1", timeout=60,
                 what="the migration to wait in its last file")

    def test_09c_force_delete_during_a_migration_says_the_database_is_gone(self):
        # The last migration sleeps rather than waiting on a lock: the
        # forced delete terminates every session of the database at once, and
        # a lock holder's session could end first, letting the migration
        # commit before its own termination arrived.
        ws, uri = self.blocked_migration("drop-mid")
        run = subprocess.Popen(self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds"),
                                              "db", "migrate", "-C", ws, "--yes"]),
                               env=self.env.env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.wait_blocked(uri)
            p = self.env.ds("db", "delete-branch", "drop-mid", "--force", "--yes", "-C", ws)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            out, err = run.communicate(timeout=60)
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
        self.assertEqual(run.returncode, 1, out + err)
        self.assertIn("0002_wait.sql did not complete: ", err)
        self.assertIn("was dropped while the migration ran", err)
        self.assertNotIn("stay applied", err)
        self.assertNotIn("savepoint failed", err)

    def test_09d_an_interrupted_record_shows_what_committed(self):
        ws, uri = self.blocked_migration("killed-mid", 7702)
        p = self.env.ds("db", "migrate", "-C", ws, "--yes", "--detach")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.wait_blocked(uri, 7702)
        self.env.daemon.send_signal(signal.SIGKILL)  # no chance to write anything more
        self.env.daemon.wait()
        self.env.start_daemon()
        job = self.env.ds_json("jobs", "list")["jobs"][0]
        p = self.env.ds("jobs", "logs", job["id"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("interrupted", p.stdout)
        self.assertIn("step  commit succeeded: committed 1 migration (0000_a)", p.stdout)
        self.assertIn("step  0001_alone succeeded: committed (outside a transaction)", p.stdout)
        self.assertEqual(self.psql(uri, "select count(*) from drizzle.__drizzle_migrations"), "2")

    def env_values_of(self, ws):
        return dotenv(os.path.join(ws, ".env"))

    def test_10_port_in_use_picks_another(self):
        port_file = os.path.join(self.env.data, "ds", "pg.port")
        old_port = int(open(port_file).read())
        p = self.env.ds("daemon", "stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.env.daemon.wait(30)
        squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen(1)
        try:
            self.env.start_daemon()
            p = self.ds("db", "branches")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("survivor", p.stdout)
            self.assertNotEqual(int(open(port_file).read()), old_port)
            self.assertIn(f"port {old_port} is taken", self.env.read_log())
        finally:
            squatter.close()


class ClusterDirTest(unittest.TestCase):

    def test_cluster_dir_owned_by_someone_else(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to make a directory owned by another uid")
        env = DsEnv("owner")
        self.addCleanup(env.cleanup)
        os.makedirs(os.path.join(env.data, "ds"), mode=0o700)  # owned by root
        ws = env.workspace("ws")
        env.start_daemon()
        p = env.ds("setup", "-C", ws)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("is owned by uid 0, not by you", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(ws, ".env")), "nothing written")


class ProjectNameTest(unittest.TestCase):

    def test_local_project_name_from_user_config(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            self.skipTest(f"PostgreSQL server binaries are not in {PG_BIN}")
        env = DsEnv("proj")
        self.addCleanup(env.cleanup)
        env.mkdir("config/ds", 0o700)
        env.write("config/ds/config.toml", 'local_project = "acme"\n')
        ws = env.workspace("ws", None, 'developer = "ann"\n')
        env.start_daemon()
        self.assertEqual(env.ds("setup", "-C", ws).returncode, 0)
        projects = env.ds_json("db", "list-projects", "-C", ws)["projects"]
        self.assertEqual([p["name"] for p in projects], ["acme"])
        p = env.ds("db", "current", "-C", ws)
        self.assertIn("Project:  acme\nBranch:   dev-ann-local\n", p.stdout)


class DiskFullTest(unittest.TestCase):
    """A template copy that runs out of disk leaves no branch behind."""

    def test_disk_full_during_copy(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs for the cluster")
        env = DsEnv("full")
        self.addCleanup(env.cleanup)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m,mode=0700", "tmpfs",
                                  env.data], capture_output=True, text=True)
        if mounted.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
        # Stop dsd (and PostgreSQL, whose files sit on the mount) before
        # unmounting; cleanups run last-added first.
        self.addCleanup(subprocess.run, ["umount", "-l", env.data])
        self.addCleanup(env.stop_daemon)
        os.chown(env.data, env.uid, env.gid)
        ws = env.workspace("ws", None, 'developer = "full"\n')
        env.start_daemon()
        self.assertEqual(env.ds("setup", "-C", ws).returncode, 0)
        p = env.ds("db", "set", "source-db", "--branch", "main", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        main_uri = dotenv(os.path.join(ws, ".env"))["SOURCE_DB_CONNECTION_STRING"]

        def psql(sql):
            return subprocess.run(env.argv([os.path.join(PG_BIN, "psql"), "-X", "-At", main_uri,
                                            "-c", sql]),
                                  env=env.env(), capture_output=True, text=True, timeout=120)

        def main_size():
            doc = env.ds_json("db", "branches", "-C", ws)
            return next(int(b["size_bytes"]) for b in doc["branches"] if b["name"] == "main")

        created = psql("create table fill(x text)")
        self.assertEqual(created.returncode, 0, created.stderr)
        # Grow main until the free space is smaller than main itself.
        for _ in range(40):
            st = os.statvfs(env.data)
            if st.f_bavail * st.f_frsize < main_size() * 0.8:
                break
            if psql("insert into fill select md5(g::text) || repeat('x', 1000)"
                    " from generate_series(1, 4000) g").returncode != 0:
                break  # already full
        before = {b["name"] for b in env.ds_json("db", "branches", "-C", ws)["branches"]}
        p = env.ds("db", "create-branch", "too-big", "-C", ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("disk is full", p.stderr)
        self.assertIn("nothing was changed", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        after = {b["name"] for b in env.ds_json("db", "branches", "-C", ws)["branches"]}
        self.assertEqual(before, after, "no metadata for the failed branch")
        self.assertEqual(psql("select count(*) from pg_database where datname = 'too-big'")
                         .stdout.strip(), "0", "the half-made database was dropped")


if __name__ == "__main__":
    main()
