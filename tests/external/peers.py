"""Shared pieces of the external-step peer tests: free ports, a server
process started and waited for (no sleeps), and the probe binary that runs
one step (tests/external_probe.cc)."""

import os
import socket
import subprocess
import sys
import tempfile
import time

PROBE = os.environ.get("DS_EXTERNAL_PROBE", "")
SKIP = 125  # ctest's SKIP_RETURN_CODE


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
