#!/usr/bin/env python3
"""Writes a Drizzle migrations folder for benchmarks and tests.

Usage: gen_migrations.py OUTDIR [--count N] [--seed S] [--start-ms MS]

OUTDIR gets the drizzle-kit 0.31 layout: meta/_journal.json and one
NNNN_word_word.sql per migration, statements joined by
"--> statement-breakpoint" the way drizzle-kit writes them (no snapshots:
the migrator never reads them). The N migrations (default 500) are a
realistic mix of DDL: tables with serial / identity / uuid keys, foreign
keys, added, dropped, renamed and retyped columns, indexes, unique and check
constraints, enums, defaults, comments, views, renamed and dropped tables.

All of them apply in order to an empty PostgreSQL database (15 and later),
all in one transaction as drizzle runs them: the generator models the schema
as it goes and only emits a statement that is valid at that point (nothing
is dropped while a view, a foreign key or an index still uses it, a value
added to an enum is never used, no name is ever reused). The same seed and
count always give the same bytes. OUTDIR must not exist or be empty.
"""

import argparse
import hashlib
import json
import os
import random
import sys

BREAK = "--> statement-breakpoint\n"
MAX_IDENT = 63  # PostgreSQL's NAMEDATALEN - 1

# Words for the tags ("0042_quiet_harbor"), and for names in the schema.
TAG_ADJ = """amber brave calm dusty eager fuzzy gentle hollow icy jolly keen lucky
mellow nimble odd proud quiet rapid shiny tidy upbeat vivid warm young zesty
bold crisp dry early faint glad hasty idle jagged kind lean mild neat open
plain rough sharp swift tame usual vast wild""".split()
TAG_NOUN = """anchor badger beacon canyon cedar comet delta ember falcon fjord
garnet harbor heron island jasper kettle lagoon lantern maple meadow nebula
oasis orchid otter pebble prairie quartz raven reef saddle summit thistle
tundra umbra valley walrus willow yarrow zephyr birch cobalt dune""".split()

MODULES = """billing crm catalog inventory shipping support auth analytics cms
hr payroll marketing sales forum chat search audit ledger booking fleet""".split()
NOUNS = [("users", "user"), ("accounts", "account"), ("projects", "project"),
         ("invoices", "invoice"), ("orders", "order"), ("products", "product"),
         ("customers", "customer"), ("payments", "payment"), ("tickets", "ticket"),
         ("comments", "comment"), ("posts", "post"), ("tags", "tag"),
         ("teams", "team"), ("members", "member"), ("sessions", "session"),
         ("events", "event"), ("notes", "note"), ("addresses", "address"),
         ("shipments", "shipment"), ("warehouses", "warehouse"), ("items", "item"),
         ("subscriptions", "subscription"), ("plans", "plan"), ("coupons", "coupon"),
         ("reviews", "review"), ("categories", "category"), ("vendors", "vendor"),
         ("contracts", "contract"), ("reports", "report"), ("messages", "message")]

# Column name pools by kind.
COLS = {
    "varchar": "email name code phone city country slug handle title label sku "
               "currency locale timezone region zip_code reference external_id".split(),
    "text": "description notes summary body bio address_line instructions "
            "reason content caption".split(),
    "timestamp": "created_at updated_at deleted_at archived_at published_at "
                 "expires_at starts_at ends_at last_seen_at confirmed_at".split(),
    "date": "due_date birth_date start_date end_date billed_on".split(),
    "boolean": "is_active is_public verified archived is_default enabled "
               "is_featured locked".split(),
    "numeric": "amount price balance rate discount total tax weight".split(),
    "integer": "position quantity priority attempts rank retries stock "
               "duration_s views".split(),
    "bigint": "bytes_used external_num counter".split(),
    "jsonb": "metadata settings payload tags_json attributes preferences".split(),
}
ENUM_VALUES = ["draft", "pending", "active", "paused", "archived", "failed",
               "approved", "rejected", "open", "closed", "low", "medium", "high",
               "queued", "running", "done", "new", "shipped", "refunded", "trial"]
ENUM_SUFFIX = ["status", "state", "kind", "priority", "stage", "level"]
COMMENTS = ["Owned by the {m} team.", "Soft-deleted rows keep their history.",
            "One row per {s}.", "Filled in by the nightly job.", "Don't expose in the public API.",
            "Customer's own value, as entered.", "Legacy; see the {m} rewrite.",
            "Unique per account.", "Denormalised for fast listing."]


