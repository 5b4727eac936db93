#include "daemon/orgcopy/target.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ds::daemon::orgcopy {
namespace {

// "(n.nspname, c.relname) IN (VALUES ('public', 'a'), ...)"
std::string TableFilter(PgConnection& conn, const std::vector<OrgCopyTable>& tables) {
  std::vector<std::string> values;
  for (const OrgCopyTable& t : tables) {
    values.push_back(
        absl::StrCat("(", conn.QuoteLiteral(t.schema), ", ", conn.QuoteLiteral(t.name), ")"));
  }
  return absl::StrCat("(n.nspname, c.relname) IN (VALUES ", absl::StrJoin(values, ", "), ")");
}

}  // namespace

bool MayUseReplicaMode(PgConnection& target) {
  PgResult r = target.Exec("BEGIN; SET LOCAL session_replication_role = replica");
  bool ok = r.ok();
  (void)target.Exec("ROLLBACK");
  return ok;
}

void CheckTargetSchema(const Catalog& source, const Catalog& target, const CopyGraph& graph,
                       std::vector<std::string>* refusals) {
  for (int t : graph.load_order) {
    const CatalogTable& from = source.tables[t];
    int found = target.Find(from.name);
    if (found < 0) {
      refusals->push_back(absl::StrCat("the target has no table ", from.name.Display(),
                                       ", which the source has: migrate the target first"));
      continue;
    }
    const CatalogTable& to = target.tables[found];
    for (const CatalogColumn& c : from.columns) {
      if (c.generated) continue;
      const CatalogColumn* other = to.Column(c.name);
      if (!other) {
        refusals->push_back(absl::StrCat("column ", from.name.Display(), ".", c.name,
                                         " is in the source but not in the target"));
      } else if (other->generated) {
        refusals->push_back(absl::StrCat("column ", from.name.Display(), ".", c.name,
                                         " is generated in the target but not in the source"));
      }
    }
    for (const CatalogColumn& c : to.columns) {
      const CatalogColumn* other = from.Column(c.name);
      if (!other && c.not_null && !c.has_default && !c.generated && !c.identity) {
        refusals->push_back(absl::StrCat("column ", from.name.Display(), ".", c.name,
                                         " is NOT NULL without a default in the target and "
                                         "missing in the source"));
      }
    }
  }
}

