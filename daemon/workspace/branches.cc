#include "daemon/workspace/branches.h"

#include <sys/stat.h>

#include <map>
#include <set>

#include "absl/strings/str_format.h"
#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/conninfo.h"
#include "common/dotenv.h"
#include "common/strings.h"
#include "common/usage_error.h"
#include "daemon/workspace/protected_branch.h"

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
    return common::UsageError(StrCat("--expires-in: ", in.status().message()));
  }
  return common::FormatRfc3339(common::UnixMillisNow() + *in);
}

BranchManager::BranchManager(WorkspaceResolver* resolver, ProviderRegistry* providers,
                             EnvHistory* history)
    : resolver_(resolver), providers_(providers), history_(history) {}

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
  ctx.config = config;
  ctx.default_project = config.Get("project");
  ctx.target_var = config.Get("target_var");
  ctx.source_var = config.Get("source_var");
  return ctx;
}

v1::Branch BranchToWire(std::string_view provider, const BranchInfo& b) {
  v1::Branch out;
  out.set_provider(std::string(provider));
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
  return out;
}

v1::Branch BranchManager::ToProto(const BranchInfo& b, const Context& ctx) const {
  v1::Branch out = BranchToWire(ctx.provider->Name(), b);
  out.set_is_target(Points(ctx.current.target(), b, ctx.provider->Name()));
  out.set_is_source(Points(ctx.current.source(), b, ctx.provider->Name()));
  return out;
}

std::string BranchManager::CurrentValue(const Context& ctx, const std::string& variable) {
  absl::StatusOr<std::string> text = common::ReadFile(ctx.env_file);
  if (!text.ok()) return "";
  absl::StatusOr<std::vector<common::DotenvEntry>> entries =
      common::ParseDotenv(*text, ctx.env_file.string());
  if (!entries.ok()) return "";
  const common::DotenvEntry* e = common::FindDotenvKey(*entries, variable);
  return e ? e->value : "";
}

