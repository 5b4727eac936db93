"""A GitHub Actions double for `ds db refresh-staging`, held to GitHub's
published REST description: every answer it sends is validated against
github_spec/actions.json (cut from @octokit/openapi by github_spec/extract.py)
before it leaves, and every dispatch body against the operation's request
schema. A violation is recorded (the test asserts there is none) and
answered 500, so a double that drifts from GitHub fails loudly.

Its answers are built from GitHub's own examples in that file, with the
fields ds reads (id, name, status, conclusion, html_url, jobs and steps)
set by the double's state. A run moves one state further each time ds reads
it (its jobs show the state last read), so the client's polling loop runs
without any clock.

In-process (a thread), bound to 127.0.0.1: tests set its state directly.
"""

import copy
import json
import os
import re
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = os.path.join(os.path.dirname(__file__), "github_spec", "actions.json")
with open(SPEC_PATH) as _f:
    SPEC = json.load(_f)

# The routes ds calls, as (method, regex, spec path).
ROUTES = [
    ("POST", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/workflows/(?P<workflow>[^/]+)"
             r"/dispatches", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/workflows/(?P<workflow>[^/]+)/runs",
     "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"),
    ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/runs/(?P<run>\d+)",
     "/repos/{owner}/{repo}/actions/runs/{run_id}"),
    ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/runs/(?P<run>\d+)/jobs",
     "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"),
    ("GET", r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/pulls", "/repos/{owner}/{repo}/pulls"),
]
# Error answers the description keeps as shared components, by status.
ERROR_RESPONSES = {401: "requires_authentication", 403: "forbidden", 404: "not_found",
                   422: "validation_failed_simple", 429: "forbidden"}
DOCS = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"

# What a run goes through, one state per read: (status, conclusion or None,
# [(job name, job status, job conclusion, [(step, status, conclusion)])]).
def run_states(conclusion="success"):
    return [
        ("queued", None, []),
        ("in_progress", None, [("copy", "in_progress", None,
                                [("Set up job", "completed", "success"),
                                 ("Copy the organization", "in_progress", None)])]),
        ("completed", conclusion, [("copy", "completed", conclusion,
                                    [("Set up job", "completed", "success"),
                                     ("Copy the organization", "completed", conclusion)])]),
    ]


def deref(node):
    """Follows a local $ref chain inside SPEC."""
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def schema_errors(schema, instance):
    """Validation messages; `schema` is a spec node (may be a $ref)."""
    v = OAS30Validator(_rebase(schema), registry=_REGISTRY)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(instance)]


def _rebase(node):
    """Points local $refs at the registry's copy of the spec, and reads
    `nullable: true` beside an `enum` as allowing null: GitHub's description
    marks a pending job's conclusion so, GitHub sends null there, and OAS 3.0
    means nullable to add null to the allowed values."""
    if isinstance(node, dict):
        out = {k: ("urn:github" + v if k == "$ref" and v.startswith("#") else _rebase(v))
               for k, v in node.items()}
        if out.get("nullable") and "enum" in out and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
        return out
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


_REGISTRY = Registry().with_resource("urn:github", Resource.from_contents(
    _rebase(SPEC), default_specification=DRAFT4))


