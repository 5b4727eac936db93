#include "daemon/jobs/jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/atomic_file.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

class JobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           StrCat("ds-jobs-test-", ::getpid(), "-",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms::owner_all);
  }
  void TearDown() override { fs::remove_all(dir_); }

  JobSpec Spec(std::string key = "h:5432/db") {
    JobSpec s;
    s.kind = "migrate";
    s.target_key = std::move(key);
    s.target_redacted = "postgresql://u:****@h/db";
    s.started_by = "test";
    s.description = "migrate drizzle/";
    return s;
  }

  // Waits until `id` has finished and returns its record.
  v1::Job WaitFinished(JobManager& m, const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      absl::StatusOr<v1::Job> j = m.Get(id);
      if (j.ok() && IsFinished(j->state())) return *j;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }

  fs::path dir_;
};

// A job body that blocks until released or cancelled.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Open() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
  JobOutcome Run(JobContext& ctx) {
    ctx.SetInterrupter([this] { Open(); });
    std::unique_lock l(mu);
    cv.wait(l, [&] { return open; });
    l.unlock();
    ctx.SetInterrupter(nullptr);
    if (ctx.cancelled()) return {v1::JOB_STATE_CANCELLED, 130, "cancelled", ""};
    return {v1::JOB_STATE_SUCCEEDED, 0, "", "done"};
  }
};

TEST_F(JobsTest, StreamsStartedFirstThenProgressThenFinished) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  std::mutex mu;
  std::vector<v1::JobEvent> events;
  absl::StatusOr<std::string> id = m.Start(
      Spec(),
      [](JobContext& ctx) {
        ctx.BeginStep("one");
        ctx.Progress(1, 2, "0000_a");
        ctx.Log("info", "password=hunter2 must not show");
        ctx.Progress(2, 2, "0001_b");
        return JobOutcome{v1::JOB_STATE_SUCCEEDED, 0, "", "applied 2 migrations"};
      },
      [&](const v1::JobEvent& ev) {
        std::lock_guard l(mu);
        events.push_back(ev);
      });
  ASSERT_TRUE(id.ok()) << id.status();
  v1::Job done = WaitFinished(m, *id);
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.summary(), "applied 2 migrations");
  std::lock_guard l(mu);
  ASSERT_GE(events.size(), 5u);
  EXPECT_TRUE(events.front().has_started());
  EXPECT_EQ(events.front().started().id(), *id);
  EXPECT_TRUE(events.back().has_finished());
  EXPECT_EQ(events.back().finished().exit_code(), 0);
  for (const v1::JobEvent& ev : events) {
    EXPECT_EQ(ev.job_id(), *id);
    EXPECT_EQ(ev.DebugString().find("hunter2"), std::string::npos);
  }
}

TEST_F(JobsTest, RecordsSurviveAndRunningOnesBecomeInterrupted) {
  std::string finished_id;
  {
    JobManager m(dir_);
    ASSERT_TRUE(m.Load().ok());
    absl::StatusOr<std::string> id = m.Start(Spec(), [](JobContext&) {
      return JobOutcome{v1::JOB_STATE_FAILED, 1, "boom", ""};
    });
    ASSERT_TRUE(id.ok());
    finished_id = *id;
    WaitFinished(m, *id);
  }
  // A record left "running" by a daemon that died.
  v1::Job stale;
  stale.set_id("7");
  stale.set_kind("migrate");
  stale.set_state(v1::JOB_STATE_RUNNING);
  stale.set_started_unix_ms(1);
  ASSERT_TRUE(
      common::ReplaceFileAtomically(
          dir_ / "7.json",
          R"({"id":"7","kind":"migrate","state":"JOB_STATE_RUNNING","started_unix_ms":"1"})")
          .ok());
  std::ofstream(dir_ / "garbage.json") << "not a job";
  std::ofstream(dir_ / "8.json") << "{ broken";

  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  absl::StatusOr<v1::Job> old = m.Get(finished_id);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(old->error(), "boom");
  absl::StatusOr<v1::Job> interrupted = m.Get("7");
  ASSERT_TRUE(interrupted.ok());
  EXPECT_EQ(interrupted->state(), v1::JOB_STATE_INTERRUPTED);
  EXPECT_NE(interrupted->error().find("dsd stopped"), std::string::npos);
  // New ids continue after the highest seen.
  absl::StatusOr<std::string> next = m.Start(Spec(), [](JobContext&) { return JobOutcome{}; });
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, "9");
  WaitFinished(m, *next);
  // Newest first.
  std::vector<v1::Job> list = m.List(10);
  ASSERT_GE(list.size(), 3u);
  EXPECT_EQ(list[0].id(), "9");
  EXPECT_EQ(list[1].id(), "7");
}

TEST_F(JobsTest, SecondJobOnTheSameDatabaseIsRefusedNamingTheFirst) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  Gate gate;
  absl::StatusOr<std::string> first =
      m.Start(Spec(), [&](JobContext& ctx) { return gate.Run(ctx); });
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::string> second = m.Start(Spec(), [](JobContext&) { return JobOutcome{}; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(StrCat("job ", *first)), std::string::npos);
  EXPECT_NE(second.status().message().find("--wait"), std::string::npos);
  // Another database is fine.
  absl::StatusOr<std::string> other =
      m.Start(Spec("h:5432/other"), [](JobContext&) { return JobOutcome{}; });
  EXPECT_TRUE(other.ok());
  gate.Open();
  WaitFinished(m, *first);
  if (other.ok()) WaitFinished(m, *other);
}

