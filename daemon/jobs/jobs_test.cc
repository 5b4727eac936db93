#include "daemon/jobs/jobs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <vector>

#include "common/atomic_file.h"
#include "common/strings.h"

namespace ds::daemon {
namespace {

namespace fs = std::filesystem;

// Opened once, from any thread; waiters see it at once.
struct Latch {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Open() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
  void Wait() {
    std::unique_lock l(mu);
    cv.wait(l, [&] { return open; });
  }
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock l(mu);
    return cv.wait_for(l, timeout, [&] { return open; });
  }
};

// A job body that blocks until released or cancelled.
struct Gate {
  Latch latch;
  void Open() { latch.Open(); }
  JobOutcome Run(JobContext& ctx) {
    ctx.SetInterrupter([this] { Open(); });
    latch.Wait();
    ctx.SetInterrupter(nullptr);
    if (ctx.cancelled()) return {v1::JOB_STATE_CANCELLED, 130, "cancelled", ""};
    return {v1::JOB_STATE_SUCCEEDED, 0, "", "done"};
  }
};

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

  // Waits for `id`'s `finished` event and returns its record.
  v1::Job WaitFinished(JobManager& m, const std::string& id) {
    auto finished = std::make_shared<Latch>();
    absl::StatusOr<uint64_t> token = m.Subscribe(id, [finished](const v1::JobEvent& ev) {
      if (ev.has_finished()) finished->Open();
    });
    EXPECT_TRUE(token.ok()) << token.status();
    if (!token.ok()) return {};
    // A deadline so that a broken job engine fails the test instead of
    // hanging it; a healthy one finishes in milliseconds.
    bool done = finished->WaitFor(std::chrono::seconds(10));
    m.Unsubscribe(id, *token);
    if (!done) {
      ADD_FAILURE() << "job " << id << " did not finish";
      return {};
    }
    absl::StatusOr<v1::Job> job = m.Get(id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : v1::Job();
  }

  fs::path dir_;
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
  ASSERT_EQ(events.size(), 5u);
  EXPECT_TRUE(events[0].has_started());
  EXPECT_EQ(events[0].started().id(), *id);
  EXPECT_EQ(events[1].progress().step(), 1);
  EXPECT_EQ(events[1].progress().name(), "0000_a");
  EXPECT_TRUE(events[2].has_log());
  EXPECT_EQ(events[3].progress().step(), 2);
  EXPECT_EQ(events[3].progress().total(), 2);
  EXPECT_TRUE(events[4].has_finished());
  EXPECT_EQ(events[4].finished().summary(), "applied 2 migrations");
  EXPECT_EQ(events[4].finished().exit_code(), 0);
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
  // Newest first; the unreadable records are not jobs.
  std::vector<v1::Job> list = m.List(10);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id(), "9");
  EXPECT_EQ(list[1].id(), "7");
  EXPECT_EQ(list[2].id(), finished_id);
}

// dsd may die at any moment (kill -9, a power cut): what the record on disk
// says then is all anyone will know of the job.
TEST_F(JobsTest, CompletedStepsAreOnDiskAtOnce) {
  JobManager m(dir_);
  ASSERT_TRUE(m.Load().ok());
  Latch reached, release;
  absl::StatusOr<std::string> id = m.Start(Spec(), [&](JobContext& ctx) {
    ctx.BeginStep("0000_a");
    ctx.BeginStep("commit");
    ctx.EndStep(v1::JOB_STATE_SUCCEEDED, "committed 1 migration (0000_a)");
    ctx.BeginStep("0001_b");
    reached.Open();
    release.Wait();
    return JobOutcome{v1::JOB_STATE_SUCCEEDED, 0, "", "done"};
  });
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_TRUE(reached.WaitFor(std::chrono::seconds(10)));
  // Read as the next dsd would after a crash, while the job still runs.
  absl::StatusOr<std::string> text = common::ReadFile(dir_ / (*id + ".json"));
  release.Open();
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find(R"("name":"0000_a","state":"JOB_STATE_SUCCEEDED")"), std::string::npos)
      << *text;
  EXPECT_NE(text->find(R"json("detail":"committed 1 migration (0000_a)")json"), std::string::npos)
      << *text;
  WaitFinished(m, *id);
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
  std::atomic<bool> first_done{false};
  std::atomic<bool> second_ran{false};
  std::atomic<bool> second_saw_first_done{false};
  v1::JobState second_state_while_first_ran = v1::JOB_STATE_UNSPECIFIED;
  std::string second_id;
  absl::StatusOr<std::string> first = m.Start(Spec(), [&](JobContext& ctx) {
    JobOutcome outcome = gate.Run(ctx);
    // Still holding the database: the second job must still be waiting.
    second_state_while_first_ran = m.Get(second_id)->state();
    first_done = true;
    return outcome;
  });
  ASSERT_TRUE(first.ok());
  JobSpec waiting = Spec();
  waiting.wait = true;
  absl::StatusOr<std::string> second = m.Start(waiting, [&](JobContext&) {
    second_ran = true;
    second_saw_first_done = first_done.load();
    return JobOutcome{};
  });
  ASSERT_TRUE(second.ok());
  second_id = *second;
  // Start returns with the second job's state decided.
  EXPECT_EQ(m.Get(*second)->state(), v1::JOB_STATE_QUEUED);
  gate.Open();
  EXPECT_EQ(WaitFinished(m, *second).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(second_state_while_first_ran, v1::JOB_STATE_QUEUED);
  EXPECT_TRUE(second_ran);
  EXPECT_TRUE(second_saw_first_done) << "the second job ran before the first had finished";
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
  ASSERT_TRUE(first.ok());
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
  EXPECT_EQ(WaitFinished(m, *first).state(), v1::JOB_STATE_SUCCEEDED);
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
  ASSERT_TRUE(last.ok());
  WaitFinished(m, *last);
  // Each Start prunes the oldest finished jobs down to `keep`: 5, 6, 7 stay.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir_)) files.push_back(e.path().filename());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"5.json", "6.json", "7.json"}));
  for (const char* gone : {"1", "2", "3", "4"}) EXPECT_FALSE(m.Get(gone).ok()) << gone;
  EXPECT_TRUE(m.Get("5").ok());
}

}  // namespace
}  // namespace ds::daemon
