// `ds db refresh-staging`: dsd dispatches the repository's refresh workflow
// and follows its run as a job; ds renders it like a migration.
#include <iostream>

#include "client/commands.h"
#include "client/exit_codes.h"
#include "client/github_token.h"
#include "client/job_stream.h"
#include "client/output.h"
#include "client/session.h"
#include "common/strings.h"

namespace ds::client {

int RunRefreshStaging(const Invocation& inv) {
  const CommandOptions& o = inv.options;
  absl::StatusOr<Session> s = Open(inv);
  if (!s.ok()) return ReportStatus(s.status());

  v1::RefreshStagingRequest req;
  *req.mutable_workspace() = s->workspace;
  ForwardGitHubToken(req.mutable_workspace());
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
