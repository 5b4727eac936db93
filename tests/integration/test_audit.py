#!/usr/bin/env python3
"""`ds db audit`, its prune and branch expiry, end to end.

NeonAuditTest runs against the Neon API double (the same cluster and
double test_neon.py uses, started here for this class) with branches of
every kind and state made through the API as another client would, a
workspace that is a git repository (loose and packed refs, local and
remote-tracking branches) whose .env points at a stale branch, and a
workspace without git. It checks each finding, every refusal of the
prune, that a dry run changes nothing, the --check exit codes, and that
audit opens no connection to any Neon branch's database (the double's
request counts and PostgreSQL's own session counts per database).

LocalAuditTest does the same on the local provider: expiry recorded by
dsd, staleness, .env targets and a prune.

Exit code 125 (skipped) as test_neon.py.
"""

import datetime
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "external"))

import test_neon as tn  # noqa: E402  (its class's double and helpers; not its tests)
from github_double import GitHubDouble  # noqa: E402
from harness import DsEnv, main, wait_for  # noqa: E402

P1, P2 = tn.P1, tn.P2
DAY = 86400


def iso(ts):
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


class NeonAuditTest(unittest.TestCase):
    pass


# The double, its cluster and the per-test dsd come from test_neon's class;
# its tests stay there.
for _name in ("setUpClass", "tearDownClass", "control_s"):
    setattr(NeonAuditTest, _name, tn.NeonTest.__dict__[_name])
for _name in ("control", "api", "state", "branch_in_state", "stats", "setUp", "tearDown",
              "neon_env", "ds", "ds_ok", "ds_json", "psql", "delete_via_api", "running_operations",
              "wait_quiet"):
    setattr(NeonAuditTest, _name, tn.NeonTest.__dict__[_name])


def _make(self, name, parent=None, **state):
    """A branch of acme-shop made through the API, with its endpoint's
    last_active and the branch's own fields set through the control API."""
    body = {"branch": {"name": name}, "endpoints": [{"type": "read_write"}]}
    if parent:
        body["branch"]["parent_id"] = self.made[parent]["id"]
    deadline = time.monotonic() + 20
    while True:
        st, doc = self.api("POST", f"/projects/{P2}/branches", body)
        if st != 423 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    self.assertEqual(st, 201, doc)
    b = doc["branch"]
    self.made[name] = b
    # Its operations first: when they finish the double makes it ready,
    # which would undo a state set below.
    deadline = time.monotonic() + 20
    while any(o["branch_id"] == b["id"] and o["status"] != "finished"
              for o in self.state()["operations"] if o.get("branch_id")):
        self.assertLess(time.monotonic(), deadline, "the double's operations did not finish")
    idle_days = state.pop("idle_days", 0)
    for e in doc["endpoints"]:
        self.control("POST", f"endpoints/{e['id']}",
                     {"last_active": iso(time.time() - idle_days * DAY)})
    fields = {"created_at": iso(time.time() - (idle_days + 5) * DAY)}
    fields.update(state)
    self.control("POST", f"branches/{b['id']}", fields)

    def remove():
        if self.branch_in_state(P2, name):
            self.control("POST", f"branches/{b['id']}",
                         {"protected": False, "current_state": "ready", "hold_init": False})
        self.delete_via_api(P2, name)
    self.addCleanup(remove)
    return b


NeonAuditTest.make = _make


def _git_fixture(self, ws):
    """A repository without running git: a loose local branch, a packed one,
    and remote-tracking branches (one loose, one packed)."""
    files = {
        ".git/HEAD": "ref: refs/heads/main\n",
        ".git/refs/heads/main": "1" * 40 + "\n",
        ".git/refs/heads/feature/live": "1" * 40 + "\n",
        ".git/refs/remotes/origin/HEAD": "ref: refs/remotes/origin/main\n",
        ".git/refs/remotes/origin/remote-only": "1" * 40 + "\n",
        ".git/packed-refs": "# pack-refs with: peeled fully-peeled sorted\n"
                            + "2" * 40 + " refs/heads/packed-live\n"
                            + "3" * 40 + " refs/remotes/origin/packed-remote\n",
    }
    rel = os.path.relpath(ws, self.env.root)
    for path, text in files.items():
        self.env.write(os.path.join(rel, path), text)


NeonAuditTest.git_fixture = _git_fixture


