#include "daemon/workspace/branches.h"

#include "common/clock.h"
#include "common/conninfo.h"
#include "common/dotenv.h"
#include "common/strings.h"
#include "common/usage_error.h"

namespace ds::daemon {
namespace {

template <typename Response>
void AddNotices(Provider* p, Response* resp) {
  for (std::string& n : p->TakeNotices()) resp->add_notices(std::move(n));
}

bool Points(const v1::DatabaseTarget& t, const BranchInfo& b, std::string_view provider) {
  return t.resolved() && t.branch().provider() == provider && t.branch().branch_id() == b.id;
}

}  // namespace

absl::StatusOr<std::string> ExpiryFromNow(const std::string& expires_in) {
  absl::StatusOr<int64_t> in = common::ParseDuration(expires_in);
  if (!in.ok()) {
    return absl::InvalidArgumentError(StrCat("--expires-in: ", in.status().message()));
  }
  return common::FormatRfc3339(common::UnixMillisNow() + *in);
}

BranchManager::BranchManager(WorkspaceResolver* resolver, ProviderRegistry* providers)
    : resolver_(resolver), providers_(providers) {}

absl::StatusOr<BranchManager::Context> BranchManager::ContextFor(const v1::WorkspaceRef& ws) {
  Context ctx;
  // One pass over the workspace's files gives both the configuration and
  // which branches .env points at.
  common::Config config;
  absl::StatusOr<v1::GetCurrentResponse> current = resolver_->GetCurrent(ws, &config);
  if (!current.ok()) return current.status();
  ctx.current = std::move(*current);
  ctx.env_file = ctx.current.env_file();
  absl::StatusOr<Provider*> provider = providers_->ForConfig(config);
  if (!provider.ok()) {
    return absl::Status(provider.status().code(),
                        StrCat(provider.status().message(), " (provider from ",
                               config.OriginOf("provider").location, ")"));
  }
  ctx.provider = *provider;
  ctx.default_project = config.Get("project");
  ctx.target_var = config.Get("target_var");
  ctx.source_var = config.Get("source_var");
  return ctx;
}

v1::Branch BranchManager::ToProto(const BranchInfo& b, const Context& ctx) const {
  v1::Branch out;
  out.set_provider(std::string(ctx.provider->Name()));
  out.set_project_id(b.project_id);
  out.set_id(b.id);
  out.set_name(b.name);
  out.set_parent_id(b.parent_id);
  out.set_parent_name(b.parent_name);
  out.set_created_at(b.created_at);
  out.set_created_by(b.created_by);
  out.set_protected_(b.is_protected);
  out.set_is_default(b.is_default);
  out.set_expires_at(b.expires_at);
  out.set_last_activity(b.last_activity);
  out.set_size_bytes(b.size_bytes);
  out.set_is_target(Points(ctx.current.target(), b, ctx.provider->Name()));
  out.set_is_source(Points(ctx.current.source(), b, ctx.provider->Name()));
  return out;
}

absl::StatusOr<std::string> BranchManager::WriteEnv(const Context& ctx, const std::string& project,
                                                    const std::string& branch,
                                                    const std::string& variable) {
  absl::StatusOr<std::string> uri = ctx.provider->ConnectionUri(project, branch);
  if (!uri.ok()) return uri.status();
  return WriteEnvUri(ctx, variable, *uri);
}

absl::StatusOr<std::string> BranchManager::WriteEnvUri(const Context& ctx,
                                                       const std::string& variable,
                                                       const std::string& uri) {
  if (absl::Status s = common::WriteDotenvValue(ctx.env_file, variable, uri); !s.ok()) return s;
  return common::RedactConnectionString(uri);
}

absl::StatusOr<v1::ListProjectsResponse> BranchManager::ListProjects(
    const v1::ListProjectsRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  // The workspace's provider only: listing another would start it (the
  // local cluster) or need its credentials.
  Provider* p = ctx->provider;
  absl::StatusOr<std::vector<ProjectInfo>> projects = p->ListProjects();
  if (!projects.ok()) return projects.status();
  v1::ListProjectsResponse resp;
  for (const ProjectInfo& info : *projects) {
    v1::Project* out = resp.add_projects();
    out->set_provider(std::string(p->Name()));
    out->set_id(info.id);
    out->set_name(info.name);
    out->set_region(info.region);
    out->set_created_at(info.created_at);
  }
  AddNotices(p, &resp);
  return resp;
}

absl::StatusOr<v1::ListBranchesResponse> BranchManager::ListBranches(
    const v1::ListBranchesRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  absl::StatusOr<std::vector<BranchInfo>> branches =
      ctx->provider->ListBranches(ctx->Project(req.project()));
  if (!branches.ok()) return branches.status();
  v1::ListBranchesResponse resp;
  for (const BranchInfo& b : *branches) *resp.add_branches() = ToProto(b, *ctx);
  AddNotices(ctx->provider, &resp);
  return resp;
}

absl::StatusOr<v1::CreateBranchResponse> BranchManager::CreateBranch(
    const v1::CreateBranchRequest& req, std::function<void(std::string_view)> progress) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  v1::CreateBranchResponse resp;
  const std::string project = ctx->Project(req.project());
  // The URI comes from the create itself: asked for afterwards, a delete
  // of the same name in between would make a successful create fail.
  CreateBranchOptions options{req.parent(), req.created_by(), req.force(), std::move(progress),
                              req.switch_env(), ""};
  if (!req.expires_in().empty()) {
    absl::StatusOr<std::string> at = ExpiryFromNow(req.expires_in());
    if (!at.ok()) return at.status();
    options.expires_at = std::move(*at);
  }
  std::string uri;
  // A branch that exists is switched to instead; a delete may take it
  // between the create's answer and the lookup, and then the name is free
  // to create again.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<BranchInfo> created = ctx->provider->CreateBranch(project, req.name(), options);
    if (created.ok()) {
      uri = std::move(created->connection_uri);
      *resp.mutable_branch() = ToProto(*created, *ctx);
      break;
    }
    if (created.status().code() != absl::StatusCode::kAlreadyExists || !req.switch_env()) {
      return created.status();
    }
    absl::StatusOr<std::string> existing = ctx->provider->ConnectionUri(project, req.name());
    const bool gone = !existing.ok() && existing.status().code() == absl::StatusCode::kNotFound;
    if (gone && attempt < kAttempts) continue;
    if (!existing.ok()) return existing.status();
    absl::StatusOr<std::vector<BranchInfo>> all = ctx->provider->ListBranches(project);
    if (!all.ok()) return all.status();
    const BranchInfo* found = nullptr;
    for (const BranchInfo& b : *all) {
      if (b.name == req.name()) found = &b;
    }
    if (!found && attempt < kAttempts) continue;
    if (found) *resp.mutable_branch() = ToProto(*found, *ctx);
    uri = std::move(*existing);
    resp.set_existed(true);
    break;
  }
  if (req.switch_env()) {
    if (uri.empty()) {
      return absl::InternalError(StrCat("provider ", ctx->provider->Name(),
                                        " gave no connection string for ", req.name()));
    }
    absl::StatusOr<std::string> written = WriteEnvUri(*ctx, ctx->target_var, uri);
    if (!written.ok()) return written.status();
    resp.set_env_file(ctx->env_file.string());
    resp.set_variable(ctx->target_var);
    resp.mutable_branch()->set_is_target(true);
  }
  AddNotices(ctx->provider, &resp);
  return resp;
}

