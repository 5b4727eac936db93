#!/usr/bin/env python3
"""What bench/neon.sh measures against: a private PostgreSQL 15 cluster (TLS,
SCRAM, as the tests start it) and two Neon API doubles on it.

    python3 bench/neon_env.py --root DIR [--synthetic 50x100]
    python3 bench/neon_env.py --walk BASE_URL --key KEY

- `api`: tests/neon_double/neon_double.py with the seed of the double's own
  tests (test_neon_double.SEED: acme-app with main and staging, acme-shop,
  and a project of another org), real databases behind its branches;
- `synthetic_api`: a second double on the same cluster with no seeded
  project and --synthetic PxB: API-only projects for the cold-load and
  request-rate measurements (its branches have no databases).

Both accept test_neon_double.KEY as a personal key of the seed's first org
and keep the double's default limit of 700 requests a minute; no --spec
(validating every request would slow the double down for both clients).

The double turns Nagle's algorithm off itself (it writes headers and body
in two send() calls, which cost a keep-alive client ~40 ms a request before).

Prints one JSON line on stdout once everything answers, then runs until
SIGTERM or SIGINT and stops the doubles and the cluster:
  {"api", "synthetic_api", "api_port", "synthetic_port", "pg_port", "key",
   "project", "project_name", "branch", "pids": [double, double, postgres]}
Run it as the user that should own the cluster (initdb refuses root).

--walk: a floor for dsd's cold snapshot load. Sends, one after another on
one keep-alive connection, the GETs dsd sends for a snapshot (projects, then
projects shared with the user, with limit=400; each project's branches with
limit=1000 and its endpoints; every listing followed by its cursor until an
empty page, as dsd does) and prints {"requests": N, "ms": T}.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE_DIR = os.path.join(HERE, "..", "tests", "neon_double")
sys.path.insert(0, DOUBLE_DIR)
import test_neon_double as nd  # noqa: E402  (Cluster, SEED and its ids)


def start_double(root, name, cluster, seed, extra):
    path = os.path.join(root, f"{name}-seed.json")
    with open(path, "w") as f:
        json.dump(seed, f)
    log = open(os.path.join(root, f"{name}.log"), "w")
    cmd = [sys.executable, os.path.join(DOUBLE_DIR, "neon_double.py")]
    p = subprocess.Popen(
        cmd + ["--port", "0",
         "--pg-conninfo", cluster.conninfo, "--seed", path,
         "--api-key", f"{nd.KEY}=personal:{nd.ORG_A}", "--random-seed", "5"] + extra,
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
    log.close()
    line = p.stdout.readline()
    if not line:
        p.wait(5)
        with open(log.name) as f:
            raise RuntimeError(f"neon_double ({name}) did not start: {f.read()[-2000:]}")
    return p, json.loads(line)


def walk(base_url, key):
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    n = 0

    def get(path, **query):
        nonlocal n
        n += 1
        conn.request("GET", u.path + path + "?" + urllib.parse.urlencode(query), headers=headers)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        return json.loads(body)

    def pages(path, field, limit):
        items, cursor = [], None
        while True:
            q = {"limit": limit, **({"cursor": cursor} if cursor else {})}
            doc = get(path, **q)
            if not doc[field]:
                return items
            items += doc[field]
            cursor = (doc.get("pagination") or {}).get("cursor") or (doc.get("pagination") or {}).get("next")
            if not cursor:
                return items

    t = time.monotonic()
    projects = pages("/projects", "projects", 400)
    ids = {p["id"] for p in projects}
    projects += [p for p in pages("/projects/shared", "projects", 400) if p["id"] not in ids]
    for p in projects:
        pages(f"/projects/{p['id']}/branches", "branches", 1000)
        get(f"/projects/{p['id']}/endpoints")
    ms = (time.monotonic() - t) * 1000
    conn.close()
    print(json.dumps({"requests": n, "ms": round(ms, 1)}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", help="an empty directory of this user")
    ap.add_argument("--synthetic", default="50x100", help="PxB for the second double")
    ap.add_argument("--walk", metavar="BASE_URL", help="time a snapshot's GETs (see above)")
    ap.add_argument("--key", help="API key for --walk")
    args = ap.parse_args()
    if args.walk:
        return walk(args.walk, args.key)
    if not args.root:
        ap.error("--root is required")

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    cluster = nd.Cluster(os.path.abspath(args.root))
    doubles = []
    try:
        cluster.start()
        seeded, info = start_double(args.root, "double", cluster, nd.SEED, [])
        doubles.append(seeded)
        synthetic, syn_info = start_double(
            args.root, "synthetic", cluster,
            {"user": nd.SEED["user"], "orgs": [{"id": nd.ORG_A, "name": "Acme"}], "projects": []},
            ["--synthetic", args.synthetic])
        doubles.append(synthetic)
        print(json.dumps({
            "api": info["base_url"], "synthetic_api": syn_info["base_url"],
            "api_port": info["port"], "synthetic_port": syn_info["port"],
            "pg_port": info["pg_port"], "key": nd.KEY, "project": nd.P1,
            "project_name": "acme-app", "branch": "main",
            "pids": [seeded.pid, synthetic.pid, cluster.proc.pid]}), flush=True)
        while not stopping and all(d.poll() is None for d in doubles):
            time.sleep(0.2)
        for d in doubles:
            if d.poll() is not None:
                print(f"neon_env: a double exited with {d.returncode}", file=sys.stderr)
    finally:
        for d in doubles:
            if d.poll() is None:
                d.send_signal(signal.SIGTERM)
        for d in doubles:
            try:
                d.wait(10)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
            d.stdout.close()
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
