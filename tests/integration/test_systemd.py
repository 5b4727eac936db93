"""The systemd user units: they verify cleanly, and dsd serves on a socket
that systemd (here systemd-socket-activate) created and passed to it."""

import os
import shutil
import subprocess

from harness import BIN_DIR, DsTestCase, main, wait_until

UNIT_DIR = os.environ.get("DS_SYSTEMD_UNIT_DIR", "")


class SystemdTest(DsTestCase):

    def test_units_verify_without_warnings(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        units = self.env.mkdir("units")
        for name in ("dsd.socket", "dsd.service"):
            shutil.copy(os.path.join(UNIT_DIR, name), units)
        # The unit's ExecStart must exist for verify to pass.
        text = open(os.path.join(units, "dsd.service")).read()
        exec_start = next(l for l in text.splitlines() if l.startswith("ExecStart="))
        binary = exec_start.split("=", 1)[1].split()[0]
        if not os.path.exists(binary):
            text = text.replace(binary, os.path.join(BIN_DIR, "dsd"))
            open(os.path.join(units, "dsd.service"), "w").write(text)
        p = subprocess.run(
            ["systemd-analyze", "--user", "--man=no", "verify",
             os.path.join(units, "dsd.socket"), os.path.join(units, "dsd.service")],
            env={**os.environ, "XDG_RUNTIME_DIR": self.env.runtime},
            capture_output=True, text=True, timeout=60)
        # Parse errors are only warnings (exit 0): any output is a failure.
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr.strip(), "", p.stderr)

    def test_socket_activation(self):
        if not shutil.which("systemd-socket-activate"):
            self.skipTest("systemd-socket-activate is not installed")
        os.makedirs(os.path.dirname(self.env.socket), mode=0o700, exist_ok=True)
        os.chown(os.path.dirname(self.env.socket), self.env.uid, self.env.gid)
        with open(os.path.join(self.env.root, "activate.log"), "w") as log:
            proc = subprocess.Popen(
                # systemd-socket-activate passes on only the variables named.
                self.env.argv(["systemd-socket-activate", "-l", self.env.socket] +
                              [f"--setenv={k}" for k in self.env.env()] +
                              [os.path.join(BIN_DIR, "dsd"), "--foreground"]),
                env=self.env.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        activate_log = os.path.join(self.env.root, "activate.log")
        wait_until(lambda: "Listening on" in open(activate_log).read(),
                   what="systemd-socket-activate to listen")
        # The first connection starts dsd, which adopts the listening fd.
        doc = self.env.ds_json("daemon", "status")
        self.assertTrue(doc["socket_activated"])
        wait_until(lambda: "socket-activated" in self.env.read_log(), what="the log line")
        p = self.env.ds("db", "current")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("TARGET DB", p.stdout)
        self.assertEqual(self.env.ds_json("daemon", "status")["pid"], doc["pid"],
                         "the activated dsd serves both calls")


if __name__ == "__main__":
    main()