absl::StatusOr<v1::DeleteBranchResponse> BranchManager::DeleteBranch(
    const v1::DeleteBranchRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  if (absl::Status s =
          ctx->provider->DeleteBranch(ctx->Project(req.project()), req.name(), req.force());
      !s.ok()) {
    return s;
  }
  v1::DeleteBranchResponse resp;
  for (auto [t, role] : {std::pair(&ctx->current.target(), v1::DATABASE_ROLE_TARGET),
                         std::pair(&ctx->current.source(), v1::DATABASE_ROLE_SOURCE)}) {
    if (t->resolved() && t->branch().branch_name() == req.name() &&
        t->branch().provider() == ctx->provider->Name()) {
      resp.add_dangling_variables(t->variable());
      resp.add_dangling_roles(role);
    }
  }
  AddNotices(ctx->provider, &resp);
  return resp;
}

absl::StatusOr<v1::SetDatabaseResponse> BranchManager::SetDatabase(
    const v1::SetDatabaseRequest& req) {
  if (req.role() == v1::DATABASE_ROLE_UNSPECIFIED) {
    return common::UsageError("say which database to set: target or source");
  }
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  const std::string& variable =
      req.role() == v1::DATABASE_ROLE_TARGET ? ctx->target_var : ctx->source_var;
  // The provider finds the branch (a Neon one may look again for a branch
  // made since its last refresh) before anything is written.
  absl::StatusOr<std::string> redacted =
      WriteEnv(*ctx, ctx->Project(req.project()), req.branch(), variable);
  if (!redacted.ok()) return redacted.status();
  absl::StatusOr<std::vector<BranchInfo>> all =
      ctx->provider->ListBranches(ctx->Project(req.project()));
  if (!all.ok()) return all.status();
  const BranchInfo* found = nullptr;
  for (const BranchInfo& b : *all) {
    if (b.name == req.branch()) found = &b;
  }
  if (!found) {
    return absl::NotFoundError(
        StrCat("branch \"", req.branch(), "\" does not exist; `ds db branches` lists them"));
  }
  v1::SetDatabaseResponse resp;
  *resp.mutable_branch() = ToProto(*found, *ctx);
  resp.set_env_file(ctx->env_file.string());
  resp.set_variable(variable);
  resp.set_redacted_uri(*redacted);
  AddNotices(ctx->provider, &resp);
  return resp;
}

absl::StatusOr<v1::SetExpiryResponse> BranchManager::SetExpiry(const v1::SetExpiryRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  if (req.name().empty()) return absl::InvalidArgumentError("name the branch whose expiry to set");
  std::string at;  // "" removes the expiry
  if (req.expires_in() != "never") {
    absl::StatusOr<std::string> when = ExpiryFromNow(req.expires_in());
    if (!when.ok()) {
      return absl::InvalidArgumentError(
          StrCat("\"", req.expires_in(), "\" is neither \"never\" nor a duration (7d, 36h)"));
    }
    at = std::move(*when);
  }
  const std::string project = ctx->Project(req.project());
  if (absl::Status s = ctx->provider->SetExpiry(project, req.name(), at); !s.ok()) return s;
  absl::StatusOr<std::vector<BranchInfo>> branches = ctx->provider->ListBranches(project);
  if (!branches.ok()) return branches.status();
  v1::SetExpiryResponse resp;
  for (const BranchInfo& b : *branches) {
    if (b.name == req.name()) *resp.mutable_branch() = ToProto(b, *ctx);
  }
  AddNotices(ctx->provider, &resp);
  return resp;
}

}  // namespace ds::daemon
