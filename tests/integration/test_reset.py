#!/usr/bin/env python3
"""`ds db reset` and `ds db copy-org` on the local provider, end to end.

One dsd and one local cluster (made by `ds setup`) serve the class. The
source is a database of its own on that cluster, migrated with the same
small Drizzle folder and seeded with two organizations; each test resets a
branch of its own (created with `ds db create-branch`), so any test runs
alone (DS_TEST_ONLY, see harness.py). A slow folder (a migration that
sleeps) gives cancel and kill -9 a reset that is surely mid-way; they wait
for the sleeping statement in pg_stat_activity, never for a guessed time.

DS_TEST_ECHO=1 prints every ds command with its output.
"""

import json
import os
import signal
import subprocess
import sys
import unittest
import urllib.parse

from harness import LOCAL_PG_BIN as PG_BIN, DsEnv, dotenv, main, run_in_pty, wait_until

T0 = 1700000000000

SCHEMA = [
    ("0000_orgs", T0, """CREATE TABLE organizations (id integer PRIMARY KEY, name text NOT NULL);
--> statement-breakpoint
CREATE TABLE users (id integer PRIMARY KEY, org_id integer NOT NULL REFERENCES organizations(id),
  email text NOT NULL);
"""),
    ("0001_audit", T0 + 1000, """CREATE SCHEMA audit;
--> statement-breakpoint
CREATE TABLE audit.events (id serial PRIMARY KEY,
  org_id integer NOT NULL REFERENCES organizations(id), what text);
"""),
]

SEED = """
INSERT INTO organizations VALUES (1, 'acme'), (2, 'globex');
INSERT INTO users VALUES (10, 1, 'a@acme'), (11, 1, 'b@acme'), (20, 2, 'x@globex');
INSERT INTO audit.events (org_id, what) VALUES (1, 'signup'), (2, 'signup'), (1, 'login');
"""


