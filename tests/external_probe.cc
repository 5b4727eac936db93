// Runs one external step (daemon/external) outside dsd, against whatever
// endpoint the environment names, for the peer tests and benchmarks:
//
//   ds_external_probe_for_test <step> [--workspace DIR] [--stage S]
//       [--set key=value]... [--plan-only] [--record FILE]
//
// Settings come from DS_* variables and --set; credentials from the
// environment (AWS_*, STRIPE_*, ...) over the workspace .env, as dsd takes
// them from a caller. Prints the plan, every progress and log line, then
// "requests: N" and "result: ok" or "result: <error>"; exits 0 on success.
// --record appends each request sent (method, url, X-Amz-Target and body;
// never an auth header) to FILE as a JSON line, so that a test can check the
// requests against the service's published model.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/dotenv.h"
#include "common/strings.h"
#include "daemon/external/external_steps.h"
#include "daemon/http/http_transport.h"
#include "daemon/jobs/recording_job_context.h"

using namespace ds;

namespace {

class RecordingTransport final : public daemon::http::HttpTransport {
 public:
  RecordingTransport(std::unique_ptr<daemon::http::HttpTransport> inner, std::string file)
      : inner_(std::move(inner)), file_(std::move(file)) {}
  absl::StatusOr<daemon::http::HttpResponse> Send(
      const daemon::http::HttpRequest& request) override {
    if (!file_.empty()) {
      std::string target;
      for (const auto& [k, v] : request.headers) {
        if (k == "X-Amz-Target") target = v;
      }
      std::lock_guard lock(mu_);
      std::ofstream(file_, std::ios::app)
          << "{\"method\":" << JsonQuote(request.method) << ",\"url\":" << JsonQuote(request.url)
          << ",\"target\":" << JsonQuote(target) << ",\"body\":" << JsonQuote(request.body)
          << "}\n";
    }
    return inner_->Send(request);
  }

 private:
  std::unique_ptr<daemon::http::HttpTransport> inner_;
  std::string file_;
  std::mutex mu_;
};

int Usage() {
  std::cerr << "usage: ds_external_probe_for_test <step> [--workspace DIR] [--stage S] "
               "[--set key=value]... [--plan-only] [--record FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string step_name = argv[1], workspace = ".", stage, record;
  bool plan_only = false;
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--workspace") {
      workspace = next();
    } else if (a == "--stage") {
      stage = next();
    } else if (a == "--record") {
      record = next();
    } else if (a == "--plan-only") {
      plan_only = true;
    } else if (a == "--set") {
      std::string kv = next();
      size_t eq = kv.find('=');
      if (eq == std::string::npos) return Usage();
      flags[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else {
      return Usage();
    }
  }
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<common::DotenvEntry> dotenv;
  if (std::ifstream in(workspace + "/.env"); in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<std::vector<common::DotenvEntry>> parsed =
        common::ParseDotenv(text, workspace + "/.env");
    if (!parsed.ok()) {
      std::cerr << parsed.status().message() << "\n";
      return 2;
    }
    dotenv = std::move(*parsed);
  }
  absl::StatusOr<common::ConfigLayer> flag_layer = common::FlagLayer(flags);
  if (!flag_layer.ok()) {
    std::cerr << flag_layer.status().message() << "\n";
    return 2;
  }
  std::vector<common::ConfigLayer> layers = {common::DefaultsLayer(), common::EnvironmentLayer(env),
                                             *flag_layer};
  common::Config config = common::Config::Build(layers);

  daemon::external::ExternalStepsOptions options;
  options.transport = [record] {
    return std::make_shared<RecordingTransport>(daemon::http::NewCurlTransport(), record);
  };
  std::unique_ptr<daemon::ExternalStep> step =
      daemon::external::MakeExternalStep(step_name, options);
  if (!step) {
    std::cerr << "unknown step " << step_name << "\n";
    return 2;
  }
  daemon::ExternalStepInput input;
  input.config = &config;
  input.credentials = common::ExternalCredentials(env, dotenv);
  input.stage = stage;
  input.workspace_dir = workspace;

  auto finish = [&](const absl::Status& s) {
    std::cout << "requests: " << daemon::external::RequestsSent(*step) << "\n";
    std::cout << "result: " << (s.ok() ? "ok" : std::string(s.message())) << std::endl;
    return s.ok() ? 0 : 1;
  };
  absl::StatusOr<daemon::ExternalStepPlan> plan = step->Plan(input);
  if (!plan.ok()) return finish(plan.status());
  std::cout << "plan: " << (plan->configured ? plan->summary : plan->skip_reason) << std::endl;
  if (plan_only || !plan->configured) return finish(absl::OkStatus());
  daemon::RecordingJobContext job;
  job.OnLine([](const std::string& line) { std::cout << line << std::endl; });
  return finish(step->Run(input, *plan, job));
}
