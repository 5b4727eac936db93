"""The "cognito-users" step against moto_server with real SigV4 checks.

moto verifies each request's signature (botocore's SigV4Auth over the
signed headers, the body and X-Amz-Date) once INITIAL_NO_AUTH_ACTION_COUNT
unauthenticated calls are spent: those create an IAM user, its policy and
its access key. Every request ds sends is also checked against botocore's
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

try:
    import boto3
    import botocore.session
    from botocore.validate import ParamValidator
    import moto  # noqa: F401
except ImportError as e:  # CI's image has them; say so when a machine lacks them
    peers.skip(f"moto/boto3 missing ({e})")

REGION = "us-east-1"


class CognitoMotoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = peers.free_port()
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        cls.server = peers.start_server(
            ["moto_server", "-H", "127.0.0.1", "-p", str(cls.port)], cls.port, env=env)
        cls.endpoint = f"http://127.0.0.1:{cls.port}"
        # The three unauthenticated calls: a user allowed everything, and its key.
        iam = boto3.client("iam", region_name=REGION, endpoint_url=cls.endpoint,
                           aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="ds-test")
        iam.put_user_policy(UserName="ds-test", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="ds-test")["AccessKey"]
        cls.key_id, cls.secret = key["AccessKeyId"], key["SecretAccessKey"]
        cls.cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=cls.endpoint,
                                   aws_access_key_id=cls.key_id,
                                   aws_secret_access_key=cls.secret)
        cls.model = botocore.session.get_session().get_service_model("cognito-idp")

    @classmethod
    def tearDownClass(cls):
        peers.stop_server(cls.server)

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.record = os.path.join(self.tmp.name, "requests.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def make_pool(self, name, users, tags=None):
        pool = self.cognito.create_user_pool(PoolName=name, UserPoolTags=tags or {})
        pool_id = pool["UserPool"]["Id"]
        for i in range(users):
            self.cognito.admin_create_user(UserPoolId=pool_id, Username=f"user{i:04d}",
                                           MessageAction="SUPPRESS")
        return pool_id

    def count_users(self, pool_id):
        n, kwargs = 0, {"UserPoolId": pool_id}
        while True:
            page = self.cognito.list_users(**kwargs)
            n += len(page["Users"])
            if not page.get("PaginationToken"):
                return n
            kwargs["PaginationToken"] = page["PaginationToken"]

    def probe(self, pool_setting, secret=None, extra=()):
        env = {"AWS_ACCESS_KEY_ID": self.key_id,
               "AWS_SECRET_ACCESS_KEY": secret or self.secret,
               "AWS_ENDPOINT_URL": self.endpoint}
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
        pool_id = self.make_pool("acme-dev-users", 150)
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
        pool_id = self.make_pool("acme-dev-users", 3)
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
            pool_id = self.make_pool(name, 2, tags)
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
