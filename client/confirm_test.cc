#include "client/confirm.h"

#include <gmock/gmock.h>
#include <grpcpp/support/status.h>
#include <gtest/gtest.h>

namespace ds::client {
namespace {

using ::testing::HasSubstr;

// Answers every question with `answer` and remembers the questions.
struct FakeTerminal {
  bool answer = false;
  std::vector<std::string> asked;
  std::function<bool(std::string_view)> Ask() {
    return [this](std::string_view q) {
      asked.emplace_back(q);
      return answer;
    };
  }
};

Confirmation Delete() {
  Confirmation c;
  c.action = "delete branch dev-x and all its data";
  return c;
}

TEST(ConfirmTest, YesGoesAheadWithoutAsking) {
  FakeTerminal t;
  Confirmation c = Delete();
  c.yes = true;
  c.env_files = {"/w/.env (DB_CONNECTION_STRING)"};
  EXPECT_TRUE(ConfirmAction(c, t.Ask()).ok());
  EXPECT_TRUE(t.asked.empty());
}

TEST(ConfirmTest, WithoutATerminalNeedsYes) {
  FakeTerminal t;
  t.answer = true;
  absl::Status s = ConfirmAction(Delete(), t.Ask());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "to delete branch dev-x and all its data without a terminal to confirm on, pass --yes");
  EXPECT_TRUE(t.asked.empty());
}

TEST(ConfirmTest, OnATerminalAsks) {
  FakeTerminal t;
  Confirmation c = Delete();
  c.stdin_is_tty = true;
  t.answer = true;
  EXPECT_TRUE(ConfirmAction(c, t.Ask()).ok());
  EXPECT_THAT(t.asked, ::testing::ElementsAre("Delete branch dev-x and all its data?"));
  t.answer = false;
  absl::Status s = ConfirmAction(c, t.Ask());
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(std::string(s.message()), HasSubstr("did not delete branch dev-x"));
}

// A branch a .env points at needs --yes even on a terminal, and the refusal
// names every such file.
TEST(ConfirmTest, PointedAtByEnvNeedsYesEvenOnATerminal) {
  FakeTerminal t;
  t.answer = true;
  Confirmation c = Delete();
  c.stdin_is_tty = true;
  c.env_files = {"/w/.env (DB_CONNECTION_STRING)", "/w/.env (SOURCE_DB_CONNECTION_STRING)"};
  absl::Status s = ConfirmAction(c, t.Ask());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "/w/.env (DB_CONNECTION_STRING), /w/.env (SOURCE_DB_CONNECTION_STRING) point at it; "
            "to delete branch dev-x and all its data anyway, run again with --yes");
  EXPECT_TRUE(t.asked.empty());
}

// A protected branch: the reason leads the question and the refusal.
TEST(ConfirmTest, ReasonLeadsQuestionAndRefusal) {
  FakeTerminal t;
  t.answer = true;
  Confirmation c;
  c.action = "migrate it";
  c.reason = "branch \"main\" is the default branch";
  absl::Status s = ConfirmAction(c, t.Ask());
  EXPECT_EQ(s.message(),
            "branch \"main\" is the default branch; to migrate it without a terminal to confirm "
            "on, pass --yes");
  c.stdin_is_tty = true;
  EXPECT_TRUE(ConfirmAction(c, t.Ask()).ok());
  EXPECT_THAT(t.asked,
              ::testing::ElementsAre("Branch \"main\" is the default branch; migrate it?"));
}

// dsd's refusal is recognised by its words, and only on FAILED_PRECONDITION.
TEST(ConfirmationRefusalTest, RecognisesDsdsWords) {
  const std::string msg =
      "branch \"main\" is the default branch; migrating it needs confirmation: run again with "
      "--yes (API: set allow_protected)";
  EXPECT_EQ(ConfirmationRefusal(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, msg)),
            std::optional<std::string>("branch \"main\" is the default branch"));
  EXPECT_EQ(ConfirmationRefusal(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, msg)),
            std::nullopt);
  EXPECT_EQ(ConfirmationRefusal(
                grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "branch main is busy")),
            std::nullopt);
}

}  // namespace
}  // namespace ds::client