absl::StatusOr<std::string> BranchManager::WriteEnvUri(
    const Context& ctx, const std::string& variable, const std::string& uri,
    google::protobuf::RepeatedPtrField<std::string>* notices) {
  const std::string old_value = CurrentValue(ctx, variable);
  // A string libpq cannot read is treated as holding a password. Anyone
  // who can read the password can connect as the branch's owner: the file
  // becomes owner-only (once; it stays so), and the user hears why.
  absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(uri);
  if (info.ok() && info->password.empty()) {
    if (absl::Status s = common::WriteDotenvValue(ctx.env_file, variable, uri); !s.ok()) return s;
  } else {
    absl::StatusOr<std::optional<mode_t>> tightened =
        common::WriteDotenvSecret(ctx.env_file, variable, uri);
    if (!tightened.ok()) return tightened.status();
    if (tightened->has_value()) {
      notices->Add(absl::StrFormat(
          "%s holds a database password and was readable by other users (mode %04o); it is "
          "now %04o (owner only). If something running as another user reads it, give that "
          "user its own copy",
          ctx.env_file.string(), **tightened, **tightened & 0700));
    }
  }
  if (absl::Status s = history_->Record(ctx.env_file.string(), variable, old_value, uri,
                                        common::UnixMillisNow());
      !s.ok()) {
    notices->Add(StrCat("the previous value of ", variable, " could not be kept for `ds db set ",
                        variable == ctx.source_var ? "source-db" : "target-db",
                        " -`: ", s.message()));
  }
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
  if (req.cached_only()) return CachedBranches(req);
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

absl::StatusOr<v1::ListBranchesResponse> BranchManager::CachedBranches(
    const v1::ListBranchesRequest& req) {
  // The configuration only: resolving .env's targets (ContextFor) may wait
  // for a provider's first load, which is what this answer must not do.
  absl::StatusOr<common::Config> config = resolver_->LoadConfig(req.workspace());
  if (!config.ok()) return config.status();
  v1::ListBranchesResponse resp;
  // A provider not made yet (a Neon key dsd has not seen) has nothing cached.
  if (providers_->WouldMake(*config)) return resp;
  absl::StatusOr<Provider*> provider = providers_->ForConfig(*config);
  if (!provider.ok()) return resp;
  std::optional<std::vector<BranchInfo>> branches =
      (*provider)->CachedBranches(req.project().empty() ? config->Get("project") : req.project());
  if (!branches) return resp;
  for (const BranchInfo& b : *branches) {
    v1::Branch* out = resp.add_branches();
    out->set_provider(std::string((*provider)->Name()));
    out->set_project_id(b.project_id);
    out->set_id(b.id);
    out->set_name(b.name);
    out->set_protected_(b.is_protected);
    out->set_is_default(b.is_default);
  }
  return resp;
}

absl::StatusOr<v1::CreateBranchResponse> BranchManager::CreateBranch(
    const v1::CreateBranchRequest& req, std::function<void(std::string_view)> progress) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  v1::CreateBranchResponse resp;
  const std::string project = ctx->Project(req.project());
  if (req.switch_env()) {
    // A .env that cannot be written is found before a branch is made for
    // it, not after.
    if (absl::Status s = common::CheckDotenvWritable(ctx->env_file); !s.ok()) {
      return absl::Status(s.code(), StrCat(s.message(), "; no branch was created"));
    }
  }
  // The URI comes from the create itself: asked for afterwards, a delete
  // of the same name in between would make a successful create fail.
  CreateBranchOptions options{req.parent(),        req.created_by(), req.force(),
                              std::move(progress), req.switch_env(), ""};
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
    if (found && req.switch_env()) {
      if (absl::Status s = CheckProtected(*found, StrCat("pointing ", ctx->target_var, " at it"),
                                          req.allow_protected());
          !s.ok()) {
        return s;
      }
    }
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
    absl::StatusOr<std::string> written =
        WriteEnvUri(*ctx, ctx->target_var, uri, resp.mutable_notices());
    if (!written.ok()) {
      // The branch stays (deleting it unasked could lose what a racing
      // user put there): say so, and how to finish or undo.
      const std::string& name = req.name();
      return absl::Status(
          written.status().code(),
          StrCat(
              resp.existed() ? StrCat("branch ", name, " exists") : StrCat("created branch ", name),
              ", but could not point ", ctx->target_var, " at it: ", written.status().message(),
              ". The branch exists: once that is fixed, `ds db set target-db --branch ", name,
              "` points .env at it; `ds db delete-branch ", name, " --yes` removes it"));
    }
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
  const bool target = req.role() == v1::DATABASE_ROLE_TARGET;
  const std::string& variable = target ? ctx->target_var : ctx->source_var;
  if (req.previous()) {
    if (!req.branch().empty()) {
      return common::UsageError("give a branch or ask for the previous value, not both");
    }
    return SetPrevious(req, *ctx, variable);
  }
  const std::string project = ctx->Project(req.project());
  // The provider finds the branch (a Neon one may look again for a branch
  // made since its last refresh) before anything is written.
  absl::StatusOr<std::string> uri = ctx->provider->ConnectionUri(project, req.branch());
  if (!uri.ok()) return uri.status();
  absl::StatusOr<std::vector<BranchInfo>> all = ctx->provider->ListBranches(project);
  if (!all.ok()) return all.status();
  const BranchInfo* found = nullptr;
  for (const BranchInfo& b : *all) {
    if (b.name == req.branch()) found = &b;
  }
  if (!found) {
    return absl::NotFoundError(
        StrCat("branch \"", req.branch(), "\" does not exist; `ds db branches` lists them"));
  }
  // What the target points at is what the backend and migrations change;
  // a source is only read from.
  if (target) {
    if (absl::Status s =
            CheckProtected(*found, StrCat("pointing ", variable, " at it"), req.allow_protected());
        !s.ok()) {
      return s;
    }
  }
  v1::SetDatabaseResponse resp;
  absl::StatusOr<std::string> redacted = WriteEnvUri(*ctx, variable, *uri, resp.mutable_notices());
  if (!redacted.ok()) return redacted.status();
  *resp.mutable_branch() = ToProto(*found, *ctx);
  resp.mutable_branch()->set_is_target(target || resp.branch().is_target());
  resp.mutable_branch()->set_is_source(!target || resp.branch().is_source());
  resp.set_env_file(ctx->env_file.string());
  resp.set_variable(variable);
  resp.set_redacted_uri(*redacted);
  AddNotices(ctx->provider, &resp);
  return resp;
}

