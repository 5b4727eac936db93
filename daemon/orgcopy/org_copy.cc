// ExplainOrgCopy and RunOrgCopy: the steps in order, on the pieces in
// catalog.h (the schema), copy_graph.h (rule and load plan), subset.h (the
// rows, in the source), target.h (refusals, triggers, sequences) and
// copy_rows.h (the bytes).
#include "daemon/orgcopy/org_copy.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon/orgcopy/catalog.h"
#include "daemon/orgcopy/copy_graph.h"
#include "daemon/orgcopy/copy_rows.h"
#include "daemon/orgcopy/subset.h"
#include "daemon/orgcopy/target.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {
namespace {

using orgcopy::Catalog;
using orgcopy::CopyGraph;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Output formats both servers read back the same way, whatever their
// configured defaults: COPY text is the output functions' text.
absl::Status ConfigureSession(PgConnection& conn, const std::string& encoding) {
  PgResult r = conn.Exec(absl::StrCat(
      "SET client_encoding = ", conn.QuoteLiteral(encoding),
      "; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3;"
      " SET bytea_output = 'hex'; SET TimeZone = 'UTC'; SET statement_timeout = 0;"
      " SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0"));
  if (!r.ok()) return conn.ErrorStatus(r, "configuring the session");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                      const std::string& application_name,
                                                      const char* side) {
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Open(conninfo, absl::StrCat(application_name, " ", side));
  if (!conn.ok()) {
    return absl::Status(conn.status().code(),
                        absl::StrCat("connecting to the ", side, ": ", conn.status().message()));
  }
  return conn;
}

// Everything Explain and Run share: connections, both catalogs, the graph,
// the root row, the target's schema refusals.
struct Prepared {
  std::unique_ptr<PgConnection> source;
  std::unique_ptr<PgConnection> target;
  Catalog source_catalog;
  Catalog target_catalog;
  CopyGraph graph;
  bool replica_mode = false;
};

// Clears the job's interrupter when the connections it points at go.
class InterrupterScope {
 public:
  InterrupterScope(JobContext* ctx, Prepared& p) : ctx_(ctx) {
    if (!ctx_) return;
    PgConnection* source = p.source.get();
    PgConnection* target = p.target.get();
    ctx_->SetInterrupter([source, target] {
      if (source) source->Cancel();
      if (target) target->Cancel();
    });
  }
  ~InterrupterScope() {
    if (ctx_) ctx_->SetInterrupter(nullptr);
  }

