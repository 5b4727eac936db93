"""dsd's lifecycle: spawning, locking, version skew, signals, peer checks."""

import os
import signal
import socket
import subprocess
import threading

from harness import IS_ROOT, DsTestCase, fds_without_cloexec, main, open_fds, wait_until


class DaemonTest(DsTestCase):

    def test_ten_concurrent_calls_start_exactly_one_daemon(self):
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://u@h/db\n")
        results = [None] * 10

        def call(i):
            results[i] = self.env.ds("db", "current", "-C", ws, spawn=True)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for p in results:
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("TARGET DB", p.stdout)
        log = self.env.read_log()
        self.assertEqual(log.count("serving on"), 1, log)
        self.assertNotIn("already running", log)
        self.assertEqual(len(self.env.dsd_pids()), 1)

    def test_spawned_daemon_keeps_no_fd_of_the_shell(self):
        ws = self.env.workspace("ws", "DB_CONNECTION_STRING=postgresql://u@h/db\n")
        marker = self.env.write("shell-file", "held open by the calling shell\n")
        fd = os.open(marker, os.O_RDONLY)
        try:
            p = subprocess.run(self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds"),
                                              "db", "current", "-C", ws]),
                               env=self.env.env(spawn=True), pass_fds=(fd,),
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=30)
        finally:
            os.close(fd)
        self.assertEqual(p.returncode, 0, p.stderr)
        [pid] = self.env.dsd_pids()
        fds = open_fds(pid)
        self.assertNotIn(marker, fds.values(), fds)
        self.assertEqual(fds_without_cloexec(pid), [], fds)

    def test_daemon_closes_what_its_starter_left_open(self):
        marker = self.env.write("parent-file", "held open by whoever started dsd\n")
        fd = os.open(marker, os.O_RDONLY)
        try:
            d = self.env.start_daemon(pass_fds=(fd,))
        finally:
            os.close(fd)
        self.assertEqual(self.env.ds("db", "current").returncode, 0)
        fds = open_fds(d.pid)
        self.assertNotIn(marker, fds.values(), fds)
        self.assertEqual(fds_without_cloexec(d.pid), [], fds)

    def test_no_spawn_reports_unreachable(self):
        p = self.env.ds("db", "current")
        self.assertEqual(p.returncode, 3)
        self.assertIn("dsd is not running", p.stderr)
        self.assertIn("DS_NO_SPAWN", p.stderr)
        self.assertEqual(self.env.dsd_pids(), [])

    def test_version_skew_restarts_the_daemon(self):
        old = self.env.start_daemon("dsd_skew_for_test")
        p = self.env.ds("daemon", "status")
        self.assertEqual(p.returncode, 1, "status reports skew without restarting")
        self.assertIn("0.0.0-skew", p.stderr)
        p = self.env.ds("db", "current", spawn=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(old.wait(10), 0, "the old daemon stopped gracefully")
        doc = self.env.ds_json("version")
        self.assertEqual(doc["daemon_version"], doc["client_version"])
        self.assertIn("version skew", self.env.read_log())

    def test_sigterm_removes_the_socket(self):
        d = self.env.start_daemon()
        self.assertTrue(os.path.exists(self.env.socket))
        mode = os.stat(self.env.socket).st_mode & 0o777
        self.assertEqual(mode, 0o600)
        self.assertEqual(os.stat(os.path.dirname(self.env.socket)).st_mode & 0o777, 0o700)
        d.send_signal(signal.SIGTERM)
        self.assertEqual(d.wait(10), 0)
        self.assertFalse(os.path.exists(self.env.socket))
        self.assertIn("shutting down (SIGTERM)", self.env.read_log())

    def test_sigint_with_an_open_watch_stream(self):
        d = self.env.start_daemon()
        ws = self.env.workspace("ws", "A=1\n")
        # A WatchCurrent stream stays open; shutdown must still finish.
        watcher = subprocess.Popen(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "ds_watch_for_test"),
                           self.env.socket, ws]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_until(lambda: "Watches:   1" in self.env.ds("daemon", "status").stdout,
                       what="the watch to register")
            d.send_signal(signal.SIGINT)
            self.assertEqual(d.wait(10), 0)
            # dsd ended the stream (the watcher was not left hanging on it).
            out, err = watcher.communicate(timeout=10)
        finally:
            if watcher.poll() is None:
                watcher.kill()
                watcher.communicate()
        self.assertIn('"workspace_dir"', out.splitlines()[0], "the watch got its first answer")
        self.assertIn("stream ended:", err)
        self.assertFalse(os.path.exists(self.env.socket))
        self.assertIn("shutting down (SIGINT)", self.env.read_log())

    def test_second_daemon_on_same_state_dir_refuses(self):
        self.env.start_daemon()
        p = subprocess.run(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "dsd")]),
            env=self.env.env(), capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("another dsd (pid", p.stderr)
        self.assertIn("already running", p.stderr)
        doc = self.env.ds_json("daemon", "status")
        self.assertEqual(doc["pid"], self.env.daemon.pid, "the first daemon still serves")

    def test_daemon_refuses_a_group_writable_socket_dir(self):
        d = self.env.mkdir("run/ds", 0o770)
        del d
        p = subprocess.run(
            self.env.argv([os.path.join(os.environ["DS_TEST_BIN_DIR"], "dsd")]),
            env=self.env.env(), capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("writable by group or others", p.stderr)
        self.assertIn("chmod 700", p.stderr)
        p = self.env.ds("db", "current", spawn=True)
        self.assertEqual(p.returncode, 3)
        self.assertIn("chmod 700", p.stderr)

    def test_socket_dir_owned_by_another_user_is_refused(self):
        if not IS_ROOT:
            self.skipTest(f"needs root to create a directory owned by another uid "
                          f"(running as uid {os.geteuid()})")
        d = os.path.join(self.env.runtime, "ds")
        os.mkdir(d, 0o700)  # owned by root, not by the test user
        p = self.env.ds("db", "current", spawn=True)
        self.assertEqual(p.returncode, 3)
        self.assertIn(f"{d} belongs to another user (uid 0), not to you", p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, "one line of error")

    def test_stale_socket_is_replaced(self):
        d = self.env.start_daemon()
        d.send_signal(signal.SIGKILL)
        d.wait()
        self.assertTrue(os.path.exists(self.env.socket), "kill -9 leaves the socket")
        new = self.env.start_daemon()
        doc = self.env.ds_json("daemon", "status")
        self.assertEqual(doc["pid"], new.pid, "the new daemon serves on the old path")

    def test_other_uid_is_refused(self):
        if not IS_ROOT:
            self.skipTest("needs root to connect as a second uid (the tests run as "
                          f"uid {os.geteuid()}); CI runs this as root")
        self.env.start_daemon()
        # root may open the 0700 directory, so the kernel lets it connect;
        # dsd's SO_PEERCRED check must turn it away.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.env.socket)
            s.settimeout(5)
            try:
                s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                answer = s.recv(1024)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""
            self.assertEqual(answer, b"", "connection closed without an answer")
        wait_until(lambda: "refused a connection from uid 0" in self.env.read_log(),
                   what="the refusal to be logged")
        p = self.env.ds("daemon", "status")  # the owner is still served
        self.assertEqual(p.returncode, 0, p.stderr)

    # log_level: dsd reads it at start (--log-level, else DS_LOG_LEVEL in its
    # environment, else the user's config.toml). Each accepted connection is
    # logged at debug, so one `ds` call shows whether debug lines are on.
    def debug_lines_after_one_call(self):
        ws = self.env.workspace("ws", "A=1\n")
        p = self.env.ds("db", "current", "-C", ws)
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.env.read_log()
        self.assertIn("serving on", log)
        return [line for line in log.splitlines() if " DEBUG " in line]

    def test_log_level_default_logs_no_debug_lines(self):
        self.env.start_daemon()
        self.assertEqual(self.debug_lines_after_one_call(), [])

    def test_log_level_from_dsd_environment(self):
        self.env.start_daemon(env={"DS_LOG_LEVEL": "debug"})
        lines = self.debug_lines_after_one_call()
        self.assertTrue(any("accepted a connection from pid" in line for line in lines), lines)

    def test_log_level_from_user_config(self):
        self.env.mkdir("config/ds", 0o700)
        self.env.write("config/ds/config.toml", 'log_level = "debug"\n')
        self.env.start_daemon()
        lines = self.debug_lines_after_one_call()
        self.assertTrue(any("accepted a connection from pid" in line for line in lines), lines)

    def test_log_level_flag_wins_over_the_environment(self):
        self.env.start_daemon(extra_args=["--log-level", "info"], env={"DS_LOG_LEVEL": "debug"})
        self.assertEqual(self.debug_lines_after_one_call(), [])

    def test_unknown_log_level_in_user_config_is_refused(self):
        self.env.mkdir("config/ds", 0o700)
        path = self.env.write("config/ds/config.toml", 'log_level = "loud"\n')
        d = self.env.start_daemon(wait=False)
        self.assertEqual(d.wait(10), 1)
        stderr = self.env.daemon_stderr()
        self.assertIn(f'{path}:1: log_level = "loud" is not one of debug, info, warning, error',
                      stderr)
        self.assertFalse(os.path.exists(self.env.socket))


if __name__ == "__main__":
    main()
