#!/usr/bin/env python3
"""The Neon API double held to Neon's OpenAPI spec and to neonctl.

Starts a private PostgreSQL 15 cluster (as DS_TEST_USER when run as root,
with TLS so that Neon-style `sslmode=require&channel_binding=require` URIs
work), starts neon_double.py on a free port against it with --spec (so the
double also checks every request it is sent, neonctl's included), then:
- calls every endpoint the double serves and validates every response body,
  status and Content-Type against `public-v2-for-users.gen.yaml` from npm
  @neondatabase/api-client (DS_PEERS_DIR/node_modules), $refs resolved,
  formats checked, unknown fields reported;
- connects with psql to the URIs it hands out;
- injects every fault kind and checks what a client sees;
- runs neonctl 5.x (projects list, branches list/create/delete,
  connection-string) against it and connects to neonctl's connection string.

Exit code 125 (skipped) when the spec package, neonctl, node or PostgreSQL 15
is missing. Runs in ~30-60 s on 2 cores.
"""

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import neon_spec  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"
PEERS = os.environ.get("DS_PEERS_DIR") or os.path.join(HERE, "..", "peers")
TEST_USER = os.environ.get("DS_TEST_USER", "ds-test")
IS_ROOT = os.geteuid() == 0
KEY = "neon-double-key-1"
MULTI_ORG_KEY = "neon-double-key-multi"
ORG_KEY = "neon-double-key-org"
PROJECT_KEY = "neon-double-key-project"
ORG_A = "org-quiet-sun-41022319"
ORG_B = "org-misty-glade-77210453"
P1 = "shiny-wind-02883412"
P2 = "bold-cloud-46821877"
P1_MAIN = "br-aged-salad-a1b2c3d4"
P1_STAGING = "br-proud-river-q7w8e9r1"
P1_MAIN_EP = "ep-little-smoke-851426"
EP_HOST_RX = re.compile(r"^ep-[a-z]+-[a-z]+-[a-z0-9]+(-pooler)?\.(c-\d+\.)?[a-z0-9-]+\.aws\.neon\.tech$")

