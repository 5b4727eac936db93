#include "client/job_stream.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_format.h"
#include "client/exit_codes.h"
#include "client/output.h"
#include "common/strings.h"

namespace ds::client {
namespace {

int g_interrupt_pipe[2] = {-1, -1};

void OnInterrupt(int) {
  int saved = errno;
  char c = 'i';
  (void)!::write(g_interrupt_pipe[1], &c, 1);
  errno = saved;
}

using Clock = std::chrono::steady_clock;

size_t TerminalWidth() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string Seconds(double s) { return absl::StrFormat("%.1fs", s); }

std::string Capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// Prints events. On a terminal the last line is a live status line that
// other output is printed above; the ticker thread keeps its clock moving.
class Renderer {
 public:
  Renderer(bool json, bool tty) : json_(json), tty_(tty) {}

  void Event(const v1::JobEvent& ev) {
    std::lock_guard lock(mu_);
    if (ev.has_started()) job_id_ = ev.job_id();
    if (json_) {
      std::fputs(ToJsonLine(ev).c_str(), stdout);
      std::fflush(stdout);
      return;
    }
    if (ev.has_started()) {
      const v1::Job& j = ev.started();
      std::string line = StrCat("Job ", j.id(), ": ", j.description(), " on ", j.target());
      if (!j.branch().branch_name().empty())
        StrAppend(&line, " (branch ", j.branch().branch_name(), ")");
      if (j.state() == v1::JOB_STATE_QUEUED) {
        StrAppend(&line, "\nQueued behind another job on this database");
      }
      PrintLocked(line);
      started_ = Clock::now();
    } else if (ev.has_progress()) {
      const v1::JobProgress& p = ev.progress();
      std::string text =
          p.step() > 0 ? StrCat("[", p.step(), "/", p.total(), "] ", p.name()) : p.message();
      if (p.step() > 0 && !p.message().empty()) StrAppend(&text, " (", p.message(), ")");
      started_ = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(p.elapsed_seconds()));
      if (tty_) {
        live_ = text;
        DrawLocked();
      } else if (p.step() > 0) {
        PrintLocked(text);  // a waiting message arrives as a log line too
      }
    } else if (ev.has_log()) {
      const v1::JobLogLine& l = ev.log();
      if (l.level() == "info") {
        PrintLocked(l.text());
      } else {
        PrintLocked(StrCat(l.level(), ": ", l.text()), /*to_stderr=*/true);
      }
    } else if (ev.has_finished()) {
      const v1::JobFinished& f = ev.finished();
      ClearLocked();
      if (f.state() == v1::JOB_STATE_SUCCEEDED) {
        PrintLocked(StrCat(Capitalized(f.summary()), " (job ", ev.job_id(), ")"));
      } else {
        const char* what = f.state() == v1::JOB_STATE_CANCELLED     ? "was cancelled"
                           : f.state() == v1::JOB_STATE_INTERRUPTED ? "was interrupted"
                                                                    : "failed";
        PrintLocked(StrCat("ds: job ", ev.job_id(), " ", what, ": ", f.error()),
                    /*to_stderr=*/true);
      }
    }
  }

  // A line from ds itself (Ctrl-C), on stderr.
  void Note(std::string_view text) {
    std::lock_guard lock(mu_);
    PrintLocked(StrCat("ds: ", text), /*to_stderr=*/true);
  }

  void Tick() {
    std::lock_guard lock(mu_);
    if (tty_ && !live_.empty()) DrawLocked();
  }

  std::string job_id() {
    std::lock_guard lock(mu_);
    return job_id_;
  }

 private:
  void DrawLocked() {
    std::string line = StrCat(
        live_, "  ", Seconds(std::chrono::duration<double>(Clock::now() - started_).count()));
    size_t width = TerminalWidth();
    if (line.size() >= width) line = StrCat(line.substr(0, width > 2 ? width - 2 : 0), "…");
    std::fputs(StrCat("\r\x1b[K", line).c_str(), stdout);
    std::fflush(stdout);
    shown_ = true;
  }

  void ClearLocked() {
    if (!shown_) return;
    std::fputs("\r\x1b[K", stdout);
    std::fflush(stdout);
    shown_ = false;
  }

  void PrintLocked(const std::string& text, bool to_stderr = false) {
    bool redraw = shown_;
    ClearLocked();
    std::string line = StrCat(text, "\n");
    std::fputs(line.c_str(), to_stderr ? stderr : stdout);
    std::fflush(to_stderr ? stderr : stdout);
    if (redraw && !live_.empty()) DrawLocked();
  }

