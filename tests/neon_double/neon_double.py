#!/usr/bin/env python3
"""A stateful test double of the Neon API v2, whose branches are real databases.

    python3 neon_double.py --port 0 --port-file F --pg-conninfo "host=/sock port=5432 user=postgres" \
        --api-key KEY [--seed seed.json] [--spec public-v2-for-users.gen.yaml]

On start it prints one JSON line to stdout, {"port": N, "base_url": "http://127.0.0.1:N/api/v2"},
and writes the port to --port-file if given. Point NEON_API_HOST at base_url.

Only the standard library (plus libpq through ctypes) is needed; --spec also
needs PyYAML, jsonschema and openapi-schema-validator (see neon_spec.py).

What is real
------------
Each branch is a PostgreSQL database on the cluster given by --pg-conninfo (a
superuser conninfo). Creating a branch is CREATE DATABASE <new> TEMPLATE
<parent's database>; deleting it drops the database (WITH (FORCE): sessions
drop, as Neon's computes do); reset-to-parent (POST .../restore with the
parent as source) drops and re-copies it. PostgreSQL refuses to copy a
database that has sessions, so those sessions are terminated first (counted
in /__control/stats as terminated_sessions); on Neon they would survive.
Each project has one owner role (LOGIN, password) that owns its branches'
databases, so the URIs the double hands out work with psql, libpq and a
migrator.

Database names. On Neon every branch has the same database name (e.g.
neondb) on a different host. Here all branches share one cluster, so the
name the API reports is the real, cluster-unique database name: the root
branch has the project's name (`neondb`), a child `neondb_<8 chars of its
branch id>`. Roles are cluster-wide, so two projects should use different
role names (the default seed does).

Hosts and connection URIs (the choice)
--------------------------------------
Endpoints look like Neon's: id `ep-<adjective>-<noun>-<8 chars>` (seeds may
pin legacy 6-digit ids), host `<id>.<region>.aws.neon.tech`
(`<id>.c-N.<region>.aws.neon.tech` for a project seeded with a cell,
`<id>.<region>.azure.neon.tech` on Azure), pooler host `<id>-pooler.…`. Those
names do not resolve here, so the URIs the double returns (create-branch
`connection_uris` and GET …/connection_uri) keep the Neon host, which is what
ds resolves to an endpoint id, and add libpq's `hostaddr` parameter plus the
cluster's port:

    postgresql://neondb_owner:npg_xxx@ep-cool-lake-a1b2c3d4.us-east-2.aws.neon.tech:54321/neondb?sslmode=require&hostaddr=127.0.0.1

libpq (psql, libpqxx) connects to hostaddr and uses host only for TLS
(SNI, verify-full) and for matching ~/.pgpass. `options=endpoint%3D…` was
not used: PostgreSQL rejects an unknown `endpoint` startup option. Clients that
are not libpq (node-postgres, hence the drizzle migrator) ignore hostaddr
and fail to resolve the name: start the double with --uri-style loopback to
get `postgresql://role:pw@127.0.0.1:PORT/db` instead (the endpoint id is
then only in the API). `sslmode=require` is added when the cluster has
ssl=on (--uri-sslmode). neonctl builds its own connection string from the
endpoint host with no port and no hostaddr: connect that one with
PGHOSTADDR=127.0.0.1 PGPORT=<port> in the environment.

Operations
----------
Mutations return `operations` that go scheduling/running -> finished
--op-delay-ms after the SQL work is done (never before); meanwhile the branch
is `init` (pending `ready`) and its endpoint `init`, then `active`. While a
project has an unfinished operation, further mutations on it get 423
"project already has running conflicting operations, scheduling of new ones
is prohibited". Duplicate branch names get 409
`branch with the provided name "X" already exists`.

Auth and orgs
-------------
`Authorization: Bearer <key>`; a missing or unknown key gets 401
{"code":"","message":…,"request_id":…}. --api-key KEY is a personal key in
every org of the seed; KEY=personal:ORG1,ORG2 limits its orgs;
KEY=org:ORG is an organization key (403 on /users/me/organizations);
KEY=project:PROJECT a project-scoped key. A personal key whose user is in
more than one org gets 400 "org_id is required, you can find it on your
organization settings page" from GET /projects without org_id.

Every response carries `x-neon-ret-request-id` (the request's X-Request-ID
when sent, else a fresh uuid); error bodies carry it as request_id.

Limits: 700 requests per minute over all keys (--rate-limit, 0 = off) gets
429 like Neon.

Control API (no auth, not counted; bind stays 127.0.0.1)
---------------------------------------------------------
GET  /__control/health
GET  /__control/stats            {"total", "routes": {"GET /projects": n}, "statuses",
                                  "max_per_minute", "last_minute", "terminated_sessions",
                                  "spec_violations": n}
POST /__control/stats/reset      (also DELETE /__control/stats)
GET  /__control/requests         last 500 requests: method, path, route, status, fault, …
GET  /__control/spec_violations  what --spec found (POST …/reset clears)
GET|POST|DELETE /__control/faults   POST one rule or {"faults": [rules]}; DELETE clears
GET|POST /__control/config       {"op_delay_ms", "max_page_size", "rate_limit_per_min"}
GET  /__control/state            every project, branch, endpoint, operation
POST /__control/branches/{id}    merge JSON fields into a stored branch (e.g. current_state;
                                 "hold_init": true keeps it in init, as a create that hangs)
POST /__control/endpoints/{id}   same for an endpoint (current_state, last_active, …)

A fault rule: {"route": "GET /projects/{project_id}/branches" | "/projects" | "*",
"kind": K, "count": 1 (-1 = forever), "skip": 0, "delay_ms": 0, …}; the route
is the spec's path template with or without the method. Kinds:
  status      answer `status` (429, 503, 423, 500, …) with a Neon error body;
              `retry_after` adds a Retry-After header (seconds or HTTP date),
              `message` overrides the text. The request is not carried out.
  delay       sleep delay_ms, then answer normally (any rule may carry delay_ms)
  html        502 with an HTML body, as a proxy in front of the API would send
  reset       close the connection without answering
  (status, html and reset do not carry the request out; the kinds below do)
  truncate    a well-framed response whose JSON body is cut in half
  disconnect  Content-Length of the full body, half of it, then the socket closes
  malformed   a well-framed response whose body is not JSON
  empty       the status with an empty body
  lost_response  close without answering (a POST that succeeded although the
              client saw a transport error: its retry gets 409)
  op_failed   the mutation's operations end `failed`; a new branch stays `init`
`skip` lets that many matching requests through first. The same rules can be
given at start with --fault JSON (repeatable).
Many pages: --max-page-size N or POST /__control/config {"max_page_size": N}
caps every page of projects, branches and operations, whatever `limit` says.
A client that stops on a page shorter than its `limit` (as neonctl does) then
sees only the first page; one that follows the cursor until an empty page
sees everything.

Seed (--seed FILE, JSON; a built-in default otherwise)
------------------------------------------------------
{"orgs": [{"id", "name"}], "user": {"id", "email", "name"},
 "projects": [{"id", "name", "org_id", "region_id": "aws-us-east-2", "cell": "c-2"?,
               "pg_version", "database": "neondb", "role": "neondb_owner",
               "password"?, "sql"?: run once in a newly created root database,
               "branches": [{"id"?, "name", "parent"?: name, "default"?, "protected"?,
                             "endpoint"?: id | false, "endpoint_state"?: "idle"}]}],
 "synthetic": {"projects": 50, "branches_per_project": 100}}
Branches get a read_write endpoint unless "endpoint": false. A root branch's
database is created if missing and kept if present (so a test may fill it
before starting the double; "sql" runs only on creation); seeded child
branches are re-copied from their parent at every start. Synthetic projects
exist in the API only (no databases): for listing and refresh benchmarks;
their connection URIs do not connect and they refuse mutations.
--cleanup drops the child-branch databases on SIGTERM/SIGINT.
"""

import argparse
import base64
import ctypes
import ctypes.util
import datetime
import http.server
import json
import os
import random
import re
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse
import uuid
from collections import deque

API_PREFIX = "/api/v2"
MSG_LOCKED = "project already has running conflicting operations, scheduling of new ones is prohibited"
MSG_ORG_REQUIRED = "org_id is required, you can find it on your organization settings page"
TERMINAL = {"finished", "skipped", "failed", "error", "cancelled"}

ADJECTIVES = ("ancient", "bitter", "black", "blue", "bold", "broad", "calm", "cold", "cool",
              "crimson", "damp", "dark", "dawn", "divine", "dry", "empty", "falling", "fancy",
              "flat", "floral", "fragrant", "frosty", "gentle", "green", "hidden", "holy",
              "icy", "jolly", "late", "lingering", "little", "lively", "long", "lucky", "misty",
              "morning", "muddy", "noisy", "odd", "old", "orange", "patient", "plain", "polished",
              "proud", "purple", "quiet", "rapid", "raspy", "red", "restless", "rough", "round",
              "royal", "shiny", "shrill", "shy", "silent", "small", "snowy", "soft", "solitary",
              "sparkling", "spring", "square", "steep", "still", "summer", "super", "sweet",
              "throbbing", "tight", "tiny", "twilight", "wandering", "weathered", "white",
              "wild", "winter", "wispy", "withered", "yellow", "young")