class ResetCluster(unittest.TestCase):
    """The class's dsd, cluster, source and helpers; no tests of its own, so
    test_reset_external.py builds on it."""
    ENV_NAME = "rst"

    @classmethod
    def setUpClass(cls):
        cls.env = DsEnv(cls.ENV_NAME)
        try:
            cls.home = cls.env.workspace("home", None, 'developer = "rst"\n')
            cls.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
            p = cls.env.ds("setup", "-C", cls.home, timeout=120)
            if p.returncode != 0:
                raise AssertionError(f"ds setup failed: {p.stdout}{p.stderr}")
            cls.base_uri = dotenv(os.path.join(cls.home, ".env"))["DB_CONNECTION_STRING"]
            parts = urllib.parse.urlsplit(cls.base_uri)
            cls.password = urllib.parse.unquote(parts.password or "")
            cls.port = parts.port
            cls.folder = cls.env.write_drizzle_folder(cls.home, SCHEMA)
            cls.source = cls.make_db_s("rst_source")
            p = cls.env.ds("db", "migrate", "-C", cls.home, "--db", cls.source, "--yes", timeout=60)
            if p.returncode != 0:
                raise AssertionError(f"migrating the source failed: {p.stdout}{p.stderr}")
            cls.psql_s(cls.source, SEED)
        except BaseException:
            cls.env.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("DS_TEST_ECHO"):
            print("\n--- dsd log ---\n" + cls.env.read_log()[-8000:], file=sys.stderr)
        cls.env.cleanup()

    # -- helpers ---------------------------------------------------------------

    @classmethod
    def uri(cls, db):
        role = urllib.parse.urlsplit(cls.base_uri).username
        netloc = f"{role}:{urllib.parse.quote(cls.password, safe='')}@127.0.0.1:{cls.port}"
        return urllib.parse.urlunsplit(("postgresql", netloc, "/" + db, "", ""))

    @classmethod
    def psql_s(cls, uri, sql, check=True):
        p = cls.env.local_psql(uri, sql)
        if check and p.returncode != 0:
            raise AssertionError(f"psql: {p.stderr}")
        return p.stdout.strip()

    def psql(self, uri, sql):
        return self.psql_s(uri, sql)

    @classmethod
    def make_db_s(cls, name):
        # Branch roles may not create databases: dsd's superuser makes it,
        # for the setup branch's role, whose URI the tests use.
        role = urllib.parse.urlsplit(cls.base_uri).username
        cls.psql_s(cls.env.superuser_uri("postgres"), f'CREATE DATABASE "{name}" OWNER {role}')
        return cls.uri(name)

    def ds(self, *args, timeout=90, **kw):
        p = self.env.ds(*args, timeout=timeout, **kw)
        if os.environ.get("DS_TEST_ECHO"):
            print(f"\n$ ds {' '.join(args)}  -> {p.returncode}\n{p.stdout}{p.stderr}",
                  file=sys.stderr)
        self.assertNotIn(self.password, p.stdout + p.stderr, "the password leaked")
        return p

    def workspace(self, name, source=True):
        """A workspace whose .env points at a new branch of its own (and at the
        source, unless source=False), with the Drizzle folder."""
        ws = self.env.workspace(f"w-{name}", None, 'developer = "rst"\n')
        p = self.ds("db", "create-branch", f"rst-{name}", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.env.write_drizzle_folder(ws, SCHEMA)
        if source:
            with open(os.path.join(ws, ".env"), "a") as f:
                f.write(f"SOURCE_DB_CONNECTION_STRING={self.source}\n")
        return ws, dotenv(os.path.join(ws, ".env"))["DB_CONNECTION_STRING"]

    def litter(self, target):
        """What a reset must remove: a stray schema, a table, a drizzle row."""
        self.psql(target, "CREATE SCHEMA scratch; CREATE TABLE scratch.t (x int);"
                          "CREATE TABLE public.junk (x int); INSERT INTO public.junk VALUES (1);"
                          "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations"
                          " (id serial, hash text, created_at bigint);"
                          "INSERT INTO drizzle.__drizzle_migrations (hash, created_at)"
                          " VALUES ('stale', 1)")

    def untouched(self, target):
        self.assertEqual(self.psql(target, "SELECT count(*) FROM public.junk"), "1")
        self.assertEqual(self.psql(target, "SELECT to_regclass('scratch.t') IS NOT NULL"), "t")

    def newest_job(self, kind="reset"):
        jobs = json.loads(self.ds("jobs", "list", "--json").stdout).get("jobs", [])
        jobs = [j for j in jobs if j.get("kind") == kind]
        self.assertTrue(jobs, "a job was recorded")
        return jobs[0]

    def start_reset(self, ws, *args):
        """A reset ds runs in the background, its output read line by line."""
        argv = self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds"),
                              "db", "reset", "-C", ws, "-o", "1", "--yes", *args])
        return subprocess.Popen(argv, env=self.env.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)

    def sleeping(self, target):
        # As the superuser: the migration runs as the target's role, and
        # another role's query text is hidden from the setup branch's.
        return self.psql(self.env.superuser_uri("postgres"),
                         "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                         "'%pg_sleep(60)%' AND pid <> pg_backend_pid()") != "0"

    def slow_folder(self, ws):
        return self.env.write_drizzle_folder(
            ws, SCHEMA + [("0002_slow", T0 + 2000, "SELECT pg_sleep(60);\n")],
                                 rel="slow")



class ResetTest(ResetCluster):

    def expiry(self, ws, branch):
        p = self.ds("db", "audit", "--json", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rows = [b for b in json.loads(p.stdout)["branches"] if b["branch"]["name"] == branch]
        self.assertEqual(len(rows), 1, p.stdout)
        return rows[0]["branch"].get("expires_at", "")

    def test_reset_rebuilds_the_target_with_one_organization(self):
        ws, target = self.workspace("e2e")
        self.litter(target)
        p = self.ds("db", "set-expiry", "rst-e2e", "7d", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        expiry = self.expiry(ws, "rst-e2e")
        self.assertTrue(expiry)
        lingering = subprocess.Popen(
            self.env.argv([os.path.join(PG_BIN, "psql"), "-X", "-At", target]),
            env={**self.env.env(), "PGAPPNAME": "lingering-app"}, stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lingering.kill)
        lingering.stdin.write("SELECT 1;\n")
        lingering.stdin.flush()
        su = self.env.superuser_uri("postgres")
        wait_until(lambda: self.psql(su, "SELECT count(*) FROM pg_stat_activity "
                                         "WHERE application_name = 'lingering-app'")
                   == "1", what="the lingering session")
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for i, step in enumerate(["check", "terminate", "drop-schemas", "cognito-users", "migrate",
                                  "stripe-products", "copy-organization"], 1):
            self.assertIn(f"[{i}/7] {step}", p.stdout)
        self.assertIn("lingering-app × 1", p.stdout + p.stderr)
        self.assertIn("skipped: not configured", p.stdout + p.stderr)
        # The stray things are gone, the migrations ran afresh, org 1 only.
        self.assertEqual(self.psql(target, "SELECT to_regclass('public.junk') IS NULL"), "t")
        self.assertEqual(self.psql(target, "SELECT count(*) FROM pg_namespace "
                                           "WHERE nspname = 'scratch'"), "0")
        self.assertEqual(self.psql(target, "SELECT hash <> 'stale' FROM "
                                           "drizzle.__drizzle_migrations ORDER BY id"), "t\nt")
        self.assertEqual(self.psql(target, "SELECT id FROM organizations ORDER BY id"), "1")
        self.assertEqual(self.psql(target, "SELECT id FROM users ORDER BY id"), "10\n11")
        self.assertEqual(self.psql(target, "SELECT what FROM audit.events ORDER BY id"),
                         "signup\nlogin")
        # Made again by the branch's role, which owns it as it did before.
        self.assertEqual(self.psql(target, "SELECT nspowner::regrole FROM pg_namespace "
                                           "WHERE nspname = 'public'"),
                         urllib.parse.urlsplit(target).username)
        job = self.newest_job()
        self.assertEqual(job["state"], "JOB_STATE_SUCCEEDED", job)
        self.assertEqual([s["name"] for s in job["steps"]],
                         ["check", "terminate", "drop-schemas", "cognito-users", "migrate",
                          "stripe-products", "copy-organization"])
        self.assertNotIn(self.password, json.dumps(job))
        self.assertEqual(self.psql(su, "SELECT count(*) FROM pg_stat_activity "
                                       "WHERE application_name = 'lingering-app'"), "0",
                         "the other session was ended")
        # The source is as it was, and the branch keeps its expiry.
        self.assertEqual(self.psql(self.source, "SELECT count(*) FROM users"), "3")
        self.assertEqual(self.expiry(ws, "rst-e2e"), expiry, "the reset dropped the expiry")

    def test_refusals_touch_nothing(self):
        ws, target = self.workspace("refuse")
        self.litter(target)
        cases = [
            # (extra args, env edits, exit code, words in the error)
            (["-o", "999"], None, 1, "organization 999 does not exist in the source"),
            (["-o", "1", "--source-db", target], None, 1, "the target is the source"),
            (["-o", "1", "--target-db", self.uri("main")], None, 1, "the default branch main"),
            (["-o", "1", "--target-db", self.source, "--source-db", self.source], None, 1,
             "the target is the source"),
            (["-o", "1", "--target-db", target, "--target", "x"], None, 2, "not both"),
            (["--target-db", target], None, 2, "no organization"),
        ]
        for args, _, code, words in cases:
            with self.subTest(args=args):
                p = self.ds("db", "reset", "-C", ws, "--yes", *args)
                self.assertEqual(p.returncode, code, p.stdout + p.stderr)
                self.assertIn(words, p.stderr)
        # Without a terminal and without --yes: a usage error, after the checks.
        p = self.ds("db", "reset", "-C", ws, "-o", "1")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("--yes", p.stderr)
        # The `organization` setting is -o's default.
        p = self.ds("db", "reset", "-C", ws, "--set", "organization=998", "--yes")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("organization 998 does not exist", p.stderr)
        self.untouched(target)
        self.assertEqual(self.psql(self.source, "SELECT count(*) FROM users"), "3")

    def test_missing_source_names_the_command_that_sets_it(self):
        ws, target = self.workspace("nosource", source=False)
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--yes")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("SOURCE_DB_CONNECTION_STRING is not set", p.stderr)
        self.assertIn("ds db set source-db", p.stderr)

    def test_dry_run_prints_the_plan_and_changes_nothing(self):
        ws, target = self.workspace("dry")
        self.litter(target)
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Nothing was changed (--dry-run)", p.stdout)
        self.assertIn("drop drizzle, public, scratch", p.stdout)
        self.assertIn("apply 2 migrations", p.stdout)
        self.assertRegex(p.stdout, r"public\.users\s+2\n")
        self.assertRegex(p.stdout, r"audit\.events\s+2\n")
        self.untouched(target)
        doc = json.loads(self.ds("db", "reset", "-C", ws, "-o", "1", "--dry-run", "--json").stdout)
        self.assertEqual(doc["confirm_name"], "rst-dry")
        self.assertEqual(doc["drop_schemas"], ["drizzle", "public", "scratch"])
        self.untouched(target)
        self.assertEqual(json.loads(self.ds("jobs", "list", "--json").stdout).get("jobs", [])
                         and [j for j in json.loads(self.ds("jobs", "list", "--json").stdout)["jobs"]
                              if j["kind"] == "reset" and "rst-dry" in j["description"]], [],
                         "a dry run starts no job")

    def test_terminal_confirmation_wants_the_target_branch_typed_back(self):
        ws, target = self.workspace("pty")
        self.litter(target)
        args = ["db", "reset", "-C", ws, "-o", "1"]
        # A wrong name (here: the organization, or the source's database)
        # aborts with nothing changed.
        for wrong in (b"1\r", b"rst_source\r", b"\r"):
            code, out = run_in_pty(self.env, args, [(wrong, None)], b"to confirm: ")
            self.assertEqual(code, 1, out)
            self.assertIn("aborted; nothing was changed", out)
            self.untouched(target)
        # What the prompt shows before asking: target, source, organization,
        # the schemas it drops; never the password.
        self.assertIn("rst-pty", out)
        self.assertIn("rst_source", out)
        self.assertIn("drizzle, public, scratch", out)
        self.assertNotIn(self.password, out)
        # The branch name typed back runs the reset.
        code, out = run_in_pty(self.env, args, [(b"rst-pty\r", b"[1/7]")], b"to confirm: ",
                               timeout=90)
        self.assertEqual(code, 0, out)
        self.assertEqual(self.psql(target, "SELECT to_regclass('public.junk') IS NULL"), "t")
        self.assertEqual(self.psql(target, "SELECT id FROM users ORDER BY id"), "10\n11")
        self.assertEqual(self.newest_job()["state"], "JOB_STATE_SUCCEEDED")

    def test_ctrl_c_cancels_and_the_record_says_partial_then_a_reset_repairs(self):
        ws, target = self.workspace("cancel")
        slow = self.slow_folder(ws)
        proc = self.start_reset(ws, "--dir", slow)
        wait_until(lambda: self.sleeping(target), timeout=60, what="the slow migration")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, out + err)
        self.assertIn("partial", err)
        self.assertIn("ds db reset", err)
        job = self.newest_job()
        self.assertEqual(job["state"], "JOB_STATE_CANCELLED", job)
        self.assertIn("partial", job["error"])
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(target, "SELECT count(*) FROM users"), "2")

    def test_kill_9_of_dsd_mid_reset_shows_interrupted_and_the_next_reset_works(self):
        ws, target = self.workspace("kill")
        slow = self.slow_folder(ws)
        proc = self.start_reset(ws, "--dir", slow)
        wait_until(lambda: self.sleeping(target), timeout=60, what="the slow migration")
        for pid in self.env.dsd_pids():
            os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        # The server ends the orphaned statement (client_connection_check_interval).
        wait_until(lambda: not self.sleeping(target), timeout=30, what="the orphaned statement")
        self.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
        job = self.newest_job()
        self.assertEqual(job["state"], "JOB_STATE_INTERRUPTED", job)
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(target, "SELECT count(*) FROM users"), "2")

    def test_copy_org_into_a_migrated_target_and_refuses_tables_with_rows(self):
        ws, target = self.workspace("copy")
        self.psql(target, "DROP SCHEMA IF EXISTS drizzle CASCADE")
        p = self.ds("db", "migrate", "-C", ws, "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.ds("db", "copy-org", "-C", ws, "-o", "2", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"public\.users\s+1\n")
        self.assertEqual(self.psql(target, "SELECT count(*) FROM users"), "0")
        p = self.ds("db", "copy-org", "-C", ws, "-o", "2", "--explain")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("users", p.stdout)
        p = self.ds("db", "copy-org", "-C", ws, "-o", "2")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        p = self.ds("db", "copy-org", "-C", ws, "-o", "2", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(target, "SELECT email FROM users ORDER BY id"), "x@globex")
        p = self.ds("db", "copy-org", "-C", ws, "-o", "1", "--yes")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("users", p.stderr)
        self.assertEqual(self.psql(target, "SELECT count(*) FROM users"), "1")

    def test_copy_org_cancelled_mid_statement_leaves_the_target_untouched(self):
        ws, target = self.workspace("midcopy")
        self.psql(target, "DROP SCHEMA IF EXISTS drizzle CASCADE")
        p = self.ds("db", "migrate", "-C", ws, "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # A CHECK the copy cannot switch off, sleeping an hour on each user
        # row: the COPY into users hangs mid-statement, with organization 2
        # already loaded in the same transaction.
        self.psql(target, "CREATE FUNCTION slow_ok(text) RETURNS boolean LANGUAGE plpgsql AS "
                          "'BEGIN PERFORM pg_sleep(3600); RETURN true; END';"
                          "ALTER TABLE users ADD CONSTRAINT slow CHECK (slow_ok(email)) NOT VALID")
        argv = self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds"),
                              "db", "copy-org", "-C", ws, "-o", "2", "--yes"])
        proc = subprocess.Popen(argv, env=self.env.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        in_copy = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
                   "AND query LIKE 'COPY %users%FROM STDIN%'")
        # As the superuser: the copy runs as the target's role, whose
        # sessions' queries another role cannot see.
        su = self.env.superuser_uri("postgres")
        wait_until(lambda: self.psql(su, in_copy) == "1", timeout=60,
                   what="the COPY into users, sleeping in its CHECK")
        proc.send_signal(signal.SIGINT)
        # An hour-long statement: returning at all means it was interrupted.
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, out + err)
        self.assertIn("left as they were", err)
        job = self.newest_job("copy-org")
        self.assertEqual(job["state"], "JOB_STATE_CANCELLED", job)
        self.assertEqual(self.psql(su, in_copy), "0", "the statement was cancelled")
        for table in ("organizations", "users", "audit.events"):
            self.assertEqual(self.psql(target, f"SELECT count(*) FROM {table}"), "0", table)
        # The next copy works.
        self.psql(target, "ALTER TABLE users DROP CONSTRAINT slow")
        p = self.ds("db", "copy-org", "-C", ws, "-o", "2", "--yes")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(target, "SELECT email FROM users ORDER BY id"), "x@globex")

    def test_connection_strings_from_stdin_stay_out_of_argv_and_records(self):
        ws, target = self.workspace("stdin", source=False)
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--source-db", "-", "--dry-run",
                    input=self.source + "\n")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("rst_source", p.stdout)
        p = self.ds("db", "reset", "-C", ws, "-o", "1", "--source-db", "-", "--target-db", "-",
                    input=self.source)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)


if __name__ == "__main__":
    main()
