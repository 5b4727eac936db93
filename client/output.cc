#include "client/output.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/support/status.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/exit_codes.h"
#include "common/strings.h"

namespace ds::client {
namespace {

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string_view(v) != "0";
}

}  // namespace

bool StdoutIsTerminal() {
  static const bool tty = [] {
    const char* term = std::getenv("TERM");
    return ::isatty(STDOUT_FILENO) && !(term && std::string_view(term) == "dumb");
  }();
  return tty;
}

bool UseColor() {
  static const bool color = [] {
    if (std::getenv("NO_COLOR") && *std::getenv("NO_COLOR")) return false;
    if (EnvSet("CLICOLOR_FORCE") || EnvSet("FORCE_COLOR")) return true;
    return StdoutIsTerminal();
  }();
  return color;
}

std::string Bold(std::string_view s) {
  return UseColor() ? StrCat("\x1b[1m", s, "\x1b[0m") : std::string(s);
}

std::string Dim(std::string_view s) {
  return UseColor() ? StrCat("\x1b[2m", s, "\x1b[0m") : std::string(s);
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

std::string ToJsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  out.push_back('\n');
  return out;
}

int PrintError(std::string_view message, int exit_code) {
  std::string line = StrCat("ds: ", message, "\n");
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
  return exit_code;
}

int ReportRpcError(const grpc::Status& status) { return ReportStatus(FromRpc(status)); }

int ReportStatus(const absl::Status& status) {
  return PrintError(ToStd(status.message()), ExitCodeFor(status.code()));
}

}  // namespace ds::client