  const bool json_;
  const bool tty_;
  std::mutex mu_;
  std::string job_id_;
  std::string live_;
  bool shown_ = false;
  Clock::time_point started_ = Clock::now();
};

void SendCancel(v1::JobService::Stub& jobs, Renderer& renderer, const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::CancelJobRequest req;
  req.set_id(id);
  v1::CancelJobResponse resp;
  grpc::Status st = jobs.Cancel(&ctx, req, &resp);
  // FAILED_PRECONDITION: it finished meanwhile; the stream tells how.
  if (!st.ok() && st.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
    renderer.Note(StrCat("could not cancel job ", id, ": ", st.error_message()));
  }
}

}  // namespace

void PrepareForInterrupts() {
  if (g_interrupt_pipe[0] >= 0) return;
  if (::pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
}

int FollowJob(v1::JobService::Stub& jobs, grpc::ClientContext& ctx,
              grpc::ClientReaderInterface<v1::JobEvent>& reader, const FollowOptions& options) {
  const bool tty = !options.json && StdoutIsTerminal();
  Renderer renderer(options.json, tty);
  std::atomic<bool> done{false};
  std::atomic<bool> cancel_pending{false};

  // Both helper threads must notice `done` at once: ds's exit waits for them.
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::thread ticker;
  if (tty) {
    ticker = std::thread([&] {
      std::unique_lock lock(done_mu);
      while (!done_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done.load(); })) {
        renderer.Tick();
      }
    });
  }
  std::thread interrupts;
  if (options.cancel_on_interrupt) {
    PrepareForInterrupts();
    interrupts = std::thread([&] {
      int count = 0;
      while (!done.load()) {
        struct pollfd p = {g_interrupt_pipe[0], POLLIN, 0};
        if (::poll(&p, 1, -1) <= 0) continue;
        char buf[16];
        ssize_t n = ::read(g_interrupt_pipe[0], buf, sizeof buf);
        if (n <= 0) continue;
        for (ssize_t i = 0; i < n; ++i) count += buf[i] == 'i';
        if (done.load() || count == 0) continue;
        std::string id = renderer.job_id();
        if (count >= 2) {
          renderer.Note(StrCat("stopped waiting; dsd goes on cancelling job ", id,
                               " (`ds jobs watch ", id, "` shows how it ends)"));
          std::fflush(nullptr);
          ::_exit(kExitCancelled);
        }
        renderer.Note(StrCat("cancelling job ", id.empty() ? "" : id,
                             "; waiting for PostgreSQL to roll back (Ctrl-C again to stop "
                             "waiting)"));
        if (id.empty()) {
          cancel_pending = true;  // sent once the job id arrives
        } else {
          SendCancel(jobs, renderer, id);
        }
      }
    });
  }

  bool started = false;
  bool detached = false;
  std::optional<v1::JobFinished> finished;
  std::string id;
  v1::JobEvent ev;
  while (reader.Read(&ev)) {
    if (ev.has_started()) {
      started = true;
      id = ev.job_id();
      if (options.detach) {
        if (options.json) {
          renderer.Event(ev);
        } else {
          std::printf(
              "Job %s started: %s on %s\nFollow it with `ds jobs watch %s`; it runs "
              "on in dsd.\n",
              id.c_str(), ev.started().description().c_str(), ev.started().target().c_str(),
              id.c_str());
          std::fflush(stdout);
        }
        detached = true;
        ctx.TryCancel();
        break;
      }
      if (cancel_pending.exchange(false)) SendCancel(jobs, renderer, id);
    }
    renderer.Event(ev);
    if (ev.has_finished()) finished = ev.finished();
  }
  while (detached && reader.Read(&ev)) {
  }
  grpc::Status status = reader.Finish();
  {
    std::lock_guard lock(done_mu);
    done = true;
  }
  done_cv.notify_all();
  if (interrupts.joinable()) {
    char wake = 'w';  // not an interrupt: just ends the poll
    (void)!::write(g_interrupt_pipe[1], &wake, 1);
  }
  if (ticker.joinable()) ticker.join();
  if (interrupts.joinable()) interrupts.join();

  if (detached) return kExitOk;
  if (finished) return finished->exit_code();
  if (!started) {
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return PrintError(status.error_message(), kExitUsage);
    }
    return ReportRpcError(status);
  }
  return PrintError(StrCat("lost the stream of job ", id, " (", status.error_message(),
                           "); `ds jobs list` shows how it ended"),
                    kExitFailed);
}

}  // namespace ds::client
