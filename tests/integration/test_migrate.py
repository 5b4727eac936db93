"""`ds db migrate` and `ds jobs` on a real PostgreSQL, against real drizzle.

One dsd (logging at debug level) and one local cluster (made by `ds setup`)
serve the whole class; every test makes its own databases (CREATE DATABASE
as the branch owner) and its own workspace holding the Drizzle folder, so any
test can run alone (see harness.py: DS_TEST_ONLY). Tests that kill or need
more daemons start their own dsd on separate state dirs, pointed at the
shared cluster with --db.

drizzle itself runs through tests/peers/drizzle_migrate.mjs (drizzle-orm's
migrator, drizzle-kit generate/migrate) from DS_PEERS_DIR; those tests skip
when node or the peers are missing.

DS_TEST_ECHO=1 prints every ds command with its output, and dsd's and
PostgreSQL's logs at the end.
"""

import calendar
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

from harness import LOCAL_PG_BIN as PG_BIN, DsEnv, dotenv, main, run_in_pty, wait_until

PEERS = os.environ.get("DS_PEERS_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))
TRACKING = '"drizzle"."__drizzle_migrations"'


def peers_missing():
    """Why the drizzle peers cannot run, or None."""
    if not shutil.which("node"):
        return "node is not installed"
    for mod in ("drizzle-orm", "drizzle-kit", "pg"):
        if not os.path.isdir(os.path.join(PEERS, "node_modules", mod)):
            return f"{PEERS or 'DS_PEERS_DIR'}/node_modules/{mod} is missing (run npm ci)"
    return None


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def derived_name(when, tag):
    """The drizzle 1.0 name `drizzle-kit up` gives a journal entry."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(when // 1000))
    return stamp + "_" + tag.split("_", 1)[1]


# Migrations of the shared drizzle-kit project: each step is the whole
# schema file after the change; `drizzle-kit generate` writes the diff.
KIT_STEPS = [
    """const { pgTable, serial, text } = require('drizzle-orm/pg-core');
exports.users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull() });
""",
    """const { pgTable, serial, text, integer } = require('drizzle-orm/pg-core');
exports.users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull() });
exports.posts = pgTable('posts', { id: serial('id').primaryKey(),
  userId: integer('user_id').references(() => exports.users.id), title: text('title') });
""",
    """const { pgTable, serial, text, integer, index } = require('drizzle-orm/pg-core');
exports.users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull(),
  age: integer('age') });
exports.posts = pgTable('posts', { id: serial('id').primaryKey(),
  userId: integer('user_id').references(() => exports.users.id), title: text('title') },
  (t) => [index('posts_user_idx').on(t.userId)]);
""",
    """const { pgTable, pgEnum, serial, text, integer, index } = require('drizzle-orm/pg-core');
exports.mood = pgEnum('mood', ['happy', 'sad']);
exports.users = pgTable('users', { id: serial('id').primaryKey(), email: text('email').notNull(),
  age: integer('age'), mood: exports.mood('mood') });
exports.posts = pgTable('posts', { id: serial('id').primaryKey(),
  userId: integer('user_id').references(() => exports.users.id), title: text('title') },
  (t) => [index('posts_user_idx').on(t.userId)]);
exports.comments = pgTable('comments', { id: serial('id').primaryKey(),
  postId: integer('post_id').notNull().references(() => exports.posts.id), body: text('body') });
