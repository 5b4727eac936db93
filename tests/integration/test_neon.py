#!/usr/bin/env python3
"""ds and dsd against the Neon API double (tests/neon_double), end to end.

One private PostgreSQL 15 cluster (TLS, SCRAM; run as DS_TEST_USER when we
are root) and one neon_double.py serve the whole class: the double's
branches are real databases on that cluster, so the URIs ds writes into
.env work with psql and with `ds db migrate`. Every test starts its own dsd
on its own temp dirs (DsEnv), so every test begins with a cold cache, and
removes what it made in the double: no test depends on another or on their
order, and any one runs alone (DS_TEST_ONLY=warm_cache, say). ds
gets NEON_API_HOST and NEON_API_KEY in its environment and forwards them to
dsd; dsd itself is started without them unless a test says otherwise.

When the Neon spec (npm @neondatabase/api-client in DS_PEERS_DIR) and the
Python validators are present, the double runs with --spec and every test
checks that ds sent nothing that breaks Neon's OpenAPI spec.

Secrets: the API key and every role password of the double are looked for
in everything ds prints, in `ds config show`, and in dsd's log (run at
debug level) after every test.

Exit code 125 (skipped) when PostgreSQL 15, psql, openssl, setpriv, libpq or
the DS_TEST_USER user are missing. DS_TEST_ECHO=1 prints every ds command
with its output.
"""

import copy
import ctypes.util
import datetime
import http.client
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "neon_double"))
import neon_spec  # noqa: E402
import test_neon_double as nd  # noqa: E402  (Cluster, SEED and its ids; not its tests)

from harness import DsEnv, dotenv, main, wait_for  # noqa: E402

PG_BIN = nd.PG_BIN
KEY = nd.KEY                      # a personal key in ORG_A: sees acme-app (P1) and acme-shop (P2)
WRONG_KEY = "neon-wrong-key-0badc0ffee"
P1, P2 = nd.P1, nd.P2
P1_MAIN, P1_STAGING, P1_MAIN_EP = nd.P1_MAIN, nd.P1_STAGING, nd.P1_MAIN_EP
OP_DELAY_MS = 300
EP_HOST_RX = nd.EP_HOST_RX


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def spec_usable():
    """The spec file, when it and the validators --spec needs are present."""
    path = neon_spec.find_spec(nd.PEERS)
    if not path:
        return None
    try:
        import yaml  # noqa: F401
        import openapi_schema_validator  # noqa: F401
        import referencing  # noqa: F401
    except ImportError:
        return None
    return path


