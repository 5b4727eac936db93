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
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_format.h"
#include "client/display_width.h"
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
    if (json_) {
      PrintJsonLocked(ev);
    } else if (ev.has_started()) {
      StartedLocked(ev.started());
    } else if (ev.has_progress()) {
      ProgressLocked(ev.progress());
    } else if (ev.has_log()) {
      LogLocked(ev.log());
    } else if (ev.has_finished()) {
      FinishedLocked(ev.job_id(), ev.finished());
    }
  }

  // --detach: the `started` event, then how to follow the job, instead of
  // its events.
  void Detached(const v1::JobEvent& started) {
    std::lock_guard lock(mu_);
    if (json_) {
      PrintJsonLocked(started);
      return;
    }
    const std::string& id = started.job_id();
    std::printf(
        "Job %s started: %s on %s\nFollow it with `ds jobs watch %s`; it runs "
        "on in dsd.\n",
        id.c_str(), started.started().description().c_str(), started.started().target().c_str(),
        id.c_str());
    std::fflush(stdout);
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

 private:
  void PrintJsonLocked(const v1::JobEvent& ev) {
    std::fputs(ToJsonLine(ev).c_str(), stdout);
    std::fflush(stdout);
  }

  void StartedLocked(const v1::Job& j) {
    std::string line = StrCat("Job ", j.id(), ": ", j.description(), " on ", j.target());
    if (!j.branch().branch_name().empty()) {
      StrAppend(&line, " (branch ", j.branch().branch_name(), ")");
    }
    if (j.state() == v1::JOB_STATE_QUEUED) {
      StrAppend(&line, "\nQueued behind another job on this database");
    }
    PrintLocked(line);
    started_ = Clock::now();
  }

  // A step ("[2/5] 0001_x") or a waiting message: the live line on a
  // terminal, else a plain line per step.
  void ProgressLocked(const v1::JobProgress& p) {
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
  }

  void LogLocked(const v1::JobLogLine& l) {
    if (l.level() == "info") {
      PrintLocked(l.text());
    } else {
      PrintLocked(StrCat(l.level(), ": ", l.text()), /*to_stderr=*/true);
    }
  }

  void FinishedLocked(const std::string& job_id, const v1::JobFinished& f) {
    ClearLocked();
    if (f.state() == v1::JOB_STATE_SUCCEEDED) {
      PrintLocked(StrCat(Capitalized(f.summary()), " (job ", job_id, ")"));
      return;
    }
    const char* what = f.state() == v1::JOB_STATE_CANCELLED     ? "was cancelled"
                       : f.state() == v1::JOB_STATE_INTERRUPTED ? "was interrupted"
                                                                : "failed";
    PrintLocked(StrCat("ds: job ", job_id, " ", what, ": ", f.error()), /*to_stderr=*/true);
  }

  void DrawLocked() {
    std::string line = StrCat(
        live_, "  ", Seconds(std::chrono::duration<double>(Clock::now() - started_).count()));
    size_t width = TerminalWidth();
    // Keep the live line within one terminal row (a wrapped line could not
    // be redrawn in place), cutting at a character boundary.
    line = TruncateToWidth(line, width > 1 ? width - 1 : 0);
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
  std::string live_;
  bool shown_ = false;
  Clock::time_point started_ = Clock::now();
};

// Raised when the stream has ended; the helper threads notice at once,
// since ds's exit waits for them.
class StopFlag {
 public:
  void Raise() {
    {
      std::lock_guard lock(mu_);
      raised_ = true;
    }
    cv_.notify_all();
  }
  bool raised() const { return raised_.load(); }
  // True once raised; false after `timeout`.
  bool WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return raised_.load(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> raised_{false};
};

// On a terminal: redraws the live line every 100 ms so that its clock
// moves while a statement runs.
class Ticker {
 public:
  Ticker(Renderer& renderer, StopFlag& stop)
      : thread_([&renderer, &stop] {
          while (!stop.WaitFor(std::chrono::milliseconds(100))) renderer.Tick();
        }) {}
  ~Ticker() { thread_.join(); }  // after stop.Raise()
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::thread thread_;
};

// Ctrl-C while following a job ds started: the first asks dsd to cancel it
// (as soon as its id is known), the second stops waiting. A thread of its
// own reads the bytes the signal handler writes to the pipe.
class InterruptHandler {
 public:
  InterruptHandler(v1::JobService::Stub& jobs, Renderer& renderer, StopFlag& stop)
      : jobs_(jobs), renderer_(renderer), stop_(stop) {
    PrepareForInterrupts();
    thread_ = std::thread([this] { Run(); });
  }
  ~InterruptHandler() {  // after stop.Raise()
    char wake = 'w';     // not an interrupt: just ends the poll
    (void)!::write(g_interrupt_pipe[1], &wake, 1);
    thread_.join();
  }
  InterruptHandler(const InterruptHandler&) = delete;
  InterruptHandler& operator=(const InterruptHandler&) = delete;

  // The stream's `started` event: sends a cancel asked for before it.
  void JobStarted(const std::string& id) {
    bool pending;
    {
      std::lock_guard lock(mu_);
      id_ = id;
      pending = std::exchange(cancel_pending_, false);
    }
    if (pending) SendCancel(id);
  }

 private:
  void Run() {
    int count = 0;
    while (!stop_.raised()) {
      struct pollfd p = {g_interrupt_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, -1) <= 0) continue;
      char buf[16];
      ssize_t n = ::read(g_interrupt_pipe[0], buf, sizeof buf);
      if (n <= 0) continue;
      for (ssize_t i = 0; i < n; ++i) count += buf[i] == 'i';
      if (stop_.raised() || count == 0) continue;
      if (count >= 2) StopWaiting();
      Cancel();
    }
  }

  void Cancel() {
    std::string id;
    {
      std::lock_guard lock(mu_);
      id = id_;
      if (id.empty()) cancel_pending_ = true;  // sent once the job id arrives
    }
    renderer_.Note(StrCat("cancelling job ", id,
                          "; waiting for PostgreSQL to roll back (Ctrl-C again to stop "
                          "waiting)"));
    if (!id.empty()) SendCancel(id);
  }

  [[noreturn]] void StopWaiting() {
    std::string id;
    {
      std::lock_guard lock(mu_);
      id = id_;
    }
    renderer_.Note(StrCat("stopped waiting; dsd goes on cancelling job ", id, " (`ds jobs watch ",
                          id, "` shows how it ends)"));
    std::fflush(nullptr);
    ::_exit(kExitCancelled);
  }

  void SendCancel(const std::string& id) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::CancelJobRequest req;
    req.set_id(id);
    v1::CancelJobResponse resp;
    grpc::Status st = jobs_.Cancel(&ctx, req, &resp);
    // FAILED_PRECONDITION: it finished meanwhile; the stream tells how.
    if (!st.ok() && st.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
      renderer_.Note(StrCat("could not cancel job ", id, ": ", st.error_message()));
    }
  }

  v1::JobService::Stub& jobs_;
  Renderer& renderer_;
  StopFlag& stop_;
  std::mutex mu_;
  std::string id_;               // empty until `started`
  bool cancel_pending_ = false;  // Ctrl-C came before the id
  std::thread thread_;
};

