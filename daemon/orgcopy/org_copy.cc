// ExplainOrgCopy and RunOrgCopy: the steps in order, on the pieces in
// catalog.h (the schema), copy_graph.h (rule and load plan), subset.h (the
// rows, in the source), target.h (refusals, triggers, sequences) and
// load.h (the target's transaction, over copy_rows.h: the bytes).
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
#include "daemon/orgcopy/load.h"
#include "daemon/orgcopy/subset.h"
#include "daemon/orgcopy/target.h"
#include "daemon/pg/pg_conn.h"

namespace ds::daemon {
namespace {

using orgcopy::Catalog;
using orgcopy::CopyGraph;
using orgcopy::TablesToFill;

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
using Prepared = orgcopy::CopySessions;

// Clears the job's interrupter when the connections it points at go.
class InterrupterScope {
 public:
  InterrupterScope(JobContext* ctx, Prepared& p) : ctx_(ctx) { Reset(p); }
  // Again after a connection is added.
  void Reset(Prepared& p) {
    if (!ctx_) return;
    PgConnection* source = p.source.get();
    PgConnection* source2 = p.source2.get();
    PgConnection* target = p.target.get();
    ctx_->SetInterrupter([source, source2, target] {
      if (source) source->Cancel();
      if (source2) source2->Cancel();
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

// The second source session of LoadWhileSelecting: same settings, a table
// for batches of row ids, the first session's exported snapshot.
absl::Status OpenSecondSource(const OrgCopyEndpoints& endpoints, Prepared& p,
                              const std::string& snapshot) {
  if (snapshot.empty()) return absl::UnavailableError("the snapshot could not be exported");
  absl::StatusOr<std::unique_ptr<PgConnection>> source =
      Connect(endpoints.source_conninfo, endpoints.application_name, "source");
  if (!source.ok()) return source.status();
  PgResult enc = (*source)->Exec("SHOW server_encoding");
  if (!enc.ok()) return (*source)->ErrorStatus(enc, "reading the source's encoding");
  if (absl::Status s = ConfigureSession(**source, std::string(enc.Get(0, 0))); !s.ok()) return s;
  if (absl::Status s = orgcopy::OpenImportedSnapshot(**source, snapshot); !s.ok()) {
    return s;
  }
  p.source2 = std::move(*source);
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
                  : plan.replica_mode
                      ? "replica mode (FK checks off; the selection found every FK's parent)"
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
  absl::StrAppend(
      &out, absl::StrFormat(
                "phases: prepare %.2f s, select %.2f s, COPY %.2f s (%d batches from "
                "the second session), FK checks %.2f s, triggers+sequences+commit %.2f s\n",
                report.prepare_seconds, report.select_seconds, report.copy_seconds,
                report.batches_while_selecting, report.fk_check_seconds, report.commit_seconds));
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
    orgcopy::SelectHooks hooks;
    if (ctx) hooks.stop = [ctx] { return ctx->cancelled(); };
    absl::StatusOr<std::vector<int64_t>> counted = orgcopy::SelectRows(
        *p.source, p.source_catalog, p.graph, spec.organization_id, spec.upward_walk_below, hooks);
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

  report.prepare_seconds = SecondsSince(start);

  // Loading while the selection runs needs a free load order, no refusal
  // already known, and every table the copy may fill empty (else the
  // refusals are listed after the selection, exactly, as below).
  bool overlap = spec.load_while_selecting && p.graph.any_order && p.graph.refusals.empty();
  if (overlap) {
    std::vector<std::string> full;
    if (absl::Status s = orgcopy::CheckTargetEmpty(*p.target, p.source_catalog,
                                                   TablesToFill(p.graph, nullptr), &full);
        !s.ok()) {
      return s;
    }
    overlap = full.empty();
  }
  ctx.Log("info", "selecting the organization's rows in the source");
  Clock::time_point select_start = Clock::now();
  std::string snapshot;
  if (absl::Status s = orgcopy::OpenSnapshot(*p.source, p.source_catalog, p.graph,
                                             overlap ? &snapshot : nullptr);
      !s.ok()) {
    return s;
  }
  if (overlap) {
    absl::Status opened = OpenSecondSource(endpoints, p, snapshot);
    if (!opened.ok()) {
      ctx.Log("info", absl::StrCat("loading after the selection (no second source session: ",
                                   opened.message(), ")"));
      p.source2.reset();
      overlap = false;
    }
    interrupter.Reset(p);
  }

  std::vector<int64_t> rows;
  absl::Status loaded;
  if (overlap) {
    ctx.Log("info", absl::StrCat("loading in one transaction while the selection runs",
                                 p.replica_mode ? " (replica mode)" : ""));
    loaded = orgcopy::LoadWhileSelecting(p, spec, ctx, report, rows);
  } else {
    orgcopy::SelectHooks hooks;
    hooks.stop = [&ctx] { return ctx.cancelled(); };
    absl::StatusOr<std::vector<int64_t>> selected = orgcopy::SelectRows(
        *p.source, p.source_catalog, p.graph, spec.organization_id, spec.upward_walk_below, hooks);
    if (!selected.ok()) return selected.status();
    rows = std::move(*selected);
    report.select_seconds = SecondsSince(select_start);
    if (absl::Status s = orgcopy::CheckTargetEmpty(*p.target, p.source_catalog,
                                                   TablesToFill(p.graph, &rows), &p.graph.refusals);
        !s.ok()) {
      return s;
    }
    if (!p.graph.refusals.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the organization copy refuses to start; nothing was written:\n  ",
                       absl::StrJoin(p.graph.refusals, "\n  ")));
    }
    ctx.Log("info",
            absl::StrCat("loading ", TablesToFill(p.graph, &rows).size(),
                         " tables in one transaction", p.replica_mode ? " (replica mode)" : ""));
    loaded = orgcopy::Load(p, rows, ctx, report);
  }
  if (!loaded.ok()) {
    absl::Status s = loaded;
    (void)p.target->Exec("ROLLBACK");
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
