#!/usr/bin/env python3
"""Checks that every #include goes the right way between ds's folders.

The rules are not kept here: they are the table under "## Folders" in
docs/architecture.md, so the document and the check cannot drift apart.
Each row names a folder (or a file prefix such as `common/conninfo`), its
library, and what it may include: other rows' folders, and third-party
names from THIRD_PARTY below. A file belongs to the row with the longest
matching prefix; it may include its own row's headers and those its row
lists. Anything not listed is refused, with the file, the line and the rule.
One exception, the same for every row: a unit test (`*_test.cc`) may also
include the test support in tests/ (e.g. tests/pg_fixture.h, a real
PostgreSQL); the code beside it may not.

Runs in every build (a wrong-way include fails the build) and as the ctest
`layout`. `--self-test` proves the check can fail: it plants violations in
a scratch copy of the tree and expects each one to be reported.
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

# Third-party names a row may list, and the includes that mean each.
THIRD_PARTY = {
    "grpcpp": [re.compile(r"^<grpcpp/"), re.compile(r"^<grpc/"), re.compile(r"\.grpc\.pb\.h\"$")],
    "libpq": [re.compile(r"^<libpq-fe\.h>"), re.compile(r"^<libpq/")],
    "libpqxx": [re.compile(r"^<pqxx/")],
    "libcurl": [re.compile(r"^<curl/")],
    "simdjson": [re.compile(r"simdjson\.h")],
    "openssl": [re.compile(r"[<\"]openssl/")],
    "toml++": [re.compile(r"^<toml\+\+/")],
    "CLI11": [re.compile(r"^<CLI/")],
}
# Our own folders whose headers are included as "folder/...".
OWN_ROOTS = ("common/", "daemon/", "client/", "tests/")
SCANNED = ("common", "daemon", "client")
# What unit tests, and only they, may include besides their row's rules.
UNIT_TEST_SUFFIX = "_test.cc"
TEST_SUPPORT = "tests/"
SOURCE_SUFFIXES = (".h", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"][^>"]+[>"])')
TABLE_HEADING = "## Folders"


def parse_rules(doc_path):
    """Rows of the Folders table: prefix -> set of allowed names."""
    with open(doc_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        sys.exit(f"layout_check: {doc_path} has no '{TABLE_HEADING}' section")
    rows = {}
    header = None
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set(cells[0]) <= set("-: "):
            continue
        row = dict(zip(header, cells))
        folder = re.findall(r"`([^`]+)`", row.get("folder", ""))
        if not folder:
            continue
        allowed = set(re.findall(r"`([^`]+)`", row.get("may include", "")))
        rows[folder[0]] = allowed
    if not rows:
        sys.exit(f"layout_check: the table under '{TABLE_HEADING}' in {doc_path} has no rows")
    return rows


def row_of(path, rows):
    best = None
    for prefix in rows:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def check(root, doc_path):
    rows = parse_rules(doc_path)
    for name, allowed in rows.items():
        for a in allowed:
            if a not in rows and a not in THIRD_PARTY:
                return [f"{os.path.relpath(doc_path, root)}: row `{name}` allows `{a}`, "
                        f"which is neither a row of the table nor one of {sorted(THIRD_PARTY)}"]
    problems = []
    for top in SCANNED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for fname in sorted(files):
                if not fname.endswith(SOURCE_SUFFIXES):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, fname), root)
                problems += check_file(root, rel, rows)
    return problems


def check_file(root, rel, rows):
    row = row_of(rel, rows)
    if row is None:
        return [f"{rel}: no row of the Folders table in docs/architecture.md covers this file; "
                "add one (folder, library, concern, may include)"]
    allowed = rows[row]
    problems = []
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if rel.endswith(UNIT_TEST_SUFFIX) and target[1:].startswith(TEST_SUPPORT):
                continue
            why = refusal(target, row, allowed, rows)
            if why:
                problems.append(f"{rel}:{number}: #include {target}: {why}")
    return problems


def refusal(target, row, allowed, rows):
    name = target[1:-1]
    if target.startswith('"') and name.startswith(OWN_ROOTS):
        to = row_of(name, rows)
        if to is None:
            return "no row of the Folders table covers it"
        if to == row or to in allowed:
            return None
        return (f"`{row}` may not include `{to}` (docs/architecture.md, Folders: "
                f"`{row}` may include {', '.join(sorted(allowed)) or 'only itself'})")
    for lib, patterns in THIRD_PARTY.items():
        if any(p.search(target) for p in patterns):
            if lib in allowed:
                return None
            return f"`{row}` may not use {lib} (docs/architecture.md, Folders)"
    return None


def self_test(root, doc_path):
    """Plants one violation per rule kind in a scratch tree; each must be caught."""
    plants = [
        ("client/planted.cc", '#include "daemon/server.h"\n', "`client/` may not include `daemon/`"),
        ("common/planted.cc", '#include "client/output.h"\n', "`common/` may not include"),
        ("common/planted.cc", "#include <libpq-fe.h>\n", "may not use libpq"),
        ("daemon/jobs/planted.cc", "#include <grpcpp/grpcpp.h>\n", "may not use grpcpp"),
        ("daemon/migrate/planted.cc", '#include "daemon/providers/provider.h"\n',
         "`daemon/migrate/` may not include `daemon/providers/`"),
        ("daemon/pg/planted.cc", '#include "daemon/rpc/rpc_status.h"\n', "may not include `daemon/rpc/`"),
        # Test support is for unit tests only, and lifts no other rule.
        ("daemon/migrate/planted.cc", '#include "tests/pg_fixture.h"\n',
         "`daemon/migrate/` may not include `tests/`"),
        ("daemon/migrate/planted_test.cc", '#include "daemon/providers/provider.h"\n',
         "`daemon/migrate/` may not include `daemon/providers/`"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for top in SCANNED + ("docs",):
            shutil.copytree(os.path.join(root, top), os.path.join(scratch, top))
        scratch_doc = os.path.join(scratch, "docs", os.path.basename(doc_path))
        clean = check(scratch, scratch_doc)
        if clean:
            print("self-test: the tree itself has problems:\n  " + "\n  ".join(clean))
            return 1
        for rel, text, expected in plants:
            path = os.path.join(scratch, rel)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            found = check(scratch, scratch_doc)
            os.remove(path)
            if not any(rel in p and expected in p for p in found):
                print(f"self-test: planting {text.strip()} in {rel} was not caught "
                      f"(expected '{expected}'), got: {found}")
                failures += 1
    print(f"self-test: {len(plants) - failures} of {len(plants)} planted violations caught")
    return 1 if failures else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.dirname(here))
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--stamp", help="file to touch when the check passes (build use)")
    args = parser.parse_args()
    doc = os.path.join(args.root, "docs", "architecture.md")
    if args.self_test:
        return self_test(args.root, doc)
    problems = check(args.root, doc)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"layout_check: {len(problems)} include(s) break the folder rules", file=sys.stderr)
        return 1
    if args.stamp:
        with open(args.stamp, "w", encoding="utf-8"):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