// How the stream ended.
struct StreamEnd {
  bool started = false;
  bool detached = false;
  std::string id;
  std::optional<v1::JobFinished> finished;
  grpc::Status status;
};

StreamEnd ReadEvents(grpc::ClientContext& ctx, grpc::ClientReaderInterface<v1::JobEvent>& reader,
                     const FollowOptions& options, Renderer& renderer,
                     InterruptHandler* interrupts) {
  StreamEnd end;
  v1::JobEvent ev;
  while (reader.Read(&ev)) {
    if (ev.has_started()) {
      end.started = true;
      end.id = ev.job_id();
      if (options.detach) {
        renderer.Detached(ev);
        end.detached = true;
        ctx.TryCancel();
        break;
      }
      if (interrupts) interrupts->JobStarted(end.id);
    }
    renderer.Event(ev);
    if (ev.has_finished()) end.finished = ev.finished();
  }
  while (end.detached && reader.Read(&ev)) {
  }
  end.status = reader.Finish();
  return end;
}

// The job's exit code, or what the stream's error says.
int ExitCode(const StreamEnd& end, const FollowOptions& options) {
  if (end.detached) return kExitOk;
  if (end.finished) return end.finished->exit_code();
  if (!end.started) {
    if (options.not_started) {
      *options.not_started = end.status;
      return kJobNotStarted;
    }
    return ReportNotStarted(end.status);
  }
  return PrintError(StrCat("lost the stream of job ", end.id, " (", end.status.error_message(),
                           "); `ds jobs list` shows how it ended"),
                    kExitFailed);
}

}  // namespace

int ReportNotStarted(const grpc::Status& status) { return ReportRpcError(status); }

void PrepareForInterrupts() {
  if (g_interrupt_pipe[0] < 0 && ::pipe2(g_interrupt_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
}

void SuspendInterrupts() {
  ::signal(SIGINT, SIG_DFL);
  if (g_interrupt_pipe[0] < 0) return;
  char buf[64];
  while (::read(g_interrupt_pipe[0], buf, sizeof buf) > 0) {
  }
}

int FollowJob(v1::JobService::Stub& jobs, grpc::ClientContext& ctx,
              grpc::ClientReaderInterface<v1::JobEvent>& reader, const FollowOptions& options) {
  const bool tty = !options.json && StdoutIsTerminal();
  Renderer renderer(options.json, tty);
  StopFlag stop;
  std::optional<Ticker> ticker;
  if (tty) ticker.emplace(renderer, stop);
  std::optional<InterruptHandler> interrupts;
  if (options.cancel_on_interrupt) interrupts.emplace(jobs, renderer, stop);

  StreamEnd end = ReadEvents(ctx, reader, options, renderer, interrupts ? &*interrupts : nullptr);
  stop.Raise();
  ticker.reset();
  interrupts.reset();
  return ExitCode(end, options);
}

std::string StartedBy() {
  const char* user = std::getenv("USER");
  std::string who = user && *user ? user : StrCat("uid ", ::getuid());
  return StrCat(who, " via ds (pid ", ::getpid(), ")");
}

}  // namespace ds::client