def example(name):
    return copy.deepcopy(SPEC["components"]["examples"][name]["value"])


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubDouble:
    def __init__(self, token, repository="acme/app", workflow="refresh-staging.yml",
                 declared_inputs=("dispatch_id", "organization")):
        self.token = token
        self.repository = repository
        self.workflow = workflow
        self.declared_inputs = set(declared_inputs)
        self.return_run_details = True  # False: answer 204, as older servers do
        self.conclusion = "success"
        # Runs are listed only once this many dispatches arrived: with 2, two
        # concurrent dispatchers both see both runs and must pick by id.
        self.list_after_dispatches = 0
        # Answers to send before the real one: [(status, headers, body)].
        self.rate_limits = []
        self.lock = threading.Lock()
        self.runs = {}  # id -> {"inputs", "states", "step", "created"}
        self.next_run_id = 4000
        self.dispatches = 0
        self.journal = []  # {"method", "path", "status", "at"} for every request
        self.violations = []
        self.open_pulls = set()  # numbers of the open pull requests (audit's CLOSED-PR)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- what the double answers ------------------------------------------------

    def _run_body(self, run_id):
        r = self.runs[run_id]
        status, conclusion, _ = r["states"][r["step"]]
        body = example("workflow-run")
        owner, repo = self.repository.split("/")
        body.update({
            "id": run_id, "name": f"Refresh staging with {r['inputs'].get('organization')} "
                                  f"[{r['inputs'].get('dispatch_id')}]",
            "display_title": "Refresh staging", "event": "workflow_dispatch",
            "status": status, "conclusion": conclusion, "run_attempt": 1,
            "created_at": iso(r["created"]), "updated_at": iso(r["created"]),
            "url": f"{self.url}/repos/{owner}/{repo}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{owner}/{repo}/actions/runs/{run_id}",
            "jobs_url": f"{self.url}/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        })
        return body

    def _jobs_body(self, run_id):
        r = self.runs[run_id]
        _, _, jobs = r["states"][r["step"]]
        template = example("job-paginated")["jobs"][0]
        out = []
        for i, (name, status, conclusion, steps) in enumerate(jobs):
            j = copy.deepcopy(template)
            j.update({"id": run_id * 10 + i, "run_id": run_id, "name": name, "status": status,
                      "created_at": iso(r["created"]), "started_at": iso(r["created"]),
                      "conclusion": conclusion, "completed_at": None if conclusion is None
                      else iso(r["created"]),
                      "steps": [{"name": s, "status": st, "conclusion": c, "number": n + 1,
                                 "started_at": iso(r["created"]),
                                 "completed_at": None if c is None else iso(r["created"])}
                                for n, (s, st, c) in enumerate(steps)]})
            out.append(j)
        return {"total_count": len(out), "jobs": out}

    def _dispatch(self, body):
        inputs = body.get("inputs") or {}
        unexpected = sorted(set(inputs) - self.declared_inputs)
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {unexpected}",
                         "documentation_url": DOCS}
        run_id = self.next_run_id
        self.next_run_id += 1
        self.runs[run_id] = {"inputs": dict(inputs), "states": run_states(self.conclusion),
                             "step": 0, "reads": 0, "created": time.time()}
        self.dispatches += 1
        if not (body.get("return_run_details") and self.return_run_details):
            return 204, None
        owner, repo = self.repository.split("/")
        return 200, {"workflow_run_id": run_id,
                     "run_url": f"{self.url}/repos/{owner}/{repo}/actions/runs/{run_id}",
                     "html_url": f"https://github.com/{owner}/{repo}/actions/runs/{run_id}"}

    def _answer(self, method, route, m, query, body):
        if f"{m['owner']}/{m['repo']}" != self.repository:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if route.endswith("/dispatches"):
            if m["workflow"] != self.workflow:
                return 404, {"message": "Not Found", "documentation_url": DOCS}
            return self._dispatch(body)
        if route.endswith("/pulls"):
            if query.get("state", ["open"])[0] != "open":
                return 422, {"message": "Validation Failed", "documentation_url": DOCS}
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            numbers = sorted(self.open_pulls)[(page - 1) * per_page:page * per_page]
            template = example("pull-request-simple-items")[0]
            # GitHub's own example lists a team without the `type` its
            # schema now requires; the double sends none rather than
            # inventing one.
            template["requested_teams"] = []
            pulls = []
            for n in numbers:
                pr = copy.deepcopy(template)
                pr.update({"number": n, "state": "open", "id": 100000 + n,
                           "html_url": f"https://github.com/{self.repository}/pull/{n}"})
                pulls.append(pr)
            return 200, pulls
        if route.endswith("/runs") and "workflow_id" in route:
            visible = self.dispatches >= self.list_after_dispatches
            runs = [self._run_body(i) for i in sorted(self.runs, reverse=True)] if visible else []
            if query.get("event", ["workflow_dispatch"])[0] != "workflow_dispatch":
                runs = []
            return 200, {"total_count": len(runs), "workflow_runs": runs}
        run_id = int(m["run"])
        if run_id not in self.runs:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if route.endswith("/jobs"):
            return 200, self._jobs_body(run_id)
        # Each read of the run shows its next state; its jobs stay as last read.
        r = self.runs[run_id]
        r["step"] = min(r["reads"], len(r["states"]) - 1)
        r["reads"] += 1
        return 200, self._run_body(run_id)

    # -- the check every answer goes through ------------------------------------

    def check(self, method, route, status, headers, body):
        op = SPEC["paths"][route][method.lower()]
        documented = op["responses"].get(str(status))
        if documented is None:
            if status not in ERROR_RESPONSES:
                return [f"{method} {route}: status {status} is not documented"]
            documented = SPEC["components"]["responses"][ERROR_RESPONSES[status]]
        documented = deref(documented)
        problems = []
        content = documented.get("content", {}).get("application/json")
        if content is None and body is not None:
            problems.append(f"{method} {route} {status}: a body where the spec has none")
        if content is not None:
            problems += [f"{method} {route} {status}: {e}"
                         for e in schema_errors(content["schema"], body)]
        for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
            wire = name.replace("rate-limit", "ratelimit")
            if wire in headers:
                schema = SPEC["components"]["headers"][name]["schema"]
                problems += [f"header {wire}: {e}"
                             for e in schema_errors(schema, int(headers[wire]))]
        return problems

    def check_request(self, route, body):
        schema = SPEC["paths"][route]["post"]["requestBody"]["content"]["application/json"]
        return [f"dispatch body: {e}" for e in schema_errors(schema["schema"], body)]

    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: the journal records what matters
                pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def _serve(self, method):
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match = next(((r, m) for meth, rx, r in ROUTES if meth == method
                              for m in [re.fullmatch(rx, url.path)] if m), None)
                with double.lock:
                    entry = {"method": method, "path": self.path, "at": time.monotonic(),
                             "wall": time.time()}
                    double.journal.append(entry)
                    status, headers, body, problems = self._decide(method, match, query, raw)
                    entry["status"] = status
                    if match:
                        problems += double.check(method, match[0], status, headers, body)
                    if problems:
                        double.violations += problems
                        status, headers, body = 500, {}, {"message": "; ".join(problems)}
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                headers.setdefault("x-ratelimit-limit", "5000")
                headers.setdefault("x-ratelimit-remaining", "4999")
                headers.setdefault("x-ratelimit-reset", str(int(time.time()) + 3600))
                for k, v in headers.items():
                    self.send_header(k, v)
                if body is not None:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _decide(self, method, match, query, raw):
                if not match:
                    return 404, {}, {"message": "Not Found", "documentation_url": DOCS}, [
                        f"{method} {self.path}: a route ds should not call"]
                problems = []
                if self.headers.get("Accept") != "application/vnd.github+json":
                    problems.append(f"Accept was {self.headers.get('Accept')!r}")
                if not self.headers.get("X-GitHub-Api-Version"):
                    problems.append("no X-GitHub-Api-Version")
                if self.headers.get("Authorization") != f"Bearer {double.token}":
                    return 401, {}, {"message": "Bad credentials",
                                     "documentation_url": "https://docs.github.com/rest"}, problems
                if double.rate_limits:
                    status, headers, body = double.rate_limits.pop(0)
                    return status, dict(headers), body, problems
                body = None
                if method == "POST":
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        return 400, {}, {"message": "Problems parsing JSON"}, problems + [
                            "dispatch body is not JSON"]
                    problems += double.check_request(match[0], body)
                status, body = double._answer(method, match[0], match[1], query, body)
                return status, {}, body, problems

        return Handler
