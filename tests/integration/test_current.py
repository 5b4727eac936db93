"""`ds db current`, `ds config show` and their errors, against a real dsd."""

import json
import os
import re

from harness import DsTestCase, main

SECRET = "s3cr3t-Pa55"
NEON_URI = ("postgresql://neondb_owner:" + SECRET +
            "@ep-cool-darkness-123456-pooler.us-east-1.aws.neon.tech/neondb?sslmode=require")
LOCAL_URI = "postgresql://app:" + SECRET + "@127.0.0.1:6543/appdb"


class CurrentTest(DsTestCase):

    def setUp(self):
        super().setUp()
        self.env.start_daemon()

    def test_neon_target_and_local_source(self):
        ws = self.env.workspace("ws", f"DB_CONNECTION_STRING={NEON_URI}\n"
                                      f"SOURCE_DB_CONNECTION_STRING='{LOCAL_URI}'\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertTrue(out.startswith("TARGET DB (DB_CONNECTION_STRING)\n"), out)
        self.assertIn("\nSOURCE DB (SOURCE_DB_CONNECTION_STRING)\n", out)
        self.assertIn("Host:     ep-cool-darkness-123456-pooler.us-east-1.aws.neon.tech\n", out)
        self.assertIn("Endpoint: ep-cool-darkness-123456\n", out)
        self.assertIn("Database: neondb\n", out)
        self.assertIn("User:     neondb_owner\n", out)
        self.assertIn("Host:     127.0.0.1:6543\n", out)
        self.assertIn("Project:  (not resolved)", out)
        self.assertIn("not resolved", out)
        self.assertNoSecret(out + p.stderr, SECRET)
        self.assertNotIn("\x1b[", out, "no colour without a terminal")

    def test_ipv6_host_with_port_in_brackets(self):
        # "::1:5433" cannot be read back: the port must stand apart.
        ws = self.env.workspace("ws", f"DB_CONNECTION_STRING=postgresql://app:{SECRET}@[::1]:5433/db\n"
                                      "SOURCE_DB_CONNECTION_STRING=postgresql://app@[::1]/db\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Host:     [::1]:5433\n", p.stdout)
        self.assertIn("Host:     ::1\n", p.stdout)  # default port: nothing to keep apart
        self.assertNoSecret(p.stdout + p.stderr, SECRET)

    def test_json_is_the_rpc_shape(self):
        ws = self.env.workspace("ws", f"# comment\nexport DB_CONNECTION_STRING=\"{NEON_URI}\"\n")
        doc = self.env.ds_json("db", "current", "-C", ws)
        t = doc["target"]
        self.assertEqual(doc["workspace_dir"], ws)
        self.assertEqual(doc["env_file"], os.path.join(ws, ".env"))
        self.assertTrue(t["is_set"])
        self.assertEqual(t["origin"]["kind"], "KIND_DOTENV")
        self.assertEqual(t["origin"]["location"], os.path.join(ws, ".env") + ":2")
        self.assertEqual(t["connection"]["neon_endpoint_id"], "ep-cool-darkness-123456")
        self.assertEqual(t["connection"]["user"], "neondb_owner")
        self.assertIn("****", t["connection"]["redacted_uri"])
        self.assertFalse(t["resolved"])
        self.assertFalse(doc["source"]["is_set"])
        self.assertNoSecret(json.dumps(doc), SECRET)

    def test_not_set_and_missing_env(self):
        ws = self.env.workspace("ws", "OTHER=1\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("not set in", p.stdout)
        self.assertIn("ds db set target-db", p.stdout)
        self.assertIn("ds db set source-db", p.stdout)
        empty = self.env.workspace("empty")
        p = self.env.ds("db", "current", "-C", empty)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(".env does not exist", p.stdout)

    def test_format_for_prompts_and_scripts(self):
        ws = self.env.workspace("ws", f"DB_CONNECTION_STRING={NEON_URI}\n")
        p = self.env.ds("db", "current", "-C", ws, "--format",
                        "{{[{branch}]}} {host} {database} {endpoint} {provider} {user}")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Not resolved (no Neon key): branch is empty, the string's own parts are there.
        self.assertEqual(p.stdout, "{[]} ep-cool-darkness-123456-pooler.us-east-1.aws.neon.tech "
                                   "neondb ep-cool-darkness-123456 local neondb_owner\n")
        self.assertNoSecret(p.stdout + p.stderr, SECRET)
        # Nothing set: no output at all, exit 0 (a prompt shows nothing).
        p = self.env.ds("db", "current", "-C", ws, "--format", "{source_branch}")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        empty = self.env.workspace("empty")
        p = self.env.ds("db", "current", "-C", empty, "--format", "{branch}")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

    def test_format_errors(self):
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://u:" + SECRET +
                                "@host:notaport/db?bogus=1\n")
        p = self.env.ds("db", "current", "-C", ws, "--format", "{branch}")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertNoSecret(p.stderr, SECRET)
        for bad in ("{nope}", "{branch", "x}"):
            p = self.env.ds("db", "current", "-C", ws, "--format", bad)
            self.assertEqual(p.returncode, 2, bad + ": " + p.stderr)
            self.assertIn("--format", p.stderr)
        self.assertIn("{branch}", self.env.ds("db", "current", "--format", "{nope}").stderr)
        p = self.env.ds("db", "current", "--format", "{branch}", "--json")
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_workspace_found_from_subdirectory(self):
        ws = self.env.workspace("proj", f"DB_CONNECTION_STRING={LOCAL_URI}\n")
        sub = self.env.mkdir("proj/src/deep")
        p = self.env.ds("db", "current", cwd=sub)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("127.0.0.1:6543", p.stdout)
        del ws

    def test_malformed_connection_string_fails(self):
        ws = self.env.workspace("ws", "A=1\nDB_CONNECTION_STRING=postgresql://u:" + SECRET +
                                "@host:notaport/db?bogus=1\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Error:", p.stdout)
        self.assertIn(".env:2", p.stdout)
        self.assertIn("not a valid PostgreSQL connection string", p.stdout)
        self.assertNoSecret(p.stdout + p.stderr + self.env.read_log(), SECRET)

    def test_malformed_env_file_fails_with_file_and_line(self):
        ws = self.env.workspace("ws", "A=1\nB=2\nDB_CONNECTION_STRING=\"postgresql://x\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertIn(os.path.join(ws, ".env") + ":3", p.stderr)
        self.assertIn("unterminated", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, "one line of error")

    def test_unreadable_env_file(self):
        ws = self.env.workspace("ws", f"DB_CONNECTION_STRING={LOCAL_URI}\n")
        os.chmod(os.path.join(ws, ".env"), 0)
        p = self.env.ds("db", "current", "-C", ws)
        if os.geteuid() != 0 and p.returncode == 0:
            self.skipTest("file permissions are not enforced for this user")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(".env", p.stderr)

    def test_missing_workspace_is_a_usage_error(self):
        p = self.env.ds("db", "current", "-C", os.path.join(self.env.root, "nope"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("does not exist", p.stderr)

    def test_unknown_flag_is_a_usage_error(self):
        p = self.env.ds("db", "current", "--frobnicate")
        self.assertEqual(p.returncode, 2)
        p = self.env.ds("db")
        self.assertEqual(p.returncode, 2)

    def test_help_everywhere(self):
        for args in (["--help"], ["db", "--help"], ["db", "current", "--help"],
                     ["daemon", "--help"], ["daemon", "status", "--help"],
                     ["daemon", "stop", "--help"], ["daemon", "logs", "--help"],
                     ["config", "show", "--help"], ["version", "--help"]):
            p = self.env.ds(*args)
            self.assertEqual(p.returncode, 0, f"{args}: {p.stderr}")
            self.assertIn("Usage", p.stdout, args)

    def test_env_var_names_and_file_from_config(self):
        ws = self.env.workspace(
            "ws", None, 'env_file = "backend/.env"\ntarget_var = "DATABASE_URL"\n')
        self.env.write("ws/backend/.env", f"DATABASE_URL={LOCAL_URI}\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("TARGET DB (DATABASE_URL)", p.stdout)
        self.assertIn("127.0.0.1:6543", p.stdout)

    def test_config_show_origins(self):
        ws = self.env.workspace("ws", "DS_STAGE=ci\n", 'developer = "phil"\n')
        self.env.write("config/ds/config.toml", 'branch_pattern = "{developer}/{stage}"\n'
                                                'provider = "neon"\n')
        p = self.env.ds("config", "show", "-C", ws, "--set", "provider=local",
                        env={"DS_TARGET_VAR": "DB_URL"})
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        def line(key):
            return next(l for l in lines if f") {key} = " in l)
        self.assertEqual(line("developer"),
                         f"(ds.toml: {ws}/ds.toml:1) developer = phil")
        self.assertEqual(line("stage"), f"(.env: {ws}/.env:1) stage = ci")
        self.assertEqual(line("provider"), "(flag: --set provider) provider = local")
        self.assertEqual(line("target_var"), "(environment: DS_TARGET_VAR) target_var = DB_URL")
        self.assertIn("config.toml:1) branch_pattern = {developer}/{stage}",
                      line("branch_pattern"))
        self.assertEqual(line("env_file"), "(default: built-in) env_file = .env")
        doc = self.env.ds_json("config", "show", "-C", ws)
        keys = {v["key"]: v for v in doc["values"]}
        self.assertEqual(keys["developer"]["origin"]["kind"], "KIND_WORKSPACE_TOML")

    def test_bad_toml_and_bad_set(self):
        ws = self.env.workspace("ws", "", 'developer = "phil"\ndevelper = "x"\n')
        p = self.env.ds("config", "show", "-C", ws)
        self.assertEqual(p.returncode, 1)
        self.assertIn("ds.toml:2", p.stderr)
        self.assertIn("unknown key 'develper'", p.stderr)
        ok = self.env.workspace("ok")
        p = self.env.ds("config", "show", "-C", ok, "--set", "nope=1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown config key 'nope'", p.stderr)

    def test_invalid_settings_are_named_with_file_line_and_allowed_values(self):
        cases = [
            ('neon_refresh_seconds = "abc"\n', 'neon_refresh_seconds = "abc" is not a whole number'),
            ('log_level = "verbose"\n', 'log_level = "verbose" is not one of debug, info, '
                                         'warning, error'),
            ('branch_pattern = "{nope}-{stage}"\n', 'branch_pattern = "{nope}-{stage}" has the '
                                                     "unknown placeholder {nope}; placeholders: "
                                                     "{developer}, {stage}"),
            ('provider = "oracle"\n', 'provider = "oracle" is not one of auto, local, neon'),
        ]
        for i, (toml, want) in enumerate(cases):
            ws = self.env.workspace(f"ws{i}", "", 'developer = "phil"\n' + toml)
            for args in (("config", "show"), ("db", "current")):
                p = self.env.ds(*args, "-C", ws)
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertIn(f"{ws}/ds.toml:2: {want}", p.stderr)
        # The same rules for .env, the environment and --set.
        ws = self.env.workspace("dotenv", "A=1\nDS_PROVIDER=oracle\n")
        p = self.env.ds("config", "show", "-C", ws)
        self.assertIn(f"{ws}/.env:2: provider = \"oracle\"", p.stderr)
        ok = self.env.workspace("ok")
        p = self.env.ds("config", "show", "-C", ok, env={"DS_LOG_LEVEL": "verbose"})
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('DS_LOG_LEVEL: log_level = "verbose" is not one of', p.stderr)
        p = self.env.ds("config", "show", "-C", ok, "--set", "branch_pattern={nope}-x")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("--set branch_pattern: branch_pattern = \"{nope}-x\" has the unknown "
                      "placeholder {nope}", p.stderr)

    def test_bad_branch_pattern_creates_no_branch(self):
        ws = self.env.workspace("ws", "", 'provider = "local"\nbranch_pattern = "{nope}-{stage}"\n')
        p = self.env.ds("db", "create-branch", "--target", "ci", "-C", ws)
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("unknown placeholder {nope}", p.stderr)
        self.assertNotIn("{nope}-ci", p.stdout)
        with open(os.path.join(ws, ".env")) as f:
            self.assertEqual(f.read(), "", ".env was not written")

    def test_daemon_status_logs_and_stop(self):
        p = self.env.ds("daemon", "status")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("running (pid", p.stdout)
        doc = self.env.ds_json("daemon", "status")
        # JSON numbers, not strings: proto3's JSON prints int64 as "123".
        self.assertEqual(doc["pid"], self.env.daemon.pid)
        self.assertIsInstance(doc["active_watches"], int)
        self.assertEqual(doc["socket_path"], self.env.socket)
        p = self.env.ds("daemon", "logs", "-n", "5")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("serving on", p.stdout)
        v = self.env.ds_json("version")
        self.assertEqual(v["client_version"], v["daemon_version"])
        p = self.env.ds("daemon", "stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.env.daemon.wait(10), 0)
        self.assertFalse(os.path.exists(self.env.socket))
        p = self.env.ds("daemon", "status")
        self.assertEqual(p.returncode, 3)
        self.assertIn("not running", p.stderr)

    def test_secret_never_in_log(self):
        # At debug level dsd logs every connection and every request it
        # refuses, naming the workspace: the log lines nearest to a secret.
        self.env.stop_daemon()
        self.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
        ok = self.env.workspace("ok", f"DB_CONNECTION_STRING={NEON_URI}\n")
        p = self.env.ds("db", "current", "-C", ok)
        self.assertEqual(p.returncode, 0, p.stderr)
        # A value dsd cannot parse, so the request fails and is logged.
        unterminated = self.env.workspace("unterminated", f'DB_CONNECTION_STRING="{NEON_URI}\n')
        p = self.env.ds("db", "current", "-C", unterminated)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        bad_uri = self.env.workspace("baduri", "DB_CONNECTION_STRING=postgresql://u:" + SECRET +
                                     "@host:notaport/db?bogus=1\n")
        p = self.env.ds("db", "current", "-C", bad_uri)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        # A secret in the request itself.
        p = self.env.ds("config", "show", "-C", ok, "--set", "neon_api_key=" + SECRET)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNoSecret(p.stdout + p.stderr, SECRET)

        log = self.env.read_log()
        clients = set(re.findall(r" DEBUG accepted a connection from pid (\d+)\n", log))
        self.assertGreaterEqual(len(clients), 4, f"one line or more per ds run: {log}")
        self.assertIn(f"GetCurrent({unterminated}): {unterminated}/.env:1: unterminated", log)
        self.assertNoSecret(log, SECRET)
        self.assertNoSecret(self.env.daemon_stderr(), SECRET)


if __name__ == "__main__":
    main()
