#!/usr/bin/env python3
"""The reset's cloud steps against their emulators, beside what a user
would otherwise script:

  Cognito: delete N users (default 1000) from a moto_server pool with SigV4
    checked, with ds's "cognito-users" step, then the same with a boto3 loop
    (list every page, then admin_delete_user each). Users/s and requests.
  Stripe: seed P products with one price each (default 50) twice into
    stripe-stateful-mock with ds's "stripe-products" step: time and requests
    of each run, and what reached the mock (the second run only lists).

Needs moto/boto3 (the image's Python), node with tests/peers installed, and
the probe: BUILD_DIR (default build/release) holds
bin/ds_external_probe_for_test.

  bench/external.py [--users 1000] [--products 50]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "external"))
import peers  # noqa: E402

BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build", "release"))
os.environ.setdefault("DS_EXTERNAL_PROBE", os.path.join(BUILD, "bin", "ds_external_probe_for_test"))
peers.PROBE = os.environ["DS_EXTERNAL_PROBE"]


def cognito(n):
    moto = peers.Moto(user="bench")
    idp = moto.cognito
    try:
        def fill():
            return moto.make_pool("bench-dev", n, username="u{:05d}")

        rows = []
        pool = fill()
        t0 = time.monotonic()
        r = peers.run_probe("cognito-users", moto.credentials(),
                            ["--set", f"cognito_user_pool_id={pool}",
                             "--set", f"aws_region={peers.REGION}"],
                            timeout=3600)
        dt = time.monotonic() - t0
        assert r.result == "ok", r.out + r.err
        rows.append(("ds cognito-users (paced 25/s)", n, dt, r.requests))

        pool = fill()
        t0 = time.monotonic()
        requests, users, token = 0, [], None
        while True:
            kw = {"UserPoolId": pool, "Limit": 60}
            if token:
                kw["PaginationToken"] = token
            page = idp.list_users(**kw)
            requests += 1
            users += [u["Username"] for u in page["Users"]]
            token = page.get("PaginationToken")
            if not token:
                break
        for u in users:
            idp.admin_delete_user(UserPoolId=pool, Username=u)
            requests += 1
        dt = time.monotonic() - t0
        rows.append(("boto3 loop (unpaced)", n, dt, requests))
        print(f"\nCognito: delete {n} users from moto_server (SigV4 verified)")
        print(f"| {'tool':32} | users | seconds | users/s | requests |")
        print(f"|{'-' * 34}|-------|---------|---------|----------|")
        for name, users_n, secs, reqs in rows:
            print(f"| {name:32} | {users_n:5} | {secs:7.1f} | {users_n / secs:7.1f} | {reqs:8} |")
    finally:
        moto.stop()


def stripe(p):
    tmp = tempfile.mkdtemp()
    mock = peers.StripeMock(os.path.join(tmp, "journal.jsonl"))
    try:
        seed = {"metadata_key": "ds_seed_id", "products": [
            {"seed_id": f"p{i}", "name": f"Product {i}",
             "prices": [{"seed_id": f"p{i}-m", "currency": "usd", "unit_amount": 100 * i,
                         "recurring": {"interval": "month"}}]} for i in range(p)]}
        with open(os.path.join(tmp, "seed.json"), "w") as f:
            json.dump(seed, f)
        print(f"\nStripe: seed {p} products with one price each, twice (stripe-stateful-mock)")
        print("| run | seconds | requests | GET | POST |")
        print("|-----|---------|----------|-----|------|")
        seen = 0
        for run in (1, 2):
            t0 = time.monotonic()
            r = peers.run_probe("stripe-products", {
                "STRIPE_SECRET_KEY": "sk_test_bench", "STRIPE_API_BASE": mock.base},
                ["--workspace", tmp, "--set", "stripe_seed_file=seed.json"])
            dt = time.monotonic() - t0
            assert r.result == "ok", r.out + r.err
            lines = mock.requests()[seen:]
            seen += len(lines)
            gets = sum(1 for j in lines if j["method"] == "GET")
            posts = sum(1 for j in lines if j["method"] == "POST")
            print(f"| {run} | {dt:7.2f} | {r.requests:8} | {gets:3} | {posts:4} |")
    finally:
        mock.stop()
        shutil.rmtree(tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--products", type=int, default=50)
    args = ap.parse_args()
    if args.products:
        stripe(args.products)
    if args.users:
        cognito(args.users)


if __name__ == "__main__":
    main()
