"""An editor plugin's client (@grpc/grpc-js, from tests/peers) against dsd."""

import json
import os
import shutil
import subprocess
import sys

from harness import DsTestCase, main

PEERS = os.environ.get("DS_PEERS_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))


class EditorPluginTest(DsTestCase):

    def test_health_reflection_get_and_watch(self):
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://app@db.example.com/appdb\n")
        self.env.start_daemon()
        # The clone may not be readable by the test user: copy what node reads.
        script = os.path.join(self.env.root, "editor_plugin.mjs")
        shutil.copy(os.path.join(HERE, "..", "peers", "editor_plugin.mjs"), script)
        proto = os.path.join(self.env.root, "proto")
        shutil.copytree(os.environ["DS_PROTO_DIR"], proto)
        os.chmod(script, 0o644)
        for d, _, files in os.walk(proto):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        p = subprocess.run(self.env.argv(["node", script, PEERS, proto, self.env.socket, ws]),
                           env=self.env.env(), capture_output=True, text=True, timeout=60)
        steps = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual([s["step"] for s in steps],
                         ["health", "reflection", "get_current", "bad_request", "watch_current"])
        self.assertEqual(steps[2]["host"], "db.example.com")
        print("WatchCurrent latency:", steps[4]["latency_ms"], "ms")


if __name__ == "__main__":
    if not shutil.which("node") or not os.path.isdir(
            os.path.join(PEERS, "node_modules", "@grpc", "grpc-js")):
        print(f"skipped: node or {PEERS}/node_modules/@grpc/grpc-js is missing (run npm ci)")
        sys.exit(125)
    main()
