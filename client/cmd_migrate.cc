// `ds db migrate`: applies pending Drizzle migrations as a dsd job and
// follows it; `--status` and `--dry-run` only read.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "client/commands.h"
#include "client/confirm.h"
#include "client/exit_codes.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/picker.h"
#include "client/secret_args.h"
#include "client/session.h"
#include "common/clock.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// On a terminal, without --db or --yes: the branch picker shows which
// database the migration is about to change and lets the user pick
// another. Returns false when the user aborted.
absl::StatusOr<bool> ConfirmTarget(Session& s, const Invocation& inv, v1::MigrateRequest* req) {
  v1::GetCurrentRequest creq;
  *creq.mutable_workspace() = s.workspace;
  v1::GetCurrentResponse current;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(UnaryDeadline());
    grpc::Status st = s.client.workspace().GetCurrent(&ctx, creq, &current);
    if (!st.ok()) return FromRpc(st);
  }
  absl::StatusOr<std::vector<v1::Branch>> branches = AllBranches(s, inv.options.project);
  if (!branches.ok()) return branches.status();

  struct Choice {
    std::string project, branch;  // empty branch: the .env target as it is
  };
  std::vector<Choice> choices;
  std::vector<PickerItem> items;
  size_t initial = 0;
  const v1::DatabaseTarget& t = current.target();
  if (t.is_set() && !t.resolved()) {
    choices.push_back({});
    items.push_back({t.connection().redacted_uri(), StrCat(t.variable(), " in .env · current")});
  }
  for (const v1::Branch& b : *branches) {
    if (b.is_target()) initial = choices.size();
    choices.push_back({b.project_id(), b.is_target() ? "" : b.name()});
    items.push_back(
        {b.name(), StrCat(b.provider(), " · ", b.project_id(), b.is_target() ? " · in .env" : "",
                          b.is_default() ? " · default" : "")});
  }
  if (items.empty()) return true;  // nothing to choose from: dsd reports the .env target
  std::optional<size_t> chosen = Pick("Migrate which database? (Enter confirms)", items, initial);
  if (!chosen) return false;
  req->set_project(choices[*chosen].project);
  req->set_branch(choices[*chosen].branch);
  return true;
}

int PrintStatus(const v1::MigrationStatusResponse& resp, bool dry_run, bool json) {
  if (json) {
    std::cout << ToJson(resp);
    return resp.errors().empty() ? kExitOk : kExitFailed;
  }
  for (const std::string& w : resp.warnings()) std::cerr << "ds: warning: " << w << "\n";
  std::string where =
      StrCat(resp.target(), resp.branch().branch_name().empty()
                                ? ""
                                : StrCat(" (branch ", resp.branch().branch_name(), ")"));
  if (dry_run) {
    if (!resp.errors().empty()) {
      for (const std::string& e : resp.errors()) std::cerr << "ds: " << e << "\n";
      std::cerr << "ds: a migrate run would refuse to start; nothing was changed\n";
      return kExitFailed;
    }
    if (resp.to_apply().empty()) {
      std::cout << "Nothing to apply on " << where << ": " << resp.migrations_size()
                << " migrations already applied\n";
      return kExitOk;
    }
    std::cout << "Would apply " << resp.to_apply_size() << " migration"
              << (resp.to_apply_size() == 1 ? "" : "s") << " to " << where << ", in order:\n";
    int n = 0;
    for (const std::string& tag : resp.to_apply()) {
      for (const v1::MigrationEntry& e : resp.migrations()) {
        if (e.tag() != tag) continue;
        std::cout << "  " << ++n << ". " << e.tag() << "  (" << e.statements() << " statement"
                  << (e.statements() == 1 ? "" : "s")
                  << (e.no_transaction() ? ", outside a transaction" : "")
                  << (e.state() == "out-of-order" ? ", out of order" : "") << ")\n";
      }
    }
    std::cout << "Nothing was changed (--dry-run).\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"STATE", "MIGRATION", "CREATED (UTC)"}};
  std::map<std::string, int> counts;
  for (const v1::MigrationEntry& e : resp.migrations()) {
    rows.push_back(
        {e.state(), e.tag(),
         common::FormatUnixMillis(e.when(), "%Y-%m-%d %H:%M:%S", common::TimeZone::kUtc)});
    ++counts[e.state()];
  }
  std::cout << "Migrations in " << resp.dir() << " on " << where << "\n";
  PrintTable(rows);
  std::string summary;
  for (const char* state : {"applied", "pending", "out-of-order", "drifted"}) {
    if (counts[state]) StrAppend(&summary, summary.empty() ? "" : ", ", counts[state], " ", state);
  }
  std::cout << (summary.empty() ? "no migrations" : summary)
            << (resp.tracking_table_exists()
                    ? ""
                    : StrCat("; ", resp.tracking_table(), " does not exist yet"))
            << "\n";
  for (const std::string& e : resp.errors()) std::cerr << "ds: " << e << "\n";
  return resp.errors().empty() ? kExitOk : kExitFailed;
}

}  // namespace