def _branch_db_sessions(self):
    """PostgreSQL's own count of sessions ever opened per branch database of
    acme-shop (pg_stat_database.sessions)."""
    dbs = [b["database"] for b in self.state()["branches"] if b["project_id"] == P2]
    quoted = ",".join("'" + d + "'" for d in dbs)
    out = self.psql(self.admin_uri(),
                    f"SELECT datname || '=' || sessions FROM pg_stat_database "
                    f"WHERE datname IN ({quoted}) ORDER BY 1")
    return out


def _admin_uri(self):
    c = self.cluster
    return f"postgresql:///postgres?host={c.sock}&port={c.port}&user={c.user}"


NeonAuditTest.branch_db_sessions = _branch_db_sessions
NeonAuditTest.admin_uri = _admin_uri


def by_name(report):
    return {b["branch"]["name"]: b for b in report.get("branches", [])}


def test_audit_findings_refusals_and_prune(self):
    self.control("POST", "config", {"op_delay_ms": 0})
    self.made = {}
    self.make("dev-dana-feature-live", idle_days=1)        # git branch feature/live exists
    self.make("dev-dana-remote-only", idle_days=1)         # only as origin/remote-only
    self.make("dev-dana-packed-remote", idle_days=1)       # only in packed-refs, remote
    self.make("dev-dana-feature-gone", idle_days=1)        # ORPHANED
    self.make("dev-dana-local", idle_days=30)              # STALE, but the .env's target
    self.make("dev-ci-pr-7", idle_days=1)                  # CLOSED-PR not checked
    self.make("old-archived", idle_days=2, current_state="archived")
    self.make("expiring", idle_days=1, expires_at=iso(time.time() + 2 * DAY))
    self.make("stale-parent", idle_days=40)
    self.make("stale-child", parent="stale-parent", idle_days=40)
    self.make("stale-protected", idle_days=40, protected=True)
    self.make("stale-init", idle_days=40, current_state="init", hold_init=True)

    ws = self.env.workspace("app", "", 'developer = "dana"\nproject = "acme-shop"\nbranch_limit = 0\n')
    self.git_fixture(ws)
    st, doc = self.api("GET", f"/projects/{P2}/connection_uri",
                       query={"database_name": self.branch_in_state(P2, "dev-dana-local")["database"],
                              "role_name": "shop_owner",
                              "branch_id": self.made["dev-dana-local"]["id"]})
    if st != 200:  # the seed's role name for acme-shop
        roles = [r for r in self.state()["roles"]]
        self.fail(f"connection_uri: {st} {doc} (roles: {roles})")
    self.env.write("app/.env", f"DB_CONNECTION_STRING={doc['uri']}\n")
    other = self.env.workspace("plain", "", "")  # known, no git, no .env target
    self.ds_ok("db", "current", ws=other)

    self.control("POST", "stats/reset")
    sessions_before = self.branch_db_sessions()

    report = self.ds_json("db", "audit", "--refresh", ws=ws)
    rows = by_name(report)
    # Both projects have a main: pick acme-shop's rows from the list, not
    # from a by-name map where one main would hide the other.
    findings = {b["branch"]["name"]: b.get("findings", []) for b in report["branches"]
                if b["project_name"] == "acme-shop"}
    self.assertEqual(findings["dev-dana-feature-live"], [])
    self.assertEqual(findings["dev-dana-remote-only"], [])
    self.assertEqual(findings["dev-dana-packed-remote"], [])
    self.assertEqual(findings["dev-dana-feature-gone"], ["ORPHANED"], report["notes"])
    self.assertEqual(findings["dev-dana-local"], ["STALE"])
    self.assertEqual(findings["dev-ci-pr-7"], [])
    self.assertEqual(findings["old-archived"], ["ARCHIVED"])
    self.assertEqual(findings["expiring"], ["EXPIRING"])
    self.assertEqual(findings["stale-parent"], ["STALE"])
    self.assertEqual(findings["stale-child"], ["STALE"])
    self.assertEqual(findings["stale-protected"], ["STALE"])
    self.assertIn("STALE", findings["stale-init"])
    self.assertEqual(findings["main"], [])
    # Kinds and owners from the naming scheme.
    self.assertEqual((rows["dev-dana-local"]["kind"], rows["dev-dana-local"]["owner"]),
                     ("local", "dana"))
    self.assertEqual((rows["dev-ci-pr-7"]["kind"], rows["dev-ci-pr-7"]["pr"]), ("ci", 7))
    self.assertEqual(rows["dev-dana-feature-gone"]["kind"], "cloud")
    self.assertEqual(rows["old-archived"]["state"], "archived")
    self.assertEqual(rows["stale-parent"]["children"], 1)
    # Every refusal, with its reason.
    kept = {n: b["kept_because"] for n, b in rows.items()}
    self.assertEqual(kept["dev-dana-local"], [f".env of {ws} (DB_CONNECTION_STRING)"])
    self.assertEqual(kept["stale-parent"], ["has 1 child branch"])
    self.assertEqual(kept["stale-protected"], ["protected"])
    self.assertEqual(kept["stale-init"], ["busy (init)"])
    self.assertIn("default branch", kept["main"])
    prunable = sorted(n for n, b in rows.items() if b.get("prunable"))
    self.assertEqual(prunable, ["dev-dana-feature-gone", "expiring", "old-archived", "stale-child"])
    # Prunable first in the order.
    order = [b["branch"]["name"] for b in report["branches"]]
    self.assertEqual(sorted(order[:4]), prunable, order)
    self.assertIn("CLOSED-PR not checked: GitHub not configured (github_repository is unset)",
                  report["notes"])
    self.assertIn(ws, report["known_workspaces"])
    self.assertIn(other, report["known_workspaces"])
    neon = [s for s in report["sources"] if s["provider"] == "neon"]
    self.assertEqual(len(neon), 1, report["sources"])
    self.assertGreater(int(neon[0]["as_of_unix_ms"]), 0)
    shop = [t for t in report["by_project"] if t["key"] == "neon/acme-shop"][0]
    self.assertEqual(shop["limit"], 0, "branch_limit = 0 in ds.toml: no OVER-LIMIT")
    self.assertEqual(shop["branches"], 13)
    self.assertGreater(int(shop["size_bytes"]), 0)
    dana = [t for t in report["by_owner"] if t["key"] == "dana"][0]
    self.assertEqual(dana["branches"], 5)
    self.assertEqual(dana["prunable"], 1)

    # OVER-LIMIT with a smaller plan; --check exit codes.
    p = self.ds("db", "audit", "--check", "--set", "branch_limit=12", ws=ws)
    self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
    self.assertIn("OVER-LIMIT", p.stdout)
    self.assertIn("Data: ", p.stdout)
    p = self.ds("db", "audit", "--check", "--owner", "nobody", ws=ws)
    self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
    p = self.ds("db", "audit", "--older-than", "fortnight", ws=ws)
    self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
    self.assertIn("not a duration", p.stderr)

    # The cached answer: zero API calls.
    before = self.stats()["total"]
    again = self.ds_json("db", "audit", ws=ws)
    self.assertEqual(self.stats()["total"], before, "a warm audit called the API")
    self.assertEqual(sorted(n for n, b in by_name(again).items() if b.get("prunable")), prunable)

    # Dry run: the table and the plan, nothing deleted.
    names_before = sorted(b["name"] for b in self.state()["branches"] if b["project_id"] == P2)
    p = self.ds_ok("db", "audit", "--prune", ws=ws)
    self.assertIn("Dry run: nothing was deleted", p.stdout)
    self.assertIn("kept: has 1 child branch", p.stdout)
    self.assertEqual(sorted(b["name"] for b in self.state()["branches"] if b["project_id"] == P2),
                     names_before)

    # No connection to any branch's database, no endpoint started, no URI
    # or password asked for, nothing changed through the API.
    routes = self.stats()["routes"]
    for route, n in routes.items():
        self.assertNotIn("connection_uri", route)
        self.assertNotIn("reveal_password", route)
        self.assertNotIn("/start", route)
        self.assertTrue(route.startswith("GET "), f"audit sent {route} ({n}x)")
    self.assertEqual(self.branch_db_sessions(), sessions_before,
                     "audit opened a session on a branch database")

    # The prune: deletes the four, keeps the rest, says what it freed.
    p = self.ds_ok("db", "audit", "--prune", "--yes", ws=ws, timeout=120)
    self.assertIn("deleted 4 branches", (p.stdout + p.stderr).lower())
    left = sorted(b["name"] for b in self.state()["branches"] if b["project_id"] == P2)
    self.assertEqual(left, sorted(set(names_before) - set(prunable)))
    jobs = self.ds_json("jobs", "list")["jobs"]
    self.assertEqual(jobs[0]["kind"], "prune")
    self.assertEqual(jobs[0]["state"], "JOB_STATE_SUCCEEDED")


