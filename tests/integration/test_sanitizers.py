"""The sanitizer plumbing of a sanitizer build (docs/sanitizers.md): the
runtime options the harness sets reach dsd however it starts (in the
foreground, spawned by ds with stdio on /dev/null, under
systemd-socket-activate), so its reports land where the harness looks; and a
report there fails the test. Skips (exit 125) in a build without sanitizers.

The runtime's verbose start-up lines (verbosity=1) stand in for a report:
they go wherever a report would go, and need no bug to appear."""

import os
import shutil
import subprocess
import sys

from harness import BIN_DIR, SANITIZE, DsEnv, DsTestCase, main, wait_until

TOOL_VAR = "TSAN_OPTIONS" if "thread" in SANITIZE else "ASAN_OPTIONS"


class SanitizerPlumbingTest(DsTestCase):

    def verbose(self):
        """The env's own options for the tool, plus verbose start-up lines."""
        return {TOOL_VAR: self.env.env()[TOOL_VAR] + ":verbosity=1"}

    def logs_of(self, pid):
        return [n for n in os.listdir(self.env.sanitizer_logs) if n.endswith(f".{pid}")]

    def forget_logs(self):
        """The verbose lines are not findings: clear them before cleanup reads them."""
        for name in os.listdir(self.env.sanitizer_logs):
            os.unlink(os.path.join(self.env.sanitizer_logs, name))

    def test_foreground_dsd(self):
        dsd = self.env.start_daemon(env=self.verbose())
        wait_until(lambda: self.logs_of(dsd.pid), what="dsd's sanitizer log")
        self.env.stop_daemon()
        self.forget_logs()

    def test_dsd_spawned_by_ds(self):
        p = self.env.ds("daemon", "start", spawn=True, env=self.verbose())
        self.assertEqual(p.returncode, 0, p.stderr)
        pids = self.env.dsd_pids()
        self.assertEqual(len(pids), 1)
        wait_until(lambda: self.logs_of(pids[0]), what="the spawned dsd's sanitizer log")
        self.env.stop_all_daemons()
        self.forget_logs()

    def test_socket_activated_dsd(self):
        if not shutil.which("systemd-socket-activate"):
            self.skipTest("systemd-socket-activate is not installed")
        os.makedirs(os.path.dirname(self.env.socket), mode=0o700, exist_ok=True)
        os.chown(os.path.dirname(self.env.socket), self.env.uid, self.env.gid)
        env = self.env.env(self.verbose())
        with open(os.path.join(self.env.root, "activate.log"), "w") as log:
            proc = subprocess.Popen(
                # As test_systemd.py: only the variables named are passed on.
                self.env.argv(["systemd-socket-activate", "-l", self.env.socket] +
                              [f"--setenv={k}" for k in env] +
                              [os.path.join(BIN_DIR, "dsd"), "--foreground"]),
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        activate_log = os.path.join(self.env.root, "activate.log")
        wait_until(lambda: "Listening on" in open(activate_log).read(),
                   what="systemd-socket-activate to listen")
        pid = self.env.ds_json("daemon", "status")["pid"]
        wait_until(lambda: self.logs_of(pid), what="the activated dsd's sanitizer log")
        proc.terminate()
        proc.wait()
        self.forget_logs()

    def test_a_report_fails_the_test(self):
        other = DsEnv("report")
        path = os.path.join(other.sanitizer_logs, "asan.12345")
        with open(path, "w") as f:
            f.write("==12345==ERROR: AddressSanitizer: heap-use-after-free\n")
        with self.assertRaisesRegex(AssertionError, "heap-use-after-free"):
            other.cleanup()
        self.assertFalse(os.path.exists(other.root))


if __name__ == "__main__":
    if not SANITIZE:
        print("SKIP: not a sanitizer build (DS_SANITIZE is empty)")
        sys.exit(125)
    main()
