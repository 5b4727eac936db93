"""Each local branch has a role of its own: the password in a workspace's .env
reaches that branch and no other, and no branch's role can drop a database.

One dsd and one cluster serve the class. The last test turns the cluster back
into one made before branch roles (one shared ds_owner owning everything, its
password in .env) and restarts dsd, which must upgrade it.
"""

import os
import stat
import unittest
import urllib.parse

from harness import DsEnv, dotenv, main, require_local_pg

# Drizzle's own layout: its tracking table in schema drizzle, the app in public
# and in a schema of its own.
MIGRATIONS = [
    ("0000_users", "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);"),
    ("0001_audit", "CREATE SCHEMA audit;\n--> statement-breakpoint\n"
                   "CREATE TABLE audit.events (id serial PRIMARY KEY, what text);"),
]


def with_database(uri, database):
    parts = urllib.parse.urlsplit(uri)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(database)))


def role_of(uri):
    return urllib.parse.urlsplit(uri).username


class BranchRolesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_local_pg()
        cls.env = DsEnv("roles")
        try:
            cls.env.start_daemon()
            cls.ws_x = cls.env.workspace("wx", None, 'developer = "iso"\n')
            cls.ws_y = cls.env.workspace("wy", None, 'developer = "iso"\n')
            for args, ws in ((["setup"], cls.ws_x), (["db", "create-branch", "roles-y"], cls.ws_y)):
                p = cls.env.ds(*args, "-C", ws, timeout=120)
                if p.returncode != 0:
                    raise AssertionError(f"ds {args} failed: {p.stdout}{p.stderr}")
        except BaseException:
            cls.env.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.env.cleanup()

    # -- helpers ---------------------------------------------------------------

    def ds(self, ws, *args, timeout=90):
        return self.env.ds(*args, "-C", ws, timeout=timeout)

    def ok(self, ws, *args):
        p = self.ds(ws, *args)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def target(self, ws):
        return dotenv(os.path.join(ws, ".env"))["DB_CONNECTION_STRING"]

    def psql(self, uri, sql):
        p = self.env.local_psql(uri, sql)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def refused(self, uri, sql, why):
        p = self.env.local_psql(uri, sql)
        self.assertNotEqual(p.returncode, 0, f"{sql} was allowed: {p.stdout}")
        self.assertIn(why, p.stderr)

    def su(self, database, sql):
        return self.psql(self.env.superuser_uri(database), sql)

    # -- tests -----------------------------------------------------------------

    def test_01_a_branch_password_reaches_its_own_branch_only(self):
        x, y, main_uri = self.target(self.ws_x), self.target(self.ws_y), self.env.branch_uri("main")
        roles = {role_of(x), role_of(y), role_of(main_uri)}
        self.assertEqual(len(roles), 3, roles)
        self.assertNotIn("ds_owner", roles)
        self.assertRegex(role_of(main_uri), r"^ds_main_[a-z0-9]{12}$")
        self.assertEqual(self.psql(x, "SELECT current_user"), role_of(x))
        for database in ("main", "roles-y", "ds_meta"):
            self.refused(with_database(x, database), "SELECT 1",
                         f'permission denied for database "{database}"')
        self.refused(with_database(y, "dev-iso-local"), "SELECT 1", "permission denied")
        self.refused(with_database(main_uri, "dev-iso-local"), "SELECT 1", "permission denied")
        # The passwords are dsd's: a 0700 directory of 0600 files.
        roles_dir = os.path.join(self.env.data, "ds", "pg.roles")
        self.assertEqual(stat.S_IMODE(os.stat(roles_dir).st_mode), 0o700)
        for role in roles:
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(roles_dir, role)).st_mode), 0o600)
        self.assertFalse(os.path.exists(os.path.join(self.env.data, "ds", "pg.owner")))

    def test_02_no_branch_role_can_drop_or_copy_a_database(self):
        x, main_uri = self.target(self.ws_x), self.env.branch_uri("main")
        self.refused(x, "DROP DATABASE main", "must be owner of database main")
        self.refused(x, 'DROP DATABASE "roles-y"', 'must be owner of database roles-y')
        # Not even its own: only dsd drops branches, so its list stays true.
        self.refused(with_database(x, "postgres"), 'DROP DATABASE "dev-iso-local"',
                     "must be owner of database dev-iso-local")
        self.refused(x, "CREATE DATABASE stolen TEMPLATE main", "permission denied to create")
        # main's own role cannot drop main either.
        self.refused(with_database(main_uri, "postgres"), "DROP DATABASE main",
                     "must be owner of database main")
        self.refused(x, f"ALTER ROLE {role_of(main_uri)} PASSWORD 'mine'", "ERROR:")
        self.assertEqual(self.su("postgres", "SELECT count(*) FROM pg_database "
                                             "WHERE datname IN ('main', 'roles-y')"), "2")

    def test_03_migrate_as_the_branch_role_and_recreate_public(self):
        x = self.target(self.ws_x)
        self.env.write_drizzle_folder(self.ws_x, MIGRATIONS)
        self.ok(self.ws_x, "db", "migrate", "--yes")
        owners = self.psql(x, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN "
                              "('public', 'audit', 'drizzle')")
        self.assertEqual(owners, role_of(x))
        self.assertEqual(self.psql(x, "SELECT count(*) FROM drizzle.__drizzle_migrations"), "2")
        # What a reset's drop step does (reset_sql.cc), as this role: every
        # schema dropped, public made again.
        self.psql(x, "BEGIN; DROP SCHEMA audit CASCADE; DROP SCHEMA drizzle CASCADE;"
                     " DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
                     " GRANT USAGE ON SCHEMA public TO PUBLIC; COMMIT")
        self.ok(self.ws_x, "db", "migrate", "--yes")
        self.assertEqual(self.psql(x, "SELECT count(*) FROM drizzle.__drizzle_migrations"), "2")
        self.assertEqual(self.psql(x, "SELECT nspowner::regrole FROM pg_namespace "
                                      "WHERE nspname = 'public'"), role_of(x))

    def test_04_a_copy_keeps_the_data_and_belongs_to_the_new_role(self):
        main_uri = self.env.branch_uri("main")
        self.psql(main_uri, "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1), (2)")
        ws = self.env.workspace("wc", None, 'developer = "iso"\n')
        self.ok(ws, "db", "create-branch", "roles-child")
        child = self.target(ws)
        self.assertEqual(self.psql(child, "SELECT count(*) FROM kept"), "2")
        self.assertEqual(self.psql(child, "SELECT tableowner FROM pg_tables WHERE tablename = 'kept'"),
                         role_of(child))
        # The new role may change and drop what it got; main keeps its rows.
        self.psql(child, "INSERT INTO kept VALUES (3); ALTER TABLE kept ADD COLUMN note text;"
                         " DROP TABLE kept")
        self.assertEqual(self.psql(main_uri, "SELECT count(*) FROM kept"), "2")
        self.refused(with_database(child, "main"), "SELECT 1", "permission denied")
        # A copy of a branch (not main) works the same way.
        ws2 = self.env.workspace("wc2", None, 'developer = "iso"\n')
        self.ok(ws2, "db", "create-branch", "roles-grandchild", "--parent", "dev-iso-local")
        grandchild = self.target(ws2)
        self.assertEqual(self.psql(grandchild, "SELECT DISTINCT tableowner FROM pg_tables WHERE "
                                               "schemaname = 'public'"), role_of(grandchild))
        self.psql(grandchild, "INSERT INTO users (email) VALUES ('g@x')")
        self.refused(with_database(grandchild, "dev-iso-local"), "SELECT 1", "permission denied")

    def test_05_delete_drops_the_role_and_its_password(self):
        ws = self.env.workspace("wd", None, 'developer = "iso"\n')
        self.ok(ws, "db", "create-branch", "roles-del")
        role = role_of(self.target(ws))
        self.ok(ws, "db", "delete-branch", "roles-del", "--yes")
        self.assertEqual(self.su("postgres", f"SELECT count(*) FROM pg_roles WHERE rolname = '{role}'"),
                         "0")
        self.assertFalse(os.path.exists(os.path.join(self.env.data, "ds", "pg.roles", role)))

    def test_09_a_cluster_from_before_branch_roles_is_upgraded(self):
        ws = self.env.workspace("wold", None, 'developer = "iso"\n')
        self.ok(ws, "db", "create-branch", "old-b")
        self.psql(self.target(ws), "CREATE TABLE legacy (id int); INSERT INTO legacy VALUES (7)")
        self.psql(self.env.branch_uri("main"), "CREATE TABLE main_legacy (id int)")
        # Back to the old layout: ds_owner owns every branch database and all
        # in it, PUBLIC may connect, the metadata has no roles, and a
        # database a user made with ds_owner's CREATEDB.
        port = self.env.pg_secret("pg.port")
        self.su("postgres", "CREATE ROLE ds_owner LOGIN CREATEDB PASSWORD 'OldSharedSecret1'")
        branches = self.su("ds_meta", "SELECT database, role FROM branches ORDER BY 1").splitlines()
        for line in branches:
            database, role = line.split("|")
            self.su(database, f"REASSIGN OWNED BY {role} TO ds_owner; DROP OWNED BY {role};"
                              f' ALTER DATABASE "{database}" OWNER TO ds_owner;'
                              f' GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO PUBLIC')
            self.su("postgres", f"DROP ROLE {role}")
            os.remove(os.path.join(self.env.data, "ds", "pg.roles", role))
        self.su("ds_meta", "ALTER TABLE branches DROP COLUMN role")
        # A branch whose database was dropped behind ds's back must not keep
        # the others from their roles.
        self.su("ds_meta", "INSERT INTO branches (id, name, database) "
                           "VALUES ('br-goneaaaaaaa', 'gone', 'gone-db')")
        self.su("postgres", "CREATE DATABASE scratch OWNER ds_owner")
        old = f"postgresql://ds_owner:OldSharedSecret1@127.0.0.1:{port}"
        self.psql(f"{old}/scratch", "CREATE TABLE mine (x int)")
        self.env.write(os.path.join("data", "ds", "pg.owner"), "OldSharedSecret1\n", 0o600)
        self.env.write(os.path.join("wold", ".env"),
                       f"DB_CONNECTION_STRING={old}/old-b\nSOURCE_DB_CONNECTION_STRING={old}/main\n",
                       0o600)
        # The hole this closes: the old shared password reaches main.
        self.assertEqual(self.psql(f"{old}/main", "SELECT current_database()"), "main")

        self.assertEqual(self.env.ds("daemon", "stop").returncode, 0)
        self.env.daemon.wait(30)
        self.env.start_daemon()
        names = {b["name"] for b in self.env.ds_json("db", "branches", "-C", ws)["branches"]}
        self.assertTrue({"old-b", "gone"} <= names, names)

        self.assertEqual(self.su("postgres", "SELECT count(*) FROM pg_roles "
                                             "WHERE rolname = 'ds_owner'"), "0")
        self.assertFalse(os.path.exists(os.path.join(self.env.data, "ds", "pg.owner")))
        self.assertEqual(self.su("ds_meta", "SELECT name FROM branches WHERE role IS NULL"),
                         "gone")
        self.ok(ws, "db", "delete-branch", "gone", "--yes")
        names.discard("gone")
        self.refused(f"{old}/main", "SELECT 1", "password authentication failed")
        # Each branch kept its data, now its own role's.
        b = self.env.branch_uri("old-b")
        self.assertEqual(self.psql(b, "SELECT id FROM legacy"), "7")
        self.assertEqual(self.psql(b, "SELECT tableowner FROM pg_tables WHERE tablename = 'legacy'"),
                         role_of(b))
        self.refused(with_database(b, "main"), "SELECT 1", "permission denied")
        m = self.env.branch_uri("main")
        self.assertEqual(self.psql(m, "SELECT tableowner FROM pg_tables "
                                      "WHERE tablename = 'main_legacy'"), role_of(m))
        self.assertEqual(self.su("scratch", "SELECT tableowner FROM pg_tables "
                                            "WHERE tablename = 'mine'"), "ds_superuser")
        # The old .env says what to do, and doing it works.
        self.env.write_drizzle_folder(ws, MIGRATIONS[:1])
        p = self.ds(ws, "db", "migrate", "--yes")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("`ds db set target-db --branch old-b`", p.stderr)
        self.assertNotIn("OldSharedSecret1", p.stdout + p.stderr)
        p = self.ds(ws, "db", "reset", "-o", "1", "--yes")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertIn("`ds db set target-db --branch old-b`", p.stderr)
        self.assertNotIn("OldSharedSecret1", p.stdout + p.stderr)
        self.ok(ws, "db", "set", "target-db", "--branch", "old-b", "--yes")
        self.assertEqual(role_of(self.target(ws)), role_of(b))
        self.ok(ws, "db", "migrate", "--yes")

        # Idempotent: another start changes nothing. (And a password file
        # removed by hand meanwhile: the branch gets a new password.)
        before = self.target(ws)
        os.remove(os.path.join(self.env.data, "ds", "pg.roles", role_of(b)))
        self.assertEqual(self.env.ds("daemon", "stop").returncode, 0)
        self.env.daemon.wait(30)
        self.env.start_daemon()
        self.assertEqual(
            {b["name"] for b in self.env.ds_json("db", "branches", "-C", ws)["branches"]}, names)
        self.ok(ws, "db", "set", "target-db", "--branch", "old-b", "--yes")
        after = self.target(ws)
        self.assertEqual(role_of(after), role_of(before))
        self.assertNotEqual(urllib.parse.urlsplit(after).password,
                            urllib.parse.urlsplit(before).password)
        self.assertEqual(self.psql(after, "SELECT count(*) FROM users"), "0")
        self.refused(before, "SELECT 1", "password authentication failed")


if __name__ == "__main__":
    main()