class Col:
    def __init__(self, name, kind, sqltype, nullable=True, default=None, pk=False,
                 enum=None):
        self.name = name
        self.kind = kind
        self.sqltype = sqltype
        self.nullable = nullable
        self.default = default
        self.pk = pk
        self.enum = enum      # Enum, when the column's type is one
        self.pins = set()     # ("view"|"fk"|"index"|"check", name): what uses it

    def ddl(self):
        s = f'"{self.name}" {self.sqltype}'
        if self.default is not None:
            s += f" DEFAULT {self.default}"
        if not self.nullable:
            s += " NOT NULL"
        return s


class Table:
    def __init__(self, name, singular, module):
        self.name = name
        self.singular = singular
        self.module = module
        self.cols = []
        self.pk = None
        self.indexes = []     # [name, [cols], kind]; kind: index, unique, check, fk
        self.views = set()    # names of views that read this table
        self.refs_in = set()  # names of foreign keys that point at this table

    def free_col_name(self, base):
        names = {c.name for c in self.cols}
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        return name


class Enum:
    def __init__(self, name, values):
        self.name = name
        self.values = list(values)  # usable: created with the type
        self.added = []             # added later: never used (same transaction)
        self.uses = 0


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.tables = {}
        self.enums = {}
        self.views = {}   # name -> (set of tables, [cols])
        self.fks = {}     # name -> (from table, col, to table)
        self.used = set()  # every name ever given to a relation, type, constraint or sequence

    # -- names ---------------------------------------------------------------
    def ident(self, name):
        """A name PostgreSQL keeps whole: long ones get a short hash suffix."""
        if len(name) <= MAX_IDENT:
            return name
        return name[:54] + "_" + hashlib.sha256(name.encode()).hexdigest()[:8]

    def claim(self, base):
        """A name never used before (tables, types, indexes and constraints)."""
        base = self.ident(base)
        name, n = base, 2
        while name in self.used:
            name = self.ident(f"{base}_{n}")
            n += 1
        self.used.add(name)
        return name

    def pick(self, seq):
        return self.r.choice(list(seq))

    # -- columns -------------------------------------------------------------
    def new_col(self, table, kind=None, nullable=None):
        r = self.r
        if kind is None:
            kind = r.choices(list(COLS) + ["enum"],
                             weights=[16, 10, 12, 4, 8, 7, 8, 2, 6, 5])[0]
        if kind == "enum":
            if not self.enums or r.random() < 0.3:
                return None  # the caller creates an enum first
            enum = self.enums[self.pick(sorted(self.enums))]
            name = table.free_col_name(enum.name.split("_")[-1])
            col = Col(name, "enum", f'"{enum.name}"', enum=enum)
            if r.random() < 0.7:
                col.default = f"'{r.choice(enum.values)}'"
                col.nullable = False
            enum.uses += 1
            return col
        name = table.free_col_name(r.choice(COLS[kind]))
        if kind == "varchar":
            sqltype = f"varchar({r.choice([32, 64, 100, 128, 255, 320])})"
        elif kind == "timestamp":
            sqltype = r.choice(["timestamp", "timestamp with time zone",
                                "timestamp (3) with time zone"])
        elif kind == "numeric":
            p = r.choice([10, 12, 14, 18])
            sqltype = f"numeric({p}, {r.choice([2, 4])})"
        else:
            sqltype = kind
        col = Col(name, kind, sqltype)
        if nullable is not None:
            col.nullable = nullable
        elif r.random() < 0.35:
            col.nullable = False
        # A NOT NULL column usually comes with a default, as drizzle users write them.
        if not col.nullable or r.random() < 0.3:
            col.default = self.default_for(col)
        return col

    def default_for(self, col):
        r = self.r
        return {
            "varchar": lambda: r.choice(["''", "'unknown'", "'EUR'", "'en'"]),
            "text": lambda: r.choice(["''", "'n/a'"]),
            "timestamp": lambda: "now()",
            "date": lambda: r.choice(["now()", "CURRENT_DATE"]),
            "boolean": lambda: r.choice(["false", "true"]),
            "numeric": lambda: r.choice(["'0'", "'0.00'", "'1'"]),
            "integer": lambda: str(r.choice([0, 1, 3, 10])),
            "bigint": lambda: "0",
            "jsonb": lambda: r.choice(["'{}'::jsonb", "'[]'::jsonb"]),
            "enum": lambda: f"'{r.choice(col.enum.values)}'",
        }[col.kind]()

    # -- operations: each returns a list of statements ([] if not possible) ---
    def op_create_enum(self, base=None):
        r = self.r
        if base is None:
            base = f"{r.choice(NOUNS)[1]}_{r.choice(ENUM_SUFFIX)}"
        name = self.claim(base)
        values = r.sample(ENUM_VALUES, r.randint(2, 5))
        self.enums[name] = Enum(name, values)
        vals = ", ".join(f"'{v}'" for v in values)
        return [f'CREATE TYPE "public"."{name}" AS ENUM({vals});']

    def op_create_table(self):
        r = self.r
        module = r.choice(MODULES)
        plural, singular = r.choice(NOUNS)
        base = plural if r.random() < 0.25 else f"{module}_{plural}"
        name = self.claim(base)
        t = Table(name, singular, module)
        out = []
        pk = r.choices(["serial", "identity", "bigserial", "bigidentity", "uuid"],
                       weights=[40, 25, 10, 10, 15])[0]
        if pk == "serial":
            id_col = Col("id", "integer", "serial", nullable=False, pk=True)
            self.used.add(f"{name}_id_seq")
        elif pk == "bigserial":
            id_col = Col("id", "bigint", "bigserial", nullable=False, pk=True)
            self.used.add(f"{name}_id_seq")
        elif pk in ("identity", "bigidentity"):
            seq = self.claim(f"{name}_id_seq")
            big = pk == "bigidentity"
            maxv = 9223372036854775807 if big else 2147483647
            how = r.choice(["ALWAYS", "BY DEFAULT"])
            id_col = Col("id", "bigint" if big else "integer",
                         f'{"bigint" if big else "integer"} PRIMARY KEY GENERATED {how} AS '
                         f'IDENTITY (sequence name "{seq}" INCREMENT BY 1 MINVALUE 1 '
                         f'MAXVALUE {maxv} START WITH 1 CACHE 1)', pk=True)
        else:
            id_col = Col("id", "uuid", "uuid", nullable=False, pk=True,
                         default="gen_random_uuid()")
        self.used.add(self.ident(f"{name}_pkey"))
        t.cols.append(id_col)
        t.pk = id_col

        fk_stmts, extra = [], []
        # Up to two references to existing tables, added after the CREATE TABLE.
        for target in r.sample(sorted(self.tables), min(len(self.tables), r.choice([0, 1, 1, 2]))):
            s = self.add_fk_col(t, self.tables[target])
            if s:
                fk_stmts.append(s)
        for _ in range(r.randint(2, 7)):
            col = self.new_col(t)
            if col is None:
                out += self.op_create_enum()
                col = self.new_col(t, kind="enum")
                if col is None:
                    continue
            t.cols.append(col)
        if r.random() < 0.6:
            t.cols.append(Col(t.free_col_name("created_at"), "timestamp",
                              "timestamp with time zone", nullable=False, default="now()"))
        if r.random() < 0.4:
            t.cols.append(Col(t.free_col_name("updated_at"), "timestamp",
                              "timestamp with time zone", default="now()"))
        lines = []
        for c in t.cols:
            if c.pk and c.sqltype.startswith(("integer", "bigint")):
                lines.append(f'"{c.name}" {c.sqltype}')
            elif c.pk:
                d = f" DEFAULT {c.default}" if c.default else ""
                lines.append(f'"{c.name}" {c.sqltype} PRIMARY KEY{d} NOT NULL')
            else:
                lines.append(c.ddl())
        # An inline unique constraint, and sometimes a check, as drizzle puts them.
        plain = [c for c in t.cols if not c.pk and c.kind in ("varchar", "text", "integer")]
        if plain and r.random() < 0.4:
            c = r.choice(plain)
            cname = self.claim(f"{name}_{c.name}_unique")
            t.indexes.append([cname, [c], "unique"])
            c.pins.add(("index", cname))
            lines.append(f'CONSTRAINT "{cname}" UNIQUE("{c.name}")')
        nums = [c for c in t.cols if c.kind in ("numeric", "integer") and not c.pk]
        if nums and r.random() < 0.3:
            c = r.choice(nums)
            cname = self.claim(f"{name}_{c.name}_check")
            t.indexes.append([cname, [c], "check"])
            c.pins.add(("check", cname))
            lines.append(f'CONSTRAINT "{cname}" CHECK ("{name}"."{c.name}" >= 0)')
        self.tables[name] = t
        out.append(f'CREATE TABLE "{name}" (\n\t' + ",\n\t".join(lines) + "\n);\n")
        out += fk_stmts
        for c in t.cols:
            if c.name.endswith("_id") and not c.pk:
                extra += self.index_on(t, [c])
        if r.random() < 0.4:
            extra += self.op_create_index(t)
        return out + extra

    def add_fk_col(self, t, target):
        """Adds "<singular>_id" to t (not yet created or existing); returns the FK statement."""
        r = self.r
        # The key's own type: integer for serial, bigint for bigserial, uuid.
        col = Col(t.free_col_name(f"{target.singular}_id"), "fk", target.pk.kind)
        col.nullable = r.random() < 0.4
        t.cols.append(col)
        on_delete = r.choice(["cascade", "restrict", "no action"] +
                             (["set null"] if col.nullable else []))
        fname = self.claim(f"{t.name}_{col.name}_{target.name}_id_fk")
        self.fks[fname] = (t.name, col, target.name)
        t.indexes.append([fname, [col], "fk"])
        col.pins.add(("fk", fname))
        target.pk.pins.add(("fk", fname))
        target.refs_in.add(fname)
        return (f'ALTER TABLE "{t.name}" ADD CONSTRAINT "{fname}" FOREIGN KEY ("{col.name}") '
                f'REFERENCES "public"."{target.name}"("id") ON DELETE {on_delete} '
                f'ON UPDATE no action;')

    def index_on(self, t, cols, unique=False, desc=False):
        suffix = "uidx" if unique else "idx"
        name = self.claim(f"{t.name}_{'_'.join(c.name for c in cols)}_{suffix}")
        t.indexes.append([name, cols, "index"])
        for c in cols:
            c.pins.add(("index", name))
        parts = ",".join(f'"{c.name}"' + (" DESC NULLS LAST" if desc and i == 0 else "")
                         for i, c in enumerate(cols))
        u = "UNIQUE " if unique else ""
        return [f'CREATE {u}INDEX "{name}" ON "{t.name}" USING btree ({parts});']

    def some_table(self):
        return self.tables[self.pick(sorted(self.tables))] if self.tables else None

    def op_create_index(self, t=None):
        r = self.r
        t = t or self.some_table()
        if not t:
            return []
        cols = [c for c in t.cols if c.kind not in ("jsonb",) and not c.pk]
        if not cols:
            return []
        chosen = r.sample(cols, min(len(cols), r.choice([1, 1, 1, 2])))
        unique = r.random() < 0.15
        desc = chosen[0].kind in ("timestamp", "date") and r.random() < 0.5
        return self.index_on(t, chosen, unique=unique, desc=desc)

    def op_add_column(self):
        t = self.some_table()
        if not t:
            return []
        out = []
        col = self.new_col(t)
        if col is None:
            out += self.op_create_enum()
            col = self.new_col(t, kind="enum")
        if col is None:
            return out
        t.cols.append(col)
        out.append(f'ALTER TABLE "{t.name}" ADD COLUMN {col.ddl()};')
        if self.r.random() < 0.2:
            out += self.index_on(t, [col]) if col.kind != "jsonb" else []
        return out

    def op_add_reference(self):
        if len(self.tables) < 2:
            return []
        t = self.some_table()
        target = self.tables[self.pick(sorted(n for n in self.tables if n != t.name))]
        fk = self.add_fk_col(t, target)
        col = t.cols[-1]
        return [f'ALTER TABLE "{t.name}" ADD COLUMN {col.ddl()};', fk] + self.index_on(t, [col])

    def droppable_cols(self):
        return [(t, c) for t in self.tables.values() for c in t.cols if not c.pk and not c.pins]

    def op_drop_column(self):
        cands = self.droppable_cols()
        if not cands:
            return []
        t, c = self.r.choice(cands)
        t.cols.remove(c)
        if c.enum:
            c.enum.uses -= 1
        return [f'ALTER TABLE "{t.name}" DROP COLUMN "{c.name}";']

    def op_rename_column(self):
        cands = [(t, c) for t in self.tables.values() for c in t.cols
                 if not c.pk and c.kind != "fk"]
        if not cands:
            return []
        t, c = self.r.choice(cands)
        pool = COLS.get(c.kind, [c.name])
        base = f"{c.name}_old" if self.r.random() < 0.5 and len(c.name) < 40 else self.r.choice(pool)
        new = t.free_col_name(base)
        old, c.name = c.name, new
        return [f'ALTER TABLE "{t.name}" RENAME COLUMN "{old}" TO "{new}";']

    def op_alter_column(self):
        r = self.r
        cands = [(t, c) for t in self.tables.values() for c in t.cols
                 if not c.pk and c.kind != "fk"]
        if not cands:
            return []
        t, c = r.choice(cands)
        head = f'ALTER TABLE "{t.name}" ALTER COLUMN "{c.name}"'
        moves = ["default"]
        if c.nullable:
            moves.append("set_not_null")
        else:
            moves.append("drop_not_null")
        if c.default is not None:
            moves.append("drop_default")
        if not any(k in ("view", "fk") for k, _ in c.pins) and c.kind in ("varchar", "integer", "numeric"):
            moves.append("type")
        move = r.choice(moves)
        if move == "default":
            c.default = self.default_for(c)
            return [f"{head} SET DEFAULT {c.default};"]
        if move == "drop_default":
            c.default = None
            return [f"{head} DROP DEFAULT;"]
        if move == "set_not_null":
            c.nullable = False
            return [f"{head} SET NOT NULL;"]
        if move == "drop_not_null":
            c.nullable = True
            return [f"{head} DROP NOT NULL;"]
        # Widening type changes, as drizzle writes them.
        if c.kind == "varchar":
            c.kind, c.sqltype = "text", "text"
            if c.default is not None and not c.default.startswith("'"):
                c.default = None
        elif c.kind == "integer":
            c.kind, c.sqltype = "bigint", "bigint"
        else:
            c.sqltype = "numeric(20, 4)"
        return [f"{head} SET DATA TYPE {c.sqltype};"]

    def op_add_unique(self):
        t = self.some_table()
        if not t:
            return []
        cols = [c for c in t.cols if c.kind in ("varchar", "text", "integer", "bigint", "fk", "date")
                and not c.pk]
        if not cols:
            return []
        chosen = self.r.sample(cols, min(len(cols), self.r.choice([1, 2])))
        name = self.claim(f"{t.name}_{'_'.join(c.name for c in chosen)}_unique")
        t.indexes.append([name, chosen, "unique"])
        for c in chosen:
            c.pins.add(("index", name))
        cl = ",".join(f'"{c.name}"' for c in chosen)
        return [f'ALTER TABLE "{t.name}" ADD CONSTRAINT "{name}" UNIQUE({cl});']

    def op_add_check(self):
        cands = [(t, c) for t in self.tables.values() for c in t.cols
                 if c.kind in ("numeric", "integer", "bigint", "varchar", "text", "date") and not c.pk]
        if not cands:
            return []
        t, c = self.r.choice(cands)
        name = self.claim(f"{t.name}_{c.name}_check")
        q = f'"{t.name}"."{c.name}"'
        expr = {
            "numeric": f"{q} >= 0", "integer": f"{q} >= 0", "bigint": f"{q} >= 0",
            "varchar": f"length({q}) > 0", "text": f"length({q}) <= 10000",
            "date": f"{q} > '2000-01-01'",
        }[c.kind]
        t.indexes.append([name, [c], "check"])
        c.pins.add(("check", name))
        return [f'ALTER TABLE "{t.name}" ADD CONSTRAINT "{name}" CHECK ({expr});']

    def op_drop_index(self):
        cands = [(t, ix) for t in self.tables.values() for ix in t.indexes]
        if not cands:
            return []
        t, ix = self.r.choice(cands)
        name, cols, kind = ix
        t.indexes.remove(ix)
        pin = ("fk" if kind == "fk" else "check" if kind == "check" else "index", name)
        for c in cols:
            c.pins.discard(pin)
        if kind == "fk":
            _, col, target = self.fks.pop(name)
            tt = self.tables[target]
            tt.refs_in.discard(name)
            tt.pk.pins.discard(("fk", name))
        if kind == "index":
            return [f'DROP INDEX "{name}";']
        return [f'ALTER TABLE "{t.name}" DROP CONSTRAINT "{name}";']

    def op_create_enum_column(self):
        t = self.some_table()
        if not t:
            return []
        out = self.op_create_enum() if not self.enums or self.r.random() < 0.5 else []
        col = self.new_col(t, kind="enum")
        while col is None:
            col = self.new_col(t, kind="enum")
        t.cols.append(col)
        return out + [f'ALTER TABLE "{t.name}" ADD COLUMN {col.ddl()};']

    def op_enum_add_value(self):
        if not self.enums:
            return []
        e = self.enums[self.pick(sorted(self.enums))]
        fresh = [v for v in ENUM_VALUES if v not in e.values and v not in e.added]
        if not fresh:
            return []
        v = self.r.choice(fresh)
        e.added.append(v)
        return [f'ALTER TYPE "public"."{e.name}" ADD VALUE \'{v}\';']

    def op_drop_enum(self):
        unused = [e for e in self.enums.values() if e.uses == 0]
        if not unused:
            return []
        e = self.r.choice(unused)
        del self.enums[e.name]
        return [f'DROP TYPE "public"."{e.name}";']

    def op_comment(self):
        r = self.r
        t = self.some_table()
        if not t:
            return []
        text = r.choice(COMMENTS).format(m=t.module, s=t.singular).replace("'", "''")
        if r.random() < 0.5:
            return [f"COMMENT ON TABLE \"{t.name}\" IS '{text}';"]
        c = r.choice(t.cols)
        return [f"COMMENT ON COLUMN \"{t.name}\".\"{c.name}\" IS '{text}';"]

    def op_create_view(self):
        r = self.r
        t = self.some_table()
        if not t:
            return []
        name = self.claim(f"{t.name}_{r.choice(['overview', 'active', 'recent', 'summary', 'list'])}")
        cols = [t.pk] + r.sample([c for c in t.cols if not c.pk],
                                 min(len(t.cols) - 1, r.randint(1, 4)))
        used_tables = {t.name}
        select = [f'"{t.name}"."{c.name}"' for c in cols]
        pins = list(cols)
        join = ""
        fks = [(n, v) for n, v in sorted(self.fks.items()) if v[0] == t.name]
        if fks and r.random() < 0.5:
            fname, (_, fcol, target) = r.choice(fks)
            tt = self.tables[target]
            others = [c for c in tt.cols if not c.pk and c.kind not in ("jsonb",)]
            oc = r.choice(others) if others else None
            if oc and f"{tt.singular}_{oc.name}" not in {c.name for c in cols}:
                select.append(f'"{tt.name}"."{oc.name}" AS "{tt.singular}_{oc.name}"')
                join = (f' inner join "{tt.name}" on "{t.name}"."{fcol.name}" = '
                        f'"{tt.name}"."id"')
                pins += [fcol, oc, tt.pk]
                used_tables.add(tt.name)
        where = ""
        bools = [c for c in t.cols if c.kind == "boolean"]
        if bools and r.random() < 0.6:
            b = r.choice(bools)
            where = f' where "{t.name}"."{b.name}" = true'
            pins.append(b)
        for c in pins:
            c.pins.add(("view", name))
        for tn in used_tables:
            self.tables[tn].views.add(name)
        self.views[name] = (used_tables, pins)
        return [f'CREATE VIEW "public"."{name}" AS (select {", ".join(select)} '
                f'from "{t.name}"{join}{where});']

    def op_drop_view(self):
        if not self.views:
            return []
        name = self.pick(sorted(self.views))
        tables, pins = self.views.pop(name)
        for c in pins:
            c.pins.discard(("view", name))
        for tn in tables:
            self.tables[tn].views.discard(name)
        return [f'DROP VIEW "public"."{name}";']

    def op_rename_table(self):
        t = self.some_table()
        if not t:
            return []
        old = t.name
        new = self.claim(f"{old}_v2" if self.r.random() < 0.3 else f"{t.module}_{t.singular}_records")
        del self.tables[old]
        t.name = new
        self.tables[new] = t
        for fname, (src, col, target) in list(self.fks.items()):
            self.fks[fname] = (new if src == old else src, col, new if target == old else target)
        for vname, (tables, pins) in self.views.items():
            if old in tables:
                tables.discard(old)
                tables.add(new)
        return [f'ALTER TABLE "{old}" RENAME TO "{new}";']

    def op_drop_table(self):
        cands = [t for t in self.tables.values() if not t.views and not t.refs_in]
        if len(self.tables) < 8 or not cands:
            return []
        t = self.r.choice(cands)
        for name, cols, kind in t.indexes:
            if kind == "fk":
                _, _, target = self.fks.pop(name)
                tt = self.tables[target]
                tt.refs_in.discard(name)
                tt.pk.pins.discard(("fk", name))
        for c in t.cols:
            if c.enum:
                c.enum.uses -= 1
        del self.tables[t.name]
        return [f'DROP TABLE "{t.name}" CASCADE;']

    # -- migrations ----------------------------------------------------------
    OPS = [  # (operation, weight)
        ("op_add_column", 22), ("op_create_index", 10), ("op_add_reference", 6),
        ("op_drop_column", 6), ("op_rename_column", 6), ("op_alter_column", 10),
        ("op_add_unique", 4), ("op_add_check", 4), ("op_drop_index", 4),
        ("op_create_enum_column", 3), ("op_enum_add_value", 2), ("op_drop_enum", 1),
        ("op_comment", 5), ("op_create_view", 3), ("op_drop_view", 2),
        ("op_rename_table", 1), ("op_drop_table", 1),
    ]

    def migration(self, i):
        r = self.r
        stmts = []
        if i == 0:
            stmts += self.op_create_table()
            stmts += self.op_create_table()
            return stmts
        # New tables get rarer as the schema grows (roughly 110 tables by 500).
        p_table = max(0.12, 0.5 - len(self.tables) / 150)
        if r.random() < p_table:
            for _ in range(r.choice([1, 1, 1, 2])):
                stmts += self.op_create_table()
        names, weights = zip(*self.OPS)
        want = r.choice([1, 1, 2, 2, 3, 4, 6]) if not stmts else r.choice([0, 0, 1, 2])
        tries = 0
        while want > 0 and tries < 50:
            tries += 1
            got = getattr(self, r.choices(names, weights=weights)[0])()
            if got:
                stmts += got
                want -= 1
        if not stmts:
            stmts += self.op_create_table()
        return stmts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=500, help="migrations (default 500)")
    ap.add_argument("--seed", type=int, default=20250101, help="random seed")
    ap.add_argument("--start-ms", type=int, default=1735725600000,
                    help="journal `when` of the first migration (epoch ms)")
    a = ap.parse_args()
    if a.count < 1 or a.count > 9999:
        ap.error("--count must be between 1 and 9999")
    if os.path.exists(a.outdir) and os.listdir(a.outdir):
        ap.error(f"{a.outdir} exists and is not empty")
    os.makedirs(os.path.join(a.outdir, "meta"), exist_ok=True)

    g = Gen(a.seed)
    tag_r = random.Random(a.seed + 1)  # tags do not shift when the DDL changes
    entries, when = [], a.start_ms
    for i in range(a.count):
        tag = f"{i:04d}_{tag_r.choice(TAG_ADJ)}_{tag_r.choice(TAG_NOUN)}"
        # drizzle-kit: a CREATE TABLE ends with ");\n", one-liners with ";",
        # and statements are joined by the marker plus a newline.
        body = BREAK.join(g.migration(i))
        with open(os.path.join(a.outdir, f"{tag}.sql"), "w", encoding="utf-8", newline="") as f:
            f.write(body)
        entries.append({"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": True})
        when += tag_r.randint(5 * 60_000, 36 * 3_600_000)
    journal = {"version": "7", "dialect": "postgresql", "entries": entries}
    with open(os.path.join(a.outdir, "meta", "_journal.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(journal, indent=2))
    print(f"{a.count} migrations, {len(g.tables)} tables at the end, in {a.outdir}", file=sys.stderr)


if __name__ == "__main__":
    main()