NOUNS = ("art", "band", "bar", "base", "bird", "block", "boat", "bonus", "bread", "breeze",
         "brook", "bush", "butterfly", "cake", "cell", "cherry", "cloud", "credit", "darkness",
         "dawn", "dew", "disk", "dream", "dust", "feather", "field", "fire", "firefly", "flower",
         "fog", "forest", "frog", "frost", "glade", "glitter", "grass", "hall", "hat", "haze",
         "heart", "hill", "king", "lab", "lake", "leaf", "limit", "math", "meadow", "mode",
         "moon", "morning", "mountain", "mouse", "mud", "night", "paper", "pine", "poetry",
         "pond", "queen", "rain", "recipe", "resonance", "rice", "river", "salad", "scene",
         "sea", "shadow", "shape", "silence", "sky", "smoke", "snow", "snowflake", "sound",
         "star", "sun", "sunset", "surf", "term", "thunder", "tooth", "tree", "truth", "union",
         "unit", "violet", "voice", "water", "waterfall", "wave", "wildflower", "wind", "wood")

RNG = random.Random()


def now_ts():
    return time.time()


def iso(ts):
    if ts is None:
        return None
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_expiry(value, branch=None, children=0):
    """Neon's rules for expires_at: RFC 3339, in the future, at most 30 days
    ahead; not on a default or protected branch or one with children."""
    if value is None:
        return
    if not isinstance(value, str):
        raise ApiError(400, "expires_at must be an RFC 3339 timestamp")
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ApiError(400, "expires_at must be an RFC 3339 timestamp")
    if t <= now_ts():
        raise ApiError(400, "expires_at must be in the future")
    if t > now_ts() + 30 * 86400 + 60:
        raise ApiError(400, "expires_at must be at most 30 days in the future")
    if branch is not None and (branch["default"] or branch["protected"]):
        raise ApiError(400, "expiration cannot be set on a default or protected branch")
    if children:
        raise ApiError(400, "expiration cannot be set on a branch that has child branches")


def haiku():
    return f"{RNG.choice(ADJECTIVES)}-{RNG.choice(NOUNS)}"


def alnum(n):
    first = RNG.choice(string.ascii_lowercase)
    return first + "".join(RNG.choice(string.ascii_lowercase + string.digits) for _ in range(n - 1))


def digits(n):
    return "".join(RNG.choice(string.digits) for _ in range(n))


def gen_password():
    return "npg_" + "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(12))


def qi(name):
    return '"' + name.replace('"', '""') + '"'


def ql(text):
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# libpq through ctypes (no Python driver in the image)


class PgError(Exception):
    def __init__(self, sqlstate, message):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


class Pg:
    CONNECTION_OK = 0
    PGRES_COMMAND_OK = 1
    PGRES_TUPLES_OK = 2
    DIAG_SQLSTATE = ord("C")

    def __init__(self, conninfo):
        path = ctypes.util.find_library("pq") or "libpq.so.5"
        lib = ctypes.CDLL(path)
        vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
        lib.PQconnectdbParams.restype = vp
        lib.PQconnectdbParams.argtypes = [ctypes.POINTER(cp), ctypes.POINTER(cp), ci]
        lib.PQstatus.restype = ci
        lib.PQstatus.argtypes = [vp]
        lib.PQerrorMessage.restype = cp
        lib.PQerrorMessage.argtypes = [vp]
        lib.PQexec.restype = vp
        lib.PQexec.argtypes = [vp, cp]
        lib.PQresultStatus.restype = ci
        lib.PQresultStatus.argtypes = [vp]
        lib.PQresultErrorMessage.restype = cp
        lib.PQresultErrorMessage.argtypes = [vp]
        lib.PQresultErrorField.restype = cp
        lib.PQresultErrorField.argtypes = [vp, ci]
        lib.PQntuples.restype = ci
        lib.PQntuples.argtypes = [vp]
        lib.PQnfields.restype = ci
        lib.PQnfields.argtypes = [vp]
        lib.PQgetisnull.restype = ci
        lib.PQgetisnull.argtypes = [vp, ci, ci]
        lib.PQgetvalue.restype = cp
        lib.PQgetvalue.argtypes = [vp, ci, ci]
        lib.PQclear.argtypes = [vp]
        lib.PQfinish.argtypes = [vp]
        self.lib = lib
        self.conninfo = conninfo
        self.lock = threading.Lock()  # DDL is serialised, as templates demand

    def connect(self, dbname=None):
        keys = [b"dbname", b"application_name"]
        vals = [self.conninfo.encode(), b"neon_double"]
        if dbname:
            keys.append(b"dbname")
            vals.append(dbname.encode())
        karr = (ctypes.c_char_p * (len(keys) + 1))(*keys, None)
        varr = (ctypes.c_char_p * (len(vals) + 1))(*vals, None)
        conn = self.lib.PQconnectdbParams(karr, varr, 1)
        if not conn:
            raise PgError("08000", "out of memory")
        if self.lib.PQstatus(conn) != self.CONNECTION_OK:
            msg = (self.lib.PQerrorMessage(conn) or b"").decode(errors="replace").strip()
            self.lib.PQfinish(conn)
            raise PgError("08000", msg)
        return conn

    def close(self, conn):
        self.lib.PQfinish(conn)

    def exec(self, conn, sql):
        res = self.lib.PQexec(conn, sql.encode())
        if not res:
            raise PgError("08000", (self.lib.PQerrorMessage(conn) or b"").decode(errors="replace"))
        try:
            st = self.lib.PQresultStatus(res)
            if st not in (self.PGRES_COMMAND_OK, self.PGRES_TUPLES_OK):
                state = (self.lib.PQresultErrorField(res, self.DIAG_SQLSTATE) or b"").decode()
                msg = (self.lib.PQresultErrorMessage(res) or b"").decode(errors="replace").strip()
                raise PgError(state, msg)
            rows = []
            for r in range(self.lib.PQntuples(res)):
                row = []
                for c in range(self.lib.PQnfields(res)):
                    if self.lib.PQgetisnull(res, r, c):
                        row.append(None)
                    else:
                        row.append(self.lib.PQgetvalue(res, r, c).decode())
                rows.append(tuple(row))
            return rows
        finally:
            self.lib.PQclear(res)

    def run(self, sql, dbname=None):
        conn = self.connect(dbname)
        try:
            return self.exec(conn, sql)
        finally:
            self.close(conn)


# ---------------------------------------------------------------------------
# State