def test_expiry_on_neon(self):
    self.control("POST", "config", {"op_delay_ms": 0})
    self.made = {}
    self.make("exp-parent")
    self.make("exp-child", parent="exp-parent")
    ws = self.env.workspace("app", "", 'project = "acme-shop"\n')
    p = self.ds_ok("db", "set-expiry", "exp-child", "7d", ws=ws)
    self.assertIn("expires at", p.stdout)
    at = self.branch_in_state(P2, "exp-child")["expires_at"]
    self.assertAlmostEqual(parse_ts(at), time.time() + 7 * DAY, delta=120)
    self.ds_ok("db", "set-expiry", "exp-child", "never", ws=ws)
    self.assertIsNone(self.branch_in_state(P2, "exp-child").get("expires_at"))
    refusals = {
        ("main", "7d"): "default branch",
        ("exp-parent", "7d"): "child",
        ("exp-child", "31d"): "30 days",
        ("exp-child", "soon"): "neither",
    }
    for (name, when), text in refusals.items():
        p = self.ds("db", "set-expiry", name, when, ws=ws)
        self.assertNotEqual(p.returncode, 0, (name, when))
        self.assertIn(text, p.stderr, (name, when))
    p = self.ds_ok("db", "create-branch", "exp-new", "--expires-in", "3d", ws=ws, timeout=60)
    self.addCleanup(self.delete_via_api, P2, "exp-new")
    at = self.branch_in_state(P2, "exp-new")["expires_at"]
    self.assertAlmostEqual(parse_ts(at), time.time() + 3 * DAY, delta=120)
    report = self.ds_json("db", "audit", ws=ws)
    self.assertEqual(by_name(report)["exp-new"]["findings"], ["EXPIRING"])


