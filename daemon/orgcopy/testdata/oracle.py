#!/usr/bin/env python3
"""The organization copy's oracle for schema.sql, written apart from the copier.

The copier reads the FK graph from pg_catalog and computes the subset in SQL,
with temp tables of row ids. This oracle knows the test schema's FKs from the
list below (written from schema.sql by hand), loads every row into Python
through psql, applies the rule in memory row by row, and compares the target
with the result exactly (rows as jsonb, so column order does not matter; a
multiset, so exact duplicates count). It then checks, by query on the
target: no orphan on any FK, generated values, sequences past the copied
values, every FK defined and valid, user triggers in their states (on
partitions too), the counter not doubled.

    oracle.py --source CONNINFO --target CONNINFO --org ID [--psql PATH]

Exit status 0 when the target is exactly right; else 1 with what differs.
"""
import argparse
import collections
import csv
import io
import json
import os
import subprocess
import sys

# (child, child columns, parent, parent columns, followed downward)
EDGES = [
    ("public.organizations", ["plan_id"], "public.plans", ["id"], False),
    ("public.users", ["org_id"], "public.organizations", ["id"], True),
    ("public.users", ["favorite_project_id"], "public.projects", ["id"], False),
    ("public.projects", ["org_id"], "public.organizations", ["id"], True),
    ("public.projects", ["owner_id"], "public.users", ["id"], True),
    ("public.memberships", ["org_id"], "public.organizations", ["id"], True),
    ("public.memberships", ["user_id"], "public.users", ["id"], True),
    ("public.tasks", ["project_id"], "public.projects", ["id"], True),
    ("public.tasks", ["parent_id"], "public.tasks", ["id"], False),
    ("public.tasks", ["assignee_id"], "public.users", ["id"], False),
    ("public.sprints", ["project_id"], "public.projects", ["id"], True),
    ("public.sprints", ["first_milestone_id"], "public.milestones", ["id"], True),
    ("public.milestones", ["sprint_id"], "public.sprints", ["id"], True),
    ("public.audit_events", ["org_id"], "public.organizations", ["id"], True),
    ("public.notes", ["org_id"], "public.organizations", ["id"], True),
    ("public.files", ["org_id"], "public.organizations", ["id"], True),
    ("public.file_links", ["file_key"], "public.files", ["key"], True),
    ("public.file_links", ["note_id"], "public.notes", ["id"], False),
    ("billing.accounts", ["org_id"], "public.organizations", ["id"], True),
    ("billing.invoices", ["org_id", "account_code"], "billing.accounts", ["org_id", "code"], True),
    ("public.teams", ["org_id"], "public.organizations", ["id"], True),
    ("public.teams", ["lead_id"], "public.team_leads", ["id"], True),
    ("public.team_leads", ["team_id"], "public.teams", ["id"], True),
    ("public.team_leads", ["user_id"], "public.users", ["id"], True),
    ("public.events", ["org_id"], "public.organizations", ["id"], True),
    ("public.event_reads", ["event_id", "event_at"], "public.events", ["id", "at"], True),
    ("public.event_reads", ["user_id"], "public.users", ["id"], True),
]
# Their rows are in their partitions: read without ONLY.
PARTITIONED = {"public.events", "public.event_reads"}
TABLES = sorted({e[0] for e in EDGES} | {e[2] for e in EDGES})
# Sequence -> the (table, column) values it feeds.
SEQUENCES = {
    "public.plans_id_seq": [("public.plans", "id")],
    "public.organizations_id_seq": [("public.organizations", "id")],
    "public.users_id_seq": [("public.users", "id")],
    "public.projects_id_seq": [("public.projects", "id")],
    "public.file_links_id_seq": [("public.file_links", "id")],
    "billing.accounts_id_seq": [("billing.accounts", "id")],
    "billing.invoice_numbers": [("billing.invoices", "number")],
}


class Db:
    def __init__(self, psql, conninfo):
        self.psql, self.conninfo = psql, conninfo

    def rows(self, sql):
        env = dict(os.environ, PGTZ="UTC", PGOPTIONS="-c extra_float_digits=3")
        done = subprocess.run(
            [self.psql, "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo,
             "-c", sql],
            capture_output=True, text=True, env=env)
        if done.returncode != 0:
            sys.exit(f"oracle: psql failed: {done.stderr.strip()}\n  {sql[:300]}")
        out = done.stdout
        table = list(csv.reader(io.StringIO(out)))
        return table[1:]  # without the header

    def value(self, sql):
        return self.rows(sql)[0][0]


def rows_of(table):
    return table if table in PARTITIONED else f"ONLY {table}"


def load_all(db):
    """Every row of every table, in one query: its jsonb text, and the
    values of the FK columns it has as a JSON array (null stays null)."""
    parts = []
    for table in TABLES:
        columns = sorted({c for e in EDGES if e[0] == table for c in e[1]} |
                         {c for e in EDGES if e[2] == table for c in e[3]})
        parts.append(f"SELECT '{table}', to_jsonb(t)::text, "
                     f"jsonb_build_array({', '.join(columns)})::text FROM {rows_of(table)} t")
        COLUMNS[table] = columns
    data = {t: [] for t in TABLES}
    for table, row, values in db.rows(" UNION ALL ".join(parts)):
        data[table].append((row, dict(zip(COLUMNS[table], json.loads(values)))))
    return data


