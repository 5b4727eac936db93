// Drives the organization copy engine (daemon/orgcopy) without dsd, for
// bench/copy_org.sh: one copy, the per-table summary on stdout, progress on
// stderr. Connection strings come on stdin, one per line (source, then
// target), so that they never show in `ps`.
//
//   printf '%s\n%s\n' "$SOURCE" "$TARGET" |
//     org_copy_bench --org 1 [--explain] [--no-replica] [--per-row-fks]
//   printf '%s\n%s\n' "$SOURCE" "$TARGET" | org_copy_bench --raw
//
// --raw is the ceiling the engine is measured against: every non-empty
// table of SOURCE (a database holding just the selected rows) streamed
// whole into TARGET with CopyBetween, one transaction in replica mode, no
// selection, no checks, no sequences; user triggers switched off (DISABLE
// TRIGGER USER) as the engine switches them off, so that an ENABLE
// ALWAYS trigger fires in neither.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/orgcopy/org_copy.h"
#include "daemon/pg/pg_conn.h"

namespace {

class StderrJob final : public ds::daemon::JobContext {
 public:
  const std::string& id() const override { return id_; }
  bool cancelled() const override { return false; }
  void SetInterrupter(std::function<void()>) override {}
  void BeginStep(std::string_view) override {}
  void EndStep(ds::v1::JobState, std::string_view) override {}
  void Progress(int step, int total, std::string_view name, std::string_view message) override {
    std::fprintf(stderr, "  %d/%d %.*s %.*s\n", step, total, static_cast<int>(name.size()),
                 name.data(), static_cast<int>(message.size()), message.data());
  }
  void Log(std::string_view level, std::string_view text) override {
    std::fprintf(stderr, "  %.*s: %.*s\n", static_cast<int>(level.size()), level.data(),
                 static_cast<int>(text.size()), text.data());
  }

 private:
  std::string id_ = "bench";
};

int Fail(absl::string_view what) {
  std::fprintf(stderr, "org_copy_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  return 1;
}

int RawCopy(const std::string& source_conninfo, const std::string& target_conninfo) {
  using ds::daemon::PgConnection;
  using ds::daemon::PgResult;
  auto source = PgConnection::Open(source_conninfo, "org_copy_bench raw");
  auto target = PgConnection::Open(target_conninfo, "org_copy_bench raw");
  if (!source.ok()) return Fail(source.status().message());
  if (!target.ok()) return Fail(target.status().message());
  PgResult tables = (*source)->Exec(R"sql(
      SELECT format('%I.%I', n.nspname, c.relname),
             string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                         AND a.attgenerated = ''
      JOIN pg_stat_user_tables s ON s.relid = c.oid AND s.n_live_tup > 0
      WHERE c.relkind = 'r' GROUP BY 1 ORDER BY 1)sql");
  if (!tables.ok()) return Fail((*source)->ErrorText(tables));
  PgResult begin = (*target)->Exec("BEGIN; SET LOCAL session_replication_role = replica");
  if (!begin.ok()) return Fail((*target)->ErrorText(begin));
  int64_t rows = 0;
  for (int i = 0; i < tables.rows(); ++i) {
    std::string name(tables.Get(i, 0)), cols(tables.Get(i, 1));
    PgResult off = (*target)->Exec(absl::StrCat("ALTER TABLE ", name, " DISABLE TRIGGER USER"));
    if (!off.ok()) return Fail((*target)->ErrorText(off));
    absl::StatusOr<int64_t> n = ds::daemon::CopyBetween(
        **source, absl::StrCat("COPY (SELECT ", cols, " FROM ONLY ", name, ") TO STDOUT"), **target,
        absl::StrCat("COPY ", name, " (", cols, ") FROM STDIN"));
    if (!n.ok()) return Fail(n.status().message());
    rows += *n;
  }
  PgResult commit = (*target)->Exec("COMMIT");
  if (!commit.ok()) return Fail((*target)->ErrorText(commit));
  std::printf("raw copy: %lld rows\n", static_cast<long long>(rows));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ds::daemon::OrgCopySpec spec;
  bool explain = false;
  bool raw = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--org") && i + 1 < argc) {
      spec.organization_id = argv[++i];
    } else if (!std::strcmp(argv[i], "--explain")) {
      explain = true;
    } else if (!std::strcmp(argv[i], "--raw")) {
      raw = true;
    } else if (!std::strcmp(argv[i], "--no-replica")) {
      spec.allow_replica_mode = false;
    } else if (!std::strcmp(argv[i], "--per-row-fks")) {
      spec.drop_foreign_keys = false;  // as the owner: FKs checked per row, not dropped
    } else {
      std::fprintf(
          stderr,
          "usage: org_copy_bench --org ID [--explain] [--no-replica] [--per-row-fks] | --raw\n"
          "  reads the source and the target connection strings from stdin\n");
      return 2;
    }
  }
  ds::daemon::OrgCopyEndpoints endpoints;
  endpoints.application_name = "ds org_copy_bench";
  if (!std::getline(std::cin, endpoints.source_conninfo) ||
      !std::getline(std::cin, endpoints.target_conninfo) ||
      (spec.organization_id.empty() && !raw)) {
    std::fprintf(stderr, "org_copy_bench: need --org and two connection strings on stdin\n");
    return 2;
  }
  if (raw) return RawCopy(endpoints.source_conninfo, endpoints.target_conninfo);
  if (explain) {
    absl::StatusOr<ds::daemon::OrgCopyPlan> plan =
        ds::daemon::ExplainOrgCopy(endpoints, spec, /*count_rows=*/true);
    if (!plan.ok()) {
      std::fprintf(stderr, "org_copy_bench: %s\n", std::string(plan.status().message()).c_str());
      return 1;
    }
    std::cout << ds::daemon::FormatOrgCopyPlan(*plan);
    return 0;
  }
  StderrJob job;
  absl::StatusOr<ds::daemon::OrgCopyReport> report = ds::daemon::RunOrgCopy(endpoints, spec, job);
  if (!report.ok()) {
    std::fprintf(stderr, "org_copy_bench: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  std::cout << ds::daemon::FormatOrgCopyReport(*report);
  return 0;
}