int RunMigrate(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  if (o.status && o.dry_run) {
    return PrintError("--status and --dry-run are two views; pick one", kExitUsage);
  }
  if (!o.db.empty() && !o.target.empty()) {
    return PrintError("give --db or --target, not both", kExitUsage);
  }
  // --db URL, --db - (stdin), else $DS_DB unless --target names the branch.
  std::string db;
  if (o.target.empty()) {
    absl::StatusOr<std::string> resolved = ResolveConnectionOption(kDbOption, o.db);
    if (!resolved.ok()) return ReportStatus(resolved.status());
    db = std::move(*resolved);
  }
  if (o.detach && (o.status || o.dry_run)) {
    return PrintError("--detach starts a job; --status and --dry-run do not", kExitUsage);
  }
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());

  v1::MigrateRequest req;
  *req.mutable_workspace() = s->workspace;
  req.set_connection_string(db);
  req.set_dir(o.dir);
  req.set_migrations_schema(o.schema);
  req.set_migrations_table(o.table);
  req.set_allow_out_of_order(o.allow_out_of_order);
  req.set_ignore_checksums(o.ignore_checksums);
  req.set_wait(o.wait);
  req.set_lock_timeout_seconds(o.lock_timeout);
  req.set_started_by(StartedBy());
  if (!o.target.empty()) {
    absl::StatusOr<std::string> branch = BranchName(*s, inv, "");
    if (!branch.ok()) return ReportStatus(branch.status());
    req.set_project(o.project);
    req.set_branch(*branch);
  } else if (db.empty() && !o.yes && !o.status && !o.dry_run && !o.json && Interactive()) {
    absl::StatusOr<bool> confirmed = ConfirmTarget(*s, inv, &req);
    if (!confirmed.ok()) return ReportStatus(confirmed.status());
    if (!*confirmed) {
      std::cerr << "ds: aborted; nothing was applied\n";
      return kExitFailed;
    }
  }

  if (o.status || o.dry_run) {
    v1::MigrationStatusResponse resp;
    grpc::ClientContext ctx;
    SlowDeadline(ctx);
    grpc::Status st = s->client.jobs().MigrationStatus(&ctx, req, &resp);
    if (!st.ok()) return ReportRpcError(st);
    return PrintStatus(resp, o.dry_run, o.json);
  }

  // Ctrl-C from here on cancels the job instead of killing ds.
  auto run = [&](bool allow_protected, grpc::Status* not_started) {
    req.set_allow_protected(allow_protected);
    if (!o.detach) PrepareForInterrupts();
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = s->client.jobs().Migrate(&ctx, req);
    return FollowJob(s->client.jobs(), ctx, *reader,
                     {.json = o.json,
                      .cancel_on_interrupt = !o.detach,
                      .detach = o.detach,
                      .not_started = not_started});
  };
  grpc::Status refusal;
  int code = run(o.yes, &refusal);
  if (code != kJobNotStarted) return code;
  // dsd wants a confirmation (a protected or default branch): the rule of
  // client/confirm.h, then once more with it.
  std::optional<std::string> reason = ConfirmationRefusal(refusal);
  if (!reason || o.yes) return ReportNotStarted(refusal);
  SuspendInterrupts();
  if (absl::Status c = ConfirmActionOnTerminal(
          {.action = "migrate it",
           .reason = *reason,
           .env_files = {},
           .stdin_is_tty = ::isatty(STDIN_FILENO) != 0,
           .yes = false});
      !c.ok()) {
    return ReportUnconfirmed(c, "nothing was applied");
  }
  return run(true, nullptr);
}

}  // namespace ds::client