class ApiError(Exception):
    def __init__(self, status, message, code="", headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


DEFAULT_SEED = {
    "user": {"id": "0b4ab2d5-6d3f-4c1e-9a55-3f6c0e8b71aa", "email": "dev@example.com",
             "name": "Dana Developer"},
    "orgs": [{"id": "org-quiet-sun-41022319", "name": "Acme"}],
    "projects": [
        {"id": "shiny-wind-02883412", "name": "acme-app", "org_id": "org-quiet-sun-41022319",
         "region_id": "aws-us-east-2", "pg_version": 15, "database": "neondb",
         "role": "neondb_owner",
         "branches": [
             {"id": "br-aged-salad-a1b2c3d4", "name": "main", "default": True,
              "endpoint": "ep-little-smoke-851426"},
             {"id": "br-proud-river-q7w8e9r1", "name": "staging", "parent": "main",
              "protected": True},
         ]},
        {"id": "bold-cloud-46821877", "name": "acme-shop", "org_id": "org-quiet-sun-41022319",
         "region_id": "aws-eu-central-1", "cell": "c-2", "pg_version": 15,
         "database": "shopdb", "role": "shop_owner",
         "branches": [
             {"id": "br-snowy-hill-z9y8x7w6", "name": "main", "default": True,
              "endpoint_state": "idle"},
         ]},
    ],
}


class Double:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.pg = Pg(args.pg_conninfo) if args.pg_conninfo else None
        self.uri_host = args.pg_host
        self.uri_port = args.pg_port
        self.sslmode = None
        self.config = {"op_delay_ms": args.op_delay_ms, "max_page_size": args.max_page_size,
                       "rate_limit_per_min": args.rate_limit}
        self.orgs = {}          # id -> dict
        self.user = {}
        self.keys = {}          # key -> {"type", "orgs"|"org"|"project"}
        self.projects = {}      # id -> dict (insertion order = creation order)
        self.branches = {}      # id -> dict
        self.endpoints = {}     # id -> dict
        self.operations = {}    # id -> dict
        self.deleted_branches = set()
        self.roles = {}         # role name -> password (cluster-wide)
        self.db_seq = 1000
        self.faults = []
        self.stats_lock = threading.Lock()
        self.reset_stats()
        self.requests = deque(maxlen=500)
        self.spec = None
        self.spec_violations = deque(maxlen=1000)
        self.spec_violation_count = 0
        self.created_dbs = []

    # -- stats -------------------------------------------------------------

    def reset_stats(self):
        with self.stats_lock:
            self.stats = {"total": 0, "routes": {}, "statuses": {}, "max_per_minute": 0,
                          "terminated_sessions": 0,
                          "since": iso(now_ts())}
            self.window = deque()

    def count_request(self, route):
        """Counts a request; returns the number in the last 60 s (itself included)."""
        t = time.monotonic()
        with self.stats_lock:
            self.stats["total"] += 1
            self.stats["routes"][route] = self.stats["routes"].get(route, 0) + 1
            self.window.append(t)
            while self.window and self.window[0] <= t - 60:
                self.window.popleft()
            n = len(self.window)
            if n > self.stats["max_per_minute"]:
                self.stats["max_per_minute"] = n
            return n

    def count_status(self, status):
        with self.stats_lock:
            k = str(status)
            self.stats["statuses"][k] = self.stats["statuses"].get(k, 0) + 1

    def stats_view(self):
        with self.stats_lock:
            t = time.monotonic()
            while self.window and self.window[0] <= t - 60:
                self.window.popleft()
            out = json.loads(json.dumps(self.stats))
            out["last_minute"] = len(self.window)
        out["spec_violations"] = self.spec_violation_count
        return out

    def add_terminated(self, n):
        with self.stats_lock:
            self.stats["terminated_sessions"] += n

    # -- seeding -----------------------------------------------------------

    def setup(self, seed):
        if self.pg:
            rows = self.pg.run("SELECT current_setting('port'), current_setting('ssl')")
            if self.uri_port is None:
                self.uri_port = int(rows[0][0])
            mode = self.args.uri_sslmode
            if mode == "auto":
                mode = "require" if rows[0][1] == "on" else "none"
            self.sslmode = None if mode == "none" else mode
        self.user = dict(seed.get("user") or DEFAULT_SEED["user"])
        for o in seed.get("orgs", []):
            self.orgs[o["id"]] = self._org(o)
        for spec in self.args.api_key or []:
            self._add_key(spec)
        for k in seed.get("keys", []):
            self._add_key_dict(dict(k))
        for p in seed.get("projects", []):
            self._seed_project(p, synthetic=False)
        syn = seed.get("synthetic") or {}
        if self.args.synthetic:
            a, _, b = self.args.synthetic.partition("x")
            syn = {"projects": int(a), "branches_per_project": int(b or 1)}
        org_id = next(iter(self.orgs), None)
        for i in range(int(syn.get("projects", 0))):
            branches = [{"name": "main", "default": True}]
            for j in range(int(syn.get("branches_per_project", 1)) - 1):
                branches.append({"name": f"dev-{j:04d}", "parent": "main",
                                 "endpoint": None if j % 3 else False})
            self._seed_project({"name": f"synthetic-{i:03d}", "org_id": org_id,
                                "region_id": "aws-us-east-2", "branches": branches},
                               synthetic=True)

    def _org(self, o):
        t = iso(now_ts() - 86400 * 90)
        return {"id": o["id"], "name": o.get("name", o["id"]),
                "handle": o.get("handle", o["id"]), "plan": o.get("plan", "scale"),
                "created_at": t, "updated_at": t, "managed_by": "console"}

    def _add_key(self, spec):
        key, _, rest = spec.partition("=")
        if not rest:
            self.keys[key] = {"type": "personal", "orgs": None}
            return
        kind, _, target = rest.partition(":")
        d = {"key": key, "type": kind}
        if kind == "personal":
            d["orgs"] = [x for x in target.split(",") if x]
        elif kind == "org":
            d["org"] = target
        elif kind == "project":
            d["project"] = target
        else:
            raise SystemExit(f"--api-key {key}=...: unknown key type {kind}")
        self._add_key_dict(d)

    def _add_key_dict(self, d):
        key = d.pop("key")
        for o in d.get("orgs") or ([d["org"]] if d.get("org") else []):
            if o not in self.orgs:
                self.orgs[o] = self._org({"id": o})
        self.keys[key] = d

    def _seed_project(self, p, synthetic):
        t = now_ts() - 86400 * 30
        pid = p.get("id") or f"{haiku()}-{digits(8)}"
        region = p.get("region_id", "aws-us-east-2")
        dbname = p.get("database", "neondb")
        role = p.get("role", "neondb_owner")
        if role not in self.roles:
            self.roles[role] = p.get("password") or gen_password()
        proj = {"id": pid, "name": p.get("name", pid), "org_id": p.get("org_id"),
                "region_id": region, "cell": p.get("cell"), "pg_version": p.get("pg_version", 15),
                "database": dbname, "role": role, "created_at": t, "updated_at": t,
                "synthetic": synthetic, "store_passwords": True}
        if proj["org_id"] and proj["org_id"] not in self.orgs:
            self.orgs[proj["org_id"]] = self._org({"id": proj["org_id"]})
        self.projects[pid] = proj
        by_name = {}
        for i, b in enumerate(p.get("branches") or [{"name": "main", "default": True}]):
            parent = by_name.get(b.get("parent")) if b.get("parent") else None
            if b.get("parent") and not parent:
                raise SystemExit(f"seed: branch {b['name']}: parent {b['parent']} is not seeded before it")
            bid = b.get("id") or f"br-{haiku()}-{alnum(8)}"
            created = t + 60 * i
            br = {"id": bid, "project_id": pid, "name": b["name"],
                  "parent_id": parent["id"] if parent else None,
                  "database": dbname if not parent else f"{dbname}_{bid.rsplit('-', 1)[-1]}",
                  "db_id": self._next_db_id(), "default": bool(b.get("default")),
                  "protected": bool(b.get("protected")), "created_at": created,
                  "updated_at": created, "state_changed_at": created, "state": "ready",
                  "creation_source": "console", "init_source": "parent-data" if parent else None,
                  "parent_lsn": "0/1F5E0A8" if parent else None,
                  "parent_timestamp": created if parent else None,
                  "logical_size": 7_700_000, "annotation": None, "expires_at": None,
                  "last_reset_at": None, "synthetic": synthetic}
            self.branches[bid] = br
            by_name[b["name"]] = br
            if not synthetic:
                self._materialise_seed_branch(proj, br, parent, p.get("sql"))
            ep = b.get("endpoint")
            if ep is not False:
                eid = ep if isinstance(ep, str) else f"ep-{haiku()}-{alnum(8)}"
                self._add_endpoint(proj, br, eid, "read_write", created,
                                   state=b.get("endpoint_state", "active"))

    def _next_db_id(self):
        self.db_seq += RNG.randint(1, 97)
        return self.db_seq

    def _materialise_seed_branch(self, proj, br, parent, sql):
        role = proj["role"]
        self._ensure_role(role)
        exists = self.pg.run(f"SELECT 1 FROM pg_database WHERE datname = {ql(br['database'])}")
        if parent is None:
            if not exists:
                with self.pg.lock:
                    self.pg.run(f"CREATE DATABASE {qi(br['database'])} OWNER {qi(role)}")
                self.created_dbs.append(br["database"])
                if sql:
                    self.pg.run(f"SET ROLE {qi(role)}; {sql}", br["database"])
        else:
            with self.pg.lock:
                if exists:
                    self.pg.run(f"DROP DATABASE {qi(br['database'])} WITH (FORCE)")
                self._copy_db(parent["database"], br["database"], role)
            self.created_dbs.append(br["database"])

    def _ensure_role(self, role):
        pw = self.roles[role]
        rows = self.pg.run(f"SELECT 1 FROM pg_roles WHERE rolname = {ql(role)}")
        verb = "ALTER" if rows else "CREATE"
        self.pg.run(f"{verb} ROLE {qi(role)} LOGIN PASSWORD {ql(pw)}")

    def _copy_db(self, template, target, owner):
        """CREATE DATABASE target TEMPLATE template; the caller holds pg.lock."""
        for attempt in range(4):
            try:
                self.pg.run(f"CREATE DATABASE {qi(target)} TEMPLATE {qi(template)} "
                            f"OWNER {qi(owner)} STRATEGY FILE_COPY")
                return
            except PgError as e:
                if e.sqlstate != "55006" or attempt == 3:
                    raise
                rows = self.pg.run(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    f"WHERE datname = {ql(template)} AND pid <> pg_backend_pid()")
                self.add_terminated(int(rows[0][0]))
                time.sleep(0.05 * (attempt + 1))

    def _add_endpoint(self, proj, br, eid, etype, created, state="active", settings=None):
        region = proj["region_id"]
        cloud, _, reg = region.partition("-")
        suffix = f"{reg}.{cloud}.neon.tech" if cloud in ("aws", "azure") else f"{region}.neon.tech"
        if proj.get("cell"):
            suffix = f"{proj['cell']}.{suffix}"
        settings = settings or {}
        ep = {"id": eid, "project_id": proj["id"], "branch_id": br["id"], "type": etype,
              "host": f"{eid}.{suffix}", "proxy_host": suffix, "region_id": region,
              "created_at": created, "updated_at": created, "state": state,
              "started_at": created if state == "active" else None,
              "suspended_at": created + 300 if state == "idle" else None,
              "last_active": created + 240 if state in ("active", "idle") else None,
              "min_cu": settings.get("autoscaling_limit_min_cu", 0.25),
              "max_cu": settings.get("autoscaling_limit_max_cu", 2),
              "suspend_timeout_seconds": settings.get("suspend_timeout_seconds", 0),
              "creation_source": "console"}
        self.endpoints[eid] = ep
        return ep

    # -- operations --------------------------------------------------------

    def new_op(self, proj_id, action, branch_id=None, endpoint_id=None):
        t = now_ts()
        op = {"id": str(uuid.uuid4()), "project_id": proj_id, "branch_id": branch_id,
              "endpoint_id": endpoint_id, "action": action, "created_at": t,
              "updated_at": t, "ready_at": None, "status": "scheduling" if action == "start_compute"
              else "running", "error": None, "fail": False}
        self.operations[op["id"]] = op
        return op

    def arm_ops(self, ops, fail=False):
        """Work done: the operations finish op_delay_ms from now."""
        t = now_ts() + self.config["op_delay_ms"] / 1000.0
        for op in ops:
            op["ready_at"] = t
            op["fail"] = fail
        self.advance()

    def advance(self):
        """Moves operations whose time has come to their end state, with effects."""
        t = now_ts()
        for op in self.operations.values():
            if op["status"] in TERMINAL:
                continue
            if op["ready_at"] is None:
                continue
            if t >= op["ready_at"]:
                op["updated_at"] = op["ready_at"]
                if op["fail"]:
                    op["status"] = "failed"
                    op["error"] = "injected failure (neon_double op_failed fault)"
                    continue
                op["status"] = "finished"
                self._op_effect(op)
            elif op["status"] == "scheduling" and t >= (op["created_at"] + op["ready_at"]) / 2:
                op["status"] = "running"
                op["updated_at"] = t
        for br in self.branches.values():
            if br["state"] == "init" and not br.get("hold_init") and \
                    not self._pending(br["id"], ("create_branch", "create_timeline")):
                if not any(o["status"] == "failed" for o in self.operations.values()
                           if o["branch_id"] == br["id"]):
                    br["state"] = "ready"
                    br["state_changed_at"] = t

    def _op_effect(self, op):
        if op["action"] == "start_compute" and op["endpoint_id"] in self.endpoints:
            ep = self.endpoints[op["endpoint_id"]]
            ep["state"] = "active"
            ep["started_at"] = op["updated_at"]
            ep["last_active"] = op["updated_at"]
            ep["updated_at"] = op["updated_at"]

    def _pending(self, branch_id, actions):
        return any(o["branch_id"] == branch_id and o["action"] in actions and o["status"] not in TERMINAL
                   for o in self.operations.values())

    def project_busy(self, pid):
        return any(o["project_id"] == pid and o["status"] not in TERMINAL
                   for o in self.operations.values())

    # -- views -------------------------------------------------------------

    def v_project(self, p, full=False):
        proxy = self._proxy_host(p)
        d = {"id": p["id"], "platform_id": p["region_id"].split("-")[0], "region_id": p["region_id"],
             "name": p["name"], "provisioner": "k8s-neonvm",
             "default_endpoint_settings": {"autoscaling_limit_min_cu": 0.25,
                                           "autoscaling_limit_max_cu": 2,
                                           "suspend_timeout_seconds": 0},
             "settings": {"allowed_ips": {"ips": [], "protected_branches_only": False},
                          "enable_logical_replication": False,
                          "maintenance_window": {"weekdays": [5], "start_time": "07:00",
                                                 "end_time": "08:00"},
                          "block_public_connections": False, "block_vpc_connections": False,
                          "hipaa": False},
             "pg_version": p["pg_version"], "proxy_host": proxy,
             "branch_logical_size_limit": 0, "branch_logical_size_limit_bytes": 0,
             "store_passwords": p["store_passwords"], "cpu_used_sec": 0,
             "creation_source": "console", "history_retention_seconds": 86400,
             "created_at": iso(p["created_at"]), "updated_at": iso(p["updated_at"]),
             "synthetic_storage_size": 0, "owner_id": self.user["id"]}
        last = [e["last_active"] for e in self.endpoints.values()
                if e["project_id"] == p["id"] and e["last_active"]]
        if last:
            d["compute_last_active_at"] = iso(max(last))
        if not full:
            d["active_time"] = 0
        if p["org_id"]:
            d["org_id"] = p["org_id"]
            if not full:
                d["org_name"] = self.orgs.get(p["org_id"], {}).get("name", p["org_id"])
        if full:
            start = datetime.datetime.now(datetime.timezone.utc).replace(
                day=1, hour=0, minute=0, second=0, microsecond=0)
            d.update({"active_time_seconds": 0, "compute_time_seconds": 0,
                      "written_data_bytes": 0, "data_transfer_bytes": 0,
                      "data_storage_bytes_hour": 0,
                      "consumption_period_start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "consumption_period_end": "0001-01-01T00:00:00Z",
                      "owner": {"email": self.user["email"], "name": self.user["name"],
                                "branches_limit": 5000, "subscription_type": "scale_v3"}})
        return d

    def _proxy_host(self, p):
        cloud, _, reg = p["region_id"].partition("-")
        host = f"{reg}.{cloud}.neon.tech"
        return f"{p['cell']}.{host}" if p.get("cell") else host

    def v_branch(self, b):
        d = {"id": b["id"], "project_id": b["project_id"], "name": b["name"],
             "current_state": b["state"], "state_changed_at": iso(b["state_changed_at"]),
             "logical_size": b["logical_size"], "creation_source": b["creation_source"],
             "default": b["default"], "protected": b["protected"], "cpu_used_sec": 0,
             "compute_time_seconds": 0, "active_time_seconds": 0, "written_data_bytes": 0,
             "data_transfer_bytes": 0, "created_at": iso(b["created_at"]),
             "updated_at": iso(b["updated_at"])}
        if b["state"] == "init":
            d["pending_state"] = "ready"
        if b["parent_id"]:
            d["parent_id"] = b["parent_id"]
        if b.get("parent_lsn"):
            d["parent_lsn"] = b["parent_lsn"]
        if b.get("parent_timestamp"):
            d["parent_timestamp"] = iso(b["parent_timestamp"])
        if b.get("init_source"):
            d["init_source"] = b["init_source"]
        if b.get("expires_at"):
            d["expires_at"] = b["expires_at"]
            d["ttl_interval_seconds"] = b.get("ttl_interval_seconds") or 86400
        if b.get("last_reset_at"):
            d["last_reset_at"] = iso(b["last_reset_at"])
        if b.get("created_by"):
            d["created_by"] = b["created_by"]
        for k, v in (b.get("extra") or {}).items():
            d[k] = v
        return d

    def v_annotation(self, b):
        t = iso(b["created_at"])
        return {"object": {"type": "console/branch", "id": b["id"]},
                "value": dict(b.get("annotation") or {}), "created_at": t, "updated_at": t}

    def v_endpoint(self, e):
        d = {"host": e["host"], "id": e["id"], "project_id": e["project_id"],
             "branch_id": e["branch_id"], "autoscaling_limit_min_cu": e["min_cu"],
             "autoscaling_limit_max_cu": e["max_cu"], "region_id": e["region_id"],
             "type": e["type"], "current_state": e["state"], "settings": {},
             "pooler_enabled": False, "pooler_mode": "transaction", "disabled": False,
             "passwordless_access": True, "creation_source": e["creation_source"],
             "created_at": iso(e["created_at"]), "updated_at": iso(e["updated_at"]),
             "proxy_host": e["proxy_host"], "suspend_timeout_seconds": e["suspend_timeout_seconds"],
             "provisioner": "k8s-neonvm", "compute_release_version": "9104"}
        d["last_active"] = iso(e["last_active"]) if e["last_active"] else "2000-01-01T00:00:00Z"
        if e["state"] == "init":
            d["pending_state"] = "active"
        if e.get("started_at"):
            d["started_at"] = iso(e["started_at"])
        if e.get("suspended_at"):
            d["suspended_at"] = iso(e["suspended_at"])
        return d

    def v_op(self, o):
        d = {"id": o["id"], "project_id": o["project_id"], "action": o["action"],
             "status": o["status"], "failures_count": 1 if o["status"] == "failed" else 0,
             "created_at": iso(o["created_at"]), "updated_at": iso(o["updated_at"]),
             "total_duration_ms": int(max(0, o["updated_at"] - o["created_at"]) * 1000)}
        if o["branch_id"]:
            d["branch_id"] = o["branch_id"]
        if o["endpoint_id"]:
            d["endpoint_id"] = o["endpoint_id"]
        if o["error"]:
            d["error"] = o["error"]
        return d

    def v_role(self, p, b):
        t = iso(b["created_at"])
        return {"branch_id": b["id"], "name": p["role"], "protected": False,
                "created_at": t, "updated_at": t}

    def v_database(self, p, b):
        t = iso(b["created_at"])
        return {"id": b["db_id"], "branch_id": b["id"], "name": b["database"],
                "owner_name": p["role"], "created_at": t, "updated_at": t}

    def uri(self, p, b, ep, pooled=False):
        role = p["role"]
        pw = urllib.parse.quote(self.roles[role], safe="")
        db = urllib.parse.quote(b["database"], safe="")
        host = ep["host"] if ep else f"{b['id']}.{self._proxy_host(p)}"
        if pooled and ep:
            host = host.replace(ep["id"], ep["id"] + "-pooler", 1)
        params = []
        if self.sslmode:
            params.append(("sslmode", self.sslmode))
        if self.args.uri_style == "loopback":
            netloc = f"{self.uri_host}:{self.uri_port}"
        else:
            netloc = f"{host}:{self.uri_port}"
            params.append(("hostaddr", self.uri_host))
        q = "&".join(f"{k}={v}" for k, v in params)
        return f"postgresql://{role}:{pw}@{netloc}/{db}" + (f"?{q}" if q else ""), host


# ---------------------------------------------------------------------------
# HTTP


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")


def unb64(text):
    pad = "=" * (-len(text) % 4)
    return json.loads(base64.urlsafe_b64decode(text + pad))


class Route:
    def __init__(self, method, template, fn, mutation=False):
        self.method = method
        self.template = template
        self.key = f"{method} {template}"
        self.fn = fn
        self.mutation = mutation
        segs = template.strip("/").split("/")
        self.names = [s[1:-1] for s in segs if s.startswith("{")]
        self.rx = re.compile("^/" + "/".join("([^/]+)" if s.startswith("{") else re.escape(s)
                                             for s in segs) + "$")
        self.literal = sum(1 for s in segs if not s.startswith("{"))


class Api:
    """The Neon endpoints. Each handler returns (status, body or None)."""

    def __init__(self, d):
        self.d = d
        r = []

        def add(method, tmpl, fn, mutation=False):
            r.append(Route(method, tmpl, fn, mutation))

        add("GET", "/auth", self.get_auth)
        add("GET", "/users/me", self.get_me)
        add("GET", "/users/me/organizations", self.get_my_orgs)
        add("GET", "/projects", self.list_projects)
        add("GET", "/projects/shared", self.list_shared)
        add("GET", "/projects/{project_id}", self.get_project)
        add("GET", "/projects/{project_id}/branches", self.list_branches)
        add("POST", "/projects/{project_id}/branches", self.create_branch, True)
        add("GET", "/projects/{project_id}/branches/count", self.count_branches)
        add("GET", "/projects/{project_id}/branches/{branch_id}", self.get_branch)
        add("PATCH", "/projects/{project_id}/branches/{branch_id}", self.update_branch, True)
        add("DELETE", "/projects/{project_id}/branches/{branch_id}", self.delete_branch, True)
        add("POST", "/projects/{project_id}/branches/{branch_id}/restore", self.restore_branch, True)
        add("POST", "/projects/{project_id}/branches/{branch_id}/set_as_default", self.set_default, True)
        add("GET", "/projects/{project_id}/branches/{branch_id}/endpoints", self.list_branch_endpoints)
        add("GET", "/projects/{project_id}/branches/{branch_id}/roles", self.list_roles)
        add("GET", "/projects/{project_id}/branches/{branch_id}/roles/{role_name}", self.get_role)
        add("GET", "/projects/{project_id}/branches/{branch_id}/roles/{role_name}/reveal_password",
            self.reveal_password)
        add("GET", "/projects/{project_id}/branches/{branch_id}/databases", self.list_databases)
        add("GET", "/projects/{project_id}/branches/{branch_id}/databases/{database_name}",
            self.get_database)
        add("GET", "/projects/{project_id}/endpoints", self.list_endpoints)
        add("GET", "/projects/{project_id}/endpoints/{endpoint_id}", self.get_endpoint)
        add("GET", "/projects/{project_id}/connection_uri", self.connection_uri)
        add("GET", "/projects/{project_id}/operations", self.list_operations)
        add("GET", "/projects/{project_id}/operations/{operation_id}", self.get_operation)
        r.sort(key=lambda x: -x.literal)
        self.routes = r

    def match(self, method, path):
        allowed = False
        for rt in self.routes:
            m = rt.rx.match(path)
            if m:
                if rt.method == method:
                    return rt, dict(zip(rt.names, [urllib.parse.unquote(g) for g in m.groups()])), True
                allowed = True
        return None, None, allowed

    def template_of(self, method, path):
        rt, _, _ = self.match(method, path)
        if rt:
            return rt.key
        # unknown routes are still counted, by their path shape
        return f"{method} {path}"

    # -- helpers -----------------------------------------------------------

    def visible_projects(self, key):
        k = self.d.keys[key]
        out = []
        for p in self.d.projects.values():
            if k["type"] == "project":
                if p["id"] == k["project"]:
                    out.append(p)
            elif k["type"] == "org":
                if p["org_id"] == k["org"]:
                    out.append(p)
            else:
                orgs = k["orgs"] if k["orgs"] is not None else list(self.d.orgs)
                if p["org_id"] is None or p["org_id"] in orgs:
                    out.append(p)
        return out

    def key_orgs(self, key):
        k = self.d.keys[key]
        if k["type"] == "org":
            return [k["org"]]
        if k["type"] == "project":
            p = self.d.projects.get(k["project"])
            return [p["org_id"]] if p and p["org_id"] else []
        return k["orgs"] if k["orgs"] is not None else list(self.d.orgs)

    def project(self, ctx, pid):
        for p in self.visible_projects(ctx["key"]):
            if p["id"] == pid:
                return p
        raise ApiError(404, f"project {pid} not found")

    def branch(self, p, bid):
        b = self.d.branches.get(bid)
        if not b or b["project_id"] != p["id"]:
            raise ApiError(404, f"branch {bid} not found")
        return b

    def branches_of(self, p):
        return [b for b in self.d.branches.values() if b["project_id"] == p["id"]]

    def endpoints_of_branch(self, b):
        return [e for e in self.d.endpoints.values() if e["branch_id"] == b["id"]]

    @staticmethod
    def q1(ctx, name, default=None):
        v = ctx["query"].get(name)
        return v[-1] if v else default

    def int_param(self, ctx, name, lo, hi, default=None):
        v = self.q1(ctx, name)
        if v is None or v == "":
            return default
        if not re.fullmatch(r"-?\d+", v):
            raise ApiError(400, f"invalid {name} parameter: {v!r} is not an integer")
        n = int(v)
        if n < lo or n > hi:
            raise ApiError(400, f"{name} must be between {lo} and {hi}")
        return n

    def bool_param(self, ctx, name, default=False):
        v = self.q1(ctx, name)
        if v is None:
            return default
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise ApiError(400, f"invalid {name} parameter: {v!r} is not a boolean")

    def page_cap(self, limit):
        cap = self.d.config.get("max_page_size")
        if cap:
            return min(limit, int(cap)) if limit else int(cap)
        return limit

    def body(self, ctx, required=False):
        raw = ctx["body"]
        if not raw:
            if required:
                raise ApiError(400, "request body is required")
            return {}
        try:
            obj = json.loads(raw)
        except ValueError as e:
            raise ApiError(400, f"request body is not valid JSON: {e}")
        if not isinstance(obj, dict):
            raise ApiError(400, "request body must be a JSON object")
        return obj

    def check_lock(self, p):
        if self.d.project_busy(p["id"]):
            raise ApiError(423, MSG_LOCKED)

    def check_writable(self, p):
        if p.get("synthetic"):
            raise ApiError(400, f"project {p['id']} is synthetic (API-only) in the test double: "
                                "it has no databases to change")

    # -- account -----------------------------------------------------------

    def get_auth(self, ctx):
        k = self.d.keys[ctx["key"]]
        if k["type"] == "org":
            return 200, {"account_id": k["org"], "auth_method": "api_key_org"}
        return 200, {"account_id": self.d.user["id"], "auth_method": "api_key_user"}

    def get_me(self, ctx):
        k = self.d.keys[ctx["key"]]
        if k["type"] == "org":
            raise ApiError(403, "not allowed for organization API keys")
        u = self.d.user
        return 200, {"active_seconds_limit": 0, "id": u["id"], "email": u["email"],
                     "login": u["email"].split("@")[0], "name": u["name"].split(" ")[0],
                     "last_name": u["name"].split(" ", 1)[-1], "image": "",
                     "projects_limit": 1000, "branches_limit": 5000,
                     "max_autoscaling_limit": 8, "plan": "scale",
                     "auth_accounts": [{"provider": "github", "email": u["email"],
                                        "name": u["name"], "login": u["email"].split("@")[0],
                                        "image": ""}]}

    def get_my_orgs(self, ctx):
        k = self.d.keys[ctx["key"]]
        if k["type"] == "org":
            raise ApiError(403, "not allowed for organization API keys")
        if k["type"] == "project":
            raise ApiError(403, "not allowed for project-scoped API keys")
        return 200, {"organizations": [self.d.orgs[o] for o in self.key_orgs(ctx["key"])
                                       if o in self.d.orgs]}

    # -- projects ----------------------------------------------------------

    def list_projects(self, ctx):
        key = ctx["key"]
        k = self.d.keys[key]
        limit = self.int_param(ctx, "limit", 1, 400, 10)
        self.int_param(ctx, "timeout", 100, 30000)
        org_id = self.q1(ctx, "org_id")
        projects = self.visible_projects(key)
        if org_id:
            if org_id not in self.key_orgs(key):
                raise ApiError(403, f"you do not have access to organization {org_id}")
            projects = [p for p in projects if p["org_id"] == org_id]
        elif k["type"] == "personal" and len(self.key_orgs(key)) > 1:
            raise ApiError(400, MSG_ORG_REQUIRED)
        if self.bool_param(ctx, "recoverable"):
            projects = []
        return 200, self._project_page(ctx, projects, limit, with_maps=True)

    def list_shared(self, ctx):
        limit = self.int_param(ctx, "limit", 1, 400, 10)
        self.int_param(ctx, "timeout", 100, 30000)
        return 200, self._project_page(ctx, [], limit, with_maps=False)

    def _project_page(self, ctx, projects, limit, with_maps):
        search = (self.q1(ctx, "search") or "").lower()
        if search:
            projects = [p for p in projects if search in p["name"].lower() or search in p["id"]]
        projects = sorted(projects, key=lambda p: (-p["created_at"], p["id"]))
        cursor = self.q1(ctx, "cursor")
        if cursor:
            ids = [p["id"] for p in projects]
            if cursor not in ids:
                raise ApiError(400, f"invalid cursor {cursor!r}")
            projects = projects[ids.index(cursor) + 1:]
        page = projects[:self.page_cap(limit)]
        out = {"projects": [self.d.v_project(p) for p in page]}
        if page:
            out["pagination"] = {"cursor": page[-1]["id"]}
        if with_maps:
            out["applications"] = {}
            out["integrations"] = {}
        return out

    def get_project(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        return 200, {"project": self.d.v_project(p, full=True)}

    # -- branches ----------------------------------------------------------

    SORT_KEYS = {"name": lambda b: b["name"], "created_at": lambda b: b["created_at"],
                 "updated_at": lambda b: b["updated_at"]}

    def list_branches(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        limit = self.int_param(ctx, "limit", 1, 10000)
        sort_by = self.q1(ctx, "sort_by", "updated_at")
        sort_order = self.q1(ctx, "sort_order", "desc")
        cursor = self.q1(ctx, "cursor")
        if cursor:
            try:
                c = unb64(cursor)
                sort_by, sort_order = c["sort_by"], c["sort_order"]
                after = (c["value"], c["id"])
            except Exception:
                raise ApiError(400, "invalid cursor")
        else:
            after = None
        if sort_by not in self.SORT_KEYS:
            raise ApiError(400, f"invalid sort_by {sort_by!r}: must be name, created_at or updated_at")
        if sort_order not in ("asc", "desc"):
            raise ApiError(400, f"invalid sort_order {sort_order!r}: must be asc or desc")
        branches = self.branches_of(p)
        search = (self.q1(ctx, "search") or "").lower()
        if search:
            branches = [b for b in branches if search in b["name"].lower() or search in b["id"]]
        kf = self.SORT_KEYS[sort_by]
        desc = sort_order == "desc"
        branches.sort(key=lambda b: (kf(b), b["id"]), reverse=desc)
        if after is not None:
            after = tuple(after)
            branches = [b for b in branches
                        if ((kf(b), b["id"]) < after if desc else (kf(b), b["id"]) > after)]
        size = self.page_cap(limit)
        page = branches[:size] if size else branches
        pagination = {"sort_by": sort_by, "sort_order": sort_order.upper()}
        if page:
            last = page[-1]
            pagination["next"] = b64({"sort_by": sort_by, "sort_order": sort_order,
                                      "value": kf(last), "id": last["id"]})
        annotations = {b["id"]: self.d.v_annotation(b) for b in page if b.get("annotation")}
        return 200, {"branches": [self.d.v_branch(b) for b in page],
                     "annotations": annotations, "pagination": pagination}

    def count_branches(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        search = (self.q1(ctx, "search") or "").lower()
        n = sum(1 for b in self.branches_of(p)
                if not search or search in b["name"].lower() or search in b["id"])
        return 200, {"count": n}

    def get_branch(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        return 200, {"branch": self.d.v_branch(b), "annotation": self.d.v_annotation(b)}

    def create_branch(self, ctx):
        d = self.d
        body = self.body(ctx)
        req = body.get("branch") or {}
        eps = body.get("endpoints") or []
        with d.lock:
            p = self.project(ctx, ctx["params"]["project_id"])
            self.check_writable(p)
            if not isinstance(req, dict) or not isinstance(eps, list):
                raise ApiError(400, "branch must be an object and endpoints an array")
            if sum(1 for e in eps if isinstance(e, dict) and e.get("type") == "read_write") > 1:
                raise ApiError(400, "a branch can have only one read_write endpoint")
            for e in eps:
                if not isinstance(e, dict) or e.get("type") not in ("read_write", "read_only"):
                    raise ApiError(400, "endpoint type must be read_write or read_only")
            branches = self.branches_of(p)
            if req.get("parent_id"):
                parent = d.branches.get(req["parent_id"])
                if not parent or parent["project_id"] != p["id"]:
                    raise ApiError(404, f"parent branch {req['parent_id']} not found")
            else:
                parent = next((b for b in branches if b["default"]), None)
                if parent is None:
                    raise ApiError(400, "project has no default branch")
            name = req.get("name")
            if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 256):
                raise ApiError(400, "branch name must be 1 to 256 characters")
            if name and any(b["name"] == name for b in branches):
                raise ApiError(409, f'branch with the provided name "{name}" already exists')
            if req.get("expires_at") is not None:
                check_expiry(req["expires_at"], {"default": False, "protected": bool(req.get("protected"))})
            self.check_lock(p)
            t = now_ts()
            bid = f"br-{haiku()}-{alnum(8)}"
            b = {"id": bid, "project_id": p["id"], "name": name or bid, "parent_id": parent["id"],
                 "database": f"{p['database']}_{bid.rsplit('-', 1)[-1]}",
                 "db_id": d._next_db_id(), "default": False,
                 "protected": bool(req.get("protected")), "created_at": t, "updated_at": t,
                 "state_changed_at": t, "state": "init",
                 "creation_source": "neonctl" if "neonctl" in ctx["user_agent"] else "console",
                 "init_source": req.get("init_source") or "parent-data",
                 "parent_lsn": None, "parent_timestamp": t, "logical_size": parent["logical_size"],
                 "annotation": body.get("annotation_value") or None,
                 "expires_at": req.get("expires_at"), "last_reset_at": None,
                 "synthetic": False}
            d.branches[bid] = b
            ops = [d.new_op(p["id"], "create_branch", branch_id=bid)]
            new_eps = []
            for e in eps:
                eid = f"ep-{haiku()}-{alnum(8)}"
                ep = d._add_endpoint(p, b, eid, e["type"], t, state="init", settings=e)
                ep["creation_source"] = b["creation_source"]
                new_eps.append(ep)
                ops.append(d.new_op(p["id"], "start_compute", branch_id=bid, endpoint_id=eid))
        try:
            with d.pg.lock:
                d._copy_db(parent["database"], b["database"], p["role"])
            if b["init_source"] == "schema-only":
                self._truncate_all(b["database"], p["role"])
            rows = d.pg.run(f"SELECT pg_current_wal_lsn()::text, pg_database_size({ql(b['database'])})")
        except PgError as e:
            with d.lock:
                d.branches.pop(bid, None)
                for ep in new_eps:
                    d.endpoints.pop(ep["id"], None)
                for op in ops:
                    d.operations.pop(op["id"], None)
            raise ApiError(500, f"creating the branch database failed: {e.message}")
        with d.lock:
            b["parent_lsn"] = rows[0][0]
            b["logical_size"] = int(rows[0][1])
            d.arm_ops(ops, fail=ctx.get("op_failed", False))
            out = {"branch": d.v_branch(b), "endpoints": [d.v_endpoint(e) for e in new_eps],
                   "operations": [d.v_op(o) for o in ops], "roles": [d.v_role(p, b)],
                   "databases": [d.v_database(p, b)]}
            rw = next((e for e in new_eps if e["type"] == "read_write"), None)
            if rw:
                uri, host = d.uri(p, b, rw)
                out["connection_uris"] = [{
                    "connection_uri": uri,
                    "connection_parameters": {"database": b["database"], "password": d.roles[p["role"]],
                                              "role": p["role"], "host": rw["host"],
                                              "pooler_host": rw["host"].replace(rw["id"], rw["id"] + "-pooler", 1)}}]
            return 201, out

    def _truncate_all(self, dbname, role):
        self.d.pg.run(
            "DO $$ DECLARE r record; BEGIN FOR r IN SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') LOOP "
            "EXECUTE format('TRUNCATE %I.%I CASCADE', r.schemaname, r.tablename); END LOOP; END $$",
            dbname)

    def update_branch(self, ctx):
        d = self.d
        body = self.body(ctx, required=True)
        req = body.get("branch")
        if not isinstance(req, dict):
            raise ApiError(400, "branch is required")
        with d.lock:
            p = self.project(ctx, ctx["params"]["project_id"])
            b = self.branch(p, ctx["params"]["branch_id"])
            if "name" in req:
                if not isinstance(req["name"], str) or not 1 <= len(req["name"]) <= 256:
                    raise ApiError(400, "branch name must be 1 to 256 characters")
                if any(x["name"] == req["name"] and x["id"] != b["id"] for x in self.branches_of(p)):
                    raise ApiError(409, f'branch with the provided name "{req["name"]}" already exists')
                b["name"] = req["name"]
            if "protected" in req:
                b["protected"] = bool(req["protected"])
            if "expires_at" in req:
                children = sum(1 for x in d.branches.values() if x["parent_id"] == b["id"])
                check_expiry(req["expires_at"], b, children)
                b["expires_at"] = req["expires_at"]
            b["updated_at"] = now_ts()
            return 200, {"branch": d.v_branch(b), "operations": []}

    def delete_branch(self, ctx):
        d = self.d
        with d.lock:
            p = self.project(ctx, ctx["params"]["project_id"])
            bid = ctx["params"]["branch_id"]
            b = d.branches.get(bid)
            if not b or b["project_id"] != p["id"]:
                return 204, None
            self.check_writable(p)
            if b["default"]:
                raise ApiError(400, f"branch {bid} is the default branch and cannot be deleted")
            if b["protected"]:
                raise ApiError(400, f"branch {bid} is protected and cannot be deleted")
            if not b["parent_id"]:
                raise ApiError(400, f"branch {bid} is a root branch and cannot be deleted")
            if any(x["parent_id"] == bid for x in d.branches.values()):
                raise ApiError(400, f"branch {bid} has child branches and cannot be deleted")
            self.check_lock(p)
            eps = self.endpoints_of_branch(b)
            ops = [d.new_op(p["id"], "suspend_compute", branch_id=bid, endpoint_id=e["id"]) for e in eps]
            ops.append(d.new_op(p["id"], "delete_timeline", branch_id=bid))
            for e in eps:
                d.endpoints.pop(e["id"], None)
            d.branches.pop(bid)
            d.deleted_branches.add(bid)
            b["updated_at"] = now_ts()
        try:
            with d.pg.lock:
                d.pg.run(f"DROP DATABASE IF EXISTS {qi(b['database'])} WITH (FORCE)")
        except PgError as e:
            with d.lock:
                d.branches[bid] = b
                d.deleted_branches.discard(bid)
                for e in eps:
                    d.endpoints[e["id"]] = e
                for op in ops:
                    d.operations.pop(op["id"], None)
            raise ApiError(500, f"dropping the branch database failed: {e.message}")
        with d.lock:
            d.arm_ops(ops, fail=ctx.get("op_failed", False))
            return 200, {"branch": d.v_branch(b), "operations": [d.v_op(o) for o in ops]}

    def restore_branch(self, ctx):
        d = self.d
        body = self.body(ctx, required=True)
        src_id = body.get("source_branch_id")
        if not isinstance(src_id, str) or not src_id:
            raise ApiError(400, "source_branch_id is required")
        preserve = body.get("preserve_under_name")
        with d.lock:
            p = self.project(ctx, ctx["params"]["project_id"])
            self.check_writable(p)
            b = self.branch(p, ctx["params"]["branch_id"])
            src = d.branches.get(src_id)
            if not src or src["project_id"] != p["id"]:
                raise ApiError(404, f"branch {src_id} not found")
            if body.get("source_lsn") or body.get("source_timestamp"):
                raise ApiError(400, "the test double does not support point-in-time restore "
                                    "(source_lsn, source_timestamp)")
            if src_id == b["id"]:
                raise ApiError(400, "restoring a branch from its own head is a no-op; "
                                    "give source_lsn or source_timestamp")
            children = [x for x in d.branches.values() if x["parent_id"] == b["id"]]
            if children and not preserve:
                raise ApiError(400, f"branch {b['id']} has children: preserve_under_name is required")
            if preserve and any(x["name"] == preserve for x in self.branches_of(p)):
                raise ApiError(409, f'branch with the provided name "{preserve}" already exists')
            self.check_lock(p)
            t = now_ts()
            ops = [d.new_op(p["id"], "create_timeline", branch_id=b["id"])]
            for e in self.endpoints_of_branch(b):
                ops.append(d.new_op(p["id"], "start_compute", branch_id=b["id"], endpoint_id=e["id"]))
            backup = None
            if preserve:
                bk_id = f"br-{haiku()}-{alnum(8)}"
                backup = {**b, "id": bk_id, "name": preserve, "default": False, "protected": False,
                          "database": f"{p['database']}_{bk_id.rsplit('-', 1)[-1]}",
                          "db_id": d._next_db_id(), "created_at": t, "updated_at": t,
                          "annotation": None, "expires_at": None}
        try:
            with d.pg.lock:
                if backup:
                    d.pg.run(f"ALTER DATABASE {qi(b['database'])} RENAME TO {qi(backup['database'])}")
                else:
                    d.pg.run(f"DROP DATABASE IF EXISTS {qi(b['database'])} WITH (FORCE)")
                d._copy_db(src["database"], b["database"], p["role"])
        except PgError as e:
            with d.lock:
                for op in ops:
                    d.operations.pop(op["id"], None)
            raise ApiError(500, f"restoring the branch database failed: {e.message}")
        with d.lock:
            if backup:
                d.branches[backup["id"]] = backup
                b["parent_id"] = backup["id"]
            b["last_reset_at"] = t
            b["updated_at"] = t
            b["logical_size"] = src["logical_size"]
            d.arm_ops(ops, fail=ctx.get("op_failed", False))
            return 200, {"branch": d.v_branch(b), "operations": [d.v_op(o) for o in ops]}

    def set_default(self, ctx):
        d = self.d
        with d.lock:
            p = self.project(ctx, ctx["params"]["project_id"])
            b = self.branch(p, ctx["params"]["branch_id"])
            for x in self.branches_of(p):
                x["default"] = x["id"] == b["id"]
            b["updated_at"] = now_ts()
            return 200, {"branch": d.v_branch(b), "operations": []}

    # -- endpoints, roles, databases -----------------------------------------

    def list_branch_endpoints(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        return 200, {"endpoints": [self.d.v_endpoint(e) for e in self.endpoints_of_branch(b)]}

    def list_endpoints(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        return 200, {"endpoints": [self.d.v_endpoint(e) for e in self.d.endpoints.values()
                                   if e["project_id"] == p["id"]]}

    def get_endpoint(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        e = self.d.endpoints.get(ctx["params"]["endpoint_id"])
        if not e or e["project_id"] != p["id"]:
            raise ApiError(404, f"endpoint {ctx['params']['endpoint_id']} not found")
        return 200, {"endpoint": self.d.v_endpoint(e)}

    def list_roles(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        return 200, {"roles": [self.d.v_role(p, b)]}

    def _role(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        if ctx["params"]["role_name"] != p["role"]:
            raise ApiError(404, f"role {ctx['params']['role_name']} not found")
        return p, b

    def get_role(self, ctx):
        p, b = self._role(ctx)
        return 200, {"role": self.d.v_role(p, b)}

    def reveal_password(self, ctx):
        p, b = self._role(ctx)
        if not p["store_passwords"]:
            raise ApiError(412, "Storing passwords is disabled")
        return 200, {"password": self.d.roles[p["role"]]}

    def list_databases(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        return 200, {"databases": [self.d.v_database(p, b)]}

    def get_database(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        b = self.branch(p, ctx["params"]["branch_id"])
        if ctx["params"]["database_name"] != b["database"]:
            raise ApiError(404, f"database {ctx['params']['database_name']} not found")
        return 200, {"database": self.d.v_database(p, b)}

    def connection_uri(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        dbname = self.q1(ctx, "database_name")
        role = self.q1(ctx, "role_name")
        if not dbname:
            raise ApiError(400, "database_name is required")
        if not role:
            raise ApiError(400, "role_name is required")
        pooled = self.bool_param(ctx, "pooled")
        bid = self.q1(ctx, "branch_id")
        if bid:
            b = self.branch(p, bid)
        else:
            b = next((x for x in self.branches_of(p) if x["default"]), None)
            if b is None:
                raise ApiError(404, "project has no default branch")
        eid = self.q1(ctx, "endpoint_id")
        eps = self.endpoints_of_branch(b)
        if eid:
            ep = next((e for e in eps if e["id"] == eid), None)
            if ep is None:
                raise ApiError(404, f"endpoint {eid} not found on branch {b['id']}")
        else:
            ep = next((e for e in eps if e["type"] == "read_write"), None)
            if ep is None:
                raise ApiError(404, f"branch {b['id']} has no read_write endpoint")
        if dbname != b["database"]:
            raise ApiError(404, f"database {dbname} not found")
        if role != p["role"]:
            raise ApiError(404, f"role {role} not found")
        uri, _ = self.d.uri(p, b, ep, pooled)
        return 200, {"uri": uri}

    # -- operations ----------------------------------------------------------

    def list_operations(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        limit = self.int_param(ctx, "limit", 1, 1000, 10)
        ops = sorted((o for o in self.d.operations.values() if o["project_id"] == p["id"]),
                     key=lambda o: (-o["created_at"], o["id"]))
        cursor = self.q1(ctx, "cursor")
        if cursor:
            try:
                c = unb64(cursor)
                key = (-float(c["t"]), c["id"])
            except Exception:
                raise ApiError(400, "invalid cursor")
            ops = [o for o in ops if (-o["created_at"], o["id"]) > key]
        page = ops[:self.page_cap(limit)]
        out = {"operations": [self.d.v_op(o) for o in page]}
        if page:
            out["pagination"] = {"cursor": b64({"t": page[-1]["created_at"], "id": page[-1]["id"]})}
        return 200, out

    def get_operation(self, ctx):
        p = self.project(ctx, ctx["params"]["project_id"])
        o = self.d.operations.get(ctx["params"]["operation_id"])
        if not o or o["project_id"] != p["id"]:
            raise ApiError(404, f"operation {ctx['params']['operation_id']} not found")
        return 200, {"operation": self.d.v_op(o)}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, a keep-alive
    # client's delayed ACK holds the body back ~40 ms per request.
    disable_nagle_algorithm = True
    server_version = "neon-double/1"
    double = None   # set on the subclass
    api = None

    def log_message(self, fmt, *args):
        if self.double.args.verbose:
            sys.stderr.write("neon_double: " + (fmt % args) + "\n")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    # -- plumbing ------------------------------------------------------------

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, body=b"", ctype="application/json", headers=None, close=False):
        self.send_response(status)
        if body or status != 204:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body:
            self.wfile.write(body)

    def json(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode()
        self.send(status, body, headers=headers)
        return body

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        body = self.read_body()
        if path.startswith("/__control"):
            return self.control(method, path, body)
        d = self.double
        rid = self.headers.get("X-Request-ID") or str(uuid.uuid4())
        hdrs = {"x-neon-ret-request-id": rid}
        if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
            return self.finish_json(method, path, f"{method} {path}", 404,
                                    {"code": "", "message": "not found", "request_id": rid},
                                    hdrs, None, rid)
        apath = path[len(API_PREFIX):] or "/"
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        route = self.api.template_of(method, apath)
        in_minute = d.count_request(route)
        record = {"t": iso(now_ts()), "method": method, "path": apath, "query": url.query,
                  "route": route, "request_id": rid,
                  "user_agent": self.headers.get("User-Agent", ""), "fault": None}
        d.requests.append(record)
        if d.spec is not None:
            self.spec_check_request(method, apath, query, body, rid)
        # Faults come first, as from Neon's edge.
        fault = self.take_fault(route)
        if fault:
            record["fault"] = fault["kind"]
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            kind = fault["kind"]
            if kind == "status":
                st = int(fault.get("status", 503))
                msg = fault.get("message") or {
                    429: "rate limit exceeded", 423: MSG_LOCKED, 503: "service unavailable",
                    500: "internal server error", 502: "bad gateway"}.get(st, "injected error")
                h = dict(hdrs)
                if fault.get("retry_after") is not None:
                    h["Retry-After"] = str(fault["retry_after"])
                return self.finish_json(method, apath, route, st,
                                        {"code": fault.get("code", ""), "message": msg, "request_id": rid},
                                        h, record, rid)
            if kind == "reset":
                record["status"] = 0
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if kind == "html":
                record["status"] = 502
                d.count_status(502)
                self.send(502, b"<html><head><title>502 Bad Gateway</title></head><body>"
                          b"<center><h1>502 Bad Gateway</h1></center></body></html>\n",
                          ctype="text/html", headers=hdrs)
                return
        # Rate limit, per minute, over all keys.
        limit = d.config.get("rate_limit_per_min") or 0
        if limit and in_minute > limit:
            return self.finish_json(method, apath, route, 429,
                                    {"code": "", "message": "rate limit exceeded", "request_id": rid},
                                    {**hdrs}, record, rid)
        status, obj, extra = self.call_api(method, apath, query, body, rid, fault)
        hdrs.update(extra)
        if fault and fault["kind"] == "lost_response":
            record["status"] = status
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault and fault["kind"] in ("truncate", "disconnect", "malformed", "empty"):
            full = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode()
            record["status"] = status
            d.count_status(status)
            kind = fault["kind"]
            if kind == "truncate":
                self.send(status, full[:max(1, len(full) // 2)], headers=hdrs)
            elif kind == "malformed":
                bad = full.replace(b'":', b'"=', 1) if b'":' in full else b'{"oops'
                self.send(status, bad, headers=hdrs)
            elif kind == "empty":
                self.send(200 if status < 300 else status, b"", headers=hdrs)
            else:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(full)))
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(full[:len(full) // 2])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        self.finish_json(method, apath, route, status, obj, hdrs, record, rid)

    def call_api(self, method, apath, query, body, rid, fault):
        d = self.double
        rt, params, allowed = self.api.match(method, apath)
        if rt is None:
            if allowed:
                return 405, {"code": "", "message": f"method {method} not allowed", "request_id": rid}, {}
            return 404, {"code": "", "message": "not found", "request_id": rid}, {}
        auth = self.headers.get("Authorization", "")
        key = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not key:
            return 401, {"code": "", "message": "authentication required: send an API key as "
                         "Authorization: Bearer <key>", "request_id": rid}, {}
        if key not in d.keys:
            return 401, {"code": "", "message": "invalid API key", "request_id": rid}, {}
        ctx = {"key": key, "params": params, "query": query, "body": body,
               "user_agent": self.headers.get("User-Agent", ""),
               "op_failed": bool(fault and fault["kind"] == "op_failed")}
        try:
            with d.lock:
                d.advance()
            if rt.mutation:
                status, obj = rt.fn(ctx)
            else:
                with d.lock:
                    status, obj = rt.fn(ctx)
            return status, obj, {}
        except ApiError as e:
            return e.status, {"code": e.code, "message": e.message, "request_id": rid}, e.headers
        except Exception as e:  # a bug in the double: say so, keep serving
            import traceback
            traceback.print_exc()
            return 500, {"code": "", "message": f"neon_double internal error: {e}", "request_id": rid}, {}

    def finish_json(self, method, apath, route, status, obj, hdrs, record, rid):
        d = self.double
        body = self.json(status, obj, headers=hdrs)
        d.count_status(status)
        if record is not None:
            record["status"] = status
        if d.spec is not None and record is not None:
            errs = d.spec.check_response(method, apath, status, body if obj is not None else None,
                                         "application/json" if obj is not None else None)
            if errs:
                with d.stats_lock:
                    d.spec_violation_count += len(errs)
                    d.spec_violations.append({"request_id": rid, "route": route,
                                              "status": status, "errors": errs})

    def spec_check_request(self, method, apath, query, body, rid):
        d = self.double
        if not self.api.match(method, apath)[0]:
            return  # unknown route: reported as 404, not a spec question
        errs = d.spec.check_request(method, apath, query, body or None)
        if errs:
            with d.stats_lock:
                d.spec_violation_count += len(errs)
                d.spec_violations.append({"request_id": rid, "route": f"{method} {apath}",
                                          "status": "request", "errors": errs})

    def take_fault(self, route):
        d = self.double
        with d.lock:
            method, _, tmpl = route.partition(" ")
            for f in d.faults:
                r = f.get("route", "*")
                if r not in ("*", route, tmpl) and not (r.startswith("/") and r == tmpl):
                    continue
                if f.get("method") and f["method"] != method:
                    continue
                if f.get("_skip", 0) > 0:
                    f["_skip"] -= 1
                    continue
                if f["_left"] == 0:
                    continue
                if f["_left"] > 0:
                    f["_left"] -= 1
                f["hits"] = f.get("hits", 0) + 1
                return f
        return None

    # -- control -------------------------------------------------------------

    def control(self, method, path, body):
        d = self.double
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return self.json(400, {"error": "body is not JSON"})
        parts = path.rstrip("/").split("/")[2:]
        p = "/".join(parts)
        with d.lock:
            if p == "health":
                return self.json(200, {"ok": True})
            if p == "stats" and method == "GET":
                return self.json(200, d.stats_view())
            if (p == "stats" and method == "DELETE") or (p == "stats/reset" and method == "POST"):
                d.reset_stats()
                return self.json(200, d.stats_view())
            if p == "requests":
                return self.json(200, {"requests": list(d.requests)})
            if p == "spec_violations":
                return self.json(200, {"count": d.spec_violation_count,
                                       "violations": list(d.spec_violations)})
            if p == "spec_violations/reset":
                d.spec_violations.clear()
                d.spec_violation_count = 0
                return self.json(200, {"count": 0})
            if p == "faults":
                if method == "GET":
                    return self.json(200, {"faults": d.faults})
                if method == "DELETE":
                    d.faults = []
                    return self.json(200, {"faults": []})
                rules = data.get("faults") if "faults" in data else [data]
                for r in rules:
                    err = add_fault(d, r)
                    if err:
                        return self.json(400, {"error": err})
                return self.json(200, {"faults": d.faults})
            if p == "config":
                if method == "POST":
                    for k, v in data.items():
                        if k not in d.config:
                            return self.json(400, {"error": f"unknown config key {k}"})
                        d.config[k] = v
                return self.json(200, d.config)
            if p == "state":
                d.advance()
                return self.json(200, {
                    "projects": [d.v_project(x) for x in d.projects.values()],
                    "branches": [{**d.v_branch(b), "database": b["database"]} for b in d.branches.values()],
                    "endpoints": [d.v_endpoint(e) for e in d.endpoints.values()],
                    "operations": [d.v_op(o) for o in d.operations.values()],
                    "roles": {r: {"password": pw} for r, pw in d.roles.items()},
                    "uri_port": d.uri_port})
            if len(parts) == 2 and parts[0] in ("branches", "endpoints") and method == "POST":
                store = d.branches if parts[0] == "branches" else d.endpoints
                obj = store.get(parts[1])
                if obj is None:
                    return self.json(404, {"error": f"no {parts[0][:-1]} {parts[1]}"})
                for k, v in data.items():
                    k = {"current_state": "state"}.get(k, k)
                    if k in ("created_at", "updated_at", "last_active", "started_at",
                             "suspended_at", "state_changed_at", "last_reset_at") and isinstance(v, str):
                        v = datetime.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ").replace(
                            tzinfo=datetime.timezone.utc).timestamp()
                    if k in obj or k in ("state", "expires_at", "created_by", "hold_init"):
                        obj[k] = v
                    else:
                        obj.setdefault("extra", {})[k] = v
                return self.json(200, {"ok": True})
        return self.json(404, {"error": f"unknown control path {path}"})


FAULT_KINDS = {"status", "delay", "truncate", "disconnect", "malformed", "html", "empty", "reset",
               "lost_response", "op_failed"}


def add_fault(d, r):
    if not isinstance(r, dict) or r.get("kind") not in FAULT_KINDS:
        return f"a fault needs kind in {sorted(FAULT_KINDS)}"
    r = dict(r)
    r.setdefault("route", "*")
    r["_left"] = int(r.get("count", 1))
    r["_skip"] = int(r.get("skip", 0))
    r["hits"] = 0
    d.faults.append(r)
    return None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main(argv=None):
    ap = argparse.ArgumentParser(description="Neon API v2 test double (see the module docstring)")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port (0 = any free one)")
    ap.add_argument("--port-file", help="write the chosen port here")
    ap.add_argument("--pg-conninfo", required=True, help="superuser conninfo of the cluster")
    ap.add_argument("--pg-host", default="127.0.0.1", help="address in the URIs handed out")
    ap.add_argument("--pg-port", type=int, help="port in the URIs (default: the cluster's)")
    ap.add_argument("--uri-style", choices=("hostaddr", "loopback"), default="hostaddr")
    ap.add_argument("--uri-sslmode", default="auto",
                    help="sslmode in URIs: auto (require if the cluster has ssl=on), none, require, ...")
    ap.add_argument("--api-key", action="append",
                    help="KEY, KEY=personal:ORG1,ORG2, KEY=org:ORG or KEY=project:PROJECT")
    ap.add_argument("--seed", help="seed JSON file (default: built-in, 2 projects)")
    ap.add_argument("--synthetic", help="PxB: add P API-only projects of B branches each")
    ap.add_argument("--op-delay-ms", type=int, default=300)
    ap.add_argument("--max-page-size", type=int, default=None)
    ap.add_argument("--rate-limit", type=int, default=700, help="requests per minute, 0 = off")
    ap.add_argument("--fault", action="append", default=[], help="a fault rule as JSON")
    ap.add_argument("--spec", help="validate all traffic against this OpenAPI file")
    ap.add_argument("--cleanup", action="store_true",
                    help="on exit, drop the branch databases the double created")
    ap.add_argument("--random-seed", type=int)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.random_seed is not None:
        RNG.seed(args.random_seed)
    if not args.api_key:
        ap.error("give at least one --api-key")
    seed = DEFAULT_SEED
    if args.seed:
        with open(args.seed) as f:
            seed = json.load(f)
    d = Double(args)
    if args.spec:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from neon_spec import NeonSpec
        d.spec = NeonSpec(args.spec)
    try:
        d.setup(seed)
    except PgError as e:
        print(f"neon_double: PostgreSQL: {e.message}", file=sys.stderr)
        return 2
    for f in args.fault:
        err = add_fault(d, json.loads(f))
        if err:
            ap.error(err)
    handler = type("BoundHandler", (Handler,), {"double": d, "api": Api(d)})
    srv = Server((args.host, args.port), handler)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(json.dumps({"port": port, "base_url": f"http://{args.host}:{port}{API_PREFIX}",
                      "pg_port": d.uri_port}), flush=True)

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        if args.cleanup and d.pg:
            for b in list(d.branches.values()):
                if b["parent_id"] and not b.get("synthetic"):
                    try:
                        d.pg.run(f"DROP DATABASE IF EXISTS {qi(b['database'])} WITH (FORCE)")
                    except PgError:
                        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
