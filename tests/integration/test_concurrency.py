"""Reads never wait for a branch copy; writes take turns per branch only.

Holding a copy open: `COMMENT ON DATABASE parent` in an open transaction
holds a lock on the parent's pg_database entry (ShareUpdateExclusiveLock),
and `CREATE DATABASE ... TEMPLATE parent` waits for a ShareLock on that
same entry. So a `ds db create-branch --parent parent` started meanwhile is
a copy in flight for as long as the test keeps the transaction open: dsd
holds its branch locks and runs the copy's statement, which pg_locks shows
waiting. That is how the tests know a copy is running while they read,
without a large database and without timing anything.

Only the copies' ShareLock requests count. Every new session of the parent
(PostgreSQL's own autovacuum worker, too, which the launcher starts in each
database in turn) asks for a RowExclusiveLock on the same entry while it
connects, and queues behind the waiting copy; pg_locks shows it as one more
ungranted lock. A read that opened such a session would not come back
until the hold ends, so the reads below returning is what proves they do
not wait.

One cluster serves the whole class (initdb takes seconds); each test uses
its own branch names.
"""

import os
import subprocess
import threading
import unittest

from harness import (BIN_DIR, LOCAL_PG_BIN as PG_BIN, DsEnv, dotenv, main, require_local_pg,
                     wait_for)

SYSTEM_DATABASES = {"postgres", "template0", "template1", "ds_meta"}


