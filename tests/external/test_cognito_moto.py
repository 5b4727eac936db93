"""The "cognito-users" step against moto_server with real SigV4 checks.

moto verifies each request's signature (botocore's SigV4Auth over the
signed headers, the body and X-Amz-Date) once INITIAL_NO_AUTH_ACTION_COUNT
unauthenticated calls are spent (peers.Moto). Every request ds sends is also checked against botocore's
Cognito service model (botocore.validate). moto does not throttle; the
retry of TooManyRequestsException is tested with a scripted transport in
daemon/external/cognito_test.cc.
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import peers  # noqa: E402

peers.require_moto()
import botocore.session  # noqa: E402
from botocore.validate import ParamValidator  # noqa: E402

REGION = peers.REGION


class CognitoMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = peers.Moto()
        cls.endpoint, cls.secret, cls.cognito = cls.moto.endpoint, cls.moto.secret, cls.moto.cognito
        cls.model = botocore.session.get_session().get_service_model("cognito-idp")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.record = os.path.join(self.tmp.name, "requests.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def count_users(self, pool_id):
        n, kwargs = 0, {"UserPoolId": pool_id}
        while True:
            page = self.cognito.list_users(**kwargs)
            n += len(page["Users"])
            if not page.get("PaginationToken"):
                return n
            kwargs["PaginationToken"] = page["PaginationToken"]

    def probe(self, pool_setting, secret=None, extra=()):
        env = self.moto.credentials(secret)
        args = ["--set", f"cognito_user_pool_id={pool_setting}", "--set",
                f"aws_region={REGION}", "--stage", "dev", "--record", self.record, *extra]
        return peers.run_probe("cognito-users", env, args)

    def recorded(self):
        with open(self.record) as f:
            return [json.loads(line) for line in f]

    def assert_requests_match_the_model(self):
        validator = ParamValidator()
        for req in self.recorded():
            service, _, op = req["target"].partition(".")
            self.assertEqual(service, "AWSCognitoIdentityProviderService")
            shape = self.model.operation_model(op).input_shape
            report = validator.validate(json.loads(req["body"]), shape)
            self.assertFalse(report.has_errors(), f"{op}: {report.generate_report()}")
            if op == "ListUsers":
                self.assertLessEqual(json.loads(req["body"])["Limit"], 60)

    def test_150_users_over_pages_all_deleted(self):
        pool_id = self.moto.make_pool("acme-dev-users", 150)
        r = self.probe(pool_id)
        self.assertEqual(r.result, "ok", r.out + r.err)
        self.assertEqual(self.count_users(pool_id), 0)
        self.assertIn("progress 150/150 cognito-users: users deleted 150 of 150", r.lines)
        ops = [q["target"].rsplit(".", 1)[1] for q in self.recorded()]
        # Describe, three pages (60+60+30), 150 deletes, one listing that finds the pool empty.
        self.assertEqual(ops.count("DescribeUserPool"), 1)
        self.assertEqual(ops.count("ListUsers"), 4)
        self.assertEqual(ops.count("AdminDeleteUser"), 150)
        self.assertEqual(r.requests, 155)
        self.assert_requests_match_the_model()

    def test_wrong_secret_is_403_without_retries(self):
        pool_id = self.moto.make_pool("acme-dev-users", 3)
        r = self.probe(pool_id, secret="wrong" + self.secret[5:])
        self.assertEqual(r.code, 1)
        self.assertIn("AWS refused the credentials", r.result)
        self.assertIn("SignatureDoesNotMatch", r.result)
        self.assertNotIn(self.secret[5:], r.out + r.err)
        self.assertEqual(r.requests, 1)
        self.assertEqual(len(self.recorded()), 1)
        self.assertEqual(self.count_users(pool_id), 3)

    def test_production_pool_is_refused_before_any_delete(self):
        for name, tags in (("acme-prod-users", None), ("acme-users", {"stage": "production"})):
            pool_id = self.moto.make_pool(name, 2, tags)
            r = self.probe(pool_id)
            self.assertEqual(r.code, 1, r.out)
            self.assertIn("looks like production", r.result)
            self.assertEqual([q["target"] for q in self.recorded()][-1],
                             "AWSCognitoIdentityProviderService.DescribeUserPool")
            self.assertEqual(self.count_users(pool_id), 2)

    def test_unknown_pool(self):
        r = self.probe(f"{REGION}_doesNotExist")
        self.assertEqual(r.code, 1)
        self.assertIn("not found", r.result)
        self.assertIn("cognito_user_pool_id", r.result)

    def test_missing_credentials_say_what_to_set(self):
        env = {"AWS_ENDPOINT_URL": self.endpoint}
        r = peers.run_probe("cognito-users", env,
                            ["--set", "cognito_user_pool_id=x", "--set", f"aws_region={REGION}"])
        self.assertEqual(r.code, 1)
        self.assertIn("no AWS credentials", r.result)
        self.assertIn("AWS_ACCESS_KEY_ID", r.result)
        self.assertEqual(r.requests, 0)


if __name__ == "__main__":
    unittest.main()
