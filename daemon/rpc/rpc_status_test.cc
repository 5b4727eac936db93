#include "daemon/rpc/rpc_status.h"

#include <gtest/gtest.h>

#include "common/usage_error.h"

namespace ds::daemon {
namespace {

TEST(ToGrpcStatus, OnlyTheRequestsOwnFaultsAreInvalidArgument) {
  EXPECT_EQ(ToGrpcStatus(common::UsageError("the branch name is empty")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A malformed file dsd read is state, not a bad request: exit 1, not 2.
  grpc::Status file = ToGrpcStatus(absl::InvalidArgumentError("/w/.env:3: unterminated quote"));
  EXPECT_EQ(file.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(file.error_message(), "/w/.env:3: unterminated quote");
}

TEST(ToGrpcStatus, WhatDsdCannotReachIsNotDsdUnreachable) {
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("cluster down")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(absl::DeadlineExceededError("Neon timed out")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(ToGrpcStatus, OtherCodesPassThrough) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("busy")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace ds::daemon