COLUMNS = {}


def key(values, columns):
    k = tuple(json.dumps(values[c]) if values[c] is not None else None for c in columns)
    return None if any(v is None for v in k) else k


def expected(source, org):
    data = load_all(source)
    down = {t: set() for t in TABLES}
    down["public.organizations"] = {i for i, (_, v) in enumerate(data["public.organizations"])
                                    if str(v["id"]) == org}
    if not down["public.organizations"]:
        sys.exit(f"oracle: no organization {org} in the source")
    changed = True
    while changed:
        changed = False
        for child, ccols, parent, pcols, is_down in EDGES:
            if not is_down:
                continue
            wanted = {key(data[parent][i][1], pcols) for i in down[parent]}
            for i, (_, v) in enumerate(data[child]):
                if i not in down[child] and key(v, ccols) in wanted:
                    down[child].add(i)
                    changed = True
    chosen = {t: set(s) for t, s in down.items()}
    changed = True
    while changed:
        changed = False
        for child, ccols, parent, pcols, _ in EDGES:
            wanted = {key(data[child][i][1], ccols) for i in chosen[child]} - {None}
            for i, (_, v) in enumerate(data[parent]):
                if i not in chosen[parent] and key(v, pcols) in wanted:
                    chosen[parent].add(i)
                    changed = True
    return {t: collections.Counter(data[t][i][0] for i in chosen[t]) for t in TABLES}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--org", required=True)
    ap.add_argument("--psql", default="/usr/lib/postgresql/15/bin/psql")
    args = ap.parse_args()
    source, target = Db(args.psql, args.source), Db(args.psql, args.target)
    problems = []
    want = expected(source, args.org)
    copied = load_all(target)
    for t in TABLES:
        got = collections.Counter(r[0] for r in copied[t])
        if got != want[t]:
            missing, extra = want[t] - got, got - want[t]
            problems.append(f"{t}: {sum(want[t].values())} rows expected, {sum(got.values())} copied; "
                            f"missing {list(missing.elements())[:3]}, extra {list(extra.elements())[:3]}")
    if sum(sum(c.values()) for c in want.values()) == 0:
        problems.append("the oracle expected no rows at all")
    # Every check on the target, one query: (what, count of what is wrong).
    checks = []
    for child, ccols, parent, pcols, _ in EDGES:
        not_null = " AND ".join(f"c.{c} IS NOT NULL" for c in ccols)
        match = " AND ".join(f"p.{p} = c.{c}" for c, p in zip(ccols, pcols))
        checks.append((f"orphans in {child} ({', '.join(ccols)}) -> {parent}",
                       f"SELECT count(*) FROM {rows_of(child)} c WHERE {not_null} AND NOT EXISTS "
                       f"(SELECT 1 FROM {rows_of(parent)} p WHERE {match})"))
    checks.append(("tasks with a wrong generated total",
                   "SELECT count(*) FROM tasks WHERE total IS DISTINCT FROM qty * price"))
    for seq, fed in SEQUENCES.items():
        top = " UNION ALL ".join(f"SELECT max({c}) AS v FROM {t}" for t, c in fed)
        checks.append((f"sequence {seq} would hand out a value not above the copied ones",
                       f"SELECT count(*) FROM {seq} s, (SELECT max(v) AS top FROM ({top}) x) m "
                       f"WHERE m.top IS NOT NULL AND CASE WHEN s.is_called THEN s.last_value + 1 "
                       f"ELSE s.last_value END <= m.top"))
    checks.append(("constraints not valid",
                   "SELECT count(*) FROM pg_constraint WHERE NOT convalidated"))
    query = " UNION ALL ".join(f"SELECT {i}, ({sql})" for i, (_, sql) in enumerate(checks))
    for i, count in target.rows(query):
        if count != "0":
            problems.append(f"{count} {checks[int(i)][0]}")
    # Every FK as the schema defines it (one dropped for the load is back).
    fks = ("SELECT string_agg(conrelid::regclass::text || '.' || conname || ' ' || "
           "pg_get_constraintdef(oid), '; ' ORDER BY conrelid::regclass::text, conname) "
           "FROM pg_constraint WHERE contype = 'f'")
    if target.value(fks) != source.value(fks):
        problems.append(f"foreign keys {target.value(fks)}, not {source.value(fks)}")
    # User triggers in the state the schema gave them (on, ALWAYS, off).
    states = ("SELECT string_agg(tgrelid::regclass::text || '.' || tgname || '=' || tgenabled::text, ' ' "
              "ORDER BY tgrelid::regclass::text, tgname) FROM pg_trigger WHERE NOT tgisinternal")
    if target.value(states) != source.value(states):
        problems.append(f"trigger states {target.value(states)}, not {source.value(states)}")
    for p in problems:
        print("oracle:", p)
    copied = sum(sum(c.values()) for c in want.values())
    print(f"oracle: {copied} rows expected over {len(TABLES)} tables; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
