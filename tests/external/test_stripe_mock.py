"""The "stripe-products" step against stripe-stateful-mock (npm, pinned in
tests/peers), through the probe. The mock's journal (tests/peers/
stripe_mock.mjs) counts what actually reached it: a live key must send
nothing, and a second seeding must only list."""

import json
import os
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import peers  # noqa: E402

peers.require_stripe_mock()

SEED = {
    "metadata_key": "ds_seed_id",
    "products": [
        {"seed_id": "pro", "name": "Pro", "description": "Everything", "metadata": {"tier": "pro"},
         "prices": [
             {"seed_id": "pro-monthly", "currency": "usd", "unit_amount": 2000,
              "recurring": {"interval": "month"}},
             {"seed_id": "pro-yearly", "currency": "usd", "unit_amount": 20000,
              "recurring": {"interval": "year", "interval_count": 1}, "nickname": "Pro & yearly"},
         ]},
        {"seed_id": "team", "name": "Team", "prices": [
            {"seed_id": "team-once", "currency": "eur", "unit_amount": 50000}]},
        {"seed_id": "free", "name": "Free"},
    ],
}
KEY = "sk_test_dsPeerTest123"


class StripeMockTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.stripe = peers.StripeMock(os.path.join(self.tmp.name, "journal.jsonl"))
        self.base = self.stripe.base
        with open(os.path.join(self.tmp.name, "seed.json"), "w") as f:
            json.dump(SEED, f)

    def tearDown(self):
        self.stripe.stop()
        self.tmp.cleanup()

    def seed(self, key=KEY):
        env = {"STRIPE_SECRET_KEY": key, "STRIPE_API_BASE": self.base}
        return peers.run_probe("stripe-products", env,
                               ["--workspace", self.tmp.name, "--set", "stripe_seed_file=seed.json"])

    def stripe_list(self, what):
        req = urllib.request.Request(f"{self.base}/v1/{what}?limit=100",
                                     headers={"Authorization": f"Bearer {KEY}"})
        with urllib.request.urlopen(req) as r:
            return json.load(r)["data"]

    def test_seeding_twice_creates_nothing_the_second_time(self):
        first = self.seed()
        self.assertEqual(first.result, "ok", first.out + first.err)
        creates = [j for j in self.stripe.requests() if j["method"] == "POST"]
        self.assertEqual(sorted(j["path"] for j in creates), ["/v1/prices"] * 3 + ["/v1/products"] * 3)
        for j in creates:
            self.assertTrue(j["idempotency_key"], j)
            self.assertEqual(j["content_type"], "application/x-www-form-urlencoded")
        self.assertEqual(len({j["idempotency_key"] for j in creates}), 6)
        self.assertEqual(first.requests, 8)  # two listings, six creates

        products = {p["metadata"]["ds_seed_id"]: p for p in self.stripe_list("products")}
        self.assertEqual(set(products), {"pro", "team", "free"})
        self.assertEqual(products["pro"]["metadata"]["tier"], "pro")
        self.assertEqual(products["pro"]["description"], "Everything")
        prices = {p["metadata"]["ds_seed_id"]: p for p in self.stripe_list("prices")}
        self.assertEqual(prices["pro-yearly"]["recurring"]["interval"], "year")
        self.assertEqual(prices["pro-yearly"]["nickname"], "Pro & yearly")
        self.assertEqual(prices["team-once"]["currency"], "eur")
        self.assertEqual(prices["team-once"]["product"], products["team"]["id"])

        before = len(self.stripe.requests())
        second = self.seed()
        self.assertEqual(second.result, "ok", second.out + second.err)
        again = self.stripe.requests()[before:]
        self.assertEqual([j["method"] for j in again], ["GET", "GET"])
        self.assertEqual(second.requests, 2)
        self.assertEqual(len(self.stripe_list("products")), 3)
        self.assertEqual(len(self.stripe_list("prices")), 3)
        self.assertTrue(any("created 0 products and 0 prices" in l for l in second.lines))

    def test_a_live_key_makes_zero_requests(self):
        r = self.seed(key="sk_live_51NotARealKey")
        self.assertEqual(r.code, 1)
        self.assertIn("live-mode", r.result)
        self.assertNotIn("51NotARealKey", r.out + r.err)
        self.assertEqual(r.requests, 0)
        self.assertEqual(self.stripe.requests(), [])

    def test_a_bad_seed_file_names_the_field(self):
        with open(os.path.join(self.tmp.name, "seed.json"), "w") as f:
            json.dump({"metadata_key": "k", "products": [{"seed_id": "x"}]}, f)
        r = self.seed()
        self.assertEqual(r.code, 1)
        self.assertIn("products[0]: 'name' is required", r.result)
        self.assertEqual(self.stripe.requests(), [])


if __name__ == "__main__":
    unittest.main()
