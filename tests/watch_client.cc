// ds_watch_for_test SOCKET WORKSPACE: opens a WatchCurrent stream on dsd and
// prints each answer as one JSON line, flushing after each. Integration
// tests use it to hold a stream open and to time updates.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <iostream>

#include "ds/v1/workspace.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: ds_watch_for_test SOCKET WORKSPACE\n";
    return 2;
  }
  auto channel = grpc::CreateChannel(std::string("unix:") + argv[1],
                                     grpc::InsecureChannelCredentials());
  auto stub = ds::v1::WorkspaceService::NewStub(channel);
  grpc::ClientContext ctx;
  ds::v1::GetCurrentRequest req;
  req.set_workspace_dir(argv[2]);
  auto reader = stub->WatchCurrent(&ctx, req);
  ds::v1::GetCurrentResponse resp;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  while (reader->Read(&resp)) {
    std::string line;
    (void)google::protobuf::util::MessageToJsonString(resp, &line, opts);
    std::cout << line << std::endl;
  }
  grpc::Status s = reader->Finish();
  std::cerr << "stream ended: " << s.error_code() << " " << s.error_message() << "\n";
  return s.ok() ? 0 : 1;
}
