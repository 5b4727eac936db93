// Following a job from ds: renders its event stream and turns Ctrl-C into
// a Cancel. On a terminal one live line shows the step, its name and the
// elapsed time; otherwise each event is a plain line; with --json each
// event is one line of JSON (ds.v1.JobEvent).
//
// Ctrl-C while following a job that ds started cancels it: dsd cancels the
// running statement in PostgreSQL and rolls back, and ds waits for that
// outcome (exit 130). A second Ctrl-C stops waiting (the cancel goes on in
// dsd). To leave a job running, start it with --detach. The signal handler
// only writes a byte to a pipe; a thread does the rest.
#ifndef DS_CLIENT_JOB_STREAM_H_
#define DS_CLIENT_JOB_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "ds/v1/jobs.grpc.pb.h"

namespace ds::client {

struct FollowOptions {
  bool json = false;
  bool cancel_on_interrupt = false;  // Ctrl-C cancels the job (ds started it)
  bool detach = false;               // return as soon as the job id is known
  // When set, an error that ends the stream before the job started (dsd
  // refused the request) is stored here rather than printed, and FollowJob
  // returns kJobNotStarted; ReportNotStarted prints it later.
  grpc::Status* not_started = nullptr;
};

inline constexpr int kJobNotStarted = -1;

// Reads the stream opened on `ctx` to its end and returns ds's exit code:
// the job's own (0, 1, 130), or an RPC error's.
int FollowJob(v1::JobService::Stub& jobs, grpc::ClientContext& ctx,
              grpc::ClientReaderInterface<v1::JobEvent>& reader, const FollowOptions& options);

// Prints why a job did not start and returns the exit code.
int ReportNotStarted(const grpc::Status& status);
// Who started a job, as `ds jobs list` shows it: "alice via ds (pid 4242)".
std::string StartedBy();

// Installs the Ctrl-C handler used while following. Call before the stream
// starts so that no interrupt is lost between the two.
void PrepareForInterrupts();

// Ctrl-C kills ds again (while it asks a question between two jobs), and a
// Ctrl-C already caught is forgotten. PrepareForInterrupts undoes this.
void SuspendInterrupts();

}  // namespace ds::client

#endif  // DS_CLIENT_JOB_STREAM_H_