def test_closed_pr_from_github(self):
    self.control("POST", "config", {"op_delay_ms": 0})
    self.made = {}
    self.make("dev-ci-pr-7", idle_days=1)   # its pull request is closed
    self.make("dev-ci-pr-8", idle_days=1)   # still open
    token = "ghp_AuditTokenNeverPrinted01"
    # The GitHub double holds its answers to GitHub's published description.
    pulls = GitHubDouble(token, repository="acme/shop").__enter__()
    self.addCleanup(pulls.__exit__, None, None, None)
    pulls.open_pulls = set(range(8, 8 + 150))  # two pages
    ws = self.env.workspace("ci", "", 'project = "acme-shop"\nbranch_limit = 0\n'
                                      'github_repository = "acme/shop"\n')
    github = {"GITHUB_API_URL": pulls.url, "GITHUB_TOKEN": token}

    # Nothing fetched yet: a plain audit says so and asks nobody.
    report = self.ds_json("db", "audit", ws=ws, env=github)
    self.assertEqual(pulls.journal, [])
    self.assertTrue(any("pull requests are not fetched yet" in n for n in report["notes"]),
                    report["notes"])

    report = self.ds_json("db", "audit", "--refresh", ws=ws, env=github)
    rows = by_name(report)
    self.assertEqual(rows["dev-ci-pr-7"].get("findings", []), ["CLOSED-PR"],
                     (report.get("notes"), pulls.violations))
    self.assertTrue(rows["dev-ci-pr-7"].get("prunable"))
    self.assertEqual(rows["dev-ci-pr-8"].get("findings", []), [])
    self.assertEqual([r["path"].rsplit("page=", 1)[1] for r in pulls.journal], ["1", "2"])
    self.assertFalse(any("CLOSED-PR not checked" in n for n in report.get("notes", [])))

    # Warm: the last fetch answers, no request.
    asked = len(pulls.journal)
    report = self.ds_json("db", "audit", ws=ws, env=github)
    self.assertEqual(by_name(report)["dev-ci-pr-7"].get("findings", []), ["CLOSED-PR"])
    self.assertEqual(len(pulls.journal), asked)

    # A refused token: the check is not made, the reason is given, the
    # token never shown.
    p = self.ds("db", "audit", "--refresh", "--json", ws=ws,
                env={**github, "GITHUB_TOKEN": "ghp_WrongTokenNeverPrinted02"})
    self.assertEqual(p.returncode, 0, p.stderr)
    notes = json.loads(p.stdout)["notes"]
    self.assertTrue(any("CLOSED-PR not checked" in n and "GITHUB_TOKEN" in n for n in notes), notes)
    for out in (p.stdout + p.stderr, self.env.read_log()):
        self.assertNotIn("ghp_WrongTokenNeverPrinted02", out)
        self.assertNotIn(token, out)
    self.assertEqual(pulls.violations, [])