 private:
  JobContext* ctx_;
};

absl::Status Prepare(const OrgCopyEndpoints& endpoints, const OrgCopySpec& spec, Prepared& p) {
  absl::StatusOr<std::unique_ptr<PgConnection>> source =
      Connect(endpoints.source_conninfo, endpoints.application_name, "source");
  if (!source.ok()) return source.status();
  p.source = std::move(*source);
  PgResult enc = p.source->Exec("SHOW server_encoding");
  if (!enc.ok()) return p.source->ErrorStatus(enc, "reading the source's encoding");
  const std::string encoding(enc.Get(0, 0));
  if (absl::Status s = ConfigureSession(*p.source, encoding); !s.ok()) return s;
  absl::StatusOr<Catalog> catalog = orgcopy::ReadCatalog(*p.source);
  if (!catalog.ok()) return catalog.status();
  p.source_catalog = std::move(*catalog);

  if (!endpoints.target_conninfo.empty()) {
    absl::StatusOr<std::unique_ptr<PgConnection>> target =
        Connect(endpoints.target_conninfo, endpoints.application_name, "target");
    if (!target.ok()) return target.status();
    p.target = std::move(*target);
    if (absl::Status s = ConfigureSession(*p.target, encoding); !s.ok()) return s;
    p.replica_mode = spec.allow_replica_mode && orgcopy::MayUseReplicaMode(*p.target);
    absl::StatusOr<Catalog> target_catalog = orgcopy::ReadCatalog(*p.target);
    if (!target_catalog.ok()) return target_catalog.status();
    p.target_catalog = std::move(*target_catalog);
  }

  // The target role's rights decide whether a hard cycle may be loaded by
  // dropping and re-adding its FKs; without a target, plan as its owner.
  orgcopy::TargetRights rights;
  for (const orgcopy::CatalogTable& t : p.source_catalog.tables) {
    int found = p.target ? p.target_catalog.Find(t.name) : -1;
    rights.owned.push_back(found >= 0 && p.target_catalog.tables[found].owned);
    rights.may_reference.push_back(found >= 0 && p.target_catalog.tables[found].may_reference);
  }
  absl::StatusOr<CopyGraph> graph =
      orgcopy::BuildCopyGraph(p.source_catalog, spec, p.replica_mode, p.target ? &rights : nullptr);
  if (!graph.ok()) return graph.status();
  p.graph = std::move(*graph);
  if (absl::Status s =
          orgcopy::CheckRootRow(*p.source, p.source_catalog, p.graph, spec.organization_id);
      !s.ok()) {
    return s;
  }
  if (p.target) {
    orgcopy::CheckTargetSchema(p.source_catalog, p.target_catalog, p.graph, &p.graph.refusals);
  }
  return absl::OkStatus();
}

// Tables the copy puts rows in: all it may, or those with rows counted.
std::vector<int> TablesToFill(const CopyGraph& graph, const std::vector<int64_t>* rows) {
  std::vector<int> out;
  for (int t : graph.load_order) {
    if (!rows || (*rows)[t] > 0) out.push_back(t);
  }
  return out;
}

OrgCopyPlan MakePlan(const Prepared& p, const std::vector<int64_t>* rows) {
  const Catalog& catalog = p.source_catalog;
  const CopyGraph& graph = p.graph;
  OrgCopyPlan plan;
  plan.replica_mode = p.replica_mode;
  plan.foreign_keys_dropped = graph.drop_all_fks;
  plan.target_checked = p.target != nullptr;
  for (int t : graph.load_order) {
    OrgCopyTablePlan tp;
    tp.table = catalog.tables[t].name;
    tp.in_down_set = graph.in_down[t];
    tp.rows = rows ? (*rows)[t] : -1;
    tp.columns = catalog.tables[t].CopyableColumns();
    if (auto it = graph.null_columns.find(t); it != graph.null_columns.end()) {
      tp.null_columns = it->second;
    }
    plan.tables.push_back(std::move(tp));
  }
  for (size_t e = 0; e < catalog.foreign_keys.size(); ++e) {
    const orgcopy::CatalogForeignKey& fk = catalog.foreign_keys[e];
    if (!graph.in_copy[fk.child]) continue;
    OrgCopyForeignKey out = fk.fk;
    out.down = graph.down[e];
    out.down_reason = graph.down_reason[e];
    plan.foreign_keys.push_back(std::move(out));
  }
  for (const orgcopy::PlannedCycle& c : graph.cycles) {
    OrgCopyCycle out;
    for (int t : c.tables) out.tables.push_back(catalog.tables[t].name);
    for (int e : c.fks) out.constraints.push_back(catalog.foreign_keys[e].fk.name);
    out.load = c.load;
    out.detail = c.detail;
    plan.cycles.push_back(std::move(out));
  }
  plan.refusals = graph.refusals;
  return plan;
}

std::string ColumnList(const std::vector<std::string>& columns) {
  std::vector<std::string> quoted;
  for (const std::string& c : columns) quoted.push_back(QuoteIdent(c));
  return absl::StrJoin(quoted, ", ");
}

// The source's SELECT list: the columns, those loaded later as NULL.
std::string SelectList(const std::vector<std::string>& columns,
                       const std::vector<std::string>& nulls) {
  std::vector<std::string> out;
  for (const std::string& c : columns) {
    bool null = std::find(nulls.begin(), nulls.end(), c) != nulls.end();
    out.push_back(null ? std::string("NULL") : QuoteIdent(c));
  }
  return absl::StrJoin(out, ", ");
}

// The second half of NULL-then-UPDATE: the nulled columns' real values, by
// row key, into a temp table of the target, then one UPDATE.
absl::Status SetNulledColumns(Prepared& p, int t) {
  const orgcopy::CatalogTable& table = p.source_catalog.tables[t];
  const std::vector<std::string>& nulls = p.graph.null_columns.at(t);
  std::vector<std::string> cols = table.row_key;
  cols.insert(cols.end(), nulls.begin(), nulls.end());
  const std::string patch = absl::StrCat("pg_temp.ds_patch_", t);
  PgConnection& target = *p.target;
  PgResult r = target.Exec(absl::StrCat("CREATE TEMP TABLE ds_patch_", t,
                                        " ON COMMIT DROP AS SELECT ", ColumnList(cols), " FROM ",
                                        orgcopy::FromName(table), " WITH NO DATA"));
  if (!r.ok()) return target.ErrorStatus(r, "creating a temp table in the target");
  std::vector<std::string> any_set;
  for (const std::string& c : nulls) any_set.push_back(absl::StrCat(QuoteIdent(c), " IS NOT NULL"));
  absl::StatusOr<orgcopy::CopiedRows> copied = orgcopy::CopyRows(
      *p.source,
      absl::StrCat(orgcopy::SelectedRowsSql(p.source_catalog, t, ColumnList(cols)), " AND (",
                   absl::StrJoin(any_set, " OR "), ")"),
      target, absl::StrCat("COPY ", patch, " (", ColumnList(cols), ") FROM STDIN"));
  if (!copied.ok()) return copied.status();
  std::vector<std::string> sets, keys;
  for (const std::string& c : nulls) {
    sets.push_back(absl::StrCat(QuoteIdent(c), " = p.", QuoteIdent(c)));
  }
  for (const std::string& c : table.row_key) {
    keys.push_back(absl::StrCat("t.", QuoteIdent(c), " = p.", QuoteIdent(c)));
  }
  r = target.Exec(absl::StrCat("UPDATE ", orgcopy::FromName(table), " t SET ",
                               absl::StrJoin(sets, ", "), " FROM ", patch, " p WHERE ",
                               absl::StrJoin(keys, " AND ")));
  if (!r.ok()) {
    return target.ErrorStatus(
        r, absl::StrCat("setting the cycle's columns of ", table.name.Display()));
  }
  return absl::OkStatus();
}

absl::Status Load(Prepared& p, const std::vector<int64_t>& rows, JobContext& ctx,
                  OrgCopyReport& report) {
  PgConnection& target = *p.target;
  const Catalog& catalog = p.source_catalog;
  std::string begin = "BEGIN";
  if (p.replica_mode) absl::StrAppend(&begin, "; SET LOCAL session_replication_role = replica");
  if (!p.graph.deferred_fks.empty()) {
    std::vector<std::string> names;
    for (int e : p.graph.deferred_fks) {
      const OrgCopyForeignKey& fk = catalog.foreign_keys[e].fk;
      names.push_back(absl::StrCat(QuoteIdent(fk.child.schema), ".", QuoteIdent(fk.name)));
    }
    absl::StrAppend(&begin, "; SET CONSTRAINTS ", absl::StrJoin(names, ", "), " DEFERRED");
  }
  PgResult r = target.Exec(begin);
  if (!r.ok()) return target.ErrorStatus(r, "starting the target's transaction");

  std::vector<int> fill = TablesToFill(p.graph, &rows);
  std::vector<OrgCopyTable> names;
  for (int t : fill) names.push_back(catalog.tables[t].name);
  absl::StatusOr<std::vector<orgcopy::TriggerState>> triggers =
      orgcopy::DisableUserTriggers(target, names);
  if (!triggers.ok()) return triggers.status();
  int64_t switched_off =
      std::count_if(triggers->begin(), triggers->end(),
                    [](const orgcopy::TriggerState& t) { return t.enabled != 'D'; });
  if (switched_off > 0) {
    ctx.Log("info", absl::StrCat("user triggers off during the load: ", switched_off));
  }
  std::vector<int> drop(p.graph.dropped_fks.begin(), p.graph.dropped_fks.end());
  absl::StatusOr<std::vector<orgcopy::DroppedForeignKey>> dropped =
      orgcopy::DropForeignKeys(target, catalog, drop);
  if (!dropped.ok()) return dropped.status();
  if (!dropped->empty()) {
    ctx.Log("info", absl::StrCat("foreign keys dropped for the load (a cycle of NOT NULL FKs), "
                                 "re-added and validated after it: ",
                                 dropped->size()));
  }

  // After a cycle's last table, the columns it loaded NULL are set.
  std::map<int, std::vector<int>> patch_after;
  for (const orgcopy::PlannedCycle& c : p.graph.cycles) {
    for (int t : c.tables) {
      if (p.graph.null_columns.count(t) && rows[t] > 0) patch_after[c.tables.back()].push_back(t);
    }
  }

  int step = 0;
  for (int t : p.graph.load_order) {
    if (rows[t] > 0) {
      ++step;
      const orgcopy::CatalogTable& table = catalog.tables[t];
      std::vector<std::string> columns = table.CopyableColumns();
      std::vector<std::string> nulls;
      if (auto it = p.graph.null_columns.find(t); it != p.graph.null_columns.end()) {
        nulls = it->second;
      }
      if (ctx.cancelled()) return absl::CancelledError("the organization copy was cancelled");
      Clock::time_point start = Clock::now();
      absl::StatusOr<orgcopy::CopiedRows> copied = orgcopy::CopyRows(
          *p.source, orgcopy::SelectedRowsSql(catalog, t, SelectList(columns, nulls)), target,
          absl::StrCat("COPY ", orgcopy::QuotedName(table.name), " (", ColumnList(columns),
                       ") FROM STDIN"));
      if (!copied.ok()) {
        return absl::Status(copied.status().code(), absl::StrCat("copying ", table.name.Display(),
                                                                 ": ", copied.status().message()));
      }
      OrgCopyTableReport tr{table.name, copied->rows, copied->bytes, SecondsSince(start)};
      report.rows += tr.rows;
      report.bytes += tr.bytes;
      ctx.Progress(step, static_cast<int>(fill.size()), table.name.Display(),
                   absl::StrCat(tr.rows, " rows, ", tr.bytes, " bytes"));
      report.tables.push_back(std::move(tr));
    }
    if (auto it = patch_after.find(t); it != patch_after.end()) {
      for (int patched : it->second) {
        if (absl::Status s = SetNulledColumns(p, patched); !s.ok()) return s;
      }
    }
  }

  if (ctx.cancelled()) return absl::CancelledError("the organization copy was cancelled");
  if (absl::Status s = orgcopy::ReAddForeignKeys(target, *dropped); !s.ok()) return s;
  if (p.replica_mode) {
    ctx.Log("info", "checking every copied foreign key (replica mode loaded without checks)");
    for (int t : fill) {
      if (ctx.cancelled()) return absl::CancelledError("the organization copy was cancelled");
      if (absl::Status s = orgcopy::CheckForeignKeysOf(target, catalog, t); !s.ok()) return s;
    }
  }
  if (absl::Status s = orgcopy::RestoreTriggers(target, *triggers); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> sequences = orgcopy::AdvanceSequences(target, names);
  if (!sequences.ok()) return sequences.status();
  report.sequences_set = std::move(*sequences);
  r = target.Exec("COMMIT");
  if (!r.ok()) return target.ErrorStatus(r, "committing the copy (deferred FK checks run now)");
  return absl::OkStatus();
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string PadLeft(std::string s, size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

}  // namespace

std::string OrgCopyTable::Display() const {
  auto plain = [](const std::string& s) {
    if (s.empty() || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z'))) return false;
    for (char c : s) {
      if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
  };
  return absl::StrCat(plain(schema) ? schema : QuoteIdent(schema), ".",
                      plain(name) ? name : QuoteIdent(name));
}

const char* OrgCopyCycleLoadName(OrgCopyCycleLoad how) {
  switch (how) {
    case OrgCopyCycleLoad::kSelfReference: return "self-reference";
    case OrgCopyCycleLoad::kNullThenUpdate: return "null-then-update";
    case OrgCopyCycleLoad::kDeferred: return "deferred";
    case OrgCopyCycleLoad::kReplicaMode: return "replica-mode";
    case OrgCopyCycleLoad::kDropAndValidate: return "drop-and-validate";
    case OrgCopyCycleLoad::kRefused: return "refused";
  }
  return "?";
}

std::string FormatOrgCopyPlan(const OrgCopyPlan& plan) {
  std::string out;
  absl::StrAppend(&out, "Load: ",
                  !plan.target_checked ? "target not checked (planned as a non-superuser owner)"
                  : plan.replica_mode  ? "replica mode (FK checks off, checked by query)"
                  : plan.foreign_keys_dropped
                      ? "as the owner, the copied tables' FKs dropped for the load, re-added NOT "
                        "VALID and validated before commit"
                      : "as the owner (parents first, cycles as below)",
                  "\nTables, in load order:\n");
  size_t width = 0;
  for (const OrgCopyTablePlan& t : plan.tables) width = std::max(width, t.table.Display().size());
  for (const OrgCopyTablePlan& t : plan.tables) {
    absl::StrAppend(&out, "  ", Pad(t.table.Display(), width),
                    t.rows >= 0 ? absl::StrCat("  ", PadLeft(absl::StrCat(t.rows), 10), " rows")
                                : std::string(),
                    t.in_down_set ? "  (owned rows and parents)" : "  (parents only)", "\n");
  }
  absl::StrAppend(&out, "Foreign keys:\n");
  for (const OrgCopyForeignKey& fk : plan.foreign_keys) {
    absl::StrAppend(&out, "  ", fk.child.Display(), " (", absl::StrJoin(fk.child_columns, ", "),
                    ") -> ", fk.parent.Display(), " (", absl::StrJoin(fk.parent_columns, ", "),
                    ")  ", fk.name, ": ", fk.down ? "down+up" : "up only", " (", fk.down_reason,
                    fk.deferrable ? ", deferrable" : "", ")\n");
  }
  if (!plan.cycles.empty()) absl::StrAppend(&out, "Cycles:\n");
  for (const OrgCopyCycle& c : plan.cycles) {
    std::vector<std::string> names;
    for (const OrgCopyTable& t : c.tables) names.push_back(t.Display());
    absl::StrAppend(&out, "  ", absl::StrJoin(names, ", "), ": ", OrgCopyCycleLoadName(c.load),
                    " - ", c.detail, "\n");
  }
  if (!plan.refusals.empty()) absl::StrAppend(&out, "Refused:\n");
  for (const std::string& r : plan.refusals) absl::StrAppend(&out, "  ", r, "\n");
  return out;
}

std::string FormatOrgCopyReport(const OrgCopyReport& report) {
  size_t width = 5;
  for (const OrgCopyTableReport& t : report.tables) {
    width = std::max(width, t.table.Display().size());
  }
  std::string out = absl::StrCat(Pad("table", width), "  ", PadLeft("rows", 10), "  ",
                                 PadLeft("bytes", 12), "  ", PadLeft("seconds", 8), "\n");
  auto line = [&](const std::string& name, int64_t rows, int64_t bytes, double seconds) {
    absl::StrAppend(&out, Pad(name, width), "  ", PadLeft(absl::StrCat(rows), 10), "  ",
                    PadLeft(absl::StrCat(bytes), 12), "  ",
                    PadLeft(absl::StrFormat("%.2f", seconds), 8), "\n");
  };
  for (const OrgCopyTableReport& t : report.tables) {
    line(t.table.Display(), t.rows, t.bytes, t.seconds);
  }
  line("total", report.rows, report.bytes, report.seconds);
  absl::StrAppend(
      &out, absl::StrFormat("selecting the rows in the source: %.2f s; %s\n", report.select_seconds,
                            report.replica_mode ? "replica mode" : "owner mode"));
  for (const std::string& s : report.sequences_set) absl::StrAppend(&out, "sequence ", s, "\n");
  return out;
}

absl::StatusOr<OrgCopyPlan> ExplainOrgCopy(const OrgCopyEndpoints& endpoints,
                                           const OrgCopySpec& spec, bool count_rows,
                                           JobContext* ctx) {
  Prepared p;
  if (absl::Status s = Prepare(endpoints, spec, p); !s.ok()) return s;
  InterrupterScope interrupter(ctx, p);
  std::vector<int64_t> rows;
  if (count_rows) {
    if (absl::Status s = orgcopy::OpenSnapshot(*p.source, p.source_catalog, p.graph); !s.ok())
      return s;
    absl::StatusOr<std::vector<int64_t>> counted = orgcopy::SelectRows(
        *p.source, p.source_catalog, p.graph, spec.organization_id, spec.upward_walk_below, ctx);
    if (!counted.ok()) return counted.status();
    rows = std::move(*counted);
    (void)p.source->Exec("ROLLBACK");
  }
  if (p.target) {
    if (absl::Status s = orgcopy::CheckTargetEmpty(
            *p.target, p.source_catalog, TablesToFill(p.graph, count_rows ? &rows : nullptr),
            &p.graph.refusals);
        !s.ok()) {
      return s;
    }
  }
  return MakePlan(p, count_rows ? &rows : nullptr);
}

absl::StatusOr<OrgCopyReport> RunOrgCopy(const OrgCopyEndpoints& endpoints, const OrgCopySpec& spec,
                                         JobContext& ctx) {
  Clock::time_point start = Clock::now();
  if (endpoints.target_conninfo.empty()) {
    return absl::InvalidArgumentError("the organization copy needs a target");
  }
  Prepared p;
  if (absl::Status s = Prepare(endpoints, spec, p); !s.ok()) return s;
  InterrupterScope interrupter(&ctx, p);
  OrgCopyReport report;
  report.replica_mode = p.replica_mode;

  ctx.Log("info", "selecting the organization's rows in the source");
  Clock::time_point select_start = Clock::now();
  if (absl::Status s = orgcopy::OpenSnapshot(*p.source, p.source_catalog, p.graph); !s.ok())
    return s;
  absl::StatusOr<std::vector<int64_t>> rows = orgcopy::SelectRows(
      *p.source, p.source_catalog, p.graph, spec.organization_id, spec.upward_walk_below, &ctx);
  if (!rows.ok()) return rows.status();
  report.select_seconds = SecondsSince(select_start);
  if (absl::Status s = orgcopy::CheckTargetEmpty(*p.target, p.source_catalog,
                                                 TablesToFill(p.graph, &*rows), &p.graph.refusals);
      !s.ok()) {
    return s;
  }
  if (!p.graph.refusals.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the organization copy refuses to start; nothing was written:\n  ",
                     absl::StrJoin(p.graph.refusals, "\n  ")));
  }

  ctx.Log("info",
          absl::StrCat("loading ", TablesToFill(p.graph, &*rows).size(),
                       " tables in one transaction", p.replica_mode ? " (replica mode)" : ""));
  if (absl::Status s = Load(p, *rows, ctx, report); !s.ok()) {
    (void)p.target->Exec("ROLLBACK");
    if (!ctx.cancelled() && s.code() == absl::StatusCode::kInternal) {
      // A rejected row may be the source breaking its own FK (a NOT VALID
      // constraint, rows loaded in replica mode): if so, say that, with the
      // key, rather than the target's error.
      for (int t : TablesToFill(p.graph, &*rows)) {
        absl::Status broken = orgcopy::CheckForeignKeysOf(
            *p.source, p.source_catalog, t, orgcopy::SelectedRowsFilter(p.source_catalog, t));
        if (broken.code() == absl::StatusCode::kFailedPrecondition) {
          s = broken;
          break;
        }
      }
    }
    if (ctx.cancelled() || s.code() == absl::StatusCode::kCancelled) {
      return absl::CancelledError(
          "the organization copy was cancelled; the target's tables were left as they were "
          "(the copy is one transaction)");
    }
    return absl::Status(s.code(), absl::StrCat(s.message(),
                                               "; the target's tables were left as they were "
                                               "(the copy is one transaction)"));
  }
  (void)p.source->Exec("COMMIT");
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace ds::daemon
