// `ds jobs list | watch | cancel | logs`: the jobs dsd runs and ran.
#include <ctime>
#include <iostream>

#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/daemon_client.h"
#include "client/display_width.h"
#include "client/exit_codes.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/session.h"
#include "common/clock.h"
#include "common/strings.h"

namespace ds::client {
namespace {

absl::StatusOr<DaemonClient> Connect(const Invocation& inv) {
  return DaemonClient::Connect(inv.paths, {.state_dir_override = inv.global.state_dir});
}

std::string LocalTime(int64_t unix_ms, const char* format = "%Y-%m-%d %H:%M:%S") {
  if (unix_ms == 0) return "-";
  return common::FormatUnixMillis(unix_ms, format);
}

// "running", "succeeded", ...: the enum's own name without its prefix.
std::string StateName(v1::JobState s) {
  const std::string& full = v1::JobState_Name(s);
  std::string_view name = full;
  ConsumePrefix(&name, "JOB_STATE_");
  return AsciiToLower(name);
}

std::string Duration(const v1::Job& j) {
  if (j.started_unix_ms() == 0) return "-";
  int64_t end = j.finished_unix_ms();
  if (end == 0) end = common::UnixMillisNow();
  double s = static_cast<double>(end - j.started_unix_ms()) / 1000.0;
  return s < 60 ? absl::StrFormat("%.1fs", s)
                : absl::StrFormat("%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
}

}  // namespace

int RunJobsList(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = Connect(inv);
  if (!client.ok()) return ReportStatus(client.status());
  v1::ListJobsRequest req;
  req.set_limit(inv.options.limit);
  v1::ListJobsResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  if (grpc::Status st = client->jobs().List(&ctx, req, &resp); !st.ok()) {
    return ReportRpcError(st);
  }
  if (inv.options.json) {
    std::cout << ToJson(resp);
    return kExitOk;
  }
  if (resp.jobs().empty()) {
    std::cout << "No jobs yet; `ds db migrate` starts one.\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "KIND", "STATE", "DATABASE", "STARTED", "TOOK", "SUMMARY"}};
  for (const v1::Job& j : resp.jobs()) {
    std::string db = j.branch().branch_name().empty() ? j.target() : j.branch().branch_name();
    std::string summary = j.error().empty() ? j.summary() : j.error();
    if (size_t nl = summary.find('\n'); nl != std::string::npos) summary = summary.substr(0, nl);
    summary = TruncateToWidth(summary, 60);
    rows.push_back({j.id(), j.kind(), StateName(j.state()), db, LocalTime(j.created_unix_ms()),
                    Duration(j), summary});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunJobsWatch(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = Connect(inv);
  if (!client.ok()) return ReportStatus(client.status());
  v1::WatchJobRequest req;
  req.set_id(inv.options.name);
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader = client->jobs().Watch(&ctx, req);
  // Ctrl-C only stops watching: the job was started elsewhere.
  return FollowJob(client->jobs(), ctx, *reader, {.json = inv.options.json});
}

int RunJobsCancel(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = Connect(inv);
  if (!client.ok()) return ReportStatus(client.status());
  v1::CancelJobRequest req;
  req.set_id(inv.options.name);
  v1::CancelJobResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline() + std::chrono::seconds(10));
  if (grpc::Status st = client->jobs().Cancel(&ctx, req, &resp); !st.ok()) {
    return ReportRpcError(st);
  }
  std::cout << "Cancelling job " << resp.job().id() << " (" << resp.job().description()
            << "); its open transaction is rolled back. `ds jobs watch " << resp.job().id()
            << "` shows the outcome.\n";
  return kExitOk;
}

int RunJobsLogs(const Invocation& inv) {
  absl::StatusOr<DaemonClient> client = Connect(inv);
  if (!client.ok()) return ReportStatus(client.status());
  v1::GetJobRequest req;
  req.set_id(inv.options.name);
  v1::Job job;
  grpc::ClientContext ctx;
  ctx.set_deadline(UnaryDeadline());
  if (grpc::Status st = client->jobs().Get(&ctx, req, &job); !st.ok()) return ReportRpcError(st);
  if (inv.options.json) {
    std::cout << ToJson(job);
    return kExitOk;
  }
  std::cout << "Job " << job.id() << ": " << job.description() << " on " << job.target() << "\n"
            << "  started by " << job.started_by() << " at " << LocalTime(job.created_unix_ms())
            << ", " << StateName(job.state()) << "\n";
  for (const v1::JobStep& step : job.steps()) {
    std::cout << LocalTime(step.started_unix_ms(), "%H:%M:%S") << "  step  " << step.name() << " "
              << StateName(step.state())
              << (step.detail().empty() ? "" : StrCat(": ", step.detail())) << "\n";
  }
  for (const v1::JobLogLine& l : job.log()) {
    std::cout << LocalTime(l.unix_ms(), "%H:%M:%S") << "  " << l.level() << "  " << l.text()
              << "\n";
  }
  if (!job.error().empty()) std::cout << "error: " << job.error() << "\n";
  if (!job.summary().empty()) std::cout << job.summary() << "\n";
  return kExitOk;
}

}  // namespace ds::client
