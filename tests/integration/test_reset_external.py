#!/usr/bin/env python3
"""`ds db reset` with its external steps configured, through the real ds and
dsd: the stage's Cognito pool on moto_server (verifying SigV4 for real, as
in tests/external/test_cognito_moto.py) and the Stripe seed on
stripe-stateful-mock (tests/peers/stripe_mock.mjs, whose journal records
every request that reached it). The settings come from the workspace's
ds.toml, the credentials from the caller's environment, forwarded per
request; none of them may show in output, dsd's log or the job record.

Skips (125) without moto or without the npm peers (cd tests/peers && npm ci).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "external"))
import peers  # noqa: E402
from harness import main  # noqa: E402
from test_reset import ResetCluster  # noqa: E402

peers.require_moto()
peers.require_stripe_mock()

REGION = peers.REGION
STRIPE_KEY = "sk_test_resetThroughDsd42"
LIVE_KEY = "sk_live_neverSentAnywhere42"
SEED = {"metadata_key": "ds_seed_id", "products": [
    {"seed_id": "pro", "name": "Pro", "prices": [
        {"seed_id": "pro-monthly", "currency": "usd", "unit_amount": 2000,
         "recurring": {"interval": "month"}}]},
    {"seed_id": "free", "name": "Free"},
]}
STEPS = ["check", "terminate", "drop-schemas", "cognito-users", "migrate", "stripe-products",
         "copy-organization"]


class ResetExternalTest(ResetCluster):
    ENV_NAME = "rsx"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.moto = cls.stripe = None
        try:
            cls.moto = peers.Moto()
            cls.stripe = peers.StripeMock(os.path.join(cls.env.root, "stripe-journal.jsonl"))
        except BaseException:
            cls.tearDownClass()
            raise
        cls.cognito = cls.moto.cognito

    @classmethod
    def tearDownClass(cls):
        for peer in (getattr(cls, "moto", None), getattr(cls, "stripe", None)):
            if peer:
                peer.stop()
        super().tearDownClass()

    # -- helpers ---------------------------------------------------------------

    def users_in(self, pool_id):
        return len(self.cognito.list_users(UserPoolId=pool_id, Limit=60)["Users"])

    def configure(self, ws, pool_id):
        """ds.toml names the pool through {stage}: the stage setting is the
        id's suffix (moto picks ids), so the substitution is what finds it."""
        region, _, suffix = pool_id.partition("_")
        rel = os.path.relpath(ws, self.env.root)
        self.env.write(os.path.join(rel, "ds.toml"),
                       'developer = "rst"\n'
                       f'stage = "{suffix}"\n'
                       f'cognito_user_pool_id = "{region}_{{stage}}"\n'
                       f'aws_region = "{REGION}"\n'
                       'stripe_seed_file = "stripe-seed.json"\n')
        self.env.write(os.path.join(rel, "stripe-seed.json"), json.dumps(SEED))

    def credentials(self, stripe_key=STRIPE_KEY):
        return {**self.moto.credentials(), "STRIPE_SECRET_KEY": stripe_key,
                "STRIPE_API_BASE": self.stripe.base}

    def reset(self, ws, stripe_key=STRIPE_KEY):
        return self.ds("db", "reset", "-C", ws, "-o", "1", "--yes",
                       env=self.credentials(stripe_key), timeout=120)

    def assert_no_secrets(self, *texts):
        everything = "".join(texts) + self.env.read_log() + self.ds("jobs", "list", "--json").stdout
        for secret in (self.moto.secret, STRIPE_KEY, LIVE_KEY):
            self.assertNotIn(secret, everything)

    # -- tests -----------------------------------------------------------------

    def test_reset_empties_the_pool_and_seeds_stripe_idempotently(self):
        ws, target = self.workspace("ext")
        self.configure(ws, self.moto.make_pool("acme-dev-users", 65))
        pool_id = self.moto.make_pool("acme-dev-users", 0)  # a second pool: it must stay untouched
        self.cognito.admin_create_user(UserPoolId=pool_id, Username="bystander",
                                       MessageAction="SUPPRESS")
        self.litter(target)
        before = len(self.stripe.requests())
        p = self.reset(ws)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        for i, step in enumerate(STEPS, 1):
            self.assertIn(f"[{i}/7] {step}", p.stdout)
        self.assertIn("users deleted 65 of 65", p.stdout + p.stderr)
        configured = self.env.read_log()
        self.assertNotIn("skipped: not configured", p.stdout + p.stderr, configured[-3000:])
        self.assertEqual(self.users_in(pool_id), 1)
        self.assertEqual(self.psql(target, "SELECT id FROM organizations"), "1")
        creates = [r for r in self.stripe.requests()[before:] if r["method"] == "POST"]
        self.assertEqual(sorted(r["path"] for r in creates), ["/v1/prices", "/v1/products",
                                                              "/v1/products"])
        job = self.newest_job()
        self.assertEqual(job["state"], "JOB_STATE_SUCCEEDED", job)
        steps = {s["name"]: s for s in job["steps"]}
        self.assertEqual(list(steps), STEPS)
        self.assertIn("65 users", steps["cognito-users"]["detail"])
        self.assertEqual(steps["stripe-products"]["state"], "JOB_STATE_SUCCEEDED")

        # A second reset: the pool is already empty, and Stripe gets only lists.
        mark = len(self.stripe.requests())
        p2 = self.reset(ws)
        self.assertEqual(p2.returncode, 0, p2.stdout + p2.stderr)
        again = self.stripe.requests()[mark:]
        self.assertTrue(again, "the second seeding looked the products up")
        self.assertEqual([r for r in again if r["method"] != "GET"], [])
        self.assert_no_secrets(p.stdout, p.stderr, p2.stdout, p2.stderr)

    def test_a_production_pool_is_refused_before_anything_is_dropped(self):
        ws, target = self.workspace("prodpool")
        pool_id = self.moto.make_pool("acme-prod-users", 2)
        self.configure(ws, pool_id)
        self.litter(target)
        p = self.reset(ws)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("cognito-users", p.stderr)
        self.assertIn("looks like production", p.stderr)
        self.untouched(target)
        self.assertEqual(self.users_in(pool_id), 2)
        self.assert_no_secrets(p.stdout, p.stderr)

    def test_a_live_stripe_key_is_refused_before_any_request_or_drop(self):
        ws, target = self.workspace("live")
        pool_id = self.moto.make_pool("acme-dev-users", 3)
        self.configure(ws, pool_id)
        self.litter(target)
        before = len(self.stripe.requests())
        p = self.reset(ws, stripe_key=LIVE_KEY)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("stripe-products", p.stderr)
        self.assertIn("live", p.stderr)
        self.assertEqual(self.stripe.requests()[before:], [])
        self.untouched(target)
        self.assertEqual(self.users_in(pool_id), 3)
        self.assert_no_secrets(p.stdout, p.stderr)


if __name__ == "__main__":
    main()
