"""The VS Code extension (editors/vscode): its logic under node against a
real dsd, and the .vsix that @vscode/vsce packs, checked and run.

Packaging uses only what tests/peers staged (DS_PEERS_DIR: TypeScript,
@types, esbuild, vsce, the gRPC packages): nothing is installed here. The
.vsix holds one bundled dist/extension.js, no node_modules. The node tests
run as the test user, as ds and dsd do (harness.py).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

from harness import BIN_DIR, DsTestCase, main

PEERS = os.environ.get("DS_PEERS_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
EXTENSION = os.path.join(SOURCE, "editors", "vscode")
NODE = shutil.which("node") or "node"


def make_readable(root):
    """The checkout may sit where the test user cannot enter: what it runs
    is copied into a temp dir and opened up."""
    os.chmod(root, 0o755)
    for d, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(d, name), 0o755)
        for name in files:
            p = os.path.join(d, name)
            if not os.path.islink(p):
                os.chmod(p, 0o644)


class VscodeExtensionTest(DsTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ds-vscode-", dir="/tmp")
        cls.stage = os.path.join(cls.tmp, "stage")
        cls.vsix = os.path.join(cls.tmp, "ds-vscode.vsix")
        p = subprocess.run([NODE, os.path.join(EXTENSION, "scripts", "package.mjs"),
                            "--peers", PEERS, "--proto", os.path.join(SOURCE, "proto"),
                            "--stage", cls.stage, "--out", cls.vsix],
                           capture_output=True, text=True, timeout=240)
        cls.package_output = p.stdout + p.stderr
        cls.package_code = p.returncode
        make_readable(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.assertEqual(self.package_code, 0, self.package_output)

    def node_env(self, ws, extra=None):
        path = os.path.dirname(NODE) + ":/usr/bin:/bin"
        return self.env.env({"DS_TEST_BIN_DIR": BIN_DIR, "DS_TEST_WORKSPACE": ws, "PATH": path,
                             **(extra or {})}, spawn=True)

    def test_logic_against_a_real_dsd(self):
        ws = self.env.workspace("ws", toml_text='developer = "vs"\n')
        tests = sorted(os.path.join(self.stage, "out", "test", f)
                       for f in os.listdir(os.path.join(self.stage, "out", "test"))
                       if f.endswith(".test.js"))
        self.assertEqual([os.path.basename(t) for t in tests],
                         ["dsd.test.js", "paths.test.js", "status_model.test.js"])
        # tsc's output (out/) imports gRPC from the staged peers.
        env = self.node_env(ws, {"NODE_PATH": os.path.join(PEERS, "node_modules")})
        p = subprocess.run(self.env.argv([NODE, "--test", "--test-reporter=spec"] + tests),
                           env=env, cwd=self.env.root, capture_output=True, text=True,
                           timeout=180)
        print(p.stdout[-4000:])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + self.env.read_log()[-3000:])
        counts = dict(re.findall(r"^ℹ (\w+) (\d+)$", p.stdout, re.M))
        self.assertGreaterEqual(int(counts.get("tests", 0)), 18, p.stdout)
        self.assertEqual(counts.get("pass"), counts["tests"], p.stdout)

    def test_vsix_holds_the_bundle_and_runs(self):
        with zipfile.ZipFile(self.vsix) as z:
            names = set(z.namelist())
            manifest = json.loads(z.read("extension/package.json"))
        protos = sorted(f for f in os.listdir(os.path.join(SOURCE, "proto", "ds", "v1"))
                        if f.endswith(".proto"))
        # Exactly: the bundle, the protos it loads, the manifest and README
        # (and vsce's own two files). No node_modules, no tsc output, no
        # sources, tests or build tools.
        self.assertEqual(names, {"extension.vsixmanifest", "[Content_Types].xml",
                                 "extension/package.json", "extension/readme.md",
                                 "extension/dist/extension.js"} |
                         {f"extension/proto/ds/v1/{f}" for f in protos})
        self.assertIn("workspace.proto", protos)
        self.assertEqual(manifest["main"], "./dist/extension.js")
        self.assertNotIn("dependencies", manifest, "runtime packages are bundled, not shipped")
        self.assertEqual({c["command"] for c in manifest["contributes"]["commands"]},
                         {"ds.switchBranch", "ds.createBranch"})
        # The bundle alone: it starts dsd and asks it for the current target
        # with the gRPC and protobufjs inside it. Node finds no package for
        # it (no NODE_PATH, nothing unpacked but the .vsix) except `vscode`,
        # which VS Code provides: an empty module stands in for it, since
        # only the import runs before activate().
        unpacked = os.path.join(self.env.root, "unpacked")
        with zipfile.ZipFile(self.vsix) as z:
            z.extractall(unpacked)
        os.makedirs(os.path.join(unpacked, "node_modules", "vscode"))
        with open(os.path.join(unpacked, "node_modules", "vscode", "index.js"), "w") as f:
            f.write("module.exports = {};\n")
        make_readable(unpacked)
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://app@db.example.com/appdb\n")
        script = (
            "const ext = require(process.argv[1] + '/extension/dist/extension.js');"
            "if (typeof ext.activate !== 'function') throw new Error('no activate');"
            "const c = new ext.DsdClient({ socketPath: ext.socketPath(process.env, process.geteuid()),"
            "  dsPath: process.env.DS_TEST_BIN_DIR + '/ds', env: process.env,"
            "  protoDir: process.argv[1] + '/extension/proto' });"
            "c.ensureDaemon().then(() => c.getCurrent(c.workspace(process.env.DS_TEST_WORKSPACE)))"
            ".then((a) => { console.log(JSON.stringify(a.target.connection)); c.close(); })"
            ".catch((e) => { console.error(e.message); process.exit(1); });")
        env = self.node_env(ws)
        self.assertNotIn("NODE_PATH", env)
        p = subprocess.run(self.env.argv([NODE, "-e", script, unpacked]), env=env,
                           cwd=self.env.root, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        connection = json.loads(p.stdout)
        self.assertEqual((connection["host"], connection["database"]), ("db.example.com", "appdb"))
        self.assertTrue(self.env.dsd_pids(), "the packed extension started dsd")

    def test_only_extension_ts_imports_vscode(self):
        # The logic must run (and is tested) under plain node.
        src = os.path.join(EXTENSION, "src")
        importers = sorted(f for f in os.listdir(src) if f.endswith(".ts") and re.search(
            r"""(from|require\()\s*['"]vscode['"]""", open(os.path.join(src, f)).read()))
        self.assertEqual(importers, ["extension.ts"])

    def test_forwarded_variables_follow_the_config_table(self):
        # paths.ts lists the non-DS_ variables that config keys read; the
        # list must be common/config.cc's.
        with open(os.path.join(SOURCE, "common", "config.cc")) as f:
            text = f.read()
        table = set(re.findall(r'^\s*\{"[a-z_]+",\s*"([A-Z][A-Z0-9_]+)"', text, re.M))
        table |= set(re.findall(r'/\*secret=\*/\w+,\s*"([A-Z][A-Z0-9_]+)"\}', text))
        want = sorted(v for v in table if not v.startswith("DS_"))
        p = subprocess.run([NODE, "-p", "JSON.stringify(require(process.argv[1]).CONFIG_ENV_VARS)",
                            os.path.join(self.stage, "out", "src", "paths.js")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(json.loads(p.stdout)), want)
        self.assertIn("NEON_API_KEY", want)


if __name__ == "__main__":
    if not shutil.which("node") or not os.path.exists(
            os.path.join(PEERS, "node_modules", "@vscode", "vsce", "package.json")):
        print(f"skipped: node or {PEERS}/node_modules/@vscode/vsce is missing (run npm ci)")
        sys.exit(125)
    main()
