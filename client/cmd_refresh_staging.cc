// `ds db refresh-staging`: dsd dispatches the repository's refresh workflow
// and follows its run as a job; ds renders it like a migration.
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/session.h"
#include "common/strings.h"

namespace ds::client {
namespace {

// The GitHub CLI's token, as `gh auth token` prints it; empty when gh is
// missing or logged out. Asked only when GITHUB_TOKEN is unset, and from
// here, not dsd: gh's login belongs to this shell's user and host.
std::string GhAuthToken() {
  FILE* p = ::popen("gh auth token 2>/dev/null", "r");
  if (!p) return {};
  std::string out;
  std::array<char, 256> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  if (::pclose(p) != 0) return {};
  return std::string(TrimAsciiWhitespace(out));
}

}  // namespace

int RunRefreshStaging(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());

  v1::RefreshStagingRequest req;
  *req.mutable_workspace() = s->workspace;
  auto& env = *req.mutable_workspace()->mutable_overrides()->mutable_environment();
  if (env.find("GITHUB_TOKEN") == env.end()) {
    if (std::string token = GhAuthToken(); !token.empty()) env["GITHUB_TOKEN"] = token;
  }
  req.set_organization(o.organization);
  req.set_ref(o.ref);
  req.set_no_wait(o.no_wait);
  req.set_poll_seconds(o.poll_seconds);
  req.set_started_by(StartedBy());

  // Ctrl-C stops following (the run goes on in GitHub; the job ends cancelled).
  PrepareForInterrupts();
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::JobEvent>> reader =
      s->client.jobs().RefreshStaging(&ctx, req);
  return FollowJob(s->client.jobs(), ctx, *reader,
                   {.json = o.json, .cancel_on_interrupt = true, .detach = false});
}

}  // namespace ds::client
