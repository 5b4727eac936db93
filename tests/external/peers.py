"""Shared pieces of the external-step peer tests (tests/external,
tests/integration/test_reset_external.py, bench/external.py): free ports, a
server process started and waited for (no sleeps), the two emulators (moto
for Cognito, stripe-stateful-mock for Stripe), and the probe binary that
runs one step (tests/external_probe.cc)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PROBE = os.environ.get("DS_EXTERNAL_PROBE", "")
SKIP = 125  # ctest's SKIP_RETURN_CODE
REGION = "us-east-1"
# The peers' sources (stripe_mock.mjs) and where their node_modules are
# (staged by scripts/test.sh, or `npm ci` in the source tree).
SOURCE_PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers")
PEERS_DIR = os.environ.get("DS_PEERS_DIR", SOURCE_PEERS)


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def start_server(argv, port, env=None, timeout=60.0, cwd=None):
    """Starts argv and waits until it accepts connections on `port`. Its
    output goes to a file, never a pipe: a server that logs every request
    (moto does) blocks once an unread pipe's 64 KiB are full, which stalled
    the 1,000-user benchmark after ~1,070 requests."""
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    proc.log = log
    deadline = time.monotonic() + timeout
    while not port_answers(port):
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{argv[0]} exited: {log.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"{argv[0]} did not listen on {port} within {timeout}s")
        time.sleep(0.05)
    return proc


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()


class ProbeResult:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        lines = self.out.splitlines()
        self.result = next((l[len("result: "):] for l in lines if l.startswith("result: ")), None)
        req = next((l for l in lines if l.startswith("requests: ")), "requests: -1")
        self.requests = int(req.split()[1])
        self.lines = lines


def run_probe(step, env, args=(), timeout=300):
    if not PROBE:
        skip("DS_EXTERNAL_PROBE is not set (run through ctest)")
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": env.pop("HOME", "/nonexistent")}
    full_env.update(env)
    proc = subprocess.run([PROBE, step, *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    return ProbeResult(proc)


def require_moto():
    """Skips unless boto3 and moto import (CI's image has them; say so when
    a machine lacks them)."""
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        skip(f"moto/boto3 missing ({e})")


def require_stripe_mock():
    """Skips unless node and the npm peers' stripe-stateful-mock are there."""
    if not shutil.which("node") or not os.path.isdir(
            os.path.join(PEERS_DIR, "node_modules", "stripe-stateful-mock")):
        skip("node or stripe-stateful-mock missing (cd tests/peers && npm ci)")


class Moto:
    """moto_server verifying SigV4 for real: it does so once its
    INITIAL_NO_AUTH_ACTION_COUNT unauthenticated calls are spent, and those
    three create an IAM user allowed everything and that user's access key.
    endpoint, key_id and secret are what a client needs; cognito is a boto3
    client signing with them."""

    def __init__(self, user="ds-test"):
        import boto3
        port = free_port()
        self.server = start_server(["moto_server", "-H", "127.0.0.1", "-p", str(port)], port,
                                   env=dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3"))
        self.endpoint = f"http://127.0.0.1:{port}"
        try:
            iam = boto3.client("iam", region_name=REGION, endpoint_url=self.endpoint,
                               aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
            self.cognito = boto3.client("cognito-idp", region_name=REGION,
                                        endpoint_url=self.endpoint,
                                        aws_access_key_id=self.key_id,
                                        aws_secret_access_key=self.secret)
        except BaseException:
            self.stop()
            raise

    def credentials(self, secret=None):
        """The environment the cognito-users step reads its credentials from."""
        return {"AWS_ACCESS_KEY_ID": self.key_id,
                "AWS_SECRET_ACCESS_KEY": secret or self.secret,
                "AWS_ENDPOINT_URL": self.endpoint}

    def make_pool(self, name, users, tags=None, username="user{:04d}"):
        """A user pool named `name` holding `users` users; its id."""
        pool_id = self.cognito.create_user_pool(PoolName=name,
                                                UserPoolTags=tags or {})["UserPool"]["Id"]
        for i in range(users):
            self.cognito.admin_create_user(UserPoolId=pool_id, Username=username.format(i),
                                           MessageAction="SUPPRESS")
        return pool_id

    def stop(self):
        stop_server(self.server)


class StripeMock:
    """stripe-stateful-mock behind tests/peers/stripe_mock.mjs, whose journal
    (one JSON line a request, at `journal`) records what actually reached it.
    Call require_stripe_mock() first."""

    def __init__(self, journal):
        port = free_port()
        self.journal = journal
        # The script is in the source tree; its packages in the (staged) peers.
        env = dict(os.environ, PORT=str(port), JOURNAL=journal,
                   NODE_PATH=os.path.join(PEERS_DIR, "node_modules"))
        self.server = start_server([shutil.which("node"),
                                    os.path.join(SOURCE_PEERS, "stripe_mock.mjs")],
                                   port, env=env, cwd=PEERS_DIR)
        self.base = f"http://127.0.0.1:{port}"

    def requests(self):
        """Every request the mock has journaled so far, oldest first."""
        if not os.path.exists(self.journal):
            return []
        with open(self.journal) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        stop_server(self.server)
