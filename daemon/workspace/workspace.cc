#include "daemon/workspace/workspace.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/conninfo.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/usage_error.h"

namespace ds::daemon {

v1::Origin::Kind ToProtoOriginKind(common::OriginKind kind) {
  switch (kind) {
    case common::OriginKind::kDefault: return v1::Origin::KIND_DEFAULT;
    case common::OriginKind::kUserConfig: return v1::Origin::KIND_USER_CONFIG;
    case common::OriginKind::kWorkspaceToml: return v1::Origin::KIND_WORKSPACE_TOML;
    case common::OriginKind::kDotenv: return v1::Origin::KIND_DOTENV;
    case common::OriginKind::kEnvironment: return v1::Origin::KIND_ENVIRONMENT;
    case common::OriginKind::kFlag: return v1::Origin::KIND_FLAG;
  }
  return v1::Origin::KIND_UNSPECIFIED;
}

v1::BranchRef ToBranchRef(const BranchLocation& location) {
  v1::BranchRef out;
  out.set_provider(location.provider);
  out.set_project_id(location.project_id);
  out.set_project_name(location.project_name);
  out.set_branch_id(location.branch_id);
  out.set_branch_name(location.branch_name);
  out.set_branch_protected(location.is_protected);
  out.set_branch_is_default(location.is_default);
  return out;
}

namespace {

absl::StatusOr<common::ConfigLayer> ParseToml(common::OriginKind kind,
                                              const std::filesystem::path& path,
                                              const std::optional<std::string>& text) {
  if (!text) return common::ConfigLayer{kind, {}};
  return common::TomlLayer(*text, path, kind);
}

std::filesystem::path EnvFilePath(const std::filesystem::path& workspace,
                                  const common::Config& config) {
  std::filesystem::path p = config.Get("env_file");
  return (p.is_absolute() ? p : workspace / p).lexically_normal();
}

std::unique_ptr<PathWatch> MakePathWatch() {
  absl::StatusOr<std::unique_ptr<PathWatch>> watch = PathWatch::Create();
  if (watch.ok()) return *std::move(watch);
  common::LogWarning("every GetCurrent will stat() its files: ", watch.status().message());
  return nullptr;
}

std::map<std::string, std::string> ToMap(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

}  // namespace

absl::Status ValidateWorkspaceDir(const std::string& dir) {
  if (dir.empty()) {
    return common::UsageError(
        "the request names no workspace directory; send the absolute path of the folder "
        "holding .env");
  }
  if (dir.front() != '/') {
    return common::UsageError(
        StrCat("workspace directory '", dir, "' is relative; dsd needs an absolute path"));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          StrCat("workspace directory ", dir, " does not exist; check the path"));
    }
    return absl::PermissionDeniedError(
        StrCat("cannot open workspace directory ", dir, ": ", std::strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return common::UsageError(
        StrCat("workspace ", dir, " is not a directory; pass the folder holding .env"));
  }
  return absl::OkStatus();
}

absl::StatusOr<common::ConfigLayer> WorkspaceResolver::ParseCredentials(
    const std::filesystem::path& path, const std::optional<std::string>& text) {
  common::ConfigLayer layer{common::OriginKind::kUserConfig, {}};
  if (!text) return layer;
  // A key readable by others is refused, not used: say how to fix it.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(StrCat(
        path.string(), " holds secrets but other users can read it (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777), "); run `chmod 600 ", path.string(), "`"));
  }
  absl::StatusOr<std::vector<common::DotenvEntry>> entries =
      common::ParseDotenv(*text, path.string());
  if (!entries.ok()) return entries.status();
  for (const common::DotenvEntry& e : *entries) {
    const common::ConfigKey* k = common::FindConfigKeyByEnvVar(e.key);
    if (!k || !k->name.starts_with("neon_")) {
      return absl::InvalidArgumentError(
          StrCat(path.string(), ":", e.line, ": ", e.key,
                 " does not belong in the credentials file (it takes NEON_API_KEY and "
                 "NEON_API_HOST)"));
    }
    layer.entries.push_back(
        {std::string(k->name),
         e.value,
         {common::OriginKind::kUserConfig, StrCat(path.string(), ":", e.line)}});
  }
  return layer;
}