SEED = {
    "user": {"id": "0b4ab2d5-6d3f-4c1e-9a55-3f6c0e8b71aa", "email": "dev@example.com",
             "name": "Dana Developer"},
    "orgs": [{"id": ORG_A, "name": "Acme"}, {"id": ORG_B, "name": "Side org"}],
    "projects": [
        {"id": P1, "name": "acme-app", "org_id": ORG_A, "region_id": "aws-us-east-2",
         "pg_version": 15, "database": "neondb", "role": "neondb_owner",
         "sql": "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);"
                "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three');",
         "branches": [
             {"id": P1_MAIN, "name": "main", "default": True, "endpoint": P1_MAIN_EP},
             {"id": P1_STAGING, "name": "staging", "parent": "main", "protected": True,
              "endpoint": False},
         ]},
        {"id": P2, "name": "acme-shop", "org_id": ORG_A, "region_id": "aws-eu-central-1",
         "cell": "c-2", "database": "shopdb", "role": "shop_owner",
         "branches": [{"name": "main", "default": True, "endpoint_state": "idle"}]},
        {"id": "many-branches-10000001", "name": "many-branches", "org_id": ORG_B,
         "region_id": "aws-us-west-2", "database": "manydb", "role": "many_owner",
         "branches": [{"name": "main", "default": True}]},
    ],
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def runner_ids():
    if IS_ROOT:
        pw = pwd.getpwnam(TEST_USER)
        return pw.pw_uid, pw.pw_gid
    return os.geteuid(), os.getegid()


def as_runner(argv):
    if IS_ROOT:
        uid, gid = runner_ids()
        return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--"] + argv
    return argv


def stop_all(double, double_log, cluster, root):
    """Stops a double started with stdout=PIPE, its cluster, and removes
    `root` (kept with NEON_DOUBLE_KEEP=1). Each part may be None."""
    if double and double.poll() is None:
        double.send_signal(signal.SIGTERM)
        try:
            double.wait(10)
        except subprocess.TimeoutExpired:
            double.kill()
            double.wait()
    if double:
        double.stdout.close()
        double_log.close()
    if cluster:
        cluster.stop()
    if os.environ.get("NEON_DOUBLE_KEEP"):
        print("kept", root)
    elif root:
        shutil.rmtree(root, ignore_errors=True)


class Cluster:
    """A throw-away PostgreSQL 15 with TLS on 127.0.0.1 and a socket in a temp dir."""

    def __init__(self, root):
        self.uid, self.gid = runner_ids()
        self.user = pwd.getpwuid(self.uid).pw_name
        self.root = root
        self.data = os.path.join(root, "pgdata")
        self.sock = os.path.join(root, "sock")
        os.makedirs(self.sock)
        for p in (root, self.sock):
            os.chown(p, self.uid, self.gid)
        self.port = free_port()
        self.proc = None
        self.env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": root}

    def run(self, argv, **kw):
        return subprocess.run(as_runner(argv), env=self.env, cwd=self.root, check=True,
                              capture_output=True, text=True, **kw)

    def start(self):
        self.run([f"{PG_BIN}/initdb", "-D", self.data, "-U", self.user, "-E", "UTF8",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync", "--no-instructions"])
        self.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                  "-subj", "/CN=neon-double-test", "-keyout", os.path.join(self.data, "server.key"),
                  "-out", os.path.join(self.data, "server.crt")])
        os.chmod(os.path.join(self.data, "server.key"), 0o600)
        log = open(os.path.join(self.root, "postgres.log"), "w")
        self.proc = subprocess.Popen(
            as_runner([f"{PG_BIN}/postgres", "-D", self.data, "-k", self.sock, "-p", str(self.port),
                       "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on", "-c", "fsync=off",
                       "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
                       "-c", "shared_buffers=16MB", "-c", "max_connections=40",
                       "-c", "max_wal_size=64MB", "-c", "checkpoint_completion_target=0.1"]),
            env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        sock_file = os.path.join(self.sock, f".s.PGSQL.{self.port}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(log.name) as f:
                    raise RuntimeError("postgres exited: " + f.read()[-2000:])
            if os.path.exists(sock_file):
                r = subprocess.run(as_runner([f"{PG_BIN}/pg_isready", "-q", "-h", self.sock,
                                              "-p", str(self.port)]), env=self.env)
                if r.returncode == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("postgres did not start")

    @property
    def conninfo(self):
        return f"host={self.sock} port={self.port} user={self.user} dbname=postgres"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Resp:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class NeonDoubleTest(unittest.TestCase):
    spec = None
    cluster = None
    double = None
    root = None
    port = None

    @classmethod
    def setUpClass(cls):
        cls.spec = neon_spec.NeonSpec(neon_spec.find_spec(PEERS))
        cls.root = tempfile.mkdtemp(prefix="neon-double-", dir="/tmp")
        os.chmod(cls.root, 0o755)
        try:
            cls.cluster = Cluster(cls.root)
            cls.cluster.start()
            seed = os.path.join(cls.root, "seed.json")
            with open(seed, "w") as f:
                json.dump(SEED, f)
            port_file = os.path.join(cls.root, "port")
            cls.double_log = open(os.path.join(cls.root, "double.log"), "w")
            cls.double = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "neon_double.py"), "--port", "0",
                 "--port-file", port_file, "--pg-conninfo", cls.cluster.conninfo,
                 "--seed", seed, "--api-key", f"{KEY}=personal:{ORG_A}",
                 "--api-key", f"{MULTI_ORG_KEY}=personal:{ORG_A},{ORG_B}",
                 "--api-key", f"{ORG_KEY}=org:{ORG_A}",
                 "--api-key", f"{PROJECT_KEY}=project:{P2}",
                 "--op-delay-ms", "300", "--spec", cls.spec.path, "--random-seed", "7"],
                stdout=subprocess.PIPE, stderr=cls.double_log, stdin=subprocess.DEVNULL, text=True)
            line = cls.double.stdout.readline()
            if not line:
                cls.double.wait(5)
                raise RuntimeError("neon_double did not start: " + open(cls.double_log.name).read())
            info = json.loads(line)
            cls.port = info["port"]
            cls.pg_port = info["pg_port"]
            with open(port_file) as f:
                assert int(f.read()) == cls.port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        stop_all(cls.double, cls.double_log, cls.cluster, cls.root)

    def setUp(self):
        self.control("DELETE", "faults")
        self.control("POST", "config", {"op_delay_ms": 300, "max_page_size": None,
                                        "rate_limit_per_min": 700})
        self.control("POST", "spec_violations/reset")
        self.request_violations_expected = False

    def tearDown(self):
        v = self.control("GET", "spec_violations")
        bad = [x for x in v["violations"]
               if not (self.request_violations_expected and x["status"] == "request")]
        self.assertEqual(bad, [], "the double saw traffic that breaks Neon's spec")

    # -- HTTP ----------------------------------------------------------------

    def raw(self, method, path, key=KEY, body=None, query=None, headers=None, timeout=15):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            url = path + ("?" + urllib.parse.urlencode(query) if query else "")
            h = {"Accept": "application/json"}
            if key:
                h["Authorization"] = f"Bearer {key}"
            data = None
            if body is not None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            conn.request(method, url, body=data, headers=h)
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def call(self, method, path, key=KEY, body=None, query=None, headers=None, expect=None):
        """A request to /api/v2<path>; the response is held to the spec."""
        r = self.raw(method, "/api/v2" + path, key, body, query, headers)
        qdict = {k: [str(v)] for k, v in (query or {}).items()}
        if body is not None:
            self.assertEqual(self.spec.check_request(method, path, qdict,
                                                     body if isinstance(body, bytes) else json.dumps(body).encode()),
                             [], "the test itself sent a request that breaks the spec")
        errs = self.spec.check_response(method, path, r.status, r.raw if r.raw else None,
                                        r.header("Content-Type"))
        self.assertEqual(errs, [], f"{method} {path} -> {r.status} {r.raw[:300]!r}")
        self.assertTrue(r.header("x-neon-ret-request-id"), "x-neon-ret-request-id is missing")
        if expect is not None:
            self.assertEqual(r.status, expect, r.raw[:500])
        if r.status >= 400:
            self.assertEqual(r.json["request_id"], r.header("x-neon-ret-request-id"))
        return r

    def control(self, method, path, body=None):
        r = self.raw(method, "/__control/" + path, key=None, body=body)
        assert r.status == 200, (path, r.status, r.raw)
        return r.json

    def wait_ops(self, project, ops, timeout=20):
        deadline = time.monotonic() + timeout
        pending = [o["id"] for o in ops]
        while pending and time.monotonic() < deadline:
            still = []
            for oid in pending:
                op = self.call("GET", f"/projects/{project}/operations/{oid}", expect=200).json["operation"]
                self.assertIn(op["status"], ("scheduling", "running", "finished"), op)
                if op["status"] != "finished":
                    still.append(oid)
            pending = still
            if pending:
                time.sleep(0.1)
        self.assertEqual(pending, [], "operations did not finish")

    def psql(self, uri, sql, env=None):
        e = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": self.root,
             "PGCONNECT_TIMEOUT": "10"}
        e.update(env or {})
        p = subprocess.run(as_runner(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql]),
                           env=e, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, f"psql {uri}: {p.stderr}")
        return p.stdout.strip()

    # -- tests ---------------------------------------------------------------

    def test_auth_errors_and_request_ids(self):
        r = self.call("GET", "/projects", key=None, expect=401)
        self.assertEqual(set(r.json), {"code", "message", "request_id"})
        r = self.call("GET", "/projects", key="wrong-key", expect=401)
        self.assertIn("invalid", r.json["message"])
        r = self.call("GET", "/projects/nope-404/branches", expect=404, headers={"X-Request-ID": "req-123"})
        self.assertEqual(r.json["request_id"], "req-123")
        self.assertEqual(r.header("x-neon-ret-request-id"), "req-123")
        r = self.call("GET", "/projects", expect=200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        # One connection serves several requests (HTTP/1.1 keep-alive).
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for _ in range(3):
                conn.request("GET", "/api/v2/projects", headers={"Authorization": f"Bearer {KEY}"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.read()
                self.assertFalse(resp.will_close)
        finally:
            conn.close()

    def test_projects_pagination_and_orgs(self):
        # A personal key in one org: that org's projects, newest first, cursor = last id.
        r = self.call("GET", "/projects", query={"limit": 1}, expect=200).json
        self.assertEqual(len(r["projects"]), 1)
        self.assertEqual(r["pagination"]["cursor"], r["projects"][0]["id"])
        self.assertEqual(r["applications"], {})
        seen = [r["projects"][0]["id"]]
        while True:
            r = self.call("GET", "/projects", query={"limit": 1, "cursor": seen[-1]}, expect=200).json
            if not r["projects"]:
                self.assertNotIn("pagination", r)  # an empty page carries none
                break
            seen.append(r["projects"][0]["id"])
        self.assertEqual(sorted(seen), sorted([P1, P2]))
        self.assertEqual(r["projects"], [])
        p = self.call("GET", "/projects", query={"limit": 100}, expect=200).json["projects"]
        self.assertEqual({x["id"] for x in p}, {P1, P2})
        self.assertEqual({x["org_id"] for x in p}, {ORG_A})
        self.assertEqual({x["proxy_host"] for x in p}, {"us-east-2.aws.neon.tech",
                                                          "c-2.eu-central-1.aws.neon.tech"})
        # Several orgs: org_id is required.
        r = self.call("GET", "/projects", key=MULTI_ORG_KEY, expect=400).json
        self.assertEqual(r["message"], "org_id is required, you can find it on your organization settings page")
        r = self.call("GET", "/projects", key=MULTI_ORG_KEY, query={"org_id": ORG_B}, expect=200).json
        self.assertEqual([x["id"] for x in r["projects"]], ["many-branches-10000001"])
        orgs = self.call("GET", "/users/me/organizations", key=MULTI_ORG_KEY, expect=200).json
        self.assertEqual({o["id"] for o in orgs["organizations"]}, {ORG_A, ORG_B})
        self.call("GET", "/projects", query={"org_id": ORG_B}, expect=403)
        # Organization and project keys.
        r = self.call("GET", "/projects", key=ORG_KEY, expect=200).json
        self.assertEqual({x["id"] for x in r["projects"]}, {P1, P2})
        r = self.call("GET", "/users/me/organizations", key=ORG_KEY, expect=403).json
        self.assertIn("organization API keys", r["message"])
        self.assertEqual(self.call("GET", "/auth", key=ORG_KEY, expect=200).json,
                         {"account_id": ORG_A, "auth_method": "api_key_org"})
        r = self.call("GET", "/projects", key=PROJECT_KEY, expect=200).json
        self.assertEqual([x["id"] for x in r["projects"]], [P2])
        self.call("GET", f"/projects/{P1}", key=PROJECT_KEY, expect=404)
        # Search, shared, bad limits.
        r = self.call("GET", "/projects", query={"search": "shop"}, expect=200).json
        self.assertEqual([x["id"] for x in r["projects"]], [P2])
        r = self.call("GET", "/projects/shared", query={"limit": 100}, expect=200).json
        self.assertEqual(r["projects"], [])
        self.request_violations_expected = True
        self.call("GET", "/projects", query={"limit": 0}, expect=400)
        self.call("GET", "/projects", query={"limit": 401}, expect=400)
        self.call("GET", "/projects", query={"limit": "ten"}, expect=400)

    def test_reads_and_connection_uris(self):
        p = self.call("GET", f"/projects/{P1}", expect=200).json["project"]
        self.assertEqual((p["id"], p["region_id"], p["org_id"]), (P1, "aws-us-east-2", ORG_A))
        self.assertIn("compute_last_active_at", p)
        eps = self.call("GET", f"/projects/{P1}/endpoints", expect=200).json["endpoints"]
        self.assertEqual([e["id"] for e in eps], [P1_MAIN_EP])
        self.assertEqual(eps[0]["host"], f"{P1_MAIN_EP}.us-east-2.aws.neon.tech")
        self.assertEqual((eps[0]["branch_id"], eps[0]["type"], eps[0]["current_state"]),
                         (P1_MAIN, "read_write", "active"))
        self.assertEqual(self.call("GET", f"/projects/{P1}/endpoints/{P1_MAIN_EP}",
                                   expect=200).json["endpoint"]["id"], P1_MAIN_EP)
        self.assertEqual(self.call("GET", f"/projects/{P1}/branches/{P1_STAGING}/endpoints",
                                   expect=200).json["endpoints"], [])
        eps2 = self.call("GET", f"/projects/{P2}/endpoints", expect=200).json["endpoints"]
        self.assertRegex(eps2[0]["host"], EP_HOST_RX)
        self.assertIn(".c-2.eu-central-1.aws.neon.tech", eps2[0]["host"])
        self.assertEqual(eps2[0]["current_state"], "idle")
        b = self.call("GET", f"/projects/{P1}/branches/{P1_STAGING}", expect=200).json
        self.assertEqual((b["branch"]["parent_id"], b["branch"]["protected"], b["branch"]["default"]),
                         (P1_MAIN, True, False))
        self.assertEqual(b["annotation"]["object"], {"type": "console/branch", "id": P1_STAGING})
        roles = self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/roles", expect=200).json["roles"]
        self.assertEqual([r["name"] for r in roles], ["neondb_owner"])
        self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/roles/neondb_owner", expect=200)
        self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/roles/nobody/reveal_password", expect=404)
        pw = self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/roles/neondb_owner/reveal_password",
                       expect=200).json["password"]
        self.assertTrue(pw.startswith("npg_"))
        dbs = self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/databases", expect=200).json["databases"]
        self.assertEqual([(d["name"], d["owner_name"]) for d in dbs], [("neondb", "neondb_owner")])
        self.call("GET", f"/projects/{P1}/branches/{P1_MAIN}/databases/neondb", expect=200)
        self.assertEqual(self.call("GET", f"/projects/{P1}/branches/count", expect=200).json, {"count": 2})
        me = self.call("GET", "/users/me", expect=200).json
        self.assertEqual(me["email"], "dev@example.com")
        self.assertEqual(self.call("GET", "/auth", expect=200).json["auth_method"], "api_key_user")
        # connection_uri: the Neon host for resolution, hostaddr + port to connect.
        q = {"database_name": "neondb", "role_name": "neondb_owner"}
        uri = self.call("GET", f"/projects/{P1}/connection_uri", query=q, expect=200).json["uri"]
        u = urllib.parse.urlsplit(uri)
        self.assertEqual(u.hostname, f"{P1_MAIN_EP}.us-east-2.aws.neon.tech")
        self.assertEqual(u.port, self.pg_port)
        self.assertEqual(urllib.parse.parse_qs(u.query), {"sslmode": ["require"], "hostaddr": ["127.0.0.1"]})
        self.assertEqual(u.password, pw)
        self.assertEqual(self.psql(uri, "SELECT string_agg(name, ',' ORDER BY id) FROM items"), "one,two,three")
        self.assertEqual(self.psql(uri, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"), "t")
        pooled = self.call("GET", f"/projects/{P1}/connection_uri", query={**q, "pooled": "true"},
                           expect=200).json["uri"]
        self.assertEqual(urllib.parse.urlsplit(pooled).hostname,
                         f"{P1_MAIN_EP}-pooler.us-east-2.aws.neon.tech")
        self.assertEqual(self.psql(pooled, "SELECT count(*) FROM items"), "3")
        self.call("GET", f"/projects/{P1}/connection_uri",
                  query={**q, "branch_id": P1_STAGING}, expect=404)  # no endpoint there
        self.call("GET", f"/projects/{P1}/connection_uri",
                  query={"database_name": "nope", "role_name": "neondb_owner"}, expect=404)
        self.request_violations_expected = True
        self.call("GET", f"/projects/{P1}/connection_uri", query={"role_name": "neondb_owner"}, expect=400)

    def test_branch_lifecycle(self):
        main_uri = self.call("GET", f"/projects/{P1}/connection_uri",
                             query={"database_name": "neondb", "role_name": "neondb_owner"}).json["uri"]
        self.control("POST", "config", {"op_delay_ms": 1500})  # room for the 423 check under load
        r = self.call("POST", f"/projects/{P1}/branches",
                      body={"branch": {"name": "dev-alice"}, "endpoints": [{"type": "read_write"}],
                            "annotation_value": {"owner": "alice"}}, expect=201).json
        b = r["branch"]
        self.assertEqual((b["name"], b["parent_id"], b["current_state"], b["pending_state"]),
                         ("dev-alice", P1_MAIN, "init", "ready"))
        self.assertRegex(b["id"], r"^br-[a-z]+-[a-z]+-[a-z0-9]{8}$")
        self.assertEqual({o["action"] for o in r["operations"]}, {"create_branch", "start_compute"})
        self.assertTrue(all(o["status"] in ("running", "scheduling") for o in r["operations"]))
        self.assertEqual(r["endpoints"][0]["current_state"], "init")
        self.assertRegex(r["endpoints"][0]["host"], EP_HOST_RX)
        self.assertEqual(r["roles"][0]["name"], "neondb_owner")
        cu = r["connection_uris"][0]
        self.assertEqual(cu["connection_parameters"]["host"], r["endpoints"][0]["host"])
        self.assertEqual(cu["connection_parameters"]["pooler_host"],
                         r["endpoints"][0]["host"].replace(r["endpoints"][0]["id"],
                                                           r["endpoints"][0]["id"] + "-pooler"))
        # 423 while its operations run; 409 for the same name (checked first).
        locked = self.call("POST", f"/projects/{P1}/branches", body={"branch": {"name": "other"}},
                           expect=423).json
        self.assertEqual(locked["message"],
                         "project already has running conflicting operations, scheduling of new ones is prohibited")
        dup = self.call("POST", f"/projects/{P1}/branches", body={"branch": {"name": "dev-alice"}},
                        expect=409).json
        self.assertEqual(dup["message"], 'branch with the provided name "dev-alice" already exists')
        self.wait_ops(P1, r["operations"])
        self.control("POST", "config", {"op_delay_ms": 300})
        got = self.call("GET", f"/projects/{P1}/branches/{b['id']}", expect=200).json
        self.assertEqual(got["branch"]["current_state"], "ready")
        self.assertNotIn("pending_state", got["branch"])
        self.assertEqual(got["annotation"]["value"], {"owner": "alice"})
        ep = self.call("GET", f"/projects/{P1}/branches/{b['id']}/endpoints", expect=200).json["endpoints"][0]
        self.assertEqual(ep["current_state"], "active")
        # Real copy-on-write semantics: a copy of main, then independent.
        uri = cu["connection_uri"]
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM items"), "3")
        self.psql(uri, "INSERT INTO items VALUES (4, 'four')")
        self.assertEqual(self.psql(main_uri, "SELECT count(*) FROM items"), "3")
        same = self.call("GET", f"/projects/{P1}/connection_uri",
                         query={"database_name": cu["connection_parameters"]["database"],
                                "role_name": "neondb_owner", "branch_id": b["id"]}, expect=200).json["uri"]
        self.assertEqual(same, uri)
        # Reset to parent: restore with source = parent; a held session is dropped.
        holder = subprocess.Popen(as_runner(["psql", "-X", "-d", uri, "-c", "SELECT pg_sleep(30)"]),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={"PATH": "/usr/bin:/bin", "HOME": self.root})
        dbname = cu["connection_parameters"]["database"]
        deadline = time.monotonic() + 20
        while self.psql(main_uri, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                  f"'{dbname}' AND query LIKE '%pg_sleep(30)%'") != "1":
            self.assertLess(time.monotonic(), deadline, "the holding session never connected")
            time.sleep(0.05)
        rr = self.call("POST", f"/projects/{P1}/branches/{b['id']}/restore",
                       body={"source_branch_id": P1_MAIN}, expect=200).json
        self.assertEqual(rr["branch"]["id"], b["id"])
        self.assertIn("last_reset_at", rr["branch"])
        holder.wait(10)
        self.wait_ops(P1, rr["operations"])
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM items"), "3")
        # preserve_under_name keeps the old state as a branch, which becomes the parent.
        self.psql(uri, "INSERT INTO items VALUES (5, 'five')")
        rp = self.call("POST", f"/projects/{P1}/branches/{b['id']}/restore",
                       body={"source_branch_id": P1_MAIN, "preserve_under_name": "dev-alice-old"},
                       expect=200).json
        self.wait_ops(P1, rp["operations"])
        backup = next(x for x in self.call("GET", f"/projects/{P1}/branches").json["branches"]
                      if x["name"] == "dev-alice-old")
        self.assertEqual(rp["branch"]["parent_id"], backup["id"])
        self.assertEqual(self.psql(uri, "SELECT count(*) FROM items"), "3")
        bk_uri = uri.replace("/" + cu["connection_parameters"]["database"] + "?",
                             "/" + self.call("GET", f"/projects/{P1}/branches/{backup['id']}/databases")
                             .json["databases"][0]["name"] + "?")
        self.assertEqual(self.psql(bk_uri, "SELECT count(*) FROM items"), "4")
        self.call("DELETE", f"/projects/{P1}/branches/{backup['id']}", expect=400)  # has a child
        # Refusals.
        self.call("POST", f"/projects/{P1}/branches/{P1_MAIN}/restore",
                  body={"source_branch_id": P1_MAIN}, expect=400)
        self.call("POST", f"/projects/{P1}/branches/{b['id']}/restore",
                  body={"source_branch_id": "br-none-such-00000000"}, expect=404)
        self.call("DELETE", f"/projects/{P1}/branches/{P1_MAIN}", expect=400)
        self.call("DELETE", f"/projects/{P1}/branches/{P1_STAGING}", expect=400)
        # Patch, then delete; deleting again is 204.
        pr = self.call("PATCH", f"/projects/{P1}/branches/{b['id']}",
                       body={"branch": {"name": "dev-alice-2"}}, expect=200).json
        self.assertEqual(pr["branch"]["name"], "dev-alice-2")
        d = self.call("DELETE", f"/projects/{P1}/branches/{b['id']}", expect=200).json
        self.assertEqual({o["action"] for o in d["operations"]}, {"suspend_compute", "delete_timeline"})
        self.wait_ops(P1, d["operations"])
        self.call("GET", f"/projects/{P1}/branches/{b['id']}", expect=404)
        self.call("DELETE", f"/projects/{P1}/branches/{b['id']}", expect=204)
        self.wait_ops(P1, self.call("DELETE", f"/projects/{P1}/branches/{backup['id']}",
                                    expect=200).json["operations"])
        self.assertEqual(self.call("GET", f"/projects/{P1}/endpoints").json["endpoints"][0]["id"], P1_MAIN_EP)
        # No body: from the default branch, generated name, no endpoint, no URIs.
        r = self.call("POST", f"/projects/{P1}/branches", expect=201).json
        self.assertEqual(r["branch"]["name"], r["branch"]["id"])
        self.assertEqual(r["endpoints"], [])
        self.assertNotIn("connection_uris", r)
        self.wait_ops(P1, r["operations"])
        # Schema-only: tables, no rows.
        s = self.call("POST", f"/projects/{P1}/branches",
                      body={"branch": {"name": "schema-only", "init_source": "schema-only"},
                            "endpoints": [{"type": "read_write"}]}, expect=201).json
        self.wait_ops(P1, s["operations"])
        self.assertEqual(self.psql(s["connection_uris"][0]["connection_uri"], "SELECT count(*) FROM items"), "0")
        for x in (r, s):
            self.wait_ops(P1, self.call("DELETE", f"/projects/{P1}/branches/{x['branch']['id']}",
                                        expect=200).json["operations"])
        st = self.control("GET", "stats")
        self.assertGreaterEqual(st["terminated_sessions"], 0)

    def test_branch_pagination(self):
        pid = "many-branches-10000001"
        self.control("POST", "config", {"op_delay_ms": 0})
        names = ["main"]
        for i in range(6):
            r = self.call("POST", f"/projects/{pid}/branches", key=MULTI_ORG_KEY,
                          body={"branch": {"name": f"b{i:02d}"}}, expect=201).json
            names.append(r["branch"]["name"])
        # limit + next, sorted by name ascending.
        got, cursor, pages = [], None, 0
        while True:
            q = {"limit": 3, "sort_by": "name", "sort_order": "asc"}
            if cursor:
                q["cursor"] = cursor
            r = self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, query=q, expect=200).json
            pages += 1
            self.assertEqual(r["pagination"]["sort_by"], "name")
            self.assertEqual(r["pagination"]["sort_order"], "ASC")
            got += [b["name"] for b in r["branches"]]
            cursor = r["pagination"].get("next")
            if not r["branches"]:
                self.assertIsNone(cursor)
                break
            self.assertTrue(cursor, "next is present on every non-empty page")
        self.assertEqual(got, sorted(names))
        self.assertEqual(pages, 4)  # 3 + 3 + 1 + the empty page
        # Default order: updated_at, newest first, all branches without limit.
        r = self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, expect=200).json
        self.assertEqual(r["pagination"]["sort_order"], "DESC")
        self.assertEqual(len(r["branches"]), 7)
        self.assertEqual(r["branches"][-1]["name"], "main")
        self.assertEqual(r["branches"][0]["name"], "b05")
        # Forced small pages ("many pages").
        self.control("POST", "config", {"max_page_size": 2})
        r = self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, query={"limit": 100}, expect=200).json
        self.assertEqual(len(r["branches"]), 2)
        r = self.call("GET", "/projects", key=MULTI_ORG_KEY, query={"org_id": ORG_A, "limit": 100}).json
        self.assertEqual(len(r["projects"]), 2)
        self.control("POST", "config", {"max_page_size": None})
        r = self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, query={"search": "b0"}).json
        self.assertEqual(len(r["branches"]), 6)
        main_id = next(b["id"] for b in self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY)
                       .json["branches"] if b["name"] == "main")
        b00 = next(b for b in r["branches"] if b["name"] == "b00")
        d = self.call("POST", f"/projects/{pid}/branches/{b00['id']}/set_as_default", key=MULTI_ORG_KEY,
                      expect=200).json
        self.assertTrue(d["branch"]["default"])
        self.call("DELETE", f"/projects/{pid}/branches/{b00['id']}", key=MULTI_ORG_KEY, expect=400)
        self.call("POST", f"/projects/{pid}/branches/{main_id}/set_as_default", key=MULTI_ORG_KEY,
                  expect=200)
        self.request_violations_expected = True
        self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, query={"cursor": "garbage"},
                  expect=400)
        self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY, query={"sort_by": "size"},
                  expect=400)
        for b in self.call("GET", f"/projects/{pid}/branches", key=MULTI_ORG_KEY).json["branches"]:
            if b["name"] != "main":
                self.call("DELETE", f"/projects/{pid}/branches/{b['id']}", key=MULTI_ORG_KEY, expect=200)

    def test_operations_list(self):
        self.control("POST", "config", {"op_delay_ms": 0})
        ids = []
        for i in range(3):
            r = self.call("POST", f"/projects/{P2}/branches", body={"branch": {"name": f"ops-{i}"}},
                          expect=201).json
            ids.append(r["branch"]["id"])
        r = self.call("GET", f"/projects/{P2}/operations", query={"limit": 2}, expect=200).json
        self.assertEqual(len(r["operations"]), 2)
        self.assertEqual(r["operations"][0]["status"], "finished")
        r2 = self.call("GET", f"/projects/{P2}/operations",
                       query={"limit": 2, "cursor": r["pagination"]["cursor"]}, expect=200).json
        self.assertEqual(len(r2["operations"]), 1)
        self.assertFalse({o["id"] for o in r["operations"]} & {o["id"] for o in r2["operations"]})
        self.call("GET", f"/projects/{P2}/operations/00000000-0000-4000-8000-000000000000", expect=404)
        for bid in ids:
            self.call("DELETE", f"/projects/{P2}/branches/{bid}", expect=200)

    def test_faults(self):
        path = f"/projects/{P1}/branches"
        route = "GET /projects/{project_id}/branches"

        def fault(**kw):
            self.control("POST", "faults", {"route": route, **kw})

        # A burst of 429 with Retry-After, then success.
        fault(kind="status", status=429, retry_after=1, count=3)
        for _ in range(3):
            r = self.call("GET", path, expect=429)
            self.assertEqual(r.header("Retry-After"), "1")
        self.call("GET", path, expect=200)
        # 429 without Retry-After, 503, 423 (with Neon's message), 500.
        fault(kind="status", status=429)
        r = self.call("GET", path, expect=429)
        self.assertIsNone(r.header("Retry-After"))
        fault(kind="status", status=503, count=2)
        self.call("GET", path, expect=503)
        self.call("GET", path, expect=503)
        self.call("GET", path, expect=200)
        self.control("POST", "faults", {"route": "POST /projects/{project_id}/branches",
                                        "kind": "status", "status": 423})
        r = self.call("POST", path, body={"branch": {"name": "never"}}, expect=423)
        self.assertIn("running conflicting operations", r.json["message"])
        names = [b["name"] for b in self.call("GET", path).json["branches"]]
        self.assertNotIn("never", names, "a refused request must not be carried out")
        # skip: the first N requests pass.
        fault(kind="status", status=503, skip=1)
        self.call("GET", path, expect=200)
        self.call("GET", path, expect=503)
        # Slow response.
        fault(kind="delay", delay_ms=400)
        t = time.monotonic()
        self.call("GET", path, expect=200)
        self.assertGreaterEqual(time.monotonic() - t, 0.4)
        # Truncated JSON: well framed, not JSON.
        fault(kind="truncate")
        r = self.raw("GET", "/api/v2" + path)
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(r.raw))
        with self.assertRaises(ValueError):
            json.loads(r.raw)
        full = self.raw("GET", "/api/v2" + path).raw
        self.assertTrue(full.startswith(r.raw))
        # Malformed JSON.
        fault(kind="malformed")
        r = self.raw("GET", "/api/v2" + path)
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            json.loads(r.raw)
        # Cut connection: Content-Length promises more than arrives.
        fault(kind="disconnect")
        with self.assertRaises(http.client.IncompleteRead):
            self.raw("GET", "/api/v2" + path)
        # Reset: no answer at all.
        fault(kind="reset")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw("GET", "/api/v2" + path)
        # A proxy's HTML error page, and an empty body.
        fault(kind="html")
        r = self.raw("GET", "/api/v2" + path)
        self.assertEqual((r.status, r.header("Content-Type")), (502, "text/html"))
        fault(kind="empty")
        r = self.raw("GET", "/api/v2" + path)
        self.assertEqual((r.status, r.raw), (200, b""))
        # Any route: "*".
        self.control("POST", "faults", {"route": "*", "kind": "status", "status": 503})
        self.call("GET", "/projects", expect=503)
        # A POST that succeeded although its response was lost: a retry gets 409.
        self.control("POST", "config", {"op_delay_ms": 0})
        self.control("POST", "faults", {"route": "POST /projects/{project_id}/branches",
                                        "kind": "lost_response"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.raw("POST", "/api/v2" + path, body={"branch": {"name": "lost"}})
        self.call("POST", path, body={"branch": {"name": "lost"}}, expect=409)
        lost = next(b for b in self.call("GET", path).json["branches"] if b["name"] == "lost")
        # Operations that fail.
        self.control("POST", "faults", {"route": "POST /projects/{project_id}/branches",
                                        "kind": "op_failed"})
        r = self.call("POST", path, body={"branch": {"name": "doomed"}}, expect=201).json
        op = self.call("GET", f"/projects/{P1}/operations/{r['operations'][0]['id']}").json["operation"]
        self.assertEqual(op["status"], "failed")
        self.assertTrue(op["error"])
        self.assertEqual(self.call("GET", f"/projects/{P1}/branches/{r['branch']['id']}").json
                         ["branch"]["current_state"], "init")
        # Faults are listed with their hits; DELETE clears them.
        listed = self.control("GET", "faults")["faults"]
        self.assertTrue(all(f["hits"] >= 1 for f in listed))
        self.control("DELETE", "faults")
        for bid in (lost["id"], r["branch"]["id"]):
            self.call("DELETE", f"/projects/{P1}/branches/{bid}", expect=200)

    def test_stats_and_rate_limit(self):
        self.control("POST", "stats/reset")
        for _ in range(3):
            self.call("GET", f"/projects/{P1}/branches")
        self.call("GET", f"/projects/{P1}/endpoints")
        self.control("GET", "state")  # control requests are not counted
        st = self.control("GET", "stats")
        self.assertEqual(st["total"], 4)
        self.assertEqual(st["routes"], {"GET /projects/{project_id}/branches": 3,
                                        "GET /projects/{project_id}/endpoints": 1})
        self.assertEqual(st["statuses"], {"200": 4})
        self.assertEqual(st["last_minute"], 4)
        self.assertEqual(st["max_per_minute"], 4)
        self.control("DELETE", "stats")
        self.assertEqual(self.control("GET", "stats")["total"], 0)
        # Neon's 700/min, here lowered to 5.
        self.control("POST", "config", {"rate_limit_per_min": 5})
        statuses = [self.call("GET", "/projects").status for _ in range(7)]
        self.assertEqual(statuses, [200] * 5 + [429] * 2)
        self.control("POST", "config", {"rate_limit_per_min": 700})
        st = self.control("GET", "stats")
        self.assertEqual(st["statuses"], {"200": 5, "429": 2})
        self.assertEqual(len(self.control("GET", "requests")["requests"]) > 0, True)
        self.control("POST", "stats/reset")

    def test_neonctl(self):
        cli = os.path.join(PEERS, "node_modules", ".bin", "neonctl")
        home = os.path.join(self.root, "neonctl-home")
        os.makedirs(home, exist_ok=True)
        uid, gid = runner_ids()
        os.chown(home, uid, gid)
        env = {"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8", "CI": "true",
               "XDG_CONFIG_HOME": os.path.join(home, ".config"),
               "NEON_API_HOST": f"http://127.0.0.1:{self.port}/api/v2", "NEON_API_KEY": KEY}

        def neonctl(*args, out_json=True):
            argv = [cli, *args, "--no-analytics"] + (["-o", "json"] if out_json else [])
            p = subprocess.run(as_runner(argv), env=env, cwd=home, capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, f"neonctl {' '.join(args)}: {p.stdout}\n{p.stderr}")
            return json.loads(p.stdout) if out_json else p.stdout.strip()

        self.control("POST", "stats/reset")
        projects = neonctl("projects", "list")
        ids = {x["id"] for x in (projects["projects"] if isinstance(projects, dict) else projects)}
        self.assertEqual(ids, {P1, P2})
        branches = neonctl("branches", "list", "--project-id", P1)
        self.assertEqual({b["name"] for b in branches} >= {"main", "staging"}, True, branches)
        # neonctl retries a 423 (5 x 3 s) on create: one lock, then success.
        self.control("POST", "faults", {"route": "POST /projects/{project_id}/branches",
                                        "kind": "status", "status": 423})
        created = neonctl("branches", "create", "--project-id", P1, "--name", "from-neonctl")
        self.assertEqual(self.control("GET", "faults")["faults"][0]["hits"], 1)
        self.assertEqual(created["branch"]["name"], "from-neonctl")
        self.assertEqual(created["branch"]["parent_id"], P1_MAIN)
        self.assertEqual(created["endpoints"][0]["type"], "read_write")
        self.wait_ops(P1, [{"id": o["id"]} for o in self.call(
            "GET", f"/projects/{P1}/operations", query={"limit": 2}).json["operations"]])
        conn = neonctl("connection-string", "from-neonctl", "--project-id", P1, out_json=False)
        u = urllib.parse.urlsplit(conn)
        self.assertRegex(u.hostname, EP_HOST_RX)
        self.assertEqual(u.hostname, created["endpoints"][0]["host"])
        self.assertEqual(urllib.parse.parse_qs(u.query),
                         {"sslmode": ["require"], "channel_binding": ["require"]})
        # neonctl builds the string from the endpoint host (no port): point libpq at the cluster.
        self.assertEqual(self.psql(conn, "SELECT count(*) FROM items",
                                   env={"PGHOSTADDR": "127.0.0.1", "PGPORT": str(self.pg_port)}), "3")
        deleted = neonctl("branches", "delete", "from-neonctl", "--project-id", P1)
        self.assertEqual(deleted["name"], "from-neonctl")
        names = {b["name"] for b in self.call("GET", f"/projects/{P1}/branches").json["branches"]}
        self.assertNotIn("from-neonctl", names)
        st = self.control("GET", "stats")
        self.assertEqual(st["routes"]["POST /projects/{project_id}/branches"], 2)
        print("\nneonctl requests:", json.dumps(st["routes"], sort_keys=True))
        uas = {r["user_agent"] for r in self.control("GET", "requests")["requests"]
               if r["route"].startswith("GET /projects")}
        self.assertTrue(any(ua.startswith("neonctl") for ua in uas), uas)

    def test_cli_options_synthetic_loopback(self):
        """A second double on the same cluster: --synthetic, --uri-style loopback,
        --fault, --max-page-size and --cleanup, as benchmarks and node clients use it."""
        seed = os.path.join(self.root, "seed2.json")
        with open(seed, "w") as f:
            json.dump({"orgs": [{"id": "org-alt-one-11111111", "name": "Alt"}],
                       "projects": [{"id": "alt-proj-22222222", "name": "alt", "database": "altdb",
                                     "role": "alt_owner", "password": "npg_altsecret1",
                                     "sql": "CREATE TABLE t (x int); INSERT INTO t VALUES (42);",
                                     "branches": [{"name": "main", "default": True},
                                                  {"name": "dev", "parent": "main"}]}],
                       "synthetic": {"projects": 3, "branches_per_project": 40}}, f)
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "neon_double.py"), "--port", "0",
             "--pg-conninfo", self.cluster.conninfo, "--seed", seed, "--api-key", "k2",
             "--uri-style", "loopback", "--uri-sslmode", "none", "--max-page-size", "5",
             "--op-delay-ms", "0", "--cleanup",
             "--fault", json.dumps({"route": "GET /projects", "kind": "status", "status": 503})],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            port = json.loads(p.stdout.readline())["port"]
            saved, self.port = self.port, port
            try:
                self.call("GET", "/projects", key="k2", expect=503)  # the --fault rule
                ids, cursor = [], None
                while True:
                    q = {"limit": 100, **({"cursor": cursor} if cursor else {})}
                    r = self.call("GET", "/projects", key="k2", query=q, expect=200).json
                    if not r["projects"]:
                        break
                    self.assertLessEqual(len(r["projects"]), 5)
                    ids += [x["id"] for x in r["projects"]]
                    cursor = r["pagination"]["cursor"]
                self.assertEqual(len(ids), 4)
                syn = next(i for i in ids if i != "alt-proj-22222222")
                r = self.call("GET", f"/projects/{syn}/branches", key="k2", expect=200).json
                self.assertEqual(len(r["branches"]), 5)
                self.control("POST", "config", {"max_page_size": None})
                r = self.call("GET", f"/projects/{syn}/branches", key="k2", expect=200).json
                self.assertEqual(len(r["branches"]), 40)
                eps = self.call("GET", f"/projects/{syn}/endpoints", key="k2").json["endpoints"]
                self.assertGreater(len(eps), 20)
                # Synthetic branches live in the API alone (what makes a
                # large account cheap to serve): no database behind them.
                children = [b["database"] for b in self.control("GET", "state")["branches"]
                            if b["project_id"] == syn and not b["default"]]
                self.assertEqual(len(children), 39)
                in_list = ", ".join(f"'{d}'" for d in children)
                alt_uri = f"postgresql://alt_owner:npg_altsecret1@127.0.0.1:{self.pg_port}/altdb"
                self.assertEqual(self.psql(alt_uri, "SELECT count(*) FROM pg_database "
                                                    f"WHERE datname IN ({in_list})"), "0")
                self.call("POST", f"/projects/{syn}/branches", key="k2", expect=400)  # API-only
                dev = next(b for b in self.call("GET", "/projects/alt-proj-22222222/branches",
                                                key="k2").json["branches"] if b["name"] == "dev")
                dbs = self.call("GET", f"/projects/alt-proj-22222222/branches/{dev['id']}/databases",
                                key="k2").json["databases"]
                dev_uri = self.call("GET", "/projects/alt-proj-22222222/connection_uri", key="k2",
                                    query={"database_name": dbs[0]["name"], "role_name": "alt_owner",
                                           "branch_id": dev["id"]}, expect=200).json["uri"]
                self.assertEqual(self.psql(dev_uri, "SELECT x FROM t"), "42")
                uri = self.call("GET", "/projects/alt-proj-22222222/connection_uri", key="k2",
                                query={"database_name": "altdb", "role_name": "alt_owner"},
                                expect=200).json["uri"]
                self.assertEqual(uri, f"postgresql://alt_owner:npg_altsecret1@127.0.0.1:{self.pg_port}/altdb")
                self.assertEqual(self.psql(uri, "SELECT x FROM t"), "42")
            finally:
                self.port = saved
        finally:
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err)
        left = self.psql(f"postgresql://alt_owner:npg_altsecret1@127.0.0.1:{self.pg_port}/altdb",
                         f"SELECT count(*) FROM pg_database WHERE datname = 'altdb_{dev['id'][-8:]}'")
        self.assertEqual(left, "0", "--cleanup drops the child databases")


def skip_reason():
    if not neon_spec.find_spec(PEERS):
        return f"{PEERS}/node_modules/{neon_spec.SPEC_PACKAGE}/{neon_spec.SPEC_FILE} is missing (npm ci in tests/peers)"
    if not os.path.exists(os.path.join(PEERS, "node_modules", ".bin", "neonctl")) or not shutil.which("node"):
        return "node or neonctl is missing"
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        return f"PostgreSQL 15 is missing ({PG_BIN})"
    for tool in ("psql", "openssl", "setpriv"):
        if not shutil.which(tool):
            return f"{tool} is missing"
    if IS_ROOT:
        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            return f"user {TEST_USER} is missing (scripts/ensure-test-user.sh)"
    try:
        import yaml  # noqa: F401
        import openapi_schema_validator  # noqa: F401
        import referencing  # noqa: F401
    except ImportError as e:
        return f"python module missing: {e}"
    return None


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print(f"skipped: {why}")
        sys.exit(125)
    unittest.main(verbosity=2)