TEST_F(JobsTest, WaitQueuesBehindTheRunningJob) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  Gate gate;
  std::atomic<bool> second_ran{false};
  absl::StatusOr<std::string> first =
      m.Start(Spec(), [&](JobContext& ctx) { return gate.Run(ctx); });
  ASSERT_TRUE(first.ok());
  JobSpec waiting = Spec();
  waiting.wait = true;
  absl::StatusOr<std::string> second = m.Start(waiting, [&](JobContext&) {
    second_ran = true;
    return JobOutcome{};
  });
  ASSERT_TRUE(second.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(m.Get(*second)->state(), v1::JOB_STATE_QUEUED);
  EXPECT_FALSE(second_ran);
  gate.Open();
  EXPECT_EQ(WaitFinished(m, *second).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_TRUE(second_ran);
}

TEST_F(JobsTest, CancelInterruptsTheWorkAndIsReported) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  Gate gate;
  absl::StatusOr<std::string> id = m.Start(Spec(), [&](JobContext& ctx) { return gate.Run(ctx); });
  ASSERT_TRUE(id.ok());
  absl::StatusOr<v1::Job> c = m.Cancel(*id);
  ASSERT_TRUE(c.ok());
  v1::Job done = WaitFinished(m, *id);
  EXPECT_EQ(done.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(done.exit_code(), 130);
  // Cancelling again names the outcome.
  absl::StatusOr<v1::Job> again = m.Cancel(*id);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m.Cancel("404").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(JobsTest, CancelOfAQueuedJobEndsItWithoutRunning) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  Gate gate;
  absl::StatusOr<std::string> first =
      m.Start(Spec(), [&](JobContext& ctx) { return gate.Run(ctx); });
  JobSpec waiting = Spec();
  waiting.wait = true;
  std::atomic<bool> ran{false};
  absl::StatusOr<std::string> second = m.Start(waiting, [&](JobContext&) {
    ran = true;
    return JobOutcome{};
  });
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(m.Cancel(*second).ok());
  EXPECT_EQ(WaitFinished(m, *second).state(), v1::JOB_STATE_CANCELLED);
  EXPECT_FALSE(ran);
  gate.Open();
  WaitFinished(m, *first);
}

TEST_F(JobsTest, WatchReplaysAFinishedJob) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  absl::StatusOr<std::string> id = m.Start(Spec(), [](JobContext& ctx) {
    ctx.Log("warning", "a warning");
    return JobOutcome{v1::JOB_STATE_SUCCEEDED, 0, "", "ok"};
  });
  ASSERT_TRUE(id.ok());
  WaitFinished(m, *id);
  std::vector<v1::JobEvent> events;
  absl::StatusOr<uint64_t> token =
      m.Subscribe(*id, [&](const v1::JobEvent& ev) { events.push_back(ev); });
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(events[0].has_started());
  EXPECT_EQ(events[1].log().text(), "a warning");
  EXPECT_EQ(events[2].finished().summary(), "ok");
  EXPECT_EQ(m.Subscribe("nope", [](const v1::JobEvent&) {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(JobsTest, ShutdownMarksRunningJobsInterrupted) {
  auto m = std::make_unique<JobManager>(dir_);
  ASSERT_TRUE(m->Load().ok());
  Gate gate;
  absl::StatusOr<std::string> id = m->Start(Spec(), [&](JobContext& ctx) { return gate.Run(ctx); });
  ASSERT_TRUE(id.ok());
  m->Shutdown("dsd stopped (SIGTERM)");
  absl::StatusOr<v1::Job> j = m->Get(*id);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->state(), v1::JOB_STATE_INTERRUPTED);
  EXPECT_NE(j->error().find("SIGTERM"), std::string::npos);
  EXPECT_FALSE(m->Start(Spec(), [](JobContext&) { return JobOutcome{}; }).ok());
  m.reset();
  JobManager again(dir_);
  ASSERT_TRUE(again.Load().ok());
  EXPECT_EQ(again.Get(*id)->state(), v1::JOB_STATE_INTERRUPTED);
}

TEST_F(JobsTest, KeepsOnlyTheNewestRecords) {
  JobManager m(dir_, /*keep=*/3);
  ASSERT_TRUE(m.Load().ok());
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<std::string> id = m.Start(Spec(""), [](JobContext&) { return JobOutcome{}; });
    ASSERT_TRUE(id.ok());
    WaitFinished(m, *id);
  }
  absl::StatusOr<std::string> last = m.Start(Spec(""), [](JobContext&) { return JobOutcome{}; });
  WaitFinished(m, *last);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.path().extension() == ".json";
  EXPECT_LE(files, 4u);
  EXPECT_FALSE(m.Get("1").ok());
}

}  // namespace
}  // namespace ds::daemon