class NeonTest(unittest.TestCase):
    cluster = None
    double = None
    root = None

    # -- the shared cluster and double ----------------------------------------

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="ds-neon-", dir="/tmp")
        os.chmod(cls.root, 0o755)
        try:
            cls.cluster = nd.Cluster(cls.root)
            cls.cluster.start()
            seed = os.path.join(cls.root, "seed.json")
            with open(seed, "w") as f:
                json.dump(copy.deepcopy(nd.SEED), f)
            cls.spec_path = spec_usable()
            cls.double_log = open(os.path.join(cls.root, "double.log"), "w")
            argv = [sys.executable, os.path.join(HERE, "..", "neon_double", "neon_double.py"),
                    "--port", "0", "--pg-conninfo", cls.cluster.conninfo, "--seed", seed,
                    "--api-key", f"{KEY}=personal:{nd.ORG_A}",
                    "--api-key", f"{nd.MULTI_ORG_KEY}=personal:{nd.ORG_A},{nd.ORG_B}",
                    "--api-key", f"{nd.ORG_KEY}=org:{nd.ORG_A}",
                    "--op-delay-ms", str(OP_DELAY_MS), "--random-seed", "11"]
            if cls.spec_path:
                argv += ["--spec", cls.spec_path]
            cls.double = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=cls.double_log,
                                          stdin=subprocess.DEVNULL, text=True)
            line = cls.double.stdout.readline()
            if not line:
                cls.double.wait(5)
                with open(cls.double_log.name) as f:
                    raise RuntimeError("neon_double did not start: " + f.read())
            info = json.loads(line)
            cls.port = info["port"]
            cls.base_url = info["base_url"]
            cls.pg_port = info["pg_port"]
            state = cls.control_s("GET", "state")
            cls.secrets = [KEY, WRONG_KEY, nd.MULTI_ORG_KEY, nd.ORG_KEY] + [r["password"] for r in state["roles"].values()]
            assert all(len(s) >= 8 for s in cls.secrets), cls.secrets
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        nd.stop_all(cls.double, cls.double_log, cls.cluster, cls.root)

    @classmethod
    def control_s(cls, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", cls.port, timeout=15)
        try:
            data = None if body is None else json.dumps(body).encode()
            conn.request(method, "/__control/" + path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            r = conn.getresponse()
            raw = r.read()
            assert r.status == 200, (path, r.status, raw)
            return json.loads(raw)
        finally:
            conn.close()

    def control(self, method, path, body=None):
        return self.control_s(method, path, body)

    def api(self, method, path, body=None, query=None, key=KEY):
        """A request to the double's API as a client other than ds (the stats count it)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            url = "/api/v2" + path + ("?" + urllib.parse.urlencode(query) if query else "")
            h = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            conn.request(method, url, body=data, headers=h)
            r = conn.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def state(self):
        return self.control("GET", "state")

    def branch_in_state(self, project, name):
        found = [b for b in self.state()["branches"]
                 if b["project_id"] == project and b["name"] == name]
        self.assertLessEqual(len(found), 1, found)
        return found[0] if found else None

    def fault(self, **rule):
        self.control("POST", "faults", rule)

    def stats(self):
        return self.control("GET", "stats")

    def wait_quiet(self, timeout=20):
        """Waits until dsd's background loading is over (no request for 1 s).
        A cold dsd answers from the project list at once and fetches the
        other projects' branches behind the scenes."""
        deadline = time.monotonic() + timeout
        last = self.stats()["total"]
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.stats()["total"]
            if now == last:
                return
            last = now
        self.fail("dsd kept calling the API")

    # -- per test: a fresh dsd -------------------------------------------------

    def setUp(self):
        self.control("DELETE", "faults")
        self.control("POST", "config", {"op_delay_ms": OP_DELAY_MS, "max_page_size": None,
                                        "rate_limit_per_min": 700})
        self.control("POST", "spec_violations/reset")
        self.outputs = []
        self.env = DsEnv(self.id().split(".")[-1][5:25])
        self.addCleanup(self.env.cleanup)
        self.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
        self.envs = [self.env]

    def tearDown(self):
        self.control("DELETE", "faults")
        for e in self.envs:
            logs = e.read_log() + e.daemon_stderr()
            self.assertTrue(e.read_log().strip(), f"dsd wrote no log to {e.log_file}")
            for s in self.secrets:
                self.assertNotIn(s, logs, f"a secret ({s[:6]}…) leaked into dsd's log")
            jobs = os.path.join(e.state, "jobs")
            for name in (os.listdir(jobs) if os.path.isdir(jobs) else []):
                with open(os.path.join(jobs, name), errors="replace") as f:
                    text = f.read()
                for s in self.secrets:
                    self.assertNotIn(s, text, f"a secret leaked into the job record {name}")
            # The API key is in no file dsd keeps (its cache is named by a digest).
            for d, _, files in os.walk(e.state):
                for name in files:
                    with open(os.path.join(d, name), "rb") as f:
                        data = f.read()
                    for k in (KEY, WRONG_KEY):
                        self.assertNotIn(k.encode(), data, f"the API key is stored in {d}/{name}")
        for text in self.outputs:
            for s in self.secrets:
                self.assertNotIn(s, text, f"a secret ({s[:6]}…) leaked into ds's output")
        if self.spec_path:
            v = self.control("GET", "spec_violations")["violations"]
            bad = [x for x in v if x["status"] == "request"]
            self.assertEqual(bad, [], "ds sent requests that break Neon's OpenAPI spec")

    def new_env(self, name, daemon_env=None):
        """Another isolated ds installation with its own dsd (a cold cache)."""
        e = DsEnv(name)
        self.addCleanup(e.cleanup)
        e.start_daemon(env={"DS_LOG_LEVEL": "debug", **(daemon_env or {})})
        self.envs.append(e)
        return e

    def neon_env(self, key=KEY, host=True):
        e = {"NEON_API_HOST": self.base_url} if host else {}
        if key is not None:
            e["NEON_API_KEY"] = key
        return e

    def ds(self, *args, ws=None, key=KEY, host=True, env=None, env_obj=None, timeout=60):
        """ds as the test user, NEON_API_HOST/KEY in its environment (key=None: no key,
        host=False: no NEON_API_HOST)."""
        e = env_obj or self.env
        extra = {**self.neon_env(key, host), **(env or {})}
        argv = list(args) + (["-C", ws] if ws else [])
        p = e.ds(*argv, env=extra, timeout=timeout)
        self.outputs.append(p.stdout + p.stderr)
        if os.environ.get("DS_TEST_ECHO"):
            print(f"\n$ ds {' '.join(argv)}  -> {p.returncode}\n{p.stdout}{p.stderr}",
                  file=sys.stderr)
        return p

    def ds_ok(self, *args, **kw):
        p = self.ds(*args, **kw)
        self.assertEqual(p.returncode, 0, f"ds {' '.join(args)}:\n{p.stdout}{p.stderr}")
        return p

    def ds_json(self, *args, **kw):
        return json.loads(self.ds_ok(*args, "--json", **kw).stdout)

    def psql(self, uri, sql, check=True):
        p = subprocess.run(
            self.env.argv([os.path.join(PG_BIN, "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1",
                           "-d", uri, "-c", sql]),
            env={**self.env.env(), "PGCONNECT_TIMEOUT": "10"},
            capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, f"psql: {p.stderr}")
        return p.stdout.strip()

    def main_uri(self):
        """main of acme-app, from the API (as another client would get it)."""
        st, doc = self.api("GET", f"/projects/{P1}/connection_uri",
                           query={"database_name": "neondb", "role_name": "neondb_owner"})
        self.assertEqual(st, 200, doc)
        return doc["uri"]

    def env_values(self, ws):
        return dotenv(os.path.join(ws, ".env"))

    def running_operations(self, project):
        """The project's operations that have not ended, as the double has
        them now. Asked right after ds returned from a mutation: the double
        ends an operation only op_delay_ms after it began, so one that ds did
        not wait for is still here (unless the test itself stalled that long,
        which can hide a fault but never fail a good run)."""
        return [(o["action"], o["status"]) for o in self.state()["operations"]
                if o["project_id"] == project and o["status"] not in
                ("finished", "failed", "error", "cancelled", "skipped")]

    def delete_via_api(self, project, name):
        b = self.branch_in_state(project, name)
        if b:
            deadline = time.monotonic() + 20
            while True:  # 423 while the branch's own operations still run
                st, doc = self.api("DELETE", f"/projects/{project}/branches/{b['id']}")
                if st != 423 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            self.assertIn(st, (200, 204), doc)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # let its operations end (no 423 later)
                if not self.running_operations(project):
                    break
                time.sleep(0.1)

    # -- tests -------------------------------------------------------------------

    def test_projects_branches_and_config(self):
        ws = self.env.workspace("ws", "APP_PORT=3000\n")
        # Projects: what the API has, region and created included.
        st, doc = self.api("GET", "/projects")
        api_projects = {p["id"]: p for p in doc["projects"]}
        self.assertEqual(set(api_projects), {P1, P2})
        self.control("POST", "stats/reset")
        projects = self.ds_json("db", "list-projects", ws=ws)["projects"]
        self.assertGreater(self.stats()["total"], 0, "a cold dsd asked the API")
        self.assertEqual(sorted(p["id"] for p in projects), sorted(api_projects), projects)
        for p in projects:
            a = api_projects[p["id"]]
            self.assertEqual(p["provider"], "neon", p)
            self.assertEqual(p["name"], a["name"], p)
            # The API's region_id (aws-us-east-2), as it is or spelt for people
            # ("us-east-2 (aws)"): the platform and the region both shown.
            platform, region = a["region_id"].split("-", 1)
            self.assertRegex(p["region"], rf"(^|\W){platform}(\W|$)", p)
            self.assertRegex(p["region"], rf"(^|\W){region}(\W|$)", p)
            self.assertTrue(p["created_at"], p)
            self.assertEqual(parse_ts(p["created_at"]), parse_ts(a["created_at"]), p)
        p = self.ds_ok("db", "list-projects", ws=ws)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "REGION", "ID", "CREATED"], p.stdout)
        shown = {p["id"]: p["region"] for p in projects}
        for pid, name in ((P1, "acme-app"), (P2, "acme-shop")):
            row = next(l for l in lines if pid in l)
            self.assertTrue(row.startswith(f"{name} "), row)
            self.assertIn(f" {shown[pid]} ", row)
            self.assertIn(parse_ts(api_projects[pid]["created_at"]).strftime("%Y-%m-%d"), row)

        # Branches of acme-app, by id and by name.
        for proj in (P1, "acme-app"):
            doc = self.ds_json("db", "branches", "--project", proj, ws=ws)
            by = {b["name"]: b for b in doc["branches"]}
            self.assertTrue({"main", "staging"} <= set(by), by)
            self.assertEqual((by["main"]["id"], by["main"]["is_default"], by["main"]["protected"],
                              by["main"]["parent_name"]), (P1_MAIN, True, False, ""), by["main"])
            self.assertEqual((by["staging"]["id"], by["staging"]["is_default"],
                              by["staging"]["protected"], by["staging"]["parent_name"],
                              by["staging"]["parent_id"]),
                             (P1_STAGING, False, True, "main", P1_MAIN), by["staging"])
            for b in by.values():
                self.assertEqual((b["provider"], b["project_id"]), ("neon", P1), b)
                self.assertTrue(b["created_at"], b)
        p = self.ds_ok("db", "branches", "--project", P1, ws=ws)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "PARENT", "CREATED", "SIZE", "PROTECTED", ".ENV"],
                         p.stdout)
        main_row = next(l for l in lines if l.startswith("main"))
        self.assertTrue(main_row.startswith("main (default)"), main_row)
        self.assertRegex(main_row, r"\bno\b")
        staging_row = next(l for l in lines if l.startswith("staging"))
        self.assertEqual(staging_row.split()[1], "main", staging_row)
        self.assertRegex(staging_row, r"\byes\b")

        # `project` in ds.toml picks the project when the key sees several.
        shop = self.env.workspace("shop", None, 'project = "acme-shop"\n')
        doc = self.ds_json("db", "branches", ws=shop)
        self.assertEqual([(b["name"], b["project_id"], b["is_default"]) for b in doc["branches"]],
                         [("main", P2, True)], doc)
        shop_id = self.env.workspace("shop-id", None, f'project = "{P2}"\n')
        doc = self.ds_json("db", "branches", ws=shop_id)
        self.assertEqual([b["project_id"] for b in doc["branches"]], [P2], doc)

        # ds config show: the key masked, the host as given; provider auto -> neon.
        p = self.ds_ok("config", "show", ws=ws)
        key_line = next(l for l in p.stdout.splitlines() if " neon_api_key = " in l)
        self.assertTrue(key_line.endswith("neon_api_key = ****"), key_line)
        self.assertIn("(environment", key_line)
        self.assertIn(f"neon_api_host = {self.base_url}", p.stdout)
        doc = self.ds_json("config", "show", ws=ws)
        vals = {v["key"]: v["value"] for v in doc["values"]}
        self.assertEqual(vals["neon_api_key"], "****")
        self.assertEqual(vals["provider"], "auto")
        cur = self.ds_json("db", "current", ws=ws)
        self.assertEqual(cur["provider"], "neon", cur)

        # An unknown project: exit 1, with the close match.
        p = self.ds("db", "branches", "--project", "acme-ap", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("acme-ap", p.stderr)
        self.assertIn("acme-app", p.stderr, "suggests the close match")

    def test_create_current_set_delete(self):
        ws = self.env.workspace("ws", "# app\nAPP_PORT=3000\n", 'developer = "phil"\n')
        # create-branch waits for the branch's operations: make them slow.
        self.control("POST", "config", {"op_delay_ms": 1500})
        p = self.ds_ok("db", "create-branch", "feat-x", "--project", P1, ws=ws)
        self.assertEqual(self.running_operations(P1), [],
                         "ds returned before the create operations finished")
        self.control("POST", "config", {"op_delay_ms": OP_DELAY_MS})
        self.addCleanup(self.delete_via_api, P1, "feat-x")
        self.assertIn(f"Created branch feat-x from main (neon project {P1})", p.stdout)
        self.assertIn("DB_CONNECTION_STRING in ", p.stdout)
        # The operations' states were reported while ds waited, last one finished.
        progress = [l for l in p.stdout.splitlines() if l.startswith("Neon: ")]
        self.assertTrue(any("create_branch" in l for l in progress), p.stdout)
        self.assertTrue(any("running" in l or "scheduling" in l for l in progress), p.stdout)
        self.assertIn("finished", progress[-1], p.stdout)
        b = self.branch_in_state(P1, "feat-x")
        self.assertIsNotNone(b, "the branch exists in the double")
        self.assertEqual((b["parent_id"], b["current_state"]), (P1_MAIN, "ready"), b)
        eps = [e for e in self.state()["endpoints"] if e["branch_id"] == b["id"]]
        self.assertEqual([e["type"] for e in eps], ["read_write"], eps)
        values = self.env_values(ws)
        self.assertEqual(values["APP_PORT"], "3000", "other keys are kept")
        uri = values["DB_CONNECTION_STRING"]
        u = urllib.parse.urlsplit(uri)
        self.assertIn(u.scheme, ("postgresql", "postgres"), uri.split("@")[-1])
        self.assertEqual(u.hostname, eps[0]["host"], uri.split("@")[-1])
        self.assertRegex(u.hostname, EP_HOST_RX)
        q = urllib.parse.parse_qs(u.query)
        self.assertEqual(q.get("hostaddr"), ["127.0.0.1"], uri.split("@")[-1])
        self.assertEqual(q.get("sslmode"), ["require"], uri.split("@")[-1])
        self.assertEqual(u.path.lstrip("/"), b["database"])
        self.assertIn(urllib.parse.unquote(u.password or ""), self.secrets,
                      "the URI carries the role's password")
        self.assertEqual(self.psql(uri, "SELECT current_database()"), b["database"])
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM items"), "3", "a copy of main")
        self.assertEqual(self.psql(uri, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"),
                         "t")
        # The cache knows the new branch at once.
        doc = self.ds_json("db", "branches", "--project", P1, ws=ws)
        feat = next((x for x in doc["branches"] if x["name"] == "feat-x"), None)
        self.assertIsNotNone(feat, doc)
        self.assertEqual((feat["id"], feat["parent_name"], feat["is_target"], feat["protected"],
                          feat["is_default"]), (b["id"], "main", True, False, False), feat)

        # Again: adopts the branch and switches to it.
        self.ds_ok("db", "set", "target-db", "--branch", "main", "--yes", "--project", P1, ws=ws)
        p = self.ds_ok("db", "create-branch", "feat-x", "--project", P1, ws=ws)
        self.assertIn("already exists; switched", p.stdout)
        self.assertEqual(urllib.parse.urlsplit(self.env_values(ws)["DB_CONNECTION_STRING"]).hostname,
                         eps[0]["host"])
        self.assertEqual(sum(x["name"] == "feat-x" for x in self.state()["branches"]), 1)

        # ds db current: the Neon project and branch.
        cur = self.ds_json("db", "current", ws=ws)
        t = cur["target"]
        self.assertEqual(cur["provider"], "neon", cur)
        self.assertTrue(t["is_set"], t)
        self.assertTrue(t["resolved"], t)
        self.assertEqual((t["branch"]["provider"], t["branch"]["project_id"], t["branch"]["branch_id"],
                          t["branch"]["branch_name"]), ("neon", P1, b["id"], "feat-x"), t)
        self.assertEqual(t["branch"]["project_name"], "acme-app", t)
        self.assertEqual(t["connection"]["neon_endpoint_id"], eps[0]["id"], t)
        self.assertNotIn(u.password, json.dumps(cur))
        p = self.ds_ok("db", "current", ws=ws)
        self.assertIn("Project:  acme-app\nBranch:   feat-x\n", p.stdout)

        # set target-db --branch main, then current shows main.
        p = self.ds_ok("db", "set", "target-db", "--branch", "main", "--yes", "--project", P1, ws=ws)
        self.assertIn("now points to branch main", p.stdout)
        main_uri = self.env_values(ws)["DB_CONNECTION_STRING"]
        self.assertEqual(urllib.parse.urlsplit(main_uri).hostname,
                         f"{P1_MAIN_EP}.us-east-2.aws.neon.tech")
        self.assertEqual(self.psql(main_uri, "SELECT current_database()"), "neondb")
        cur = self.ds_json("db", "current", ws=ws)
        self.assertTrue(cur["target"]["resolved"], cur)
        self.assertEqual((cur["target"]["branch"]["branch_name"], cur["target"]["branch"]["branch_id"]),
                         ("main", P1_MAIN), cur)
        p = self.ds_ok("db", "current", ws=ws)
        self.assertIn("Project:  acme-app\nBranch:   main\n", p.stdout)

        # Delete: gone from the double (database included) and from the listing.
        self.control("POST", "stats/reset")
        self.control("POST", "config", {"op_delay_ms": 1500})
        p = self.ds_ok("db", "delete-branch", "feat-x", "--project", P1, "--yes", ws=ws)
        self.assertEqual(self.running_operations(P1), [],
                         "ds returned before the delete operations finished")
        self.control("POST", "config", {"op_delay_ms": OP_DELAY_MS})
        self.assertIn("Deleted branch feat-x", p.stdout)
        self.assertIsNone(self.branch_in_state(P1, "feat-x"))
        self.assertEqual(self.psql(main_uri, "SELECT count(*) FROM pg_database WHERE datname = "
                                             f"'{b['database']}'"), "0")
        self.assertEqual(self.stats()["routes"].get("DELETE /projects/{project_id}/branches/{branch_id}"),
                         1, self.stats())
        names = {x["name"] for x in self.ds_json("db", "branches", "--project", P1, ws=ws)["branches"]}
        self.assertNotIn("feat-x", names)

        # The default and protected branches are refused, by ds, saying why.
        self.control("POST", "stats/reset")
        p = self.ds("db", "delete-branch", "main", "--project", P1, "--yes", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("default branch", p.stderr)
        p = self.ds("db", "delete-branch", "staging", "--project", P1, "--yes", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("protected", p.stderr)
        deletes = [r for r in self.control("GET", "requests")["requests"]
                   if r["method"] == "DELETE" and (P1_MAIN in r["path"] or P1_STAGING in r["path"])]
        self.assertEqual(deletes, [], "ds refuses these itself; it never asks the API to delete them")
        self.assertIsNotNone(self.branch_in_state(P1, "main"))
        self.assertIsNotNone(self.branch_in_state(P1, "staging"))
        # An unknown branch: said as on the local provider, with the close match.
        p = self.ds("db", "delete-branch", "stagin", "--project", P1, "--yes", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn('branch "stagin" does not exist', p.stderr)
        self.assertIn("staging", p.stderr.replace('"stagin"', ""), "suggests the close match")

    def test_migrate_on_a_neon_branch(self):
        ws = self.env.workspace("ws", None, 'developer = "mig"\n')
        self.ds_ok("db", "create-branch", "mig-x", "--project", P1, ws=ws)
        self.addCleanup(self.delete_via_api, P1, "mig-x")
        uri = self.env_values(ws)["DB_CONNECTION_STRING"]
        self.env.write_drizzle_folder(ws, [("0000_x", 1700000000000,
                                        "CREATE TABLE neon_mig(id int PRIMARY KEY);\n"
                                        "--> statement-breakpoint\n"
                                        "INSERT INTO neon_mig VALUES (1);\n")])
        p = self.ds("db", "migrate", "--yes", ws=ws, timeout=90)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM neon_mig"), "1")
        self.assertEqual(self.psql(uri, 'SELECT count(*) FROM "drizzle"."__drizzle_migrations"'), "1")
        self.assertEqual(self.psql(self.main_uri(), "SELECT to_regclass('neon_mig') IS NULL"), "t",
                         "main is untouched")
        p = self.ds("db", "migrate", "--yes", ws=ws, timeout=90)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Nothing to apply", p.stdout)
        self.assertEqual(self.psql(uri, 'SELECT count(*) FROM "drizzle"."__drizzle_migrations"'), "1")

    def test_warm_cache_asks_the_api_nothing(self):
        ws = self.env.workspace("ws", None, 'project = "acme-app"\n')
        self.ds_ok("db", "set", "target-db", "--branch", "main", "--yes", ws=ws)
        self.ds_ok("db", "branches", ws=ws)
        cur = self.ds_json("db", "current", ws=ws)
        self.assertTrue(cur["target"]["resolved"], cur)
        self.wait_quiet()
        self.control("POST", "stats/reset")
        p = self.ds_ok("db", "branches", ws=ws)
        self.assertIn("staging", p.stdout)
        doc = self.ds_json("db", "branches", ws=ws)
        self.assertEqual({b["name"] for b in doc["branches"]} >= {"main", "staging"}, True, doc)
        p = self.ds_ok("db", "current", ws=ws)
        self.assertIn("Project:  acme-app\nBranch:   main\n", p.stdout)
        cur = self.ds_json("db", "current", ws=ws)
        self.assertEqual(cur["target"]["branch"]["branch_name"], "main", cur)
        st = self.stats()
        self.assertEqual(st["total"], 0, f"a warm cache asked the API: {st['routes']}")

    def test_a_successful_refresh_staging_reloads_the_projects_branches(self):
        # A warm cache asks the API nothing (above); a refresh-staging run
        # that succeeds makes dsd load the project's branches again.
        sys.path.insert(0, os.path.join(HERE, "..", "external"))
        from github_double import GitHubDouble
        token = "ghp_neonRefreshStagingToken01"
        self.secrets = self.secrets + [token]
        ws = self.env.workspace("ws", None, 'project = "acme-app"\n'
                                'github_repository = "acme/app"\n'
                                'refresh_staging_workflow = "refresh-staging.yml"\n'
                                'refresh_staging_ref = "main"\n')
        self.ds_ok("db", "branches", ws=ws)
        self.wait_quiet()
        with GitHubDouble(token) as github:
            self.control("POST", "stats/reset")
            p = self.ds_ok("db", "refresh-staging", "-o", "org_1", "--poll-interval", "0.05",
                           ws=ws, env={"GITHUB_TOKEN": token, "GITHUB_API_URL": github.url})
            self.assertEqual(github.violations, [])
        self.assertIn("refreshed the branch list of neon project acme-app", p.stdout + p.stderr)
        routes = self.stats()["routes"]
        self.assertTrue(any(r.startswith("GET ") and r.endswith("/branches") for r in routes),
                        routes)
        # A --no-wait dispatch does not know the run's end: it reloads nothing.
        with GitHubDouble(token) as github:
            self.control("POST", "stats/reset")
            self.ds_ok("db", "refresh-staging", "-o", "org_1", "--no-wait", ws=ws,
                       env={"GITHUB_TOKEN": token, "GITHUB_API_URL": github.url})
        self.assertEqual(self.stats()["total"], 0, self.stats()["routes"])

    def test_cache_served_when_the_api_is_down_and_after_a_restart(self):
        # A day between refreshes: the snapshot stays fresh across the
        # restart below, so nothing but a caller's need could make dsd ask
        # the API, and the request counter shows whether it did.
        ws = self.env.workspace("ws", None, 'project = "acme-app"\n'
                                'neon_refresh_seconds = "86400"\n')
        self.ds_ok("db", "set", "target-db", "--branch", "main", "--yes", ws=ws)
        self.ds_ok("db", "branches", ws=ws)
        # Every project loaded (a partial snapshot is refreshed at once).
        self.ds_ok("db", "branches", "--project", P2, ws=ws)
        self.wait_quiet()
        self.fault(route="*", kind="status", status=503, count=-1)
        p = self.ds_ok("db", "branches", ws=ws)
        self.assertIn("staging", p.stdout)
        cur = self.ds_json("db", "current", ws=ws)
        self.assertEqual(cur["target"]["branch"]["branch_name"], "main", cur)
        # A restarted dsd answers from the cache it kept in its state dir,
        # without a single request to the API (which answers only 503 now):
        # nothing for the caller to wait on, however slow the machine.
        self.assertEqual(self.ds("daemon", "stop").returncode, 0)
        self.env.daemon.wait(30)
        self.control("POST", "stats/reset")
        self.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
        p = self.ds("db", "branches", ws=ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("staging", p.stdout)
        cur = self.ds_json("db", "current", ws=ws)
        self.assertTrue(cur["target"]["resolved"], cur)
        self.assertEqual(cur["target"]["branch"]["branch_name"], "main", cur)
        self.assertEqual(self.stats()["total"], 0,
                         f"a restarted dsd answers from its persisted cache: {self.stats()}")

    def test_retries_429_and_503_then_a_bounded_failure(self):
        ws = self.env.workspace("ws")
        # A burst of 429 with Retry-After: 1 on a cold dsd.
        self.control("POST", "stats/reset")
        self.fault(route="*", kind="status", status=429, retry_after=1, count=2)
        t = time.monotonic()
        projects = self.ds_json("db", "list-projects", ws=ws)["projects"]
        elapsed = time.monotonic() - t
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))
        self.assertEqual([f["hits"] for f in self.control("GET", "faults")["faults"]], [2])
        self.assertEqual(self.stats()["statuses"].get("429"), 2, self.stats())
        self.assertGreaterEqual(elapsed, 1.9, "Retry-After: 1 was honoured twice")
        # A burst of 503 on another cold dsd.
        self.control("DELETE", "faults")
        other = self.new_env("neon503")
        ws2 = other.workspace("ws")
        self.fault(route="*", kind="status", status=503, count=2)
        doc = self.ds_json("db", "branches", "--project", P1, ws=ws2, env_obj=other)
        self.assertTrue({"main", "staging"} <= {b["name"] for b in doc["branches"]}, doc)
        self.assertEqual([f["hits"] for f in self.control("GET", "faults")["faults"]], [2])
        # 503 for ever: a bounded number of tries, then a clear error with the request id.
        # (Only the new dsd talks to the double meanwhile.)
        self.control("DELETE", "faults")
        self.env.stop_daemon()
        other.stop_daemon()
        third = self.new_env("neon503x")
        ws3 = third.workspace("ws")
        self.control("POST", "stats/reset")
        self.fault(route="*", kind="status", status=503, count=-1)
        p = self.ds("db", "list-projects", ws=ws3, env_obj=third, timeout=90)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertTrue(p.stderr.startswith("ds: "), p.stderr)
        self.assertRegex(p.stderr, r"503|[Uu]navailable", p.stderr)
        ids = [r["request_id"] for r in self.control("GET", "requests")["requests"]
               if r.get("fault") == "status"]
        self.assertTrue(any(i in p.stderr for i in ids), f"the error names a request id: {p.stderr}")
        # Bounded: dsd gave up on its own after at most the retry policy's
        # six attempts (its time bound, max_total, is unit-tested against a
        # manual clock in http_client_test.cc), each of which reached the
        # double, and it says how hard it tried.
        m = re.search(r"after (\d+) attempts over [\d.]+ s", p.stderr)
        self.assertIsNotNone(m, f"the error says how hard dsd tried: {p.stderr}")
        self.assertLessEqual(int(m.group(1)), 6, p.stderr)
        self.assertEqual(self.stats()["total"], int(m.group(1)), self.stats())
        self.assertIsNone(third.daemon.poll(), "dsd is still running")

    def test_wrong_key_and_malformed_json(self):
        ws = self.env.workspace("ws")
        self.control("POST", "stats/reset")
        p = self.ds("db", "list-projects", ws=ws, key=WRONG_KEY)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("NEON_API_KEY is invalid or expired", p.stderr)
        self.assertEqual(self.stats()["statuses"], {"401": 1}, "a 401 is not retried")
        p = self.ds("db", "branches", "--project", P1, ws=ws, key=WRONG_KEY)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("NEON_API_KEY is invalid or expired", p.stderr)
        # Malformed and truncated JSON: a clear error, no crash, nothing cached.
        for kind in ("malformed", "truncate"):
            self.control("DELETE", "faults")
            self.fault(route="*", kind=kind, count=-1)
            p = self.ds("db", "list-projects", ws=ws, timeout=90)
            self.assertGreater(p.returncode, 0, f"{kind}: {p.stdout}{p.stderr}")
            self.assertLess(p.returncode, 128, f"{kind}: ds died of a signal")
            self.assertEqual(p.stdout, "", kind)
            self.assertTrue(p.stderr.startswith("ds: "), f"{kind}: {p.stderr}")
            self.assertRegex(p.stderr, r"(?i)json|malformed|parse|invalid|unexpected|truncat|incomplete",
                             f"{kind}: the error says the answer was not valid JSON")
            self.assertNotIn("lost the connection to dsd", p.stderr, kind)
            self.assertIsNone(self.env.daemon.poll(), f"{kind}: dsd crashed: "
                              f"{self.env.daemon_stderr()[-2000:]}")
            st = self.ds("daemon", "status")
            self.assertEqual(st.returncode, 0, f"{kind}: {st.stdout}{st.stderr}")
        self.control("DELETE", "faults")
        projects = self.ds_json("db", "list-projects", ws=ws)["projects"]
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))

    def test_where_the_key_comes_from(self):
        # No key anywhere: the local provider.
        plain = self.env.workspace("plain")
        cur = self.ds_json("db", "current", ws=plain, key=None)
        self.assertEqual(cur["provider"], "local", cur)
        # A dsd that ds starts from a shell holding a key does not keep that
        # key for everyone: the next caller without one gets local.
        spawned = DsEnv("spawnkey")
        self.addCleanup(spawned.cleanup)
        sws = spawned.workspace("ws")
        p = spawned.ds("db", "current", "--json", "-C", sws, env=self.neon_env(), spawn=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["provider"], "neon", p.stdout)
        p = spawned.ds("db", "current", "--json", "-C", sws, spawn=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)["provider"], "local", p.stdout)
        # The workspace's .env.
        ws = self.env.workspace("dotenv", f"NEON_API_KEY={KEY}\n")
        cur = self.ds_json("db", "current", ws=ws, key=None)
        self.assertEqual(cur["provider"], "neon", cur)
        projects = self.ds_json("db", "list-projects", ws=ws, key=None)["projects"]
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))
        p = self.ds_ok("config", "show", ws=ws, key=None)
        key_line = next(l for l in p.stdout.splitlines() if " neon_api_key = " in l)
        self.assertTrue(key_line.endswith("neon_api_key = ****"), key_line)
        self.assertIn("(.env", key_line)
        # $XDG_CONFIG_HOME/ds/credentials: refused unless only its owner can read it.
        self.env.mkdir("config/ds", 0o700)
        cred = self.env.write("config/ds/credentials", f"NEON_API_KEY={KEY}\n", mode=0o644)
        p = self.ds("db", "list-projects", ws=plain, key=None)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("chmod 600", p.stderr)
        self.assertIn(cred, p.stderr)
        os.chmod(cred, 0o600)
        projects = self.ds_json("db", "list-projects", ws=plain, key=None)["projects"]
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))
        cur = self.ds_json("db", "current", ws=plain, key=None)
        self.assertEqual(cur["provider"], "neon", cur)
        # dsd's own environment.
        other = self.new_env("neondsd", daemon_env=self.neon_env())
        ws2 = other.workspace("ws")
        projects = self.ds_json("db", "list-projects", ws=ws2, env_obj=other, key=None,
                                host=False)["projects"]
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))
        p = self.ds_ok("config", "show", ws=ws2, env_obj=other, key=None, host=False)
        key_line = next(l for l in p.stdout.splitlines() if " neon_api_key = " in l)
        self.assertTrue(key_line.endswith("neon_api_key = ****"), key_line)

    def test_many_pages_and_setup(self):
        # One item per page: ds follows the cursors to the end.
        self.control("POST", "config", {"max_page_size": 1})
        ws = self.env.workspace("ws", None, 'developer = "pat"\nproject = "acme-app"\n')
        projects = self.ds_json("db", "list-projects", ws=ws)["projects"]
        self.assertEqual(sorted(p["id"] for p in projects), sorted([P1, P2]))
        names = {b["name"] for b in self.ds_json("db", "branches", ws=ws)["branches"]}
        self.assertTrue({"main", "staging"} <= names, names)
        self.control("POST", "config", {"max_page_size": None})
        # ds setup makes dev-<developer>-local on Neon and points .env at it.
        p = self.ds_ok("setup", ws=ws)
        self.addCleanup(self.delete_via_api, P1, "dev-pat-local")
        self.assertIn("dev-pat-local", p.stdout)
        b = self.branch_in_state(P1, "dev-pat-local")
        self.assertIsNotNone(b)
        uri = self.env_values(ws)["DB_CONNECTION_STRING"]
        self.assertEqual(self.psql(uri, "SELECT current_database()"), b["database"])
        p = self.ds_ok("setup", ws=ws)
        self.assertIn("already exists", p.stdout)
        cur = self.ds_json("db", "current", ws=ws)
        self.assertEqual(cur["target"]["branch"]["branch_name"], "dev-pat-local", cur)

    def test_resolving_endpoints_the_cache_does_not_know(self):
        ws = self.env.workspace("ws", None, 'project = "acme-app"\n')
        self.ds_ok("db", "branches", ws=ws)  # warm, before the branch below exists
        # A branch made by another client: its endpoint is new to dsd's cache.
        st, doc = self.api("POST", f"/projects/{P1}/branches",
                           body={"branch": {"name": "made-elsewhere"},
                                 "endpoints": [{"type": "read_write"}]})
        self.assertEqual(st, 201, doc)
        self.addCleanup(self.delete_via_api, P1, "made-elsewhere")
        uri = doc["connection_uris"][0]["connection_uri"]
        ep = doc["endpoints"][0]["id"]
        self.env.write(os.path.relpath(os.path.join(ws, ".env"), self.env.root),
                       f"DB_CONNECTION_STRING={uri}\n")
        cur = self.ds_json("db", "current", ws=ws)
        t = cur["target"]
        self.assertEqual(t["connection"]["neon_endpoint_id"], ep, t)
        self.assertTrue(t["resolved"], t)
        self.assertEqual((t["branch"]["branch_name"], t["branch"]["branch_id"], t["branch"]["project_id"]),
                         ("made-elsewhere", doc["branch"]["id"], P1), t)
        # The pooler host names the same endpoint.
        pooled = uri.replace(ep + ".", ep + "-pooler.", 1)
        self.env.write(os.path.relpath(os.path.join(ws, ".env"), self.env.root),
                       f"DB_CONNECTION_STRING={pooled}\n")
        cur = self.ds_json("db", "current", ws=ws)
        self.assertEqual(cur["target"]["branch"]["branch_name"], "made-elsewhere", cur)
        # A host with a cell segment (acme-shop: ep-….c-2.eu-central-1.aws.neon.tech).
        shop = self.env.workspace("shop")
        self.ds_ok("db", "set", "target-db", "--branch", "main", "--yes", "--project", P2, ws=shop)
        self.assertIn(".c-2.eu-central-1.aws.neon.tech",
                      self.env_values(shop)["DB_CONNECTION_STRING"].split("@")[-1])
        cur = self.ds_json("db", "current", ws=shop)
        self.assertTrue(cur["target"]["resolved"], cur)
        self.assertEqual((cur["target"]["branch"]["project_id"], cur["target"]["branch"]["branch_name"]),
                         (P2, "main"), cur)
        # An endpoint no project has: unresolved, saying so.
        unknown = uri.replace(ep, "ep-none-such-a0a0a0a0", 1)
        self.env.write(os.path.relpath(os.path.join(ws, ".env"), self.env.root),
                       f"DB_CONNECTION_STRING={unknown}\n")
        cur = self.ds_json("db", "current", ws=ws)
        t = cur["target"]
        self.assertFalse(t["resolved"], t)
        p = self.ds_ok("db", "current", ws=ws)
        self.assertIn("Project:  (not resolved)", p.stdout)
        self.assertIn("ep-none-such-a0a0a0a0", p.stdout)
        self.assertIn("not found in any project this key can see", t["unresolved_reason"], t)
        self.assertIn("not found in any project this key can see", p.stdout)

    def test_organizations_and_refresh_setting(self):
        ws = self.env.workspace("orgs")
        # A personal key in two organizations: Neon wants org_id; ds says how.
        p = self.ds("db", "list-projects", ws=ws, key=nd.MULTI_ORG_KEY)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("neon_org_id", p.stderr)
        self.assertIn("NEON_ORG_ID", p.stderr)
        # Naming the organization lists its projects only.
        projects = self.ds_json("db", "list-projects", ws=ws, key=nd.MULTI_ORG_KEY,
                                env={"NEON_ORG_ID": nd.ORG_B})["projects"]
        names = {x["name"] for x in projects}
        self.assertIn("many-branches", names)
        self.assertNotIn("acme-app", names)
        # A key that may not see an organization: Neon's refusal, named.
        p = self.ds("db", "list-projects", ws=ws, key=nd.ORG_KEY, env={"NEON_ORG_ID": nd.ORG_B})
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("Neon API key may not", p.stderr)
        # provider = neon without any key says where a key may come from.
        p = self.ds("db", "branches", ws=ws, key=None, env={"DS_PROVIDER": "neon"})
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("no Neon API key is set", p.stderr)
        self.assertIn("NEON_API_KEY", p.stderr)
        # A refresh interval that is not a number, or too short, is refused by name.
        for bad in ("soon", "3"):
            p = self.ds("db", "list-projects", ws=ws, env={"DS_NEON_REFRESH_SECONDS": bad})
            self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("neon_refresh_seconds", p.stderr)

    def test_watch_branches_sees_changes_from_anywhere(self):
        # An editor plugin sends no environment: the workspace carries the key.
        ws = self.env.workspace(
            "watched", f"NEON_API_KEY={KEY}\nNEON_API_HOST={self.base_url}\n",
            f'project = "{P1}"\nneon_refresh_seconds = "10"\n')
        watcher = subprocess.Popen(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds_watch_for_test"),
                           "--branches", self.env.socket, ws]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(watcher.stdout.readline())
            self.assertIn("main", [b["name"] for b in first["branches"]], first)
            self.assertTrue(all(b["provider"] == "neon" for b in first["branches"]), first)
            # A branch made through ds shows up at once...
            self.ds_ok("db", "create-branch", "watch-a", ws=ws)
            self.addCleanup(self.delete_via_api, P1, "watch-a")
            update = json.loads(watcher.stdout.readline())
            while "watch-a" not in update.get("added", []):
                update = json.loads(watcher.stdout.readline())
            # ...and one made by another client with the next background refresh.
            st, doc = self.api("POST", f"/projects/{P1}/branches",
                               body={"branch": {"name": "watch-b", "parent_id": P1_MAIN}})
            self.assertIn(st, (200, 201), doc)
            self.addCleanup(self.delete_via_api, P1, "watch-b")
            deadline = time.monotonic() + 30
            seen = False
            while not seen and time.monotonic() < deadline:
                update = json.loads(watcher.stdout.readline())
                seen = "watch-b" in update.get("added", [])
            self.assertTrue(seen, "the background refresh did not push the new branch")
        finally:
            watcher.kill()
            watcher.communicate()

    def test_watch_current_resolves_when_a_refresh_finds_the_endpoint(self):
        # dsd knows the project, then cannot see endpoints for a while: a
        # branch made meanwhile by another client has an endpoint dsd does
        # not know, so a .env naming it is not resolved.
        keys = f"NEON_API_KEY={KEY}\nNEON_API_HOST={self.base_url}\n"
        ws = self.env.workspace("watch-current", keys,
                                f'project = "{P1}"\nneon_refresh_seconds = "10"\n')
        self.ds_ok("db", "branches", ws=ws)
        self.wait_quiet()
        self.fault(route="GET /projects/{project_id}/endpoints", kind="status", status=503,
                   count=-1)
        st, doc = self.api("POST", f"/projects/{P1}/branches",
                           body={"branch": {"name": "watch-later", "parent_id": P1_MAIN},
                                 "endpoints": [{"type": "read_write"}]})
        self.assertIn(st, (200, 201), doc)
        self.addCleanup(self.delete_via_api, P1, "watch-later")
        ep = doc["endpoints"][0]["id"]
        self.env.write(os.path.join("watch-current", ".env"),
                       keys + f"DB_CONNECTION_STRING={doc['connection_uris'][0]['connection_uri']}\n")
        watcher = subprocess.Popen(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds_watch_for_test"),
                           self.env.socket, ws]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(watcher.stdout.readline())
            self.assertFalse(first.get("target", {}).get("resolved", False), first)
            # The endpoints come back; no file changes. The next refresh finds
            # the endpoint and the stream answers again on its own.
            self.control("DELETE", "faults")
            deadline = time.monotonic() + 60
            update = first
            while (not update.get("target", {}).get("resolved", False)
                   and time.monotonic() < deadline):
                line = watcher.stdout.readline()
                if not line:
                    watcher.kill()
                    self.fail(f"the stream ended after {update}: {watcher.communicate()[1]}")
                update = json.loads(line)
            t = update.get("target", {})
            self.assertTrue(t.get("resolved", False), f"still not resolved: {update}")
            self.assertEqual((t["branch"]["branch_name"], t["connection"]["neon_endpoint_id"]),
                             ("watch-later", ep), t)
        finally:
            watcher.kill()
            watcher.communicate()

    def test_stale_data_says_its_age_and_a_new_branch_is_not_handed_out(self):
        ws = self.env.workspace("stale", None,
                                f'project = "{P1}"\nneon_refresh_seconds = "10"\n')
        self.ds_ok("db", "branches", ws=ws)
        self.wait_quiet()
        # The API goes down; ds still answers from what it has and, once the
        # data is two refresh intervals (20 s) old and a background refresh
        # has failed, says how old it is and why. Every answer meanwhile is
        # served from the snapshot.
        self.fault(route="*", kind="status", status=503, count=-1)
        answers = []

        def reported():
            p = self.ds_ok("db", "branches", ws=ws)
            self.assertIn("staging", p.stdout)
            answers.append(p)
            return "refreshing failed" in p.stderr

        wait_for(reported, timeout=90, interval=0.5, what="the failed refresh to be reported")
        self.assertRegex(answers[-1].stderr, r"Neon data is .* old; refreshing failed: .*503")
        self.control("DELETE", "faults")
        # A branch another client is still creating (operations running)
        # is named as such, not handed out as a URI that cannot connect.
        self.control("POST", "config", {"op_delay_ms": 5000})
        st, doc = self.api("POST", f"/projects/{P1}/branches",
                           body={"branch": {"name": "still-init", "parent_id": P1_MAIN},
                                 "endpoints": [{"type": "read_write"}]})
        self.assertIn(st, (200, 201), doc)
        self.addCleanup(self.delete_via_api, P1, "still-init")
        p = self.ds("db", "set", "target-db", "--branch", "still-init", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("still being created", p.stderr)
        env_file = os.path.join(ws, ".env")
        if os.path.exists(env_file):  # nothing may have been written for it
            self.assertNotIn("still-init", self.env_values(ws).get("DB_CONNECTION_STRING", ""))
        self.control("POST", "config", {"op_delay_ms": OP_DELAY_MS})

    def test_reset_resolves_the_stage_branch_and_refuses_protected_and_default_ones(self):
        """`ds db reset` on Neon: --target STAGE resolves through the provider,
        the checks refuse the default branch by its API flag and a project
        in protected_projects, and a reset runs on the stage's branch."""
        src_ws = self.env.workspace("src", None, 'project = "acme-app"\ndeveloper = "rst"\n')
        self.ds_ok("db", "create-branch", "rst-src", ws=src_ws)
        self.addCleanup(self.delete_via_api, P1, "rst-src")
        source = self.env_values(src_ws)["DB_CONNECTION_STRING"]
        self.psql(source, "CREATE TABLE organizations (id int PRIMARY KEY, name text);"
                          "INSERT INTO organizations VALUES (1, 'acme'), (2, 'globex')")
        ws = self.env.workspace("ws", f"SOURCE_DB_CONNECTION_STRING={source}\n",
                                'project = "acme-app"\ndeveloper = "rst"\n')
        self.ds_ok("db", "create-branch", "--target", "x", ws=ws)
        self.addCleanup(self.delete_via_api, P1, "dev-rst-x")
        target = self.env_values(ws)["DB_CONNECTION_STRING"]
        self.psql(target, "CREATE TABLE junk (x int)")
        self.env.write_drizzle_folder(ws, [("0000_orgs", 1700000000000,
                                        "CREATE TABLE organizations (id int PRIMARY KEY, name text);\n")])
        # The plan names the stage's branch and its project; nothing changes.
        plan = self.ds_json("db", "reset", "--target", "x", "-o", "2", "--dry-run", ws=ws,
                            timeout=90)
        self.assertEqual(plan["target_branch"]["branch_name"], "dev-rst-x", plan)
        self.assertEqual(plan["target_branch"]["project_id"], P1, plan)
        self.assertEqual(plan["source_branch"]["branch_name"], "rst-src", plan)
        self.assertEqual(plan["confirm_name"], "dev-rst-x", plan)
        self.assertEqual(self.psql(target, "SELECT to_regclass('junk') IS NOT NULL"), "t")
        # Default and protected branches: refused before anything else.
        # The default branch (its flag from the API), and a project that
        # the configuration protects. (The double's protected branch,
        # staging, has no endpoint to connect to.)
        p = self.env.ds("db", "reset", "-C", ws, "--target-db", "-", "-o", "2", "--yes",
                        env=self.neon_env(), input=self.main_uri(), timeout=90)
        self.outputs.append(p.stdout + p.stderr)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the default branch main", p.stderr)
        p = self.ds("db", "reset", "--target", "x", "-o", "2", "--yes", "--set",
                    "protected_projects=acme-app", ws=ws, timeout=90)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("is listed in protected_projects", p.stderr)
        self.assertEqual(self.psql(target, "SELECT to_regclass('junk') IS NOT NULL"), "t")
        # The same branch as target and source (its own URI as --source-db).
        p = self.ds("db", "reset", "--target", "x", "-o", "2", "--yes", "--source-db", target,
                    ws=ws, timeout=90)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the target is the source", p.stderr)
        # A reset of the stage's branch.
        p = self.ds("db", "reset", "--target", "x", "-o", "2", "--yes", ws=ws, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.psql(target, "SELECT to_regclass('junk') IS NULL"), "t")
        self.assertEqual(self.psql(target, "SELECT name FROM organizations"), "globex")



def skip_reason():
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return f"PostgreSQL 15 is missing ({PG_BIN})"
    for tool in ("psql", "openssl", "setpriv"):
        if not shutil.which(tool):
            return f"{tool} is missing"
    if not ctypes.util.find_library("pq"):
        return "libpq is missing (the double loads it through ctypes)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(nd.TEST_USER)
        except KeyError:
            return f"user {nd.TEST_USER} is missing (scripts/ensure-test-user.sh)"
    return None


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print(f"skipped: {why}")
        sys.exit(125)
    main()
