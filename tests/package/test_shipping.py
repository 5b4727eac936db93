"""What a user installs: the man pages, the completion scripts and the .deb.

Uses what the build already made (build/bin, build/share, CPack's config):
nothing is compiled here. Environment (set by tests/CMakeLists.txt):
DS_BUILD_DIR, DS_SOURCE_DIR, DS_VERSION.
"""

import gzip
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ["DS_BUILD_DIR"]
SOURCE = os.environ["DS_SOURCE_DIR"]
VERSION = os.environ["DS_VERSION"]
DS = os.path.join(BUILD, "bin", "ds")
SHARE = os.path.join(BUILD, "share")
IS_ROOT = os.geteuid() == 0


def run(args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(args, **kw)


def isolated_env(tmp):
    """No dsd can be found or started: completion must cope quietly."""
    return {"PATH": "/usr/bin:/bin", "HOME": tmp, "XDG_RUNTIME_DIR": tmp,
            "DS_STATE_DIR": os.path.join(tmp, "state"), "LANG": "C.UTF-8"}


def leaf_commands():
    """Every command path, read from `ds --help` and its groups' --help
    (CLI11's own listing, not the generators under test)."""
    def subcommands(path):
        p = run([DS] + path + ["--help"])
        section = p.stdout.split("Subcommands:", 1)
        if len(section) == 1:
            return []
        return re.findall(r"^  (\S+)", section[1], re.M)
    out, todo = [], [[]]
    while todo:
        path = todo.pop()
        subs = subcommands(path)
        if not subs and path:
            out.append(path)
        todo.extend(path + [s] for s in subs)
    return out


def flags_of(path):
    p = run([DS] + path + ["--help"])
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", p.stdout)) - {"--help"}


class ManPages(unittest.TestCase):

    def page(self, rel):
        with gzip.open(os.path.join(SHARE, "man", rel), "rt") as f:
            return f.read()

    def test_render_without_warnings(self):
        for rel in ("man1/ds.1.gz", "man8/dsd.8.gz"):
            with self.subTest(rel):
                p = run(["groff", "-ww", "-z", "-man"], input=self.page(rel))
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                p = run(["man", "--warnings", "-l", os.path.join(SHARE, "man", rel)],
                        env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"})
                self.assertEqual((p.returncode, p.stderr), (0, ""))
                # Bold and underline come as overstrikes without a terminal.
                self.assertIn("\nNAME\n", re.sub(".\x08", "", p.stdout))

    def test_ds1_names_every_command_flag_setting_and_exit_code(self):
        text = self.page("man1/ds.1.gz")
        commands = leaf_commands()
        self.assertIn(["db", "current"], commands)
        for path in commands:
            self.assertIn('.SS "ds ' + " ".join(path).replace("-", "\\-"), text, path)
            for flag in flags_of(path):
                self.assertIn(flag.replace("-", "\\-"), text, f"{path} {flag}")
        for key in ("provider", "neon_api_key", "branch_pattern", "migrations_dir", "log_level"):
            self.assertIn(f".TP\n\\fB{key}\\fR", text, key)
        exit_codes = text.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
        for code in ("0", "1", "2", "3", "130"):
            self.assertIn(f".B {code}\n", exit_codes)
        for section in ("FORMAT FIELDS", "SETTINGS", "ENVIRONMENT", "FILES"):
            self.assertIn(".SH " + section, text)
        self.assertNotIn("__complete", text, "hidden commands stay out")
        self.assertIn(VERSION, text.splitlines()[0])

    def test_dsd8_names_its_flags(self):
        text = self.page("man8/dsd.8.gz").replace("\\-", "-")
        p = run([os.path.join(BUILD, "bin", "dsd"), "--help"])
        flags = set(re.findall(r"(--[a-z][a-z-]*)", p.stdout)) - {"--help"}
        self.assertIn("--state-dir", flags)
        for flag in flags:
            self.assertIn(flag, text)
        self.assertNotIn("--man", text)


class Completion(unittest.TestCase):
    """The generated scripts, driven the way each shell drives them."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ds-completion-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.env = isolated_env(self.tmp)

    def bash(self, *words):
        script = os.path.join(SHARE, "completions", "ds.bash")
        line = " ".join(words)
        code = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); "
                "_ds; printf '%s\\n' \"${COMPREPLY[@]}\"")
        p = run(["bash", "-c", code], env=self.env, cwd=self.tmp)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        return p.stdout.split()

    def test_bash_offers_commands_flags_and_values(self):
        top = self.bash(DS, "''")
        for word in ("setup", "db", "jobs", "config", "daemon", "version", "completion"):
            self.assertIn(word, top)
        self.assertNotIn("__complete", top)
        self.assertNotIn("__man", top)
        self.assertEqual(sorted(self.bash(DS, "db", "s")), ["set", "set-expiry"])
        self.assertEqual(sorted(self.bash(DS, "db", "set", "''")), ["source-db", "target-db"])
        self.assertEqual(sorted(self.bash(DS, "db", "create-branch", "--p")),
                         ["--parent", "--project"])
        # Global options are offered after a command too (they may follow it).
        self.assertIn("--workspace", self.bash(DS, "db", "current", "--w"))
        self.assertEqual(self.bash(DS, "db", "current", "--fo"), ["--format"])
        # The value after an option that takes one is not read as a command.
        after_value = self.bash(DS, "--state-dir", "db", "''")
        self.assertIn("setup", after_value)
        self.assertNotIn("create-branch", after_value)
        self.assertEqual(sorted(self.bash(DS, "completion", "''")), ["bash", "fish", "zsh"])
        self.assertEqual(self.bash(DS, "--set", "branch_p"), ["branch_pattern="])
        os.mkdir(os.path.join(self.tmp, "wsdir"))
        self.assertEqual(self.bash(DS, "-C", "wsd"), ["wsdir"])

    def test_branch_names_without_dsd_are_nothing_and_start_nothing(self):
        self.assertEqual(self.bash(DS, "db", "delete-branch", "''"), [])
        p = run([DS, "__complete", "branches"], env=self.env, cwd=self.tmp)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "ds", "dsd.sock")),
                         "a Tab press must not start dsd")

    def test_scripts_match_ds_completion(self):
        for shell, name in (("bash", "ds.bash"), ("zsh", "_ds"), ("fish", "ds.fish")):
            with open(os.path.join(SHARE, "completions", name)) as f:
                self.assertEqual(run([DS, "completion", shell]).stdout, f.read())
        p = run([DS, "completion", "tcsh"])
        self.assertEqual(p.returncode, 2)

    def test_zsh_script_parses(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed")
        p = run(["zsh", "-n", os.path.join(SHARE, "completions", "_ds")])
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        # Loaded the way a user sources it: defines _ds and registers it.
        p = run(["zsh", "-f", "-c", "autoload -U compinit; compinit -u -D; "
                 f"source {os.path.join(SHARE, 'completions', '_ds')}; "
                 "print -r -- ${_comps[ds]} ${+functions[_ds]}"], env=self.env)
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "_ds 1"), p.stderr)

    def test_fish_completes_commands_and_flags(self):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed")
        script = os.path.join(SHARE, "completions", "ds.fish")
        p = run(["fish", "--no-execute", script])
        self.assertEqual((p.returncode, p.stderr), (0, ""))

        def complete(line):
            p = run(["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
                    env=self.env, cwd=self.tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            return [l.split("\t")[0] for l in p.stdout.splitlines()]

        self.assertIn("create-branch", complete("ds db "))
        self.assertNotIn("setup", complete("ds db "))
        self.assertEqual(sorted(complete("ds db create-branch --pa")), ["--parent"])
        self.assertEqual(sorted(complete("ds db set ")), ["source-db", "target-db"])
        self.assertIn("--workspace", complete("ds db current --w"))
        self.assertEqual(sorted(complete("ds completion ")), ["bash", "fish", "zsh"])


class Deb(unittest.TestCase):
    """cpack builds the .deb from the installed tree of this build."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("dpkg-deb"):
            raise unittest.SkipTest("dpkg-deb is not installed")
        cls.out = tempfile.mkdtemp(prefix="ds-deb-")
        p = run(["cpack", "-G", "DEB", "-B", cls.out,
                 "--config", os.path.join(BUILD, "CPackConfig.cmake")], cwd=BUILD, timeout=300)
        if p.returncode != 0:
            raise AssertionError("cpack failed:\n" + p.stdout + p.stderr)
        debs = [f for f in os.listdir(cls.out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.out, debs[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_metadata(self):
        self.assertEqual(self.field("Package"), "ds")
        self.assertEqual(self.field("Version"), VERSION)
        self.assertEqual(self.field("Architecture"),
                         run(["dpkg", "--print-architecture"]).stdout.strip())
        depends = self.field("Depends")
        # dsd's shared libraries, found by dpkg-shlibdeps; gRPC, protobuf and
        # abseil are linked in statically and must not appear.
        for lib in ("libc6", "libpq5", "libcurl4", "libstdc++6"):
            self.assertIn(lib, depends)
        for static in ("libgrpc", "libprotobuf", "libabsl"):
            self.assertNotIn(static, depends)
        self.assertIn("postgresql-15", self.field("Recommends"))
        self.assertRegex(self.field("Maintainer"), r"^.+ <[^@ ]+@[^@ ]+>$")
        self.assertIn("PostgreSQL branches", self.field("Description"))

    def test_contents(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout
        files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
        for path in ("/usr/bin/ds", "/usr/bin/dsd",
                     "/usr/lib/systemd/user/dsd.service", "/usr/lib/systemd/user/dsd.socket",
                     "/usr/share/man/man1/ds.1.gz", "/usr/share/man/man8/dsd.8.gz",
                     "/usr/share/bash-completion/completions/ds",
                     "/usr/share/zsh/vendor-completions/_ds",
                     "/usr/share/fish/vendor_completions.d/ds.fish",
                     "/usr/share/doc/ds/copyright", "/usr/share/doc/ds/changelog.gz"):
            self.assertIn(path, files)
        self.assertFalse([f for f in files if "/include/" in f or f.endswith(".a")], files)
        root = tempfile.mkdtemp(prefix="ds-deb-x-")
        self.addCleanup(shutil.rmtree, root, ignore_errors=True)
        run(["dpkg-deb", "-x", self.deb, root], check=True)
        with open(os.path.join(root, "usr/lib/systemd/user/dsd.service")) as f:
            self.assertIn("ExecStart=/usr/bin/dsd\n", f.read())
        p = run([os.path.join(root, "usr/bin/ds"), "--version"])
        self.assertEqual(p.stdout.strip(), VERSION)

    def test_cmake_install_into_a_prefix(self):
        prefix = tempfile.mkdtemp(prefix="ds-prefix-")
        self.addCleanup(shutil.rmtree, prefix, ignore_errors=True)
        p = run(["cmake", "--install", BUILD, "--prefix", prefix])
        self.assertEqual(p.returncode, 0, p.stderr)
        for rel in ("bin/ds", "bin/dsd", "lib/systemd/user/dsd.socket",
                    "share/man/man1/ds.1.gz", "share/bash-completion/completions/ds"):
            self.assertTrue(os.path.exists(os.path.join(prefix, rel)), rel)
        # The unit names the dsd of the prefix given at install time.
        with open(os.path.join(prefix, "lib/systemd/user/dsd.service")) as f:
            self.assertIn(f"ExecStart={prefix}/bin/dsd\n", f.read())

    def test_lintian_finds_no_errors(self):
        if not shutil.which("lintian"):
            self.skipTest("lintian is not installed (scripts/install-deps.sh installs it)")
        p = run(["lintian", "--fail-on", "error", "--no-tag-display-limit", self.deb], timeout=300)
        errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
        self.assertEqual(errors, [], p.stdout)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_install_script_installs_it(self):
        if not IS_ROOT:
            self.skipTest("installing a package needs root")
        if run(["dpkg-query", "-W", "-f=${Status}", "ds"]).stdout.startswith("install ok"):
            self.skipTest("a ds package is already installed here; not replacing it")
        p = run([os.path.join(SOURCE, "scripts", "install.sh"), self.deb], timeout=300)
        self.addCleanup(run, ["dpkg", "--purge", "ds"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("systemctl --user enable --now dsd.socket", p.stdout)
        self.assertEqual(run(["/usr/bin/ds", "--version"]).stdout.strip(), VERSION)
        self.assertEqual(run(["man", "-w", "ds"]).stdout.strip(), "/usr/share/man/man1/ds.1.gz")


if __name__ == "__main__":
    unittest.main()