absl::Status CheckTargetEmpty(PgConnection& target, const Catalog& source,
                              const std::vector<int>& tables, std::vector<std::string>* refusals) {
  std::vector<std::string> probes;
  for (int t : tables) {
    probes.push_back(absl::StrCat("SELECT ", t, " WHERE EXISTS (SELECT 1 FROM ",
                                  FromName(source.tables[t]), ")"));
  }
  if (probes.empty()) return absl::OkStatus();
  PgResult r = target.Exec(absl::StrJoin(probes, " UNION ALL "));
  if (!r.ok()) return target.ErrorStatus(r, "checking that the target's tables are empty");
  for (int i = 0; i < r.rows(); ++i) {
    refusals->push_back(absl::StrCat("target table ", source.tables[r.GetInt(i, 0)].name.Display(),
                                     " already holds rows: the copy fills empty tables only "
                                     "(run ds db reset, or empty it)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TriggerState>> DisableUserTriggers(
    PgConnection& target, const std::vector<OrgCopyTable>& tables) {
  std::vector<TriggerState> out;
  if (tables.empty()) return out;
  // The tables' triggers and their partitions' (a partitioned table's
  // trigger is cloned onto each partition), the tables first: switching a
  // partitioned table's trigger switches its clones too, so the clones
  // are restored after it, each to its own state, 'D' included.
  PgResult r = target.Exec(absl::StrCat(R"sql(
      WITH loaded AS (
        SELECT pt.relid, pt.level
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
        LATERAL (SELECT c.oid::regclass AS relid, 0 AS level
                 UNION SELECT relid, level FROM pg_partition_tree(c.oid)) pt
        WHERE )sql",
                                        TableFilter(target, tables), R"sql()
      SELECT n.nspname, c.relname, t.tgname, t.tgenabled
      FROM loaded l JOIN pg_trigger t ON t.tgrelid = l.relid
      JOIN pg_class c ON c.oid = t.tgrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal
      ORDER BY l.level, 1, 2, 3)sql"));
  if (!r.ok()) return target.ErrorStatus(r, "reading the target's triggers");
  for (int i = 0; i < r.rows(); ++i) {
    TriggerState t{{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))},
                   std::string(r.Get(i, 2)),
                   r.Get(i, 3).empty() ? 'O' : r.Get(i, 3)[0]};
    if (t.enabled != 'D') {
      PgResult d = target.Exec(absl::StrCat("ALTER TABLE ", QuotedName(t.table),
                                            " DISABLE TRIGGER ", QuoteIdent(t.name)));
      if (!d.ok()) {
        return target.ErrorStatus(
            d, absl::StrCat("switching off trigger ", t.name, " of ", t.table.Display(),
                            " for the load (needs the table's owner)"));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

absl::Status RestoreTriggers(PgConnection& target, const std::vector<TriggerState>& triggers) {
  for (const TriggerState& t : triggers) {
    const char* how = t.enabled == 'A'   ? " ENABLE ALWAYS TRIGGER "
                      : t.enabled == 'R' ? " ENABLE REPLICA TRIGGER "
                      : t.enabled == 'D' ? " DISABLE TRIGGER "
                                         : " ENABLE TRIGGER ";
    PgResult r =
        target.Exec(absl::StrCat("ALTER TABLE ", QuotedName(t.table), how, QuoteIdent(t.name)));
    if (!r.ok()) {
      return target.ErrorStatus(
          r, absl::StrCat("switching trigger ", t.name, " of ", t.table.Display(), " back on"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DroppedForeignKey>> DropForeignKeys(PgConnection& target,
                                                               const Catalog& source,
                                                               const std::vector<int>& fks) {
  std::vector<DroppedForeignKey> out;
  for (int e : fks) {
    const CatalogForeignKey& fk = source.foreign_keys[e];
    DroppedForeignKey d;
    d.table = fk.fk.child;
    d.partitioned = source.tables[fk.child].partitioned;
    d.name = fk.fk.name;
    const std::string table = QuotedName(d.table);
    PgResult r = target.ExecParams(
        "SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint "
        "WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'f'",
        {table, d.name});
    if (!r.ok()) {
      return target.ErrorStatus(r, absl::StrCat("reading foreign key ", d.name, " of ",
                                                d.table.Display(), " in the target"));
    }
    if (r.rows() == 0) continue;
    d.definition = std::string(r.Get(0, 0));
    d.was_valid = r.GetBool(0, 1);
    r = target.Exec(absl::StrCat("ALTER TABLE ", table, " DROP CONSTRAINT ", QuoteIdent(d.name)));
    if (!r.ok()) {
      return target.ErrorStatus(r, absl::StrCat("dropping foreign key ", d.name, " of ",
                                                d.table.Display(), " for the load"));
    }
    out.push_back(std::move(d));
  }
  return out;
}

absl::Status ReAddForeignKeys(PgConnection& target, const std::vector<DroppedForeignKey>& fks) {
  for (const DroppedForeignKey& d : fks) {
    const std::string table = QuotedName(d.table);
    const bool not_valid = !d.partitioned && !d.definition.ends_with(" NOT VALID");
    PgResult r =
        target.Exec(absl::StrCat("ALTER TABLE ", table, " ADD CONSTRAINT ", QuoteIdent(d.name), " ",
                                 d.definition, not_valid ? " NOT VALID" : ""));
    if (r.ok() && not_valid && d.was_valid) {
      r = target.Exec(
          absl::StrCat("ALTER TABLE ", table, " VALIDATE CONSTRAINT ", QuoteIdent(d.name)));
    }
    if (!r.ok()) {
      return target.ErrorStatus(r, absl::StrCat("re-adding foreign key ", d.name, " of ",
                                                d.table.Display(), " after the load"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> AdvanceSequences(PgConnection& target,
                                                          const std::vector<OrgCopyTable>& tables) {
  std::vector<std::string> out;
  if (tables.empty()) return out;
  // Sequences named in a column's DEFAULT (serial, or a free-standing one)
  // and identity sequences, with the integer columns they feed.
  PgResult r = target.Exec(absl::StrCat(R"sql(
      WITH fed AS (
        SELECT d.refobjid AS seq, ad.adrelid AS rel, ad.adnum AS att
        FROM pg_attrdef ad
        JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                        AND d.refclassid = 'pg_class'::regclass
        UNION
        SELECT d.objid, d.refobjid, d.refobjsubid
        FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.deptype = 'i')
      SELECT sn.nspname, s.relname, n.nspname, c.relname, a.attname, c.relkind = 'p'
      FROM fed
      JOIN pg_class s ON s.oid = fed.seq AND s.relkind = 'S'
      JOIN pg_namespace sn ON sn.oid = s.relnamespace
      JOIN pg_sequence q ON q.seqrelid = s.oid AND q.seqincrement > 0
      JOIN pg_class c ON c.oid = fed.rel
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = fed.rel AND a.attnum = fed.att
      WHERE a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) AND )sql",
                                        TableFilter(target, tables), " ORDER BY 1, 2, 3, 4, 5"));
  if (!r.ok()) return target.ErrorStatus(r, "reading the target's sequences");
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> maxima;
  for (int i = 0; i < r.rows(); ++i) {
    OrgCopyTable table{std::string(r.Get(i, 2)), std::string(r.Get(i, 3))};
    maxima[{std::string(r.Get(i, 0)), std::string(r.Get(i, 1))}].push_back(
        absl::StrCat("SELECT max(", QuoteIdent(r.Get(i, 4)), ")::bigint FROM ",
                     r.GetBool(i, 5) ? "" : "ONLY ", QuotedName(table)));
  }
  for (const auto& [seq, selects] : maxima) {
    std::string name = QuotedName({seq.first, seq.second});
    // Next value <= the maximum: set it to the maximum (is_called), so the
    // next nextval() returns a value above every copied one.
    PgResult s =
        target.Exec(absl::StrCat("SELECT setval(", target.QuoteLiteral(name),
                                 "::regclass, m) FROM (SELECT max(v) AS m FROM (",
                                 absl::StrJoin(selects, " UNION ALL "), ") x(v)) y, ", name,
                                 " WHERE m IS NOT NULL AND m >= CASE WHEN is_called THEN "
                                 "last_value + 1 ELSE last_value END"));
    if (!s.ok()) {
      return target.ErrorStatus(s, absl::StrCat("setting sequence ", seq.first, ".", seq.second));
    }
    if (s.rows() > 0) {
      out.push_back(absl::StrCat(OrgCopyTable{seq.first, seq.second}.Display(), " = ",
                                 std::string(s.Get(0, 0))));
    }
  }
  return out;
}

}  // namespace ds::daemon::orgcopy
