#include "daemon/rpc/stream_writer.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ds/v1/workspace.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ds::daemon {
namespace {

using testing::ElementsAre;
using Writer = StreamWriter<v1::GetCurrentResponse>;

// A WatchCurrent whose messages the test writes through the handle.
class HandOverService final : public v1::WorkspaceService::CallbackService {
 public:
  grpc::ServerWriteReactor<v1::GetCurrentResponse>* WatchCurrent(
      grpc::CallbackServerContext*, const v1::GetCurrentRequest*) override {
    auto* stream = new Writer();
    {
      std::lock_guard lock(mu_);
      handles_.push_back(stream->handle());
    }
    cv_.notify_all();
    return stream;
  }

  Writer::Handle NextHandle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !handles_.empty(); });
    Writer::Handle h = handles_.front();
    handles_.pop_front();
    return h;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Writer::Handle> handles_;
};

// Set once, waited for by another thread.
class Flag {
 public:
  void Set() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

v1::GetCurrentResponse Msg(const std::string& name) {
  v1::GetCurrentResponse m;
  m.set_workspace_dir(name);
  return m;
}

class StreamWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::WorkspaceService::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  // Reads every message of the stream, then its status.
  static std::vector<std::string> ReadAll(grpc::ClientReader<v1::GetCurrentResponse>& reader,
                                          grpc::Status* status) {
    std::vector<std::string> names;
    v1::GetCurrentResponse m;
    while (reader.Read(&m)) names.push_back(m.workspace_dir());
    *status = reader.Finish();
    return names;
  }

  HandOverService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::WorkspaceService::Stub> stub_;
};

TEST_F(StreamWriterTest, WritesInOrderAndEndsAfterTheLast) {
  grpc::ClientContext ctx;
  auto reader = stub_->WatchCurrent(&ctx, v1::GetCurrentRequest());
  Writer::Handle out = service_.NextHandle();
  for (int i = 0; i < 50; ++i) out.Write(Msg("m" + std::to_string(i)));
  out.WriteLast(Msg("last"));
  out.Write(Msg("after the last"));
  grpc::Status status;
  std::vector<std::string> got = ReadAll(*reader, &status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(got.size(), 51u);
  EXPECT_EQ(got.front(), "m0");
  EXPECT_EQ(got[49], "m49");
  EXPECT_EQ(got.back(), "last");
}

TEST_F(StreamWriterTest, WriteIfChangedDropsRepeatsOfTheLastMessage) {
  grpc::ClientContext ctx;
  auto reader = stub_->WatchCurrent(&ctx, v1::GetCurrentRequest());
  Writer::Handle out = service_.NextHandle();
  for (const char* name : {"a", "a", "b", "b", "b", "a"}) out.WriteIfChanged(Msg(name));
  out.WriteLast(Msg("end"));
  grpc::Status status;
  EXPECT_THAT(ReadAll(*reader, &status), ElementsAre("a", "b", "a", "end"));
  EXPECT_TRUE(status.ok());
}

TEST_F(StreamWriterTest, FinishCarriesTheStatus) {
  grpc::ClientContext ctx;
  auto reader = stub_->WatchCurrent(&ctx, v1::GetCurrentRequest());
  Writer::Handle out = service_.NextHandle();
  out.Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such workspace"));
  out.Write(Msg("after finish"));
  grpc::Status status;
  EXPECT_THAT(ReadAll(*reader, &status), ElementsAre());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such workspace");
}

TEST_F(StreamWriterTest, CleanupsRunOnceLatestFirstWhenTheClientLeaves) {
  std::mutex mu;
  std::vector<std::string> ran;
  Flag both_ran;
  auto record = [&](const std::string& what) {
    std::lock_guard lock(mu);
    ran.push_back(what);
    if (ran.size() == 2) both_ran.Set();
  };
  grpc::ClientContext ctx;
  auto reader = stub_->WatchCurrent(&ctx, v1::GetCurrentRequest());
  Writer::Handle out = service_.NextHandle();
  out.OnEnd([&] { record("first added"); });
  out.OnEnd([&] { record("second added"); });
  out.Write(Msg("x"));
  v1::GetCurrentResponse m;
  ASSERT_TRUE(reader->Read(&m));
  ctx.TryCancel();
  both_ran.Wait();
  // Added after the end: runs at once, on this thread.
  bool late = false;
  out.OnEnd([&] { late = true; });
  EXPECT_TRUE(late);
  out.Write(Msg("dropped"));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // Once the server has stopped, every reactor is gone (OnDone ran): the
  // handle stays safe to use and the cleanups do not run again.
  server_->Shutdown();
  server_->Wait();
  server_.reset();
  out.Write(Msg("after OnDone"));
  out.Finish(grpc::Status::OK);
  std::lock_guard lock(mu);
  EXPECT_THAT(ran, ElementsAre("second added", "first added"));
}

}  // namespace
}  // namespace ds::daemon