absl::StatusOr<v1::SetDatabaseResponse> BranchManager::SetPrevious(
    const v1::SetDatabaseRequest& req, const Context& ctx, const std::string& variable) {
  const bool target = req.role() == v1::DATABASE_ROLE_TARGET;
  const std::string current = CurrentValue(ctx, variable);
  absl::StatusOr<std::optional<std::string>> previous =
      history_->Previous(ctx.env_file.string(), variable, current);
  if (!previous.ok()) return previous.status();
  if (!*previous) {
    return absl::FailedPreconditionError(
        StrCat("there is no earlier value of ", variable, " in ", ctx.env_file.string(),
               " to go back to: ds remembers the values it replaces there; choose one with "
               "`ds db set ",
               target ? "target-db" : "source-db", " --branch NAME`"));
  }
  v1::SetDatabaseResponse resp;
  // The earlier value may be any connection string; when a provider knows
  // it, the protected rule applies as for a branch named outright.
  if (absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(**previous); info.ok()) {
    Resolution r = providers_->Resolve(*info);
    if (r.branch) {
      absl::StatusOr<std::optional<BranchInfo>> b =
          DescribeBranch(*providers_, ctx.config, *r.branch);
      if (b.ok() && *b) {
        if (target) {
          if (absl::Status s = CheckProtected(**b, StrCat("pointing ", variable, " at it"),
                                              req.allow_protected());
              !s.ok()) {
            return s;
          }
        }
        *resp.mutable_branch() = ToProto(**b, ctx);
      } else if (!b.ok() && target && !req.allow_protected()) {
        return absl::Status(b.status().code(),
                            StrCat(b.status().message(), "; run again with --yes to go ahead"));
      }
    }
  }
  absl::StatusOr<std::string> redacted =
      WriteEnvUri(ctx, variable, **previous, resp.mutable_notices());
  if (!redacted.ok()) return redacted.status();
  resp.set_env_file(ctx.env_file.string());
  resp.set_variable(variable);
  resp.set_redacted_uri(*redacted);
  AddNotices(ctx.provider, &resp);
  return resp;
}

absl::StatusOr<v1::ListDatabaseHistoryResponse> BranchManager::ListDatabaseHistory(
    const v1::ListDatabaseHistoryRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  std::string variable;
  if (req.role() == v1::DATABASE_ROLE_TARGET) variable = ctx->target_var;
  if (req.role() == v1::DATABASE_ROLE_SOURCE) variable = ctx->source_var;
  absl::StatusOr<std::vector<EnvHistoryEntry>> entries =
      history_->List(ctx->env_file.string(), variable);
  if (!entries.ok()) return entries.status();
  v1::ListDatabaseHistoryResponse resp;
  resp.set_env_file(ctx->env_file.string());
  std::map<std::string, std::string> current;  // variable -> value now
  std::set<std::string> marked;
  for (const EnvHistoryEntry& e : *entries) {
    if (!current.count(e.variable)) current[e.variable] = CurrentValue(*ctx, e.variable);
    v1::DatabaseHistoryEntry* out = resp.add_entries();
    out->set_variable(e.variable);
    out->set_redacted_uri(common::RedactConnectionString(e.value));
    out->set_unix_ms(e.unix_ms);
    // The newest entry holding today's value is the current one.
    if (e.value == current[e.variable] && marked.insert(e.variable).second) {
      out->set_current(true);
    }
    if (absl::StatusOr<common::ConnInfo> info = common::ParseConnInfo(e.value); info.ok()) {
      if (Resolution r = providers_->Resolve(*info); r.branch) {
        *out->mutable_branch() = ToBranchRef(*r.branch);
      }
    }
  }
  return resp;
}

absl::StatusOr<v1::SetExpiryResponse> BranchManager::SetExpiry(const v1::SetExpiryRequest& req) {
  absl::StatusOr<Context> ctx = ContextFor(req.workspace());
  if (!ctx.ok()) return ctx.status();
  if (req.name().empty()) return common::UsageError("name the branch whose expiry to set");
  std::string at;  // "" removes the expiry
  if (req.expires_in() != "never") {
    absl::StatusOr<std::string> when = ExpiryFromNow(req.expires_in());
    if (!when.ok()) {
      return common::UsageError(
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
