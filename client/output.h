// How ds talks to people and scripts: errors on stderr as one line, JSON
// from protobuf's printer, colour only on a terminal and never with NO_COLOR.
#ifndef DS_CLIENT_OUTPUT_H_
#define DS_CLIENT_OUTPUT_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}
namespace grpc {
class Status;
}

namespace ds::client {

// A smart terminal: stdout is a TTY, TERM is not "dumb" (ninja's rule).
bool StdoutIsTerminal();
// Colour on stdout: a terminal, NO_COLOR unset; CLICOLOR_FORCE/FORCE_COLOR force it.
bool UseColor();

std::string Bold(std::string_view s);
std::string Dim(std::string_view s);

// The message as JSON with the proto field names (the API's own shape),
// every field present, indented, followed by a newline.
std::string ToJson(const google::protobuf::Message& message);

// The message as one line of JSON (for streams of events: JSON lines).
std::string ToJsonLine(const google::protobuf::Message& message);

// Prints "ds: <message>" to stderr and returns `exit_code`.
int PrintError(std::string_view message, int exit_code);

// Exit code and printed error for a failed RPC or a failed local step.
int ReportRpcError(const grpc::Status& status);
int ReportStatus(const absl::Status& status);

}  // namespace ds::client

#endif  // DS_CLIENT_OUTPUT_H_