common::ConfigLayer WorkspaceResolver::DaemonSecretsLayer() {
  // Only the Neon settings: dsd's other DS_* variables belong to whoever
  // started it, not to every workspace it serves.
  common::ConfigLayer layer{common::OriginKind::kEnvironment, {}};
  for (const char* var : {"NEON_API_KEY", "NEON_API_HOST"}) {
    const char* v = std::getenv(var);
    const common::ConfigKey* k = common::FindConfigKeyByEnvVar(var);
    if (v && *v && k) {
      layer.entries.push_back(
          {std::string(k->name), v, {common::OriginKind::kEnvironment, StrCat("dsd's ", var)}});
    }
  }
  return layer;
}

WorkspaceResolver::WorkspaceResolver(common::Paths paths, const ProviderRegistry* providers)
    : paths_(std::move(paths)),
      providers_(providers),
      watch_(MakePathWatch()),
      dotenv_cache_(
          [](const std::filesystem::path& path,
             const std::optional<std::string>& text) -> absl::StatusOr<DotenvEntries> {
            if (!text) return DotenvEntries{};
            return common::ParseDotenv(*text, path.string());
          },
          watch_.get()),
      workspace_toml_cache_(
          [](const std::filesystem::path& path, const std::optional<std::string>& text) {
            return ParseToml(common::OriginKind::kWorkspaceToml, path, text);
          },
          watch_.get()),
      user_toml_cache_(
          [](const std::filesystem::path& path, const std::optional<std::string>& text) {
            return ParseToml(common::OriginKind::kUserConfig, path, text);
          },
          watch_.get()),
      credentials_cache_(ParseCredentials, watch_.get()),
      daemon_secrets_(DaemonSecretsLayer()),
      known_(paths_.state_dir.empty() ? std::filesystem::path() : paths_.state_dir / "workspaces") {
}

absl::StatusOr<WorkspaceResolver::Inputs> WorkspaceResolver::ReadInputs(
    const std::filesystem::path& workspace, std::optional<uint64_t> epoch) {
  Inputs in;
  auto user = user_toml_cache_.Get(paths_.user_config(), nullptr, epoch);
  if (!user.ok()) return user.status();
  in.user = *std::move(user);
  auto ws = workspace_toml_cache_.Get(workspace / "ds.toml", nullptr, epoch);
  if (!ws.ok()) return ws.status();
  in.workspace = *std::move(ws);
  auto credentials = credentials_cache_.Get(paths_.config_dir / "credentials", nullptr, epoch);
  if (!credentials.ok()) return credentials.status();
  in.credentials = *std::move(credentials);
  return in;
}

absl::StatusOr<common::Config> WorkspaceResolver::LoadConfig(
    const v1::WorkspaceRef& ref, std::filesystem::path* env_file_out,
    std::shared_ptr<const DotenvEntries>* env_out) {
  if (absl::Status s = ValidateWorkspaceDir(ref.workspace_dir()); !s.ok()) return s;
  absl::StatusOr<Inputs> inputs = ReadInputs(ref.workspace_dir());
  if (!inputs.ok()) return inputs.status();
  return BuildConfig(ref, *inputs, env_file_out, env_out, nullptr);
}

absl::StatusOr<common::Config> WorkspaceResolver::BuildConfig(
    const v1::WorkspaceRef& ref, const Inputs& inputs, std::filesystem::path* env_file_out,
    std::shared_ptr<const DotenvEntries>* env_out, FileIdentity* env_identity,
    std::optional<uint64_t> epoch) {
  std::filesystem::path workspace = ref.workspace_dir();
  common::ConfigLayer env_layer = common::EnvironmentLayer(ToMap(ref.overrides().environment()));
  if (absl::Status s = common::CheckConfigLayer(env_layer); !s.ok()) return s;
  absl::StatusOr<common::ConfigLayer> flag_layer =
      common::FlagLayer(ToMap(ref.overrides().flags()));
  if (!flag_layer.ok()) return flag_layer.status();

  // The .env location is itself configuration, so it is settled by every
  // layer except the .env before the .env is read.
  // Lowest first. The key may also come from dsd's own environment and the
  // credentials file, below everything a workspace or its caller says.
  std::vector<common::ConfigLayer> layers = {
      common::DefaultsLayer(), *inputs.credentials, daemon_secrets_, *inputs.user,
      *inputs.workspace,       env_layer,           *flag_layer};
  std::filesystem::path env_file = EnvFilePath(workspace, common::Config::Build(layers));
  auto env = dotenv_cache_.Get(env_file, env_identity, epoch);
  if (!env.ok()) return env.status();
  common::ConfigLayer dotenv_layer = common::DotenvLayer(**env, env_file);
  if (absl::Status s = common::CheckConfigLayer(dotenv_layer); !s.ok()) return s;
  layers.insert(layers.begin() + 5, std::move(dotenv_layer));
  if (env_file_out) *env_file_out = env_file;
  if (env_out) *env_out = *env;
  // Every workspace whose files were read counts as served (audit looks
  // at its .env and its git branches).
  known_.Add(ref.workspace_dir());
  return common::Config::Build(layers);
}

