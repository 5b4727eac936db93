#include "client/exit_codes.h"

#include <gmock/gmock.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

namespace ds::client {
namespace {

using ::testing::HasSubstr;

TEST(ExitCodeFor, TheDocumentedTable) {
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kUnavailable), 3);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kDeadlineExceeded), 3);
  EXPECT_EQ(ExitCodeFor(absl::StatusCode::kCancelled), 130);
  for (absl::StatusCode c :
       {absl::StatusCode::kFailedPrecondition, absl::StatusCode::kNotFound,
        absl::StatusCode::kAlreadyExists, absl::StatusCode::kPermissionDenied,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown, absl::StatusCode::kAborted}) {
    EXPECT_EQ(ExitCodeFor(c), 1) << absl::StatusCodeToString(c);
  }
}

TEST(FromRpc, KeepsDsdsCodeAndMessage) {
  absl::Status s = FromRpc(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "branch is busy"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "branch is busy");
  EXPECT_EQ(FromRpc(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad name")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(FromRpc(grpc::Status::OK).ok());
}

TEST(FromRpc, WordsABrokenConnection) {
  absl::Status s = FromRpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed"));
  EXPECT_EQ(ExitCodeFor(s.code()), 3);
  EXPECT_THAT(s.message(), HasSubstr("lost the connection to dsd: Socket closed"));
  absl::Status late = FromRpc(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, ""));
  EXPECT_EQ(ExitCodeFor(late.code()), 3);
  EXPECT_THAT(late.message(), HasSubstr("did not answer in time"));
}

}  // namespace
}  // namespace ds::client