NeonAuditTest.test_audit_findings_refusals_and_prune = test_audit_findings_refusals_and_prune
NeonAuditTest.test_closed_pr_from_github = test_closed_pr_from_github
NeonAuditTest.test_expiry_on_neon = test_expiry_on_neon


class LocalAuditTest(unittest.TestCase):
    """The local provider: branches of dsd's own cluster."""

    def setUp(self):
        self.env = DsEnv("audit-local")
        self.addCleanup(self.env.cleanup)
        self.env.start_daemon()

    def ds(self, *args, ws=None, timeout=120):
        return self.env.ds(*(list(args) + (["-C", ws] if ws else [])), timeout=timeout)

    def ds_ok(self, *args, **kw):
        p = self.ds(*args, **kw)
        self.assertEqual(p.returncode, 0, f"ds {' '.join(args)}:\n{p.stdout}{p.stderr}")
        return p

    def audit(self, ws, *extra):
        return json.loads(self.ds_ok("db", "audit", "--json", *extra, ws=ws).stdout)

    def test_local_expiry_staleness_and_prune(self):
        ws = self.env.workspace("app", "", 'provider = "local"\ndeveloper = "lee"\n')
        self.ds_ok("db", "create-branch", "dev-lee-local", ws=ws)  # .env points here
        self.ds_ok("db", "create-branch", "dev-lee-feature-x", "--expires-in", "2d", ws=ws)
        self.ds_ok("db", "create-branch", "scratch", ws=ws)
        self.ds_ok("db", "create-branch", "scratch-child", "--parent", "scratch", ws=ws)
        # create-branch pointed .env at each copy in turn: back to the first.
        self.ds_ok("db", "set", "target-db", "--branch", "dev-lee-local", ws=ws)
        report = self.audit(ws, "--refresh")
        rows = by_name(report)
        self.assertEqual(rows["dev-lee-feature-x"]["findings"], ["EXPIRING"])
        self.assertEqual(rows["scratch"].get("findings", []), [])
        self.assertEqual(rows["main"]["kept_because"],
                         ["default branch", "protected", "has 3 child branches"])
        p = self.ds("db", "set-expiry", "scratch", "1d", ws=ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("child", p.stderr)
        self.ds_ok("db", "set-expiry", "dev-lee-feature-x", "never", ws=ws)
        self.assertEqual(by_name(self.audit(ws))["dev-lee-feature-x"].get("findings", []), [])

        # Everything idle for a second is STALE (waited for by asking again:
        # idleness is measured from the activity dsd recorded); the .env's
        # branch, the parent and main are kept; the rest goes.
        seen = {}

        def stale_enough():
            seen.update(by_name(self.audit(ws, "--older-than", "1s")))
            return all(seen[n]["findings"] for n in ("dev-lee-feature-x", "scratch-child"))
        wait_for(stale_enough, timeout=30, interval=0.25, what="branches idle for 1 s")
        rows = seen
        self.assertEqual(rows["dev-lee-local"]["kept_because"],
                         [f".env of {ws} (DB_CONNECTION_STRING)"])
        self.assertEqual(rows["scratch"]["kept_because"], ["has 1 child branch"])
        prunable = sorted(n for n, b in rows.items() if b.get("prunable"))
        self.assertEqual(prunable, ["dev-lee-feature-x", "scratch-child"])
        p = self.ds_ok("db", "audit", "--prune", "--older-than", "1s", ws=ws)
        self.assertIn("Dry run", p.stdout)
        self.assertEqual(len(by_name(self.audit(ws))), 5, "the dry run deleted something")
        p = self.ds_ok("db", "audit", "--prune", "--yes", "--older-than", "1s", ws=ws)
        self.assertIn("deleted 2 branches", (p.stdout + p.stderr).lower())
        left = sorted(by_name(self.audit(ws)))
        self.assertEqual(left, ["dev-lee-local", "main", "scratch"])


if __name__ == "__main__":
    why = tn.skip_reason()
    if why:
        print(f"skipped: {why}")
        sys.exit(125)
    main()