WorkspaceResolver::Target WorkspaceResolver::ReadTarget(const DotenvEntries& env,
                                                        common::DbRole role,
                                                        const std::string& variable) {
  Target t{role, variable, common::FindDotenvKey(env, variable), absl::UnknownError("not set"), {}};
  if (t.entry && t.entry->value.empty()) t.entry = nullptr;
  if (t.entry) {
    t.info = common::ParseConnInfo(t.entry->value);
    t.redacted_uri =
        t.info.ok() ? common::RedactedUri(*t.info) : common::RedactConnectionString(t.entry->value);
  }
  return t;
}

namespace {

// The memo's key: the workspace and the overrides its caller sent (maps in
// key order, so equal requests give equal keys).
std::string MemoKey(const v1::WorkspaceRef& ref) {
  std::string key = ref.workspace_dir();
  for (const auto* m : {&ref.overrides().environment(), &ref.overrides().flags()}) {
    key += '\0';
    for (const auto& [k, v] : std::map<std::string, std::string>(m->begin(), m->end())) {
      StrAppend(&key, k.size(), ":", k, v.size(), ":", v);
    }
  }
  return key;
}

}  // namespace

absl::Status WorkspaceResolver::CheckWorkspaceDir(const std::string& dir,
                                                  std::optional<uint64_t> epoch) {
  if (epoch) {
    std::lock_guard lock(valid_dirs_mu_);
    if (auto it = valid_dirs_.find(dir); it != valid_dirs_.end() && it->second == *epoch) {
      return absl::OkStatus();
    }
  }
  // The watch goes in before the epoch the check below will count for.
  if (epoch) epoch = watch_->Watch(dir) ? watch_->Epoch() : std::nullopt;
  absl::Status s = ValidateWorkspaceDir(dir);
  if (s.ok() && epoch) {
    std::lock_guard lock(valid_dirs_mu_);
    valid_dirs_[dir] = *epoch;
  }
  return s;
}

absl::StatusOr<std::shared_ptr<const WorkspaceResolver::Read>> WorkspaceResolver::ReadWorkspace(
    const v1::WorkspaceRef& ref) {
  // One epoch for the whole request: whatever was checked at it is current
  // (the request is answered as of this moment).
  std::optional<uint64_t> epoch = watch_ ? watch_->Epoch() : std::nullopt;
  if (absl::Status s = CheckWorkspaceDir(ref.workspace_dir(), epoch); !s.ok()) return s;
  absl::StatusOr<Inputs> inputs = ReadInputs(ref.workspace_dir(), epoch);
  if (!inputs.ok()) return inputs.status();
  const std::string key = MemoKey(ref);
  std::shared_ptr<const Read> last;
  {
    std::lock_guard lock(memo_mu_);
    if (auto it = memo_.find(key); it != memo_.end() && it->second.inputs == *inputs) {
      last = it->second.read;
    }
  }
  if (last) {
    // The .env path is settled by the inputs, which have not changed.
    FileIdentity id;
    auto env = dotenv_cache_.Get(last->env_file, &id, epoch);
    if (!env.ok()) return env.status();
    if (*env == last->env && id.exists == last->env_file_exists) return last;
  }

  auto r = std::make_shared<Read>();
  FileIdentity env_id;
  absl::StatusOr<common::Config> config =
      BuildConfig(ref, *inputs, &r->env_file, &r->env, &env_id, epoch);
  if (!config.ok()) return config.status();
  r->config = std::move(*config);
  r->env_file_exists = env_id.exists;
  r->target = ReadTarget(*r->env, common::DbRole::kTarget, r->config.Get("target_var"));
  r->source = ReadTarget(*r->env, common::DbRole::kSource, r->config.Get("source_var"));
  std::lock_guard lock(memo_mu_);
  memo_[key] = Memo{*std::move(inputs), r};
  return r;
}

