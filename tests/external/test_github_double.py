"""The GitHub double's own check: the extracted description is a valid
OpenAPI document holding what ds calls, and the double refuses to send an
answer that is off that description (so its validation can fail)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
try:
    from openapi_spec_validator import validate
    import github_double
except ImportError as e:
    print(f"SKIP: openapi validators missing ({e})")
    sys.exit(125)

RUN = "/repos/{owner}/{repo}/actions/runs/{run_id}"
DISPATCH = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"


class GitHubDoubleTest(unittest.TestCase):
    def test_the_extract_is_valid_and_pinned(self):
        validate(github_double.SPEC)
        self.assertIn("@octokit/openapi@23.0.2", github_double.SPEC["info"]["x-ds-source"])
        dispatch = github_double.SPEC["paths"][DISPATCH]["post"]
        self.assertEqual(sorted(dispatch["responses"]), ["200", "204"])
        body = dispatch["requestBody"]["content"]["application/json"]["schema"]
        self.assertIn("return_run_details", body["properties"])

    def test_off_spec_answers_are_caught(self):
        d = github_double.GitHubDouble("t")
        self.addCleanup(d.server.server_close)
        d._dispatch({"ref": "main", "inputs": {"organization": "o", "dispatch_id": "x"}})
        good = d._run_body(4000)
        self.assertEqual(d.check("GET", RUN, 200, {}, good), [])
        bad = dict(good, status=7)
        self.assertTrue(any("status" in p for p in d.check("GET", RUN, 200, {}, bad)))
        missing = {k: v for k, v in good.items() if k != "html_url"}
        self.assertTrue(d.check("GET", RUN, 200, {}, missing))
        self.assertTrue(d.check("GET", RUN, 418, {}, {"message": "teapot"}))
        self.assertTrue(d.check("POST", DISPATCH, 204, {}, {"unexpected": "body"}))
        self.assertTrue(d.check_request(DISPATCH, {"inputs": {}}))  # no ref
        self.assertEqual(d.check_request(DISPATCH, {"ref": "main", "return_run_details": True}),
                         [])


if __name__ == "__main__":
    unittest.main()
