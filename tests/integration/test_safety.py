"""Data loss and safety (issue 10, items 1-6) through the real ds and dsd on
the embedded local provider: the confirmation rule for destructive commands
and protected branches (without a terminal, and on one through a pty), a
journal that lists a migration twice, the .env history behind
`ds db set target-db -`, and .env files ds must not replace.

One cluster serves the whole class; each test uses its own workspace and
branch names.
"""

import json
import os
import subprocess
import unittest

from harness import LOCAL_PG_BIN as PG_BIN, DsEnv, dotenv, main, require_local_pg, run_in_pty



class SafetyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_local_pg()
        cls.env = DsEnv("safety")
        cls.env.start_daemon()

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    # -- helpers ---------------------------------------------------------------

    def workspace(self, name, env_text=""):
        return self.env.workspace(name, env_text, 'developer = "safe"\n')

    def ds(self, ws, *args, **kw):
        return self.env.ds(*args, "-C", ws, **kw)

    def ok(self, ws, *args):
        p = self.ds(ws, *args)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def branches(self, ws):
        return {b["name"] for b in self.env.ds_json("db", "branches", "-C", ws)["branches"]}

    def target(self, ws):
        return dotenv(os.path.join(ws, ".env")).get("DB_CONNECTION_STRING", "")

    def password(self, ws):
        # postgresql://<branch role>:<password>@127.0.0.1:port/db
        return self.target(ws).split("@")[0].rsplit(":", 1)[1]

    def pty(self, ws, args, keys, wait_for):
        return run_in_pty(self.env, list(args) + ["-C", ws], keys, wait_for)

    def table_exists(self, ws, table):
        p = subprocess.run(
            self.env.argv([os.path.join(PG_BIN, "psql"), "-X", "-At", self.target(ws), "-c",
                           f"SELECT to_regclass('public.{table}') IS NOT NULL"]),
            env=self.env.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip() == "t"

    def journal(self, ws, entries, sql):
        """A drizzle 0.x folder whose journal lists `entries` (tag, idx)."""
        rel = os.path.relpath(os.path.join(ws, "drizzle"), self.env.root)
        self.env.mkdir(rel)
        self.env.mkdir(os.path.join(rel, "meta"))
        doc = {"version": "7", "dialect": "postgresql", "entries": [
            {"idx": idx, "version": "7", "when": 1700000000000 + i, "tag": tag,
             "breakpoints": True} for i, (tag, idx) in enumerate(entries)]}
        self.env.write(os.path.join(rel, "meta", "_journal.json"), json.dumps(doc))
        for tag, text in sql.items():
            self.env.write(os.path.join(rel, f"{tag}.sql"), text)

    # -- 1. destructive commands -------------------------------------------------

    def test_delete_needs_yes_without_a_terminal_and_for_the_env_target(self):
        ws = self.workspace("w-del")
        self.ok(ws, "db", "create-branch", "del-a")
        self.ok(ws, "db", "create-branch", "del-b")  # .env now points at del-b
        env_file = os.path.join(ws, ".env")

        # No terminal (stdin is /dev/null): nothing is deleted without --yes.
        p = self.ds(ws, "db", "delete-branch", "del-a")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("to delete branch del-a and all its data without a terminal to confirm "
                      "on, pass --yes", p.stderr)
        # The branch .env targets: the refusal names the .env file.
        p = self.ds(ws, "db", "delete-branch", "del-b")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{env_file} (DB_CONNECTION_STRING) points at it", p.stderr)
        self.assertEqual({"del-a", "del-b"} - self.branches(ws), set())

        # On a terminal the .env target still needs --yes: no question.
        code, out = self.pty(ws, ["db", "delete-branch", "del-b"], [], b"--yes")
        self.assertEqual(code, 2, out)
        self.assertNotIn("[y/N]", out)
        self.assertIn(f"{env_file} (DB_CONNECTION_STRING) points at it", out)
        # Any other branch is asked about.
        code, out = self.pty(ws, ["db", "delete-branch", "del-a"], [(b"n\r", None)], b"[y/N]")
        self.assertEqual(code, 1, out)
        self.assertIn("nothing was deleted", out)
        code, out = self.pty(ws, ["db", "delete-branch", "del-a"],
                             [(b"y\r", b"Deleted branch")], b"[y/N]")
        self.assertEqual(code, 0, out)
        # Another workspace's .env (one dsd has served) counts as much as
        # this one's, and is named.
        other = self.workspace("w-del-other")
        self.ok(other, "db", "create-branch", "del-c")  # other's .env points at del-c
        p = self.ds(ws, "db", "delete-branch", "del-c")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f".env of {other} (DB_CONNECTION_STRING) points at it", p.stderr)
        self.assertNotIn(f".env of {ws} ", p.stderr)
        code, out = self.pty(ws, ["db", "delete-branch", "del-c"], [], b"--yes")
        self.assertEqual(code, 2, out)
        self.assertNotIn("[y/N]", out)
        self.assertIn("del-c", self.branches(ws))
        # --yes deletes the target too, and says .env now dangles.
        p = self.ok(ws, "db", "delete-branch", "del-b", "--yes")
        self.assertIn("still points to the deleted branch", p.stderr)
        self.assertEqual({"del-a", "del-b"} & self.branches(ws), set())

    # -- 3. protected and default branches ---------------------------------------

    def test_protected_branch_needs_confirmation_to_point_at_or_migrate(self):
        ws = self.workspace("w-prot")
        self.ok(ws, "db", "create-branch", "prot-dev")
        before = open(os.path.join(ws, ".env")).read()
        refusal = ('branch "main" is the default and a protected branch; to point .env at it '
                   'without a terminal to confirm on, pass --yes')
        for args in (("db", "create-branch", "main"), ("db", "set", "target-db", "--branch", "main")):
            p = self.ds(ws, *args)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(refusal, p.stderr)
            self.assertEqual(open(os.path.join(ws, ".env")).read(), before)
        # A source is only read from: no question.
        self.ok(ws, "db", "set", "source-db", "--branch", "main")

        # On a terminal: asked; "n" leaves .env alone, "y" goes ahead.
        code, out = self.pty(ws, ["db", "set", "target-db", "--branch", "main"],
                             [(b"n\r", None)], b"[y/N]")
        self.assertEqual(code, 1, out)
        self.assertIn("default and a protected branch; point .env at it?", out)
        self.assertTrue(self.target(ws).endswith("/prot-dev"))
        code, out = self.pty(ws, ["db", "set", "target-db", "--branch", "main"],
                             [(b"y\r", b"now points to")], b"[y/N]")
        self.assertEqual(code, 0, out)
        self.assertTrue(self.target(ws).endswith("/main"))

        # Migrating main: refused without a terminal, read-only views are not.
        self.journal(ws, [("0000_p", 0)], {"0000_p": "CREATE TABLE prot_t(id int);\n"})
        p = self.ds(ws, "db", "migrate")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn('branch "main" is the default and a protected branch; to migrate it '
                      'without a terminal to confirm on, pass --yes', p.stderr)
        self.assertFalse(self.table_exists(ws, "prot_t"))
        p = self.ds(ws, "db", "migrate", "--dry-run")
        self.assertEqual(p.returncode, 0, p.stderr)
        # On a terminal: the picker shows main (Enter), then the question.
        code, out = self.pty(ws, ["db", "migrate"], [(b"\r", b"[y/N]"), (b"n\r", None)],
                             b"Migrate which database?")
        self.assertEqual(code, 1, out)
        self.assertIn("nothing was applied", out)
        self.assertFalse(self.table_exists(ws, "prot_t"))
        p = self.ok(ws, "db", "migrate", "--yes")
        self.assertTrue(self.table_exists(ws, "prot_t"))
        self.ok(ws, "db", "set", "target-db", "--branch", "prot-dev")

    # -- 2. a journal that lists a migration twice ------------------------------

    def test_duplicated_journal_entry_is_refused_and_nothing_runs(self):
        ws = self.workspace("w-dup")
        self.ok(ws, "db", "create-branch", "dup-journal")
        self.journal(ws, [("0000_a", 0), ("0001_b", 1), ("0000_a", 2)],
                     {"0000_a": "CREATE TABLE dup_a(id int);\n",
                      "0001_b": "CREATE TABLE dup_b(id int);\n"})
        for extra in ((), ("--status",), ("--dry-run",)):
            p = self.ds(ws, "db", "migrate", *extra)
            self.assertNotEqual(p.returncode, 0, f"{extra}: {p.stdout}{p.stderr}")
            self.assertIn('lists tag "0000_a" twice: entries 0 and 2', p.stdout + p.stderr,
                          extra)
        self.assertFalse(self.table_exists(ws, "dup_a"))
        self.assertFalse(self.table_exists(ws, "dup_b"))

    # -- 4. history and `set target-db -` ----------------------------------------

    def test_set_dash_switches_back_and_history_is_redacted(self):
        ws = self.workspace("w-hist", "DB_CONNECTION_STRING=postgresql://me@elsewhere/db\n")
        self.ok(ws, "db", "create-branch", "hist-one")
        self.ok(ws, "db", "create-branch", "hist-two")
        secret = self.password(ws)
        self.ok(ws, "db", "set", "target-db", "-")
        self.assertTrue(self.target(ws).endswith("/hist-one"))
        self.ok(ws, "db", "set", "target-db", "-")
        self.assertTrue(self.target(ws).endswith("/hist-two"))
        # The value ds found there first is kept too.
        self.ok(ws, "db", "create-branch", "hist-three")
        p = self.ok(ws, "db", "history")
        self.assertNotIn(secret, p.stdout + p.stderr)
        self.assertIn("hist-three", p.stdout)
        doc = self.env.ds_json("db", "history", "-C", ws)
        self.assertNotIn(secret, json.dumps(doc))
        names = [e.get("branch", {}).get("branch_name") for e in doc["entries"]]
        self.assertEqual(names[:2], ["hist-three", "hist-two"])
        self.assertTrue(doc["entries"][0]["current"])
        self.assertTrue(any("elsewhere" in e["redacted_uri"] for e in doc["entries"]), doc)
        # dsd's copy is private.
        self.assertEqual(os.stat(os.path.join(self.env.state, "env-history")).st_mode & 0o777,
                         0o600)
        # Nothing to go back to.
        p = self.ds(ws, "db", "set", "source-db", "-")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("no earlier value of SOURCE_DB_CONNECTION_STRING", p.stderr)
        p = self.ds(ws, "db", "set", "target-db", "x")
        self.assertEqual(p.returncode, 2, p.stderr)

    # -- 5 and 6. .env files ds must not replace ----------------------------------

    def test_env_that_cannot_be_written_is_refused_before_a_branch_is_made(self):
        ws = self.workspace("w-ro", "A=1\n")
        env_file = os.path.join(ws, ".env")
        os.chmod(env_file, 0o444)
        p = self.ds(ws, "db", "create-branch", "ro-branch")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{env_file} is read-only (mode 0444)", p.stderr)
        self.assertIn(f"chmod u+w {env_file}", p.stderr)
        self.assertIn("no branch was created", p.stderr)
        self.assertNotIn("ro-branch", self.branches(ws))
        self.assertEqual(open(env_file).read(), "A=1\n")
        self.assertEqual(os.stat(env_file).st_mode & 0o777, 0o444)

        # A dangling symlink stays a symlink.
        ln = self.workspace("w-link", None)
        link = os.path.join(ln, ".env")
        os.symlink("shared/missing.env", link)
        p = self.ds(ln, "db", "create-branch", "link-branch")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"{link} is a symlink to shared/missing.env, which does not exist", p.stderr)
        self.assertTrue(os.path.islink(link))
        self.assertNotIn("link-branch", self.branches(ws))

        # A directory ds cannot write in.
        locked = self.workspace("w-locked", None)
        os.chmod(locked, 0o555)
        p = self.ds(locked, "db", "create-branch", "locked-branch")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(f"its directory {locked} is not writable", p.stderr)
        self.assertIn("no branch was created", p.stderr)
        self.assertNotIn("locked-branch", self.branches(ws))


if __name__ == "__main__":
    main()