class HeldParent:
    """Keeps copies of `parent` waiting until the `with` block ends."""

    def __init__(self, test, parent):
        self.test, self.parent = test, parent

    def __enter__(self):
        self.proc = subprocess.Popen(
            self.test.env.argv([os.path.join(PG_BIN, "psql"), "-X", "-At", "-q", "-v",
                                "ON_ERROR_STOP=1", self.test.env.superuser_uri("postgres")]),
            env={**self.test.env.env(), "PGAPPNAME": "test-holder"}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.proc.stdin.write("begin;\n"
                              f"comment on database \"{self.parent}\" is 'held by a test';\n"
                              "select 'held';\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if line.strip() != "held":
            self.proc.kill()
            raise AssertionError(f"could not hold {self.parent}: {line}{self.proc.stderr.read()}")
        return self

    def __exit__(self, *exc):
        self.proc.communicate("commit;\n", timeout=30)


class ConcurrencyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_local_pg()
        cls.env = DsEnv("conc")
        cls.ws = cls.env.workspace("ws", "", 'developer = "phil"\n')
        cls.env.start_daemon()
        p = cls.env.ds("setup", "-C", cls.ws, timeout=120)
        if p.returncode != 0:
            cls.env.cleanup()
            raise AssertionError(f"ds setup failed: {p.stderr}")
        cls.base_uri = dotenv(os.path.join(cls.ws, ".env"))["DB_CONNECTION_STRING"].rsplit("/", 1)[0]

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    # -- helpers -----------------------------------------------------------

    def uri(self, database):
        return f"{self.base_uri}/{database}"

    def ds(self, *args, **kw):
        return self.env.ds(*args, "-C", self.ws, **kw)

    def ds_ok(self, *args, **kw):
        p = self.ds(*args, **kw)
        self.assertEqual(p.returncode, 0, f"ds {' '.join(args)}: {p.stderr}")
        return p

    def start_ds(self, *args):
        """ds in the background; the caller waits for it (finish)."""
        proc = subprocess.Popen(
            self.env.argv([os.path.join(BIN_DIR, "ds"), *args, "-C", self.ws]),
            env=self.env.env(), cwd=self.env.root, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def reap():  # after a failure that left it running
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        self.addCleanup(reap)
        return proc

    def finish(self, proc, timeout=120):
        out, err = proc.communicate(timeout=timeout)
        self.assertEqual(proc.returncode, 0, f"{proc.args[-3:]}: {err}")
        return out

    def psql(self, uri, sql):
        p = self.env.local_psql(uri, sql)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def superuser(self, database, sql):
        """As dsd's superuser (the metadata is not the owner role's to read)."""
        data = os.path.join(self.env.data, "ds")
        password = open(os.path.join(data, "pg.superuser")).read().strip()
        port = open(os.path.join(data, "pg.port")).read().strip()
        return self.psql(f"postgresql://ds_superuser:{password}@127.0.0.1:{port}/{database}",
                         sql)

    def copies_waiting(self, parent):
        """How many CREATE DATABASE ... TEMPLATE parent wait for its lock (the
        ShareLock a copy asks for; a connecting session asks for less)."""
        return int(self.psql(self.uri("postgres"), (
            "select count(*) from pg_locks l join pg_database d on d.oid = l.objid"
            " where l.locktype = 'object' and l.classid = 'pg_database'::regclass"
            f" and d.datname = '{parent}' and not l.granted and l.mode = 'ShareLock'")))

    def waiters(self, parent):
        """Every session waiting for `parent`'s entry, for a failure message:
        pid, lock mode, and the server process's title (a session still
        connecting has no pg_stat_activity row; its title says what it is,
        e.g. "postgres: autovacuum worker waiting")."""
        rows = self.superuser("postgres", (
            "select l.pid, l.mode, coalesce(a.query, '') from pg_locks l"
            " join pg_database d on d.oid = l.objid left join pg_stat_activity a on a.pid = l.pid"
            " where l.locktype = 'object' and l.classid = 'pg_database'::regclass"
            f" and d.datname = '{parent}' and not l.granted order by l.pid"))
        out = []
        for row in filter(None, rows.split("\n")):
            try:
                with open(f"/proc/{row.split('|', 1)[0]}/cmdline") as f:
                    title = f.read().replace("\0", " ").strip()
            except OSError:
                title = "(gone)"
            out.append(f"{row} [{title}]")
        return "\n".join(out)

    def wait_for_copies(self, parent, count, procs):
        def ready():
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"{proc.args[-3:]} ended early: {proc.communicate()}")
            return self.copies_waiting(parent) == count
        wait_for(ready, timeout=60, interval=0.05, what=f"{count} copies of {parent} to start")

    def assert_in_flight(self, parent, count, procs):
        for proc in procs:
            self.assertIsNone(proc.poll(), f"{proc.args[-3:]} ended while its copy was held")
        self.assertEqual(self.copies_waiting(parent), count,
                         f"the copies are still in flight; waiting:\n{self.waiters(parent)}")

    def branches(self):
        doc = self.env.ds_json("db", "branches", "-C", self.ws)
        return {b["name"]: b for b in doc["branches"]}

    def assert_consistent(self):
        """Every branch has its database and role, and every database and role
        its branch."""
        recorded = self.superuser("ds_meta", "select database from branches").split("\n")
        present = self.superuser("postgres", "select datname from pg_database").split("\n")
        self.assertEqual(sorted(recorded), sorted(set(present) - SYSTEM_DATABASES))
        self.assertEqual(set(self.branches()), set(self.superuser(
            "ds_meta", "select name from branches").split("\n")))
        # Every branch has its role, and a deleted branch's role is gone.
        roles = self.superuser("ds_meta", "select role from branches").split("\n")
        present = self.superuser("postgres", "select rolname from pg_roles where rolname like"
                                             " 'ds\\_%' and rolname <> 'ds_superuser'").split("\n")
        self.assertEqual(sorted(roles), sorted(present))

    # -- tests -------------------------------------------------------------

    def test_reads_answer_while_a_copy_runs(self):
        self.ds_ok("db", "create-branch", "reads-parent")
        self.ds_ok("db", "set", "target-db", "--branch", "reads-parent")
        with HeldParent(self, "reads-parent"):
            copy = self.start_ds("db", "create-branch", "reads-copy", "--parent", "reads-parent")
            self.wait_for_copies("reads-parent", 1, [copy])
            for _ in range(5):
                p = self.ds_ok("db", "current")
                self.assertIn("Project:  local\nBranch:   reads-parent\n", p.stdout)
                self.assert_in_flight("reads-parent", 1, [copy])
                doc = self.env.ds_json("db", "current", "-C", self.ws)
                self.assertTrue(doc["target"]["resolved"], doc)
                self.assert_in_flight("reads-parent", 1, [copy])
                p = self.ds_ok("db", "branches")
                self.assertIn("reads-parent", p.stdout)
                self.assertNotIn("reads-copy", p.stdout, "not made yet")
                self.assert_in_flight("reads-parent", 1, [copy])
                p = self.ds_ok("db", "list-projects")
                self.assertIn("local", p.stdout)
                self.assert_in_flight("reads-parent", 1, [copy])
        self.finish(copy)
        self.assertEqual(self.branches()["reads-copy"]["parent_name"], "reads-parent")

    def test_creates_run_at_once_from_different_and_from_the_same_parent(self):
        self.ds_ok("db", "create-branch", "par-a")
        self.ds_ok("db", "create-branch", "par-b")
        with HeldParent(self, "par-a"):
            first = self.start_ds("db", "create-branch", "from-a1", "--parent", "par-a")
            self.wait_for_copies("par-a", 1, [first])
            # Another parent: done while the first copy is held.
            self.ds_ok("db", "create-branch", "from-b", "--parent", "par-b")
            self.assert_in_flight("par-a", 1, [first])
            # The same parent: PostgreSQL copies one template twice at once,
            # and dsd lets it (both statements wait on the held lock).
            second = self.start_ds("db", "create-branch", "from-a2", "--parent", "par-a")
            self.wait_for_copies("par-a", 2, [first, second])
        self.finish(first)
        self.finish(second)
        names = self.branches()
        self.assertEqual(names["from-a1"]["parent_name"], "par-a")
        self.assertEqual(names["from-a2"]["parent_name"], "par-a")
        self.assertEqual(names["from-b"]["parent_name"], "par-b")
        self.assertEqual(self.psql(self.env.branch_uri("from-a2"), "select current_database()"),
                         "from-a2")
        self.assert_consistent()

    def test_delete_waits_for_the_create_of_the_same_name(self):
        self.ds_ok("db", "create-branch", "turns-parent")
        with HeldParent(self, "turns-parent"):
            create = self.start_ds("db", "create-branch", "turns", "--parent", "turns-parent")
            self.wait_for_copies("turns-parent", 1, [create])
            # Started while the create holds the name: it can only run after
            # the create has made the branch, so it finds it and deletes it
            # (had it not waited, it would have found no branch and failed).
            delete = self.start_ds("db", "delete-branch", "turns", "--yes")
        self.finish(delete)
        # The create made the branch and got its connection string before
        # letting go of the name: it succeeds and .env names the branch,
        # although the delete has taken it since.
        out = self.finish(create)
        self.assertIn("points to it", out)
        self.assertRegex(dotenv(os.path.join(self.ws, ".env"))["DB_CONNECTION_STRING"],
                         r"^postgresql://ds_turns_[a-z0-9]+:[A-Za-z0-9]+@127\.0\.0\.1:\d+/turns$")
        self.assertNotIn("turns", self.branches())
        self.assert_consistent()

    def test_deleting_a_parent_waits_for_its_copy(self):
        self.ds_ok("db", "create-branch", "old-parent")
        with HeldParent(self, "old-parent"):
            create = self.start_ds("db", "create-branch", "orphan", "--parent", "old-parent")
            self.wait_for_copies("old-parent", 1, [create])
            delete = self.start_ds("db", "delete-branch", "old-parent", "--yes")
        self.finish(create)
        self.finish(delete)
        names = self.branches()
        self.assertNotIn("old-parent", names)
        self.assertEqual(names["orphan"]["parent_name"], "", "the parent is gone")
        self.assert_consistent()

    def test_racing_creates_and_deletes_of_one_name_stay_consistent(self):
        results = []

        def run(*args):
            results.append((args, self.ds(*args)))

        for round_ in range(4):
            threads = [threading.Thread(target=run, args=("db", "create-branch", "racer")),
                       threading.Thread(target=run, args=("db", "delete-branch", "racer", "--yes")),
                       threading.Thread(target=run, args=("db", "create-branch", "racer"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assert_consistent()
        for args, p in results:
            # A create made the branch or found it, and switched .env to it
            # either way (one that found it gone again makes it anew); a
            # delete deleted it or found none.
            if args[1] == "create-branch":
                self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
                self.assertRegex(p.stdout, r"points to it|switched .* to it", args)
            else:
                self.assertTrue(p.returncode == 0 or "does not exist" in p.stderr,
                                f"{args}: {p.stderr}")
        # The creates wrote the branch's URI; deletes leave .env alone.
        self.assertRegex(dotenv(os.path.join(self.ws, ".env"))["DB_CONNECTION_STRING"],
                         r"^postgresql://ds_racer_[a-z0-9]+:[A-Za-z0-9]+@127\.0\.0\.1:\d+/racer$")
        self.assertEqual(self.superuser("postgres", "select count(*) from pg_database"
                                                    " where datname like 'ds_reset_%'"), "0")


if __name__ == "__main__":
    main()
