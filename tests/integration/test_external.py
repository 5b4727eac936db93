"""The cloud steps' plumbing through the real ds and dsd: credentials
forwarded per request and never inherited by a spawned dsd, and the clear
errors of `ds db refresh-staging` when a setting or the token is missing.
(The GitHub, Cognito and Stripe clients themselves are tested in
daemon/external and tests/external.)"""


from harness import DsTestCase, main, wait_until

SECRETS = {
    "GITHUB_TOKEN": "ghp_ForwardedNotInherited0001",
    "AWS_SECRET_ACCESS_KEY": "awsSecretForwardedNotInherited",
    "STRIPE_SECRET_KEY": "sk_test_ForwardedNotInherited",
}


class RefreshStagingTest(DsTestCase):
    def test_a_spawned_dsd_inherits_no_cloud_credentials(self):
        ws = self.env.workspace("w", env_text="", toml_text="")
        r = self.env.ds("db", "refresh-staging", cwd=ws, env=dict(SECRETS), spawn=True)
        self.assertNotEqual(r.returncode, 0)
        wait_until(lambda: self.env.dsd_pids(), what="the spawned dsd")
        for pid in self.env.dsd_pids():
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().decode(errors="replace")
            for name, value in SECRETS.items():
                self.assertNotIn(value, environ, f"dsd inherited {name}")
        for value in SECRETS.values():
            self.assertNotIn(value, self.env.read_log())
            self.assertNotIn(value, r.stdout + r.stderr)

    def test_missing_settings_and_token_are_named(self):
        self.env.start_daemon()
        ws = self.env.workspace("w", env_text="", toml_text="")
        r = self.env.ds("db", "refresh-staging", cwd=ws)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("github_repository is not set", r.stderr)

        self.env.write("w/ds.toml", 'github_repository = "acme/app"\n')
        r = self.env.ds("db", "refresh-staging", cwd=ws)
        self.assertIn("no organization to copy", r.stderr)

        r = self.env.ds("db", "refresh-staging", "-o", "org_1", cwd=ws)
        self.assertIn("no GitHub token", r.stderr)
        self.assertIn("GITHUB_TOKEN", r.stderr)

        self.env.write("w/ds.toml", 'github_repository = "not-a-repo"\n')
        r = self.env.ds("db", "refresh-staging", "-o", "org_1", cwd=ws,
                        env={"GITHUB_TOKEN": SECRETS["GITHUB_TOKEN"]})
        self.assertIn("is not owner/name", r.stderr)
        self.assertNoSecret(r.stdout + r.stderr + self.env.read_log(), SECRETS["GITHUB_TOKEN"])

    def test_the_token_may_come_from_the_workspace_env(self):
        self.env.start_daemon()
        # A token in .env and an API that refuses connections: the error is
        # the network's, which shows the token was found and used.
        ws = self.env.workspace(
            "w", env_text=f"GITHUB_TOKEN={SECRETS['GITHUB_TOKEN']}\n"
                          "GITHUB_API_URL=http://127.0.0.1:9/\n",
            toml_text='github_repository = "acme/app"\ndemo_organization = "org_1"\n')
        r = self.env.ds("db", "refresh-staging", "--no-wait", cwd=ws, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("cannot reach http://127.0.0.1:9", r.stdout + r.stderr)
        self.assertNoSecret(r.stdout + r.stderr + self.env.read_log(), SECRETS["GITHUB_TOKEN"])


if __name__ == "__main__":
    main()
