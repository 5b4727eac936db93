// ds_watch_for_test [--branches] SOCKET WORKSPACE: opens a WatchCurrent
// (or, with --branches, a WatchBranches) stream on dsd and prints each
// message as one JSON line, flushing after each. Integration tests use it
// to hold a stream open and to see updates arrive.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <iostream>
#include <string_view>

#include "ds/v1/branch.grpc.pb.h"
#include "ds/v1/workspace.grpc.pb.h"

template <typename Reader, typename Message>
int Drain(Reader& reader, Message& message) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  while (reader->Read(&message)) {
    std::string line;
    (void)google::protobuf::util::MessageToJsonString(message, &line, opts);
    std::cout << line << std::endl;
  }
  grpc::Status s = reader->Finish();
  std::cerr << "stream ended: " << s.error_code() << " " << s.error_message() << "\n";
  return s.ok() ? 0 : 1;
}

int main(int argc, char** argv) {
  bool branches = argc == 4 && std::string_view(argv[1]) == "--branches";
  if (argc != 3 && !branches) {
    std::cerr << "usage: ds_watch_for_test [--branches] SOCKET WORKSPACE\n";
    return 2;
  }
  const char* socket = argv[argc - 2];
  const char* workspace = argv[argc - 1];
  auto channel = grpc::CreateChannel(std::string("unix:") + socket,
                                     grpc::InsecureChannelCredentials());
  grpc::ClientContext ctx;
  if (branches) {
    auto stub = ds::v1::BranchService::NewStub(channel);
    ds::v1::WatchBranchesRequest req;
    req.mutable_workspace()->set_workspace_dir(workspace);
    auto reader = stub->WatchBranches(&ctx, req);
    ds::v1::BranchListUpdate update;
    return Drain(reader, update);
  }
  auto stub = ds::v1::WorkspaceService::NewStub(channel);
  ds::v1::GetCurrentRequest req;
  req.set_workspace_dir(workspace);
  auto reader = stub->WatchCurrent(&ctx, req);
  ds::v1::GetCurrentResponse resp;
  return Drain(reader, resp);
}
