#!/usr/bin/env python3
"""`ds db refresh-staging` through the real ds and dsd against the GitHub
double (tests/external/github_double.py), which validates every answer it
sends against GitHub's published REST description. The double moves a run
one state further on each read, so following it needs no clock; the poll
interval is set short (--poll-interval) only to keep the test quick.
"""

import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "external"))
from github_double import GitHubDouble  # noqa: E402
from harness import DsEnv, DsTestCase, main  # noqa: E402

TOKEN = "ghp_refreshStagingDoubleToken01"
TOML = ('github_repository = "acme/app"\nrefresh_staging_workflow = "refresh-staging.yml"\n'
        'refresh_staging_ref = "main"\ndemo_organization = "org_1"\n')


class RefreshStagingTest(DsTestCase):
    def setUp(self):
        super().setUp()
        self.github = GitHubDouble(TOKEN).__enter__()
        self.addCleanup(self.github.__exit__)
        self.env.start_daemon()
        self.ws = self.env.workspace("w", env_text="", toml_text=TOML)

    def tearDown(self):
        self.assertEqual(self.github.violations, [], "the double answered off the spec")
        super().tearDown()

    def refresh(self, *args, env=None, dsenv=None, ws=None):
        e = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": self.github.url}
        e.update(env or {})
        r = (dsenv or self.env).ds("db", "refresh-staging", "--poll-interval", "0.05", *args,
                                   cwd=ws or self.ws, env=e, timeout=60)
        self.assertNoSecret(r.stdout + r.stderr + (dsenv or self.env).read_log(), TOKEN)
        return r

    def requests(self, method=None, contains=""):
        return [j for j in self.github.journal
                if (method is None or j["method"] == method) and contains in j["path"]]

    def test_no_wait_prints_the_run_and_reads_nothing_more(self):
        r = self.refresh("--no-wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("https://github.com/acme/app/actions/runs/4000", r.stdout + r.stderr)
        self.assertEqual([j["method"] for j in self.github.journal], ["POST"])
        self.assertEqual(self.github.runs[4000]["inputs"]["organization"], "org_1")

    def test_following_a_run_to_success(self):
        r = self.refresh("-o", "org_9")
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        url = "https://github.com/acme/app/actions/runs/4000"
        # The URL first, then the run's states in order, its job and conclusion.
        marks = [out.find(url), out.find("run queued"), out.find("run in_progress"),
                 out.find("job copy: in_progress"), out.find("run completed: success")]
        self.assertTrue(all(m >= 0 for m in marks), out)
        self.assertEqual(marks, sorted(marks), out)
        self.assertIn("Copy the organization", out)
        self.assertEqual(self.github.runs[4000]["inputs"]["organization"], "org_9")
        job = [j for j in self.env.ds_json("jobs", "list")["jobs"]
               if j["kind"] == "refresh-staging"][0]
        self.assertEqual(job["state"], "JOB_STATE_SUCCEEDED", job)
        self.assertIn(url, job.get("summary", "") + str(job))
        self.assertNotIn(TOKEN, str(job))

    def test_a_failed_run_exits_non_zero_with_its_conclusion_and_url(self):
        self.github.conclusion = "failure"
        r = self.refresh()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("ended failure", r.stderr)
        self.assertIn("https://github.com/acme/app/actions/runs/4000", r.stderr)

    def test_two_concurrent_dispatches_each_find_their_own_run_after_204(self):
        self.github.return_run_details = False
        # Runs are listed only once both dispatches arrived, so each ds sees
        # both runs and must pick its own by the dispatch id in the name.
        self.github.list_after_dispatches = 2
        other = DsEnv("rs2")
        self.addCleanup(other.cleanup)
        other.start_daemon()
        other_ws = other.workspace("w", env_text="", toml_text=TOML)
        results = {}
        threads = [threading.Thread(target=lambda k=k, d=d, w=w: results.__setitem__(
            k, self.refresh("--no-wait", "-o", k, dsenv=d, ws=w)))
            for k, d, w in (("org_a", self.env, self.ws), ("org_b", other, other_ws))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        by_org = {r["inputs"]["organization"]: i for i, r in self.github.runs.items()}
        self.assertEqual(sorted(by_org), ["org_a", "org_b"])
        for org, r in results.items():
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            urls = set(re.findall(r"https://github\.com/acme/app/actions/runs/(\d+)",
                                  r.stdout + r.stderr))
            self.assertEqual(urls, {str(by_org[org])}, r.stdout + r.stderr)
        self.assertEqual([j["status"] for j in self.requests("POST")], [204, 204])

    def test_rate_limits_are_waited_out(self):
        # A secondary limit with Retry-After on the dispatch, then a spent
        # primary limit (remaining 0, x-ratelimit-reset) on the first read.
        self.github.rate_limits = [
            (429, {"Retry-After": "3"},
             {"message": "You have exceeded a secondary rate limit.",
              "documentation_url": "https://docs.github.com/rest"}),
        ]
        r = self.refresh("--no-wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        posts = self.requests("POST")
        self.assertEqual([p["status"] for p in posts], [429, 200])
        # ds spaces its GitHub requests a second apart anyway: 3 s shows Retry-After.
        self.assertGreaterEqual(posts[1]["at"] - posts[0]["at"], 3.0, "Retry-After was honoured")

        reset_at = int(time.time()) + 3
        self.github.rate_limits = [
            (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_at)},
             {"message": "API rate limit exceeded for user.",
              "documentation_url": "https://docs.github.com/rest"}),
        ]
        mark = len(self.github.journal)
        r = self.refresh()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        later = self.github.journal[mark:]
        self.assertEqual(later[0]["status"], 403)
        # The request after the 403 came once the window had reset.
        self.assertGreaterEqual(later[1]["wall"], reset_at)

    def test_bad_token_and_unknown_workflow(self):
        r = self.refresh(env={"GITHUB_TOKEN": "ghp_wrongTokenForTheDouble"})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("GitHub refused the token", r.stderr)
        self.assertNotIn("ghp_wrongTokenForTheDouble", r.stdout + r.stderr + self.env.read_log())
        self.env.write("w/ds.toml", TOML.replace("refresh-staging.yml", "nope.yml"))
        r = self.refresh()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("workflow nope.yml not found in acme/app", r.stderr)
        self.assertEqual(self.github.runs, {})


if __name__ == "__main__":
    main()