bool WorkspaceResolver::MayWait(const Read& read) const {
  if (providers_->WouldMake(read.config)) return true;
  for (const Target* t : {&read.target, &read.source}) {
    if (t->info.ok() && providers_->ResolveMayWait(*t->info)) return true;
  }
  return false;
}

v1::GetCurrentResponse WorkspaceResolver::Answer(const v1::WorkspaceRef& ref, const Read& read) {
  v1::GetCurrentResponse out;
  out.set_workspace_dir(ref.workspace_dir());
  out.set_env_file(read.env_file.string());
  out.set_env_file_exists(read.env_file_exists);
  out.set_provider(common::EffectiveProvider(read.config));
  const common::ConfigOrigin& po = read.config.OriginOf("provider");
  out.mutable_provider_origin()->set_kind(ToProtoOriginKind(po.kind));
  out.mutable_provider_origin()->set_location(po.location);
  // Makes sure the workspace's provider exists (a Neon one is made per API
  // key on first use), so that it takes part in resolving the targets.
  (void)providers_->ForConfig(read.config);
  FillTarget(read.target, read.env_file, out.mutable_target());
  FillTarget(read.source, read.env_file, out.mutable_source());
  return out;
}

absl::StatusOr<v1::GetCurrentResponse> WorkspaceResolver::GetCurrent(const v1::WorkspaceRef& ref,
                                                                     common::Config* config_out) {
  absl::StatusOr<std::shared_ptr<const Read>> read = ReadWorkspace(ref);
  if (!read.ok()) return read.status();
  v1::GetCurrentResponse out = Answer(ref, **read);
  if (config_out) *config_out = (*read)->config;
  return out;
}

std::optional<absl::StatusOr<v1::GetCurrentResponse>> WorkspaceResolver::GetCurrentWithoutWaiting(
    const v1::WorkspaceRef& ref) {
  absl::StatusOr<std::shared_ptr<const Read>> read = ReadWorkspace(ref);
  if (!read.ok()) return read.status();
  if (MayWait(**read)) return std::nullopt;
  return Answer(ref, **read);
}

void WorkspaceResolver::FillTarget(const Target& t, const std::filesystem::path& env_file,
                                   v1::DatabaseTarget* out) const {
  out->set_variable(t.variable);
  if (!t.entry) return;  // is_set stays false
  const common::DotenvEntry* e = t.entry;
  out->set_is_set(true);
  out->mutable_origin()->set_kind(v1::Origin::KIND_DOTENV);
  out->mutable_origin()->set_location(StrCat(env_file.string(), ":", e->line));

  if (!t.info.ok()) {
    out->set_error(StrCat(t.variable, " in ", env_file.string(), ":", e->line,
                          " is not a valid PostgreSQL connection string (",
                          t.info.status().message(), "); fix it or run `",
                          common::SetDbCommand(t.role), "`"));
    out->mutable_connection()->set_redacted_uri(t.redacted_uri);
    return;
  }
  const common::ConnInfo& info = *t.info;
  v1::ConnectionSummary* c = out->mutable_connection();
  c->set_redacted_uri(t.redacted_uri);
  c->set_host(info.host);
  c->set_port(info.port);
  c->set_database(info.dbname);
  c->set_user(info.user);
  c->set_neon_endpoint_id(info.neon_endpoint_id);

  Resolution r = providers_->Resolve(info);
  if (r.branch) {
    out->set_resolved(true);
    *out->mutable_branch() = ToBranchRef(*r.branch);
  } else {
    out->set_unresolved_reason(r.unresolved_reason);
  }
}

absl::StatusOr<std::set<std::filesystem::path>> WorkspaceResolver::WatchedDirs(
    const v1::WorkspaceRef& ref) {
  std::filesystem::path env_file;
  absl::StatusOr<common::Config> config = LoadConfig(ref, &env_file);
  std::set<std::filesystem::path> dirs = {std::filesystem::path(ref.workspace_dir())};
  if (config.ok()) {
    dirs.insert(env_file.parent_path());
  } else if (absl::Status s = ValidateWorkspaceDir(ref.workspace_dir()); !s.ok()) {
    return s;
  }
  // A broken .env is still watched: fixing it must produce a new answer.
  std::error_code ec;
  std::set<std::filesystem::path> existing;
  for (const auto& d : dirs) {
    if (std::filesystem::is_directory(d, ec)) existing.insert(d);
  }
  return existing;
}

}  // namespace ds::daemon