""",
]

# Timestamps of hand-written journals (drizzle-kit writes Date.now()).
T0 = 1700000000000


class MigrateTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.env = DsEnv("mig")
        try:
            cls.ws = cls.env.workspace("ws", None, 'developer = "mig"\n')
            # Debug level: the log holds every request, for the secret checks.
            cls.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
            p = cls.env.ds("setup", "-C", cls.ws, timeout=120)
            if p.returncode != 0:
                raise AssertionError(f"ds setup failed: {p.stdout}{p.stderr}")
            cls.base_uri = dotenv(os.path.join(cls.ws, ".env"))["DB_CONNECTION_STRING"]
            parts = urllib.parse.urlsplit(cls.base_uri)
            cls.password = urllib.parse.unquote(parts.password or "")
            assert cls.password, "the branch URL has a password"
            cls.port = parts.port
            cls.outputs = []  # everything ds printed
            cls.kit_project = None
            cls.script = None
        except BaseException:
            cls.env.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("DS_TEST_ECHO"):
            print("\n--- dsd log ---\n" + cls.env.read_log()[-6000:] + "\n--- dsd stderr ---\n"
                  + cls.env.daemon_stderr()[-3000:], file=sys.stderr)
            try:
                with open(os.path.join(cls.env.data, "ds", "pg.log")) as f:
                    print("--- pg.log ---\n" + f.read()[-5000:], file=sys.stderr)
            except OSError:
                pass
        cls.env.cleanup()

    # -- helpers ---------------------------------------------------------------

    def ds(self, *args, env_obj=None, timeout=60, check_secret=True, **kw):
        e = env_obj or self.env
        p = e.ds(*args, timeout=timeout, **kw)
        self.outputs.append(p.stdout + p.stderr)
        if os.environ.get("DS_TEST_ECHO"):
            print(f"\n$ ds {' '.join(args)}  -> {p.returncode}\n{p.stdout}{p.stderr}",
                  file=sys.stderr)
        if check_secret:
            self.assertNotIn(self.password, p.stdout + p.stderr,
                             f"the password leaked into `ds {' '.join(args)}`")
        return p

    def migrate(self, ws, *args, **kw):
        return self.ds("db", "migrate", "-C", ws, *args, **kw)

    def uri(self, db, password=None):
        parts = urllib.parse.urlsplit(self.base_uri)
        netloc = f"{parts.username}:{urllib.parse.quote(password or self.password, safe='')}" \
                 f"@127.0.0.1:{self.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, "/" + db, "", ""))

    def psql(self, uri, sql, check=True):
        p = self.env.local_psql(uri, sql)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def new_db(self, name):
        # Branch roles may not create databases: dsd's superuser makes it,
        # for the setup branch's role, whose URI the tests use.
        role = urllib.parse.urlsplit(self.base_uri).username
        self.psql(self.env.superuser_uri("postgres"), f'CREATE DATABASE "{name}" OWNER {role}')
        return self.uri(name)

    def new_ws(self, name):
        return self.env.workspace(f"w-{name}")

    def expected_rows(self, folder):
        """(id, hash, created_at) drizzle writes for a fresh database."""
        with open(os.path.join(folder, "meta", "_journal.json")) as f:
            entries = json.load(f)["entries"]
        return [(i + 1, sha256_file(os.path.join(folder, e["tag"] + ".sql")), e["when"])
                for i, e in enumerate(entries)]

    def rows(self, uri, table=TRACKING, cols="id, hash, created_at"):
        out = self.psql(uri, f"SELECT {cols} FROM {table} ORDER BY id")
        result = []
        for line in out.splitlines():
            vals = line.split("|")
            result.append(tuple(int(v) if v.isdigit() else v for v in vals))
        return result

    def exists(self, uri, rel):
        return self.psql(uri, f"SELECT to_regclass('{rel}') IS NOT NULL") == "t"

    def tracking_count(self, uri):
        if not self.exists(uri, TRACKING):
            return 0
        return int(self.psql(uri, f"SELECT count(*) FROM {TRACKING}"))

    def user_tables(self, uri):
        out = self.psql(uri, "SELECT table_schema || '.' || table_name FROM information_schema.tables"
                             " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                             " AND table_name NOT IN ('__drizzle_migrations', '__ds_migrations_log')"
                             " ORDER BY 1")
        return out.splitlines()

    def schema_shape(self, uri):
        """Columns and indexes of the user's tables (not the bookkeeping)."""
        cols = self.psql(uri, "SELECT table_name, column_name, data_type, is_nullable, "
                              "coalesce(column_default, '') FROM information_schema.columns "
                              "WHERE table_schema = 'public' ORDER BY 1, 2")
        idx = self.psql(uri, "SELECT indexname, indexdef FROM pg_indexes "
                             "WHERE schemaname = 'public' ORDER BY 1")
        types = self.psql(uri, "SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)"
                               " FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid GROUP BY 1")
        return cols, idx, types

    def assertNothingApplied(self, uri, why=""):
        self.assertEqual(self.user_tables(uri), [], f"no user table may exist {why}")
        self.assertEqual(self.tracking_count(uri), 0, f"no tracking row may exist {why}")

    def status_json(self, ws, *args, code=0):
        """--status --json; it exits 1 while a run would refuse (errors)."""
        p = self.migrate(ws, *args, "--status", "--json")
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(bool(doc.get("errors")), code == 1, doc.get("errors"))
        return doc

    def assertHeadline(self, out, db, folder):
        """The first line names the job, the folder and the database (redacted)."""
        first = out.splitlines()[0]
        self.assertIn(folder, first)
        self.assertRegex(first, r"postgresql://ds_[a-z0-9_]+(:\*+)?@127\.0\.0\.1:\d+/" + re.escape(db)
                         + r"\b")
        self.assertRegex(first, r"(?i)\bjob\b")
        return first

    def job_for(self, db, env_obj=None):
        """The newest job acting on database `db`."""
        jobs = self.list_jobs(env_obj)
        for job in jobs:
            if job.get("target", "").endswith("/" + db) or f"/{db}?" in job.get("target", ""):
                return job
        raise AssertionError(f"no job on {db} in {jobs}")

    def list_jobs(self, env_obj=None):
        p = self.ds("jobs", "list", "--json", env_obj=env_obj)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout).get("jobs", [])

    def wait_sleeping(self, uri, db, present=True, timeout=20, sleep="pg_sleep(30)"):
        sql = (f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"
               f" AND query ILIKE '%{sleep}%' AND state = 'active' AND pid <> pg_backend_pid()")
        wait_until(lambda: (self.psql(uri, sql) != "0") == present, timeout, interval=0.2,
                   what=f"a pg_sleep backend on {db} to {'appear' if present else 'go away'}")

    # drizzle itself ------------------------------------------------------------

    def require_peers(self):
        why = peers_missing()
        if why:
            self.skipTest(why)
        if self.script is None:
            # The clone may not be readable by the test user: copy the script.
            script = os.path.join(self.env.root, "drizzle_migrate.mjs")
            shutil.copy(os.path.join(HERE, "..", "peers", "drizzle_migrate.mjs"), script)
            os.chmod(script, 0o644)
            type(self).script = script

    def drizzle(self, command, *args, check=True):
        self.require_peers()
        p = subprocess.run(
            self.env.argv(["node", self.script, command, "--peers", PEERS] + list(args)),
            env=self.env.env(), capture_output=True, text=True, timeout=120)
        if check:
            self.assertEqual(p.returncode, 0, f"drizzle {command}: {p.stdout}{p.stderr}")
        return p

    def drizzle_migrate(self, uri, folder, *extra, check=True):
        return self.drizzle("migrate", "--url", uri, "--dir", folder, *extra, check=check)

    def kit_folder(self):
        """A folder of four migrations made by the real `drizzle-kit generate`."""
        self.require_peers()
        if self.kit_project is None:
            project = self.env.mkdir("kit-project")
            for step in KIT_STEPS:
                self.env.write("kit-project/schema.cjs", step)
                self.drizzle("generate", "--project", project)
            type(self).kit_project = project
        folder = os.path.join(self.kit_project, "drizzle")
        with open(os.path.join(folder, "meta", "_journal.json")) as f:
            self.assertEqual(len(json.load(f)["entries"]), len(KIT_STEPS))
        return folder

    def copy_kit_folder(self, ws, count=None):
        """The kit folder into ws/drizzle, with only its first `count` entries."""
        src = self.kit_folder()
        with open(os.path.join(src, "meta", "_journal.json")) as f:
            journal = json.load(f)
        journal["entries"] = journal["entries"][:count]
        rel = os.path.relpath(os.path.join(ws, "drizzle"), self.env.root)
        self.env.mkdir(rel)
        self.env.mkdir(os.path.join(rel, "meta"))
        self.env.write(os.path.join(rel, "meta", "_journal.json"), json.dumps(journal, indent=2))
        for e in journal["entries"]:
            with open(os.path.join(src, e["tag"] + ".sql"), newline="") as f:
                self.env.write(os.path.join(rel, e["tag"] + ".sql"), f.read())
        return os.path.join(ws, "drizzle"), [e["tag"] for e in journal["entries"]]

    # -- drizzle interop ---------------------------------------------------------

    def test_kit_folder_then_drizzle_applies_nothing(self):
        ws = self.new_ws("kit")
        folder, tags = self.copy_kit_folder(ws)
        uri = self.new_db("m_kit")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = p.stdout.splitlines()
        self.assertHeadline(p.stdout, "m_kit", folder)
        for i, tag in enumerate(tags):
            self.assertIn(f"[{i + 1}/4] {tag}", lines)
        self.assertRegex(lines[-1], r"^Applied 4 migrations in [0-9.]+ s \(job \S+\)$")
        self.assertEqual(self.user_tables(uri), ["public.comments", "public.posts", "public.users"])
        expected = self.expected_rows(folder)
        self.assertEqual(self.rows(uri), expected)

        # drizzle's migrator and drizzle-kit migrate find nothing to do.
        self.drizzle_migrate(uri, folder)
        self.assertEqual(self.rows(uri), expected, "drizzle applied nothing more")
        self.drizzle("kit-migrate", "--url", uri, "--dir", folder)
        self.assertEqual(self.rows(uri), expected, "drizzle-kit applied nothing more")
        # Nor does ds.
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"Nothing to apply: 4 migrations already applied \(job \S+\)")

    def test_drizzle_first_half_ds_the_rest(self):
        ws = self.new_ws("half")
        folder, first = self.copy_kit_folder(ws, 2)
        uri = self.new_db("m_half")
        self.drizzle_migrate(uri, folder)
        self.assertEqual(len(self.rows(uri)), 2)
        folder, tags = self.copy_kit_folder(ws)  # two more entries arrive
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(f"[1/2] {tags[2]}", p.stdout.splitlines())
        self.assertIn(f"[2/2] {tags[3]}", p.stdout.splitlines())
        self.assertRegex(p.stdout, r"Applied 2 migrations in ")
        self.assertEqual(self.rows(uri), self.expected_rows(folder))
        self.drizzle_migrate(uri, folder)
        self.assertEqual(self.rows(uri), self.expected_rows(folder), "drizzle applied nothing")

    def test_rows_and_schema_identical_to_drizzle_alone(self):
        ws = self.new_ws("same")
        folder, _ = self.copy_kit_folder(ws)
        by_ds, by_drizzle = self.new_db("m_same_ds"), self.new_db("m_same_dz")
        self.assertEqual(self.migrate(ws, "--db", by_ds).returncode, 0)
        self.drizzle_migrate(by_drizzle, folder)
        self.assertEqual(self.rows(by_ds), self.rows(by_drizzle))
        self.assertEqual(self.rows(by_ds), self.expected_rows(folder))
        self.assertEqual(self.schema_shape(by_ds), self.schema_shape(by_drizzle))
        # The tracking table itself has drizzle's shape.
        shape = "SELECT column_name || ' ' || data_type FROM information_schema.columns " \
                "WHERE table_schema = 'drizzle' AND table_name = '__drizzle_migrations' ORDER BY 1"
        self.assertEqual(self.psql(by_ds, shape), self.psql(by_drizzle, shape))

        # A custom table and schema, as drizzle's migrationsTable/migrationsSchema.
        by_ds, by_drizzle = self.new_db("m_same_ds2"), self.new_db("m_same_dz2")
        p = self.migrate(ws, "--db", by_ds, "--schema", "public", "--table", "my_migrations")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.drizzle_migrate(by_drizzle, folder, "--schema", "public", "--table", "my_migrations")
        table = '"public"."my_migrations"'
        self.assertEqual(self.rows(by_ds, table), self.rows(by_drizzle, table))
        self.assertEqual(len(self.rows(by_ds, table)), 4)
        self.assertFalse(self.exists(by_ds, TRACKING), "the default table was not used")
        # drizzle sees them as applied.
        self.drizzle_migrate(by_ds, folder, "--schema", "public", "--table", "my_migrations")
        self.assertEqual(len(self.rows(by_ds, table)), 4)

        # Hand-written files with CRLF line ends, a trailing marker and a
        # comment-only chunk hash and split the same way.
        ws = self.new_ws("crlf")
        self.env.write_drizzle_folder(ws, [
            ("0000_crlf", T0, "CREATE TABLE cr1(id int);\r\n--> statement-breakpoint\r\n"
                              "CREATE TABLE cr2(id int);--> statement-breakpoint\r\n"),
            ("0001_comment", T0 + 1000, "-- only a comment\r\n--> statement-breakpoint\r\n"
                                        "CREATE TABLE cr3(id int);\r\n"),
        ])
        by_ds, by_drizzle = self.new_db("m_crlf_ds"), self.new_db("m_crlf_dz")
        p = self.migrate(ws, "--db", by_ds)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.drizzle_migrate(by_drizzle, os.path.join(ws, "drizzle"))
        self.assertEqual(self.rows(by_ds), self.rows(by_drizzle))
        self.assertEqual(self.user_tables(by_ds), self.user_tables(by_drizzle))

    # -- concurrency and crashes -------------------------------------------------

    def test_concurrent_runs_apply_each_migration_once(self):
        ws = self.new_ws("conc")
        entries = [("0000_runs", T0, "CREATE TABLE runs(tag text NOT NULL);\n"
                                     "--> statement-breakpoint\n"
                                     "INSERT INTO runs VALUES ('0000_runs');\n")]
        for k in range(1, 6):
            tag = f"000{k}_step{k}"
            entries.append((tag, T0 + k * 1000,
                            f"CREATE TABLE t{k}(id int);\n--> statement-breakpoint\n"
                            f"INSERT INTO runs VALUES ('{tag}');\n--> statement-breakpoint\n"
                            "SELECT pg_sleep(0.2);\n"))
        self.env.write_drizzle_folder(ws, entries)
        uri = self.new_db("m_conc")
        others = []
        for i in range(4):
            other = DsEnv(f"migc{i}")
            self.addCleanup(other.cleanup)
            other.start_daemon()
            others.append(other)

        barrier = threading.Barrier(8)
        results = {}

        def run(key, env_obj, extra):
            barrier.wait()
            results[key] = self.env_run(env_obj, ws, uri, extra)

        threads = [threading.Thread(target=run, args=(f"shared{i}", self.env, ["--wait"]))
                   for i in range(4)]
        threads += [threading.Thread(target=run, args=(f"own{i}", other, []))
                    for i, other in enumerate(others)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for key, p in sorted(results.items()):
            self.assertEqual(p.returncode, 0, f"{key}: {p.stdout}{p.stderr}")
            self.assertNotIn(self.password, p.stdout + p.stderr)
        applied = [k for k, p in results.items() if "Applied 6 migrations" in p.stdout]
        idle = [k for k, p in results.items()
                if "Nothing to apply: 6 migrations already applied" in p.stdout]
        self.assertEqual(len(applied), 1, {k: p.stdout for k, p in results.items()})
        self.assertEqual(len(idle), 7, {k: p.stdout for k, p in results.items()})
        self.assertEqual(self.psql(uri, "SELECT tag, count(*) FROM runs GROUP BY 1 ORDER BY 1"),
                         "\n".join(f"{t}|1" for t, _, _ in entries))
        self.assertEqual(self.rows(uri), self.expected_rows(os.path.join(ws, "drizzle")))
        for other in others:
            self.assertNotIn(self.password, other.read_log() + other.daemon_stderr())

    def start_ds(self, *args):
        """ds in the background (stdout/stderr piped), killed after 60 s at the latest."""
        proc = subprocess.Popen(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds")] + list(args)),
            env=self.env.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=self.env.root)
        watchdog = threading.Timer(60, proc.kill)
        watchdog.start()
        self.addCleanup(watchdog.cancel)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.addCleanup(stop)
        return proc

    def env_run(self, env_obj, ws, uri, extra):
        return env_obj.ds("db", "migrate", "-C", ws, "--db", uri, *extra, timeout=120)

    def test_busy_database_lock_timeout_and_cancel(self):
        ws = self.new_ws("busy")
        self.env.write_drizzle_folder(ws, [("0000_slow", T0, "CREATE TABLE s1(id int);\n"
                                                 "--> statement-breakpoint\n"
                                                 "SELECT pg_sleep(30);\n")])
        uri = self.new_db("m_busy")
        p = self.migrate(ws, "--db", uri, "--detach")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        job = self.job_for("m_busy")
        self.assertIn(job["id"], p.stdout, "--detach prints the job id")
        self.assertIn(job["state"], ("JOB_STATE_QUEUED", "JOB_STATE_RUNNING"))
        self.assertEqual(job["kind"], "migrate")
        self.assertNotIn(self.password, job["target"])
        self.wait_sleeping(uri, "m_busy")

        # The same dsd refuses a second job on that database, naming the
        # first, while the first still runs: refused, not queued behind it.
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(job["id"], p.stderr)
        self.assertEqual(self.job_for("m_busy")["id"], job["id"], "no second job was made")
        self.wait_sleeping(uri, "m_busy")

        # Another dsd waits for the advisory lock, then gives up.
        other = DsEnv("migb")
        self.addCleanup(other.cleanup)
        other.start_daemon()
        p = self.ds("db", "migrate", "-C", ws, "--db", uri, "--lock-timeout", "1", env_obj=other)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("lock", p.stderr)
        self.wait_sleeping(uri, "m_busy")  # it gave up while the lock was still held

        # A live watcher sees the job running, then its end.
        watcher = self.start_ds("jobs", "watch", job["id"], "--json")
        first = json.loads(watcher.stdout.readline())
        self.assertEqual(first["started"]["state"], "JOB_STATE_RUNNING", first)
        # ds jobs cancel stops it: the statement is cancelled, nothing committed.
        p = self.ds("jobs", "cancel", job["id"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out, err = watcher.communicate(timeout=20)
        self.outputs.append(out + err)
        events = [first] + json_lines(out)
        self.assertEqual(events[-1]["finished"]["state"], "JOB_STATE_CANCELLED", events[-1])
        self.assertEqual(sum("finished" in e for e in events), 1)
        self.wait_sleeping(uri, "m_busy", present=False, timeout=10)
        self.assertNothingApplied(uri, "after the cancel")
        self.assertEqual(self.job_for("m_busy")["state"], "JOB_STATE_CANCELLED")

    def test_kill_dsd_during_migration(self):
        other = DsEnv("migk")
        self.addCleanup(other.cleanup)
        other.start_daemon()
        ws = self.new_ws("kill")
        self.env.write_drizzle_folder(ws, [
            ("0000_first", T0, "CREATE TABLE k0(id int);\n"),
            ("0001_long", T0 + 1000, "CREATE TABLE k1(id int);\n--> statement-breakpoint\n"
                                     "CREATE TABLE k2(id int);\n--> statement-breakpoint\n"
                                     "SELECT pg_sleep(30);\n--> statement-breakpoint\n"
                                     "CREATE TABLE k3(id int);\n"),
        ])
        uri = self.new_db("m_kill")
        p = self.ds("db", "migrate", "-C", ws, "--db", uri, "--detach", env_obj=other)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.wait_sleeping(uri, "m_kill")
        job = self.job_for("m_kill", other)
        other.daemon.send_signal(signal.SIGKILL)
        other.daemon.wait(10)
        # The backend may still sleep, but nothing of its transaction is visible...
        self.assertNothingApplied(uri, "while the orphaned backend runs")
        # ...nor once PostgreSQL has rolled it back.
        self.psql(uri, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                       "'m_kill' AND pid <> pg_backend_pid()")
        self.wait_sleeping(uri, "m_kill", present=False, timeout=10)
        self.assertNothingApplied(uri, "after the rollback")

        other.start_daemon()
        p = self.ds("jobs", "list", "--json", env_obj=other)
        self.assertEqual(p.returncode, 0, p.stderr)
        jobs = {j["id"]: j for j in json.loads(p.stdout)["jobs"]}
        self.assertIn(job["id"], jobs)
        self.assertEqual(jobs[job["id"]]["state"], "JOB_STATE_INTERRUPTED", jobs[job["id"]])
        p = self.ds("jobs", "list", env_obj=other)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("interrupted", p.stdout)
        self.assertNotIn(self.password, other.read_log() + other.daemon_stderr("dsd"))

    def test_ctrl_c_cancels(self):
        ws = self.new_ws("ctrlc")
        self.env.write_drizzle_folder(ws, [
            ("0000_a", T0, "CREATE TABLE c0(id int);\n"),
            ("0001_b", T0 + 1000, "CREATE TABLE c1(id int);\n--> statement-breakpoint\n"
                                  "SELECT pg_sleep(30);\n"),
        ])
        uri = self.new_db("m_ctrlc")
        proc = self.start_ds("db", "migrate", "-C", ws, "--db", uri, "--json")
        first = json.loads(proc.stdout.readline())
        job_id = first["job_id"]
        self.assertIn("started", first)
        self.wait_sleeping(uri, "m_ctrlc")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        self.outputs.append(out + err)
        if os.environ.get("DS_TEST_ECHO"):
            print(f"\n$ ds db migrate (Ctrl-C) -> {proc.returncode}\n{out}{err}", file=sys.stderr)
        self.assertEqual(proc.returncode, 130, out + err)
        events = json_lines(out)
        # Cancelled, not awaited: a pg_sleep(30) that ran out would have succeeded.
        self.assertEqual(events[-1]["finished"]["state"], "JOB_STATE_CANCELLED", events[-1])
        self.wait_sleeping(uri, "m_ctrlc", present=False, timeout=5)
        self.assertNothingApplied(uri, "after Ctrl-C")
        job = [j for j in self.list_jobs() if j["id"] == job_id]
        self.assertEqual(job[0]["state"], "JOB_STATE_CANCELLED", job)

    def test_closing_the_terminal_leaves_the_job_running(self):
        ws = self.new_ws("hup")
        # The migration waits for a row the test inserts once the client is
        # gone, so the job is certainly still running when it is looked at.
        self.env.write_drizzle_folder(
            ws, [("0000_h", T0, "CREATE TABLE h1(id int);\n--> statement-breakpoint\n"
                                "DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM hup_gate) "
                                "LOOP PERFORM pg_sleep(0.05); END LOOP; END $$;\n")])
        uri = self.new_db("m_hup")
        self.psql(uri, "CREATE TABLE hup_gate(open bool)")
        proc = self.start_ds("db", "migrate", "-C", ws, "--db", uri)
        self.wait_sleeping(uri, "m_hup", sleep="hup_gate")
        proc.send_signal(signal.SIGHUP)
        proc.communicate(timeout=10)
        self.assertNotEqual(proc.returncode, 0)
        job = self.job_for("m_hup")
        self.assertEqual(job["state"], "JOB_STATE_RUNNING", "the job outlives its client")
        self.psql(uri, "INSERT INTO hup_gate VALUES (true)")
        p = self.ds("jobs", "watch", job["id"], timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Applied 1 migration", p.stdout)
        self.assertEqual(self.job_for("m_hup")["state"], "JOB_STATE_SUCCEEDED")
        self.assertTrue(self.exists(uri, "h1"))
        self.assertEqual(self.tracking_count(uri), 1)

    # -- refusals --------------------------------------------------------------

    def test_edited_applied_file_is_drift(self):
        ws = self.new_ws("drift")
        entries = [("0000_one", T0, "CREATE TABLE d1(id int);\n"),
                   ("0001_two", T0 + 1000, "CREATE TABLE d2(id int);\n")]
        self.env.write_drizzle_folder(ws, entries)
        uri = self.new_db("m_drift")
        self.assertEqual(self.migrate(ws, "--db", uri).returncode, 0)
        entries[0] = ("0000_one", T0, "CREATE TABLE d1(id int, extra text);\n")
        entries.append(("0002_three", T0 + 2000, "CREATE TABLE d3(id int);\n"))
        self.env.write_drizzle_folder(ws, entries)
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0000_one", p.stderr)
        self.assertNotIn("0001_two", p.stderr, "only the edited file is named")
        self.assertFalse(self.exists(uri, "d3"), "nothing applied while drift stands")
        status = self.status_json(ws, "--db", uri, code=1)
        self.assertEqual([m["state"] for m in status["migrations"]],
                         ["drifted", "applied", "pending"])
        self.assertIn("0000_one.sql", status["errors"][0])
        p = self.migrate(ws, "--db", uri, "--ignore-checksums")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(self.exists(uri, "d3"))
        self.assertEqual(self.tracking_count(uri), 3)

    def test_out_of_order_entry(self):
        ws = self.new_ws("ooo")
        entries = [("0000_a", T0, "CREATE TABLE oa(id int);\n"),
                   ("0001_c", T0 + 3000, "CREATE TABLE oc(id int);\n")]
        late = ("0002_b", T0 + 2000, "CREATE TABLE ob(id int);\n")  # from a merged branch
        self.env.write_drizzle_folder(ws, entries)
        uri = self.new_db("m_ooo")
        self.assertEqual(self.migrate(ws, "--db", uri).returncode, 0)
        self.env.write_drizzle_folder(ws, entries + [late])
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0002_b", p.stderr)
        self.assertIn("--allow-out-of-order", p.stderr)
        self.assertFalse(self.exists(uri, "ob"))
        p = self.migrate(ws, "--db", uri, "--dry-run")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0002_b", p.stdout + p.stderr)
        status = self.status_json(ws, "--db", uri, code=1)
        self.assertEqual({m["tag"]: m["state"] for m in status["migrations"]},
                         {"0000_a": "applied", "0001_c": "applied", "0002_b": "out-of-order"})
        p = self.migrate(ws, "--db", uri, "--allow-out-of-order")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(self.exists(uri, "ob"))
        self.assertEqual(self.rows(uri, cols="hash, created_at")[-1],
                         (sha256_file(os.path.join(ws, "drizzle", "0002_b.sql")), T0 + 2000),
                         "recorded with its true `when`")
        if peers_missing():
            return
        # drizzle's own migrator skips the same entry silently, and is not
        # disturbed by the row ds wrote.
        folder = os.path.join(ws, "drizzle")
        self.drizzle_migrate(uri, folder)
        self.assertEqual(self.tracking_count(uri), 3)
        other = self.new_db("m_ooo_dz")
        self.env.write_drizzle_folder(ws, entries)
        self.drizzle_migrate(other, folder)
        self.env.write_drizzle_folder(ws, entries + [late])
        self.drizzle_migrate(other, folder)
        self.assertFalse(self.exists(other, "ob"), "drizzle skipped the out-of-order entry")
        self.assertEqual(self.tracking_count(other), 2)

    def test_no_transaction_directive(self):
        ws = self.new_ws("notx")
        base = ("0000_t", T0, "CREATE TABLE nt(x int);\n--> statement-breakpoint\n"
                              "INSERT INTO nt VALUES (1), (2);\n")
        cic = "CREATE INDEX CONCURRENTLY nt_x ON nt (x);\n"
        self.env.write_drizzle_folder(
            ws, [base, ("0001_idx", T0 + 1000, "-- ds:no-transaction\n" + cic)])
        uri = self.new_db("m_notx")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(uri, "SELECT indexname FROM pg_indexes WHERE tablename = 'nt'"),
                         "nt_x")
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM nt"), "2")
        self.assertEqual(self.tracking_count(uri), 2)

        ws = self.new_ws("notx2")
        self.env.write_drizzle_folder(ws, [base, ("0001_idx", T0 + 1000, cic)])
        uri = self.new_db("m_notx2")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("-- ds:no-transaction", p.stderr)
        self.assertIn("0001_idx", p.stderr)
        self.assertNothingApplied(uri, "when CREATE INDEX CONCURRENTLY failed")

        # A failing no-transaction file: what ran before it is committed and
        # recorded; the file itself is not recorded.
        ws = self.new_ws("notx3")
        self.env.write_drizzle_folder(ws, [base, ("0001_idx", T0 + 1000, "-- ds:no-transaction\n"
                                      "CREATE INDEX CONCURRENTLY nt_y ON nt (no_such_column);\n")])
        uri = self.new_db("m_notx3")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0001_idx", p.stderr)
        self.assertIn("no_such_column", p.stderr)
        self.assertEqual(self.rows(uri, cols="created_at"), [(T0,)])
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM nt"), "2")
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM pg_indexes WHERE tablename = 'nt'"), "0")

    def test_failing_statement_rolls_back_everything(self):
        ws = self.new_ws("fail")
        self.env.write_drizzle_folder(ws, [
            ("0000_ok", T0, "CREATE TABLE f0(id int);\n"),
            ("0001_bad", T0 + 1000, "CREATE TABLE f1(id int);\n--> statement-breakpoint\n"
                                    "SELEC broken FROM nowhere;\n"),
        ])
        uri = self.new_db("m_fail")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("0001_bad", p.stderr)
        self.assertIn("syntax error", p.stderr)
        self.assertNothingApplied(uri, "after a failing statement")
        job = self.job_for("m_fail")
        self.assertEqual(job["state"], "JOB_STATE_FAILED")
        self.assertEqual(job["exit_code"], 1)
        self.assertIn("0001_bad.sql", job["error"])
        p = self.migrate(ws, "--db", uri, "--json")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        events = json_lines(p.stdout)
        self.assertIn("started", events[0])
        self.assertEqual(events[-1]["finished"]["state"], "JOB_STATE_FAILED")
        self.assertEqual(events[-1]["finished"]["exit_code"], 1)
        self.assertIn("syntax error", events[-1]["finished"]["error"])
        self.assertNothingApplied(uri, "after the second failing run")

    def test_bad_input(self):
        good = [("0000_a", T0, "CREATE TABLE ba(id int);\n"),
                ("0001_b", T0 + 1000, "CREATE TABLE bb(id int);\n")]
        journal_ok = json.dumps({"version": "7", "dialect": "postgresql", "entries": [
            {"idx": 0, "version": "7", "when": T0, "tag": "0000_a", "breakpoints": True}]})

        def case(name, setup, expect, codes=(1,), db_args=None):
            with self.subTest(name):
                ws = self.new_ws(f"bad-{name}")
                uri = self.new_db(f"m_bad_{name}")
                setup(ws, uri)
                p = self.migrate(ws, *(db_args(uri) if db_args else ("--db", uri)))
                self.assertIn(p.returncode, codes, p.stdout + p.stderr)
                for text in expect:
                    self.assertIn(text, p.stderr)
                self.assertLessEqual(len(p.stderr.strip().splitlines()), 4,
                                     f"a short, clear error: {p.stderr}")
                self.assertNothingApplied(uri)

        def rel(ws, path):
            return os.path.relpath(os.path.join(ws, path), self.env.root)

        case("nofolder", lambda ws, uri: None, ["nope"], codes=(1, 2),
             db_args=lambda uri: ("--db", uri, "--dir", "nope"))
        case("notjson", lambda ws, uri: (self.env.write_drizzle_folder(ws, good),
                                         self.env.write(rel(ws, "drizzle/meta/_journal.json"),
                                                        "{not json")),
             ["_journal.json"])
        case("nowhen", lambda ws, uri: (self.env.write_drizzle_folder(ws, good),
                                        self.env.write(rel(ws, "drizzle/meta/_journal.json"),
                                                       journal_ok.replace(f'"when": {T0}, ', ""))),
             ["_journal.json", "when"])
        case("nosql", lambda ws, uri: self.env.write_drizzle_folder(
            ws, [good[0], ("0001_b", T0 + 1000, None)]),
             ["0001_b.sql"])
        case("empty", lambda ws, uri: self.env.write_drizzle_folder(
            ws, [good[0], ("0001_b", T0 + 1000, "")]),
             ["0001_b.sql"])
        port = free_port()
        case("unreachable", lambda ws, uri: self.env.write_drizzle_folder(ws, good), [str(port)],
             db_args=lambda uri: ("--db", uri.replace(f":{self.port}/", f":{port}/")))
        case("password", lambda ws, uri: self.env.write_drizzle_folder(ws, good),
             ["password authentication failed"],
             db_args=lambda uri: ("--db", self.uri(uri.rsplit("/", 1)[1], "WrongSecret99")))
        self.assertNotIn("WrongSecret99", "".join(self.outputs[-3:]))

        def odd_table(ws, uri):
            self.env.write_drizzle_folder(ws, good)
            self.psql(uri, "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations"
                           "(version int, checksum text)")
        with self.subTest("oddtable"):
            ws = self.new_ws("bad-oddtable")
            uri = self.new_db("m_bad_oddtable")
            odd_table(ws, uri)
            p = self.migrate(ws, "--db", uri)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("__drizzle_migrations", p.stderr)
            self.assertEqual(self.user_tables(uri), [])
            self.assertEqual(self.psql(uri, f"SELECT count(*) FROM {TRACKING}"), "0")

        # An .sql file the journal does not list: a warning naming it; the rest applies.
        ws = self.new_ws("stray")
        self.env.write_drizzle_folder(ws, good)
        self.env.write(rel(ws, "drizzle/0002_stray.sql"), "CREATE TABLE stray(id int);\n")
        uri = self.new_db("m_stray")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("0002_stray.sql", p.stdout + p.stderr)
        self.assertEqual(self.user_tables(uri), ["public.ba", "public.bb"])

    # -- output modes and jobs -------------------------------------------------

    def test_status_dry_run_and_json(self):
        ws = self.new_ws("status")
        entries = [("0000_a", T0, "CREATE TABLE sa(id int);\n"),
                   ("0001_b", T0 + 1000, "CREATE TABLE sb(id int);\n--> statement-breakpoint\n"
                                         "CREATE TABLE sc(id int);\n")]
        self.env.write_drizzle_folder(ws, entries)
        uri = self.new_db("m_status")

        p = self.migrate(ws, "--db", uri, "--status")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for tag in ("0000_a", "0001_b"):
            line = next(l for l in p.stdout.splitlines() if tag in l)
            self.assertIn("pending", line)
        status = self.status_json(ws, "--db", uri)
        self.assertEqual([(m["tag"], m["state"]) for m in status["migrations"]],
                         [("0000_a", "pending"), ("0001_b", "pending")])
        self.assertEqual(status["to_apply"], ["0000_a", "0001_b"])
        self.assertFalse(status.get("tracking_table_exists", False))
        self.assertEqual(status["tracking_table"], TRACKING)
        self.assertEqual(int(status["migrations"][1]["statements"]), 2)
        self.assertEqual(status["migrations"][0]["hash"],
                         sha256_file(os.path.join(ws, "drizzle", "0000_a.sql")))
        self.assertNotIn(self.password, status["target"])
        self.assertFalse(self.exists(uri, "drizzle.__drizzle_migrations"), "--status creates nothing")
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM pg_namespace WHERE nspname = 'drizzle'"),
                         "0", "--status creates no schema")

        p = self.migrate(ws, "--db", uri, "--dry-run")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("0000_a", p.stdout)
        self.assertIn("0001_b", p.stdout)
        self.assertNothingApplied(uri, "after --dry-run")

        p = self.migrate(ws, "--db", uri, "--json")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        events = json_lines(p.stdout)
        self.assertIn("started", events[0])
        self.assertEqual(events[0]["started"]["kind"], "migrate")
        self.assertIn("finished", events[-1])
        self.assertEqual(events[-1]["finished"]["state"], "JOB_STATE_SUCCEEDED")
        self.assertEqual(events[-1]["finished"].get("exit_code", 0), 0)
        self.assertEqual(sum("started" in e for e in events), 1)
        self.assertEqual(sum("finished" in e for e in events), 1)
        job_id = events[0]["job_id"]
        self.assertTrue(all(e["job_id"] == job_id for e in events))
        names = [e["progress"].get("name") for e in events if "progress" in e]
        self.assertIn("0000_a", names)
        self.assertIn("0001_b", names)
        self.assertEqual(self.user_tables(uri), ["public.sa", "public.sb", "public.sc"])

        status = self.status_json(ws, "--db", uri)
        self.assertEqual([m["state"] for m in status["migrations"]], ["applied", "applied"])
        self.assertEqual(status.get("to_apply", []), [])
        self.assertTrue(status["tracking_table_exists"])

        # ds jobs: list (newest first), logs, watch replays a finished job.
        p = self.ds("jobs", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split()[:3], ["ID", "KIND", "STATE"])
        row = next(l for l in p.stdout.splitlines() if l.split()[0] == job_id)
        self.assertIn("migrate", row)
        self.assertIn("succeeded", row)
        self.assertIn("m_status", row)
        jobs = self.list_jobs()
        self.assertEqual(jobs[0]["id"], job_id, "newest first")
        self.assertEqual(jobs[0]["state"], "JOB_STATE_SUCCEEDED")
        self.assertGreaterEqual(int(jobs[0]["finished_unix_ms"]), int(jobs[0]["started_unix_ms"]))
        created = [int(j["created_unix_ms"]) for j in jobs]
        self.assertEqual(created, sorted(created, reverse=True))
        p = self.ds("jobs", "logs", job_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("0001_b", p.stdout)
        p = self.ds("jobs", "watch", job_id, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        replay = json_lines(p.stdout)
        self.assertIn("started", replay[0])
        self.assertEqual(replay[-1]["finished"]["state"], "JOB_STATE_SUCCEEDED")
        self.assertEqual([e["progress"].get("name") for e in replay if "progress" in e],
                         [e["progress"].get("name") for e in events if "progress" in e],
                         "watch replays the job's progress events")
        p = self.ds("jobs", "watch", job_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("0001_b", p.stdout)
        p = self.ds("jobs", "logs", "no-such-job")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

    def test_drizzle_1_0_shapes_get_name(self):
        # A 0.x journal folder against a table drizzle 1.0 made: name filled.
        ws = self.new_ws("v1table")
        entries = [("0000_brave_hero", T0, "CREATE TABLE v1(id int);\n"),
                   ("0001_calm_sea", T0 + 86400000, "CREATE TABLE v2(id int);\n")]
        self.env.write_drizzle_folder(ws, entries)
        uri = self.new_db("m_v1table")
        self.psql(uri, "CREATE SCHEMA drizzle; CREATE TABLE drizzle.__drizzle_migrations ("
                       "id serial PRIMARY KEY, hash text NOT NULL, created_at bigint, name text, "
                       "applied_at timestamp with time zone DEFAULT now())")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.rows(uri, cols="id, created_at, name, applied_at IS NOT NULL"),
                         [(1, T0, derived_name(T0, "0000_brave_hero"), "t"),
                          (2, T0 + 86400000, derived_name(T0 + 86400000, "0001_calm_sea"), "t")])

        # A drizzle 1.0 folder layout on a fresh database: the 5-column table.
        ws = self.new_ws("v1dir")
        folders = ["20240101120000_init", "20240102083000_more"]
        for name, sql in zip(folders, ["CREATE TABLE w1(id int);\n", "CREATE TABLE w2(id int);\n"]):
            self.env.write(os.path.relpath(os.path.join(ws, "drizzle", name, "migration.sql"),
                                           self.env.root), sql)
        uri = self.new_db("m_v1dir")
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        cols = self.psql(uri, "SELECT column_name FROM information_schema.columns WHERE table_schema"
                              " = 'drizzle' AND table_name = '__drizzle_migrations' ORDER BY ordinal_position")
        self.assertEqual(cols.split(), ["id", "hash", "created_at", "name", "applied_at"])

        def millis(folder):
            return calendar.timegm(time.strptime(folder[:14], "%Y%m%d%H%M%S")) * 1000
        self.assertEqual(self.rows(uri, cols="hash, created_at, name"),
                         [(sha256_file(os.path.join(ws, "drizzle", f, "migration.sql")), millis(f), f)
                          for f in folders])

    def test_target_from_env_and_stage(self):
        ws = self.env.workspace("w-envtarget", None, 'developer = "mig"\n')
        p = self.ds("db", "create-branch", "mig-envtarget", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.env.write_drizzle_folder(
            ws, [("0000_e", T0, "CREATE TABLE et(id int);\n")], rel="backend/drizzle")
        p = self.migrate(ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertHeadline(p.stdout, "mig-envtarget", os.path.join(ws, "backend", "drizzle"))
        self.assertTrue(self.exists(self.env.branch_uri("mig-envtarget"), "et"))

        # --target STAGE: the branch dev-{developer}-STAGE; --dir relative to the workspace.
        other_ws = self.env.workspace("w-stage", None, 'developer = "mig"\n')
        p = self.ds("db", "create-branch", "--target", "mst", "-C", other_ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.env.write_drizzle_folder(
            ws, [("0000_s", T0, "CREATE TABLE st(id int);\n")], rel="other/mig")
        p = self.migrate(ws, "--target", "mst", "--dir", "other/mig")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertHeadline(p.stdout, "dev-mig-mst", os.path.join(ws, "other", "mig"))
        self.assertTrue(self.exists(self.env.branch_uri("dev-mig-mst"), "st"))
        self.assertFalse(self.exists(self.env.branch_uri("mig-envtarget"), "st"))

    def test_picker_confirms_the_target_on_a_terminal(self):
        ws = self.env.workspace("w-picker", None, 'developer = "mig"\n')
        for name in ("mig-pick-b", "mig-pick-a"):  # .env ends up on mig-pick-a
            p = self.ds("db", "create-branch", name, "-C", ws)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.env.write_drizzle_folder(ws, [("0000_p", T0, "CREATE TABLE picked(id int);\n")])
        args = ["db", "migrate", "-C", ws]
        title = b"Migrate which database?"
        # Enter confirms the preselected .env target.
        code, out = run_in_pty(self.env, args, [(b"\r", b"(job ")], title)
        self.assertEqual(code, 0, out)
        self.assertTrue(self.exists(self.env.branch_uri("mig-pick-a"), "picked"), out)
        self.assertFalse(self.exists(self.env.branch_uri("mig-pick-b"), "picked"), out)
        # Typing filters; Enter takes the other branch; .env is left alone.
        code, out = run_in_pty(self.env, args, [(b"pick-b", b"\n> pick-b\r"), (b"\r", b"(job ")],
                               title)
        self.assertEqual(code, 0, out)
        self.assertTrue(self.exists(self.env.branch_uri("mig-pick-b"), "picked"), out)
        with open(os.path.join(ws, ".env")) as f:
            self.assertIn("/mig-pick-a", f.read())
        # Esc aborts before anything runs.
        self.env.write_drizzle_folder(ws, [("0000_p", T0, "CREATE TABLE picked(id int);\n"),
                               ("0001_q", T0 + 1000, "CREATE TABLE never(id int);\n")])
        code, out = run_in_pty(self.env, args, [(b"\x1b", None)], title)
        self.assertEqual(code, 1, out)
        self.assertIn("nothing was applied", out)
        self.assertFalse(self.exists(self.env.branch_uri("mig-pick-a"), "never"), out)
        # --yes skips the picker even on a terminal.
        code, out = run_in_pty(self.env, args + ["--yes"], [], b"(job ")
        self.assertEqual(code, 0, out)
        self.assertNotIn("Migrate which database", out)
        self.assertTrue(self.exists(self.env.branch_uri("mig-pick-a"), "never"), out)

    def test_password_never_printed_or_stored(self):
        # Every request here carries the password in its --db URL: a run that
        # applies, one that fails, one that only reports. self.ds() checks
        # each output; the log, dsd's stderr and the job records are next.
        ws = self.new_ws("secret")
        self.env.write_drizzle_folder(ws, [("0000_ok", T0, "CREATE TABLE sec(id int);\n"),
                               ("0001_bad", T0 + 1000, "SELEC nothing;\n")])
        uri = self.new_db("m_secret")
        ran = []
        for args in ([], ["--json"]):
            p = self.migrate(ws, "--db", uri, *args)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            ran.append(self.job_for("m_secret")["id"])
        self.env.write_drizzle_folder(ws, [("0000_ok", T0, "CREATE TABLE sec(id int);\n")])
        p = self.migrate(ws, "--db", uri)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        ran.append(self.job_for("m_secret")["id"])
        self.assertEqual(len(set(ran)), 3, ran)
        self.assertEqual(self.migrate(ws, "--db", uri, "--status").returncode, 0)

        p = self.ds("jobs", "list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.env.read_log()
        self.assertIn("DEBUG accepted a connection", log, "dsd logs at debug level")
        for job_id in ran:
            self.assertIn(f"job {job_id} started: migrate on postgresql://"
                          f"{urllib.parse.urlsplit(self.base_uri).username}", log)
            self.assertIn(job_id, p.stdout)
        self.assertIn("m_secret", log)
        self.assertNotIn(self.password, log)
        self.assertNotIn(self.password, self.env.daemon_stderr())
        jobs_dir = os.path.join(self.env.state, "jobs")
        for job_id in ran:
            with open(os.path.join(jobs_dir, job_id + ".json")) as f:
                record = f.read()
            self.assertIn("m_secret", record, f"job record {job_id}")
            self.assertNotIn(self.password, record, f"job record {job_id}")


if __name__ == "__main__":
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        print(f"skipped: PostgreSQL server binaries are not in {PG_BIN}")
        sys.exit(125)
    main()
