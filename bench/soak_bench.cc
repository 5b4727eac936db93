// ds_soak_bench: dsd under a sustained mixed load, then restarted under it.
//
//   ds_soak_bench --socket PATH --workspace DIR --dsd-pid-file FILE
//                 --branches A,B --restart-cmd CMD [--clients 16] [--streams 100]
//                 [--unary-seconds 10] [--seconds 60] [--after-seconds 10]
//                 [--switch-every-ms 500]
//
// Phases, one after the other:
//   unary    only the GetCurrent clients: dsd's CPU per call, nothing else
//            running in dsd
//   soak     the clients, the WatchCurrent streams and an "editor" that
//            switches the target between two branches with SetDatabase;
//            dsd's RSS, fd count and threads are sampled every second
//   restart  CMD (run with /bin/sh) stops dsd and starts a new one; every
//            client and stream must come back on its own
//   after    the full load again, against the new dsd
// Each client and stream has its own channel and connection, as separate
// ds processes and editor windows would. Prints one JSON object; exits 1 when
// a call failed outside the restart, a client or stream did not reconnect,
// or the streams did not converge on the editor's last branch; 2 on a usage
// error.
#include <dirent.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ds/v1/branch.grpc.pb.h"
#include "ds/v1/workspace.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// kOpen: the streams opening between the unary phase and the soak.
enum Phase { kUnary, kOpen, kSoak, kRestart, kAfter, kDone, kPhases };
const char* const kPhaseNames[] = {"unary", "open", "soak", "restart", "after", "done"};

struct Options {
  std::string socket, workspace, pid_file, restart_cmd;
  std::vector<std::string> branches;
  int clients = 16, streams = 100, switch_every_ms = 500;
  double unary_seconds = 10, seconds = 60, after_seconds = 10;
};

std::atomic<int> g_phase{kUnary};
Phase CurrentPhase() { return static_cast<Phase>(g_phase.load(std::memory_order_acquire)); }

// Counts of one actor (a client, a stream, the editor) per phase.
struct Tally {
  std::vector<int64_t> latencies_ns[kPhases];
  uint64_t errors[kPhases] = {};
  std::string first_error[kPhases];
  void Error(Phase p, const std::string& what) {
    if (errors[p]++ == 0) first_error[p] = what;
  }
};

std::string Describe(const grpc::Status& s) {
  return std::to_string(s.error_code()) + " " + s.error_message();
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& socket) {
  // The arguments ds itself uses: a connection per channel, and quick
  // reconnects to a daemon that is starting.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // as ds does
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
}

// --- dsd as seen from /proc ----------------------------------------------

struct Sample {
  double t_s;
  Phase phase;
  long pid, rss_kb, fds, threads;
};

long ReadPid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  in >> pid;
  return pid;
}

// utime + stime in clock ticks; -1 when the process is gone.
long CpuTicks(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return -1;
  size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(f);
    if (i == 15) {
      stime = std::stol(f);
      return utime + stime;
    }
  }
  return -1;
}

Sample TakeSample(long pid, double t_s, Phase phase) {
  Sample s{t_s, phase, pid, -1, -1, -1};
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) s.rss_kb = std::atol(line.c_str() + 6);
    if (line.starts_with("Threads:")) s.threads = std::atol(line.c_str() + 8);
  }
  if (DIR* d = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    s.fds = 0;
    while (dirent* e = ::readdir(d)) s.fds += e->d_name[0] != '.';
    ::closedir(d);
  }
  return s;
}

// --- the actors -------------------------------------------------------------

// One GetCurrent client, calling back to back until the run is done.
// back_ns: when it first answered again after failing in the restart.
// Its failures from the restart until it answers again from the new dsd
// count as the restart's, even once the restart command has returned: its
// channel may still be waiting to reconnect.
void RunClient(const Options& o, Tally& t, std::atomic<int64_t>& back_ns, Clock::time_point epoch) {
  auto stub = ds::v1::WorkspaceService::NewStub(MakeChannel(o.socket));
  ds::v1::GetCurrentRequest req;
  req.mutable_workspace()->set_workspace_dir(o.workspace);
  bool down = false, answered_after = false;
  for (Phase p; (p = CurrentPhase()) != kDone;) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ds::v1::GetCurrentResponse resp;
    Clock::time_point t0 = Clock::now();
    grpc::Status s = stub->GetCurrent(&ctx, req, &resp);
    Clock::time_point t1 = Clock::now();
    if (!s.ok()) {
      if (p == kRestart || (p == kAfter && !answered_after)) {
        t.Error(kRestart, Describe(s));
        down = true;
        // dsd is down: do not spin while it comes back.
        std::this_thread::sleep_for(5ms);
      } else {
        t.Error(p, Describe(s));
      }
      continue;
    }
    t.latencies_ns[p].push_back((t1 - t0) / 1ns);
    if (p == kAfter) answered_after = true;
    if (down && back_ns.load() == 0) back_ns = (t1 - epoch) / 1ns;
  }
}

// One WatchCurrent stream, reopened whenever it ends, until the run is done.
struct Stream {
  std::mutex mu;
  grpc::ClientContext* ctx = nullptr;  // the open stream's, for cancelling
  std::string last_branch;
  uint64_t updates = 0, breaks_in_restart = 0;
  int64_t reopened_after_restart_ns = 0;  // first answer of a stream opened in/after it
  Tally tally;
};

// What waits for the streams: notified after every change to one.
struct StreamsChanged {
  std::mutex mu;
  std::condition_variable cv;
  void Notify() {
    { std::lock_guard lock(mu); }  // a waiter is checking or already waiting
    cv.notify_all();
  }
};

void RunStream(const Options& o, Stream& st, StreamsChanged& changed, Clock::time_point epoch) {
  auto stub = ds::v1::WorkspaceService::NewStub(MakeChannel(o.socket));
  ds::v1::GetCurrentRequest req;
  req.mutable_workspace()->set_workspace_dir(o.workspace);
  while (CurrentPhase() != kDone) {
    grpc::ClientContext ctx;
    // Waits for dsd to be back rather than failing at once, as an editor does.
    ctx.set_wait_for_ready(true);
    const Phase opened_in = CurrentPhase();
    {
      std::lock_guard lock(st.mu);
      st.ctx = &ctx;
    }
    if (CurrentPhase() == kDone) ctx.TryCancel();  // raced with the end
    std::unique_ptr<grpc::ClientReader<ds::v1::GetCurrentResponse>> reader =
        stub->WatchCurrent(&ctx, req);
    ds::v1::GetCurrentResponse m;
    bool first = true;
    while (reader->Read(&m)) {
      std::unique_lock lock(st.mu);
      if (!m.error().empty()) st.tally.Error(CurrentPhase(), "update with error: " + m.error());
      ++st.updates;
      st.last_branch = m.target().branch().branch_name();
      if (first && (opened_in == kRestart || opened_in == kAfter) &&
          st.reopened_after_restart_ns == 0) {
        st.reopened_after_restart_ns = (Clock::now() - epoch) / 1ns;
      }
      first = false;
      lock.unlock();
      changed.Notify();
    }
    grpc::Status s = reader->Finish();
    Phase p = CurrentPhase();
    {
      std::lock_guard lock(st.mu);
      st.ctx = nullptr;
      if (p == kDone) break;
      if (p == kRestart) {
        ++st.breaks_in_restart;
      } else {
        st.tally.Error(p, "stream ended: " + Describe(s));
      }
    }
    changed.Notify();
  }
}

// The editor: points the target at the other branch every period.
void RunEditor(const Options& o, Tally& t, std::atomic<bool>& stop, std::string& last_set) {
  auto stub = ds::v1::BranchService::NewStub(MakeChannel(o.socket));
  Clock::time_point next = Clock::now();
  for (size_t i = 0; !stop.load(); ++i) {
    const std::string& branch = o.branches[i % o.branches.size()];
    ds::v1::SetDatabaseRequest req;
    req.mutable_workspace()->set_workspace_dir(o.workspace);
    req.set_role(ds::v1::DATABASE_ROLE_TARGET);
    req.set_branch(branch);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    ds::v1::SetDatabaseResponse resp;
    Phase p = CurrentPhase();
    Clock::time_point t0 = Clock::now();
    grpc::Status s = stub->SetDatabase(&ctx, req, &resp);
    if (s.ok()) {
      t.latencies_ns[p].push_back((Clock::now() - t0) / 1ns);
      last_set = branch;
    } else {
      t.Error(p, Describe(s));
    }
    // Pacing, not synchronisation: an editor switches at human speed.
    next += std::chrono::milliseconds(o.switch_every_ms);
    std::this_thread::sleep_until(std::max(next, Clock::now()));
  }
}

// --- reporting ----------------------------------------------------------------

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

// "calls", latency percentiles (µs) and errors of several actors in a phase.
std::string LatencyJson(const std::vector<Tally*>& tallies, Phase p, double seconds) {
  std::vector<int64_t> all;
  uint64_t errors = 0;
  std::string first_error;
  for (Tally* t : tallies) {
    all.insert(all.end(), t->latencies_ns[p].begin(), t->latencies_ns[p].end());
    errors += t->errors[p];
    if (first_error.empty()) first_error = t->first_error[p];
  }
  std::sort(all.begin(), all.end());
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"calls\": %zu, \"per_s\": %.1f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
                "\"max_us\": %.1f, \"errors\": %llu, \"first_error\": ",
                all.size(), seconds > 0 ? static_cast<double>(all.size()) / seconds : 0.0,
                us(Percentile(all, 50)), us(Percentile(all, 99)), us(all.empty() ? 0 : all.back()),
                static_cast<unsigned long long>(errors));
  return buf + JsonString(first_error) + "}";
}

bool ParseArgs(int argc, char** argv, Options& o) {
  auto to_int = [](std::string_view s, int& out, int lo, int hi) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size() && out >= lo && out <= hi;
  };
  auto to_seconds = [](std::string_view s, double& out) {
    char* end = nullptr;
    std::string str(s);
    out = std::strtod(str.c_str(), &end);
    return end && *end == '\0' && out > 0 && out <= 86400;
  };
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view a = argv[i], v = argv[i + 1];
    bool ok = true;
    if (a == "--socket")
      o.socket = v;
    else if (a == "--workspace")
      o.workspace = v;
    else if (a == "--dsd-pid-file")
      o.pid_file = v;
    else if (a == "--restart-cmd")
      o.restart_cmd = v;
    else if (a == "--clients")
      ok = to_int(v, o.clients, 1, 1024);
    else if (a == "--streams")
      ok = to_int(v, o.streams, 0, 4096);
    else if (a == "--switch-every-ms")
      ok = to_int(v, o.switch_every_ms, 1, 600000);
    else if (a == "--unary-seconds")
      ok = to_seconds(v, o.unary_seconds);
    else if (a == "--seconds")
      ok = to_seconds(v, o.seconds);
    else if (a == "--after-seconds")
      ok = to_seconds(v, o.after_seconds);
    else if (a == "--branches") {
      std::stringstream ss{std::string(v)};
      for (std::string b; std::getline(ss, b, ',');) {
        if (!b.empty()) o.branches.push_back(b);
      }
    } else {
      ok = false;
    }
    if (!ok) return false;
  }
  return argc % 2 == 1 && !o.socket.empty() && !o.workspace.empty() && !o.pid_file.empty() &&
         !o.restart_cmd.empty() && o.branches.size() >= 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: ds_soak_bench --socket PATH --workspace DIR --dsd-pid-file FILE "
                 "--branches A,B --restart-cmd CMD [--clients N] [--streams N] "
                 "[--unary-seconds S] [--seconds S] [--after-seconds S] [--switch-every-ms MS]\n");
    return 2;
  }
  const Clock::time_point epoch = Clock::now();
  auto since_epoch_s = [&] { return std::chrono::duration<double>(Clock::now() - epoch).count(); };
  const long hz = ::sysconf(_SC_CLK_TCK);
  long pid = ReadPid(o.pid_file);
  if (pid <= 0 || CpuTicks(pid) < 0) {
    std::fprintf(stderr, "ds_soak_bench: no running dsd in %s\n", o.pid_file.c_str());
    return 1;
  }

  // Sampler: dsd's RSS, fds and threads every second (the pid is reread,
  // since the restart replaces dsd).
  std::vector<Sample> samples;
  std::mutex sampler_mu;
  std::condition_variable sampler_cv;
  bool sampler_stop = false;
  std::thread sampler([&] {
    std::unique_lock lock(sampler_mu);
    while (!sampler_cv.wait_for(lock, 1s, [&] { return sampler_stop; })) {
      samples.push_back(TakeSample(ReadPid(o.pid_file), since_epoch_s(), CurrentPhase()));
    }
  });

  // 1. unary: the GetCurrent clients alone.
  std::vector<Tally> clients(static_cast<size_t>(o.clients));
  std::vector<std::atomic<int64_t>> client_back(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  long ticks0 = CpuTicks(pid);
  Clock::time_point t0 = Clock::now();
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back(RunClient, std::cref(o), std::ref(clients[i]), std::ref(client_back[i]),
                         epoch);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.unary_seconds));
  long ticks1 = CpuTicks(pid);
  Clock::time_point t1 = Clock::now();
  g_phase.store(kOpen);
  // Streams open (and take their first answer) while the clients still run.
  std::vector<Stream> streams(static_cast<size_t>(o.streams));
  StreamsChanged streams_changed;
  for (auto& st : streams) {
    threads.emplace_back(RunStream, std::cref(o), std::ref(st), std::ref(streams_changed), epoch);
  }
  auto streams_all = [&](auto pred) {
    for (auto& st : streams) {
      std::lock_guard lock(st.mu);
      if (!pred(st)) return false;
    }
    return true;
  };
  {
    std::unique_lock lock(streams_changed.mu);
    if (!streams_changed.cv.wait_for(
            lock, 60s, [&] { return streams_all([](Stream& s) { return s.updates > 0; }); })) {
      std::fprintf(stderr, "ds_soak_bench: streams did not all open within 60 s\n");
    }
  }

  // 2. soak: everything, with the editor switching branches.
  g_phase.store(kSoak);
  Tally editor;
  std::string last_set;
  std::atomic<bool> editor_stop{false};
  std::thread editor_thread(RunEditor, std::cref(o), std::ref(editor), std::ref(editor_stop),
                            std::ref(last_set));
  long ticks2 = CpuTicks(pid);
  Clock::time_point t2 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  long ticks3 = CpuTicks(pid);
  Clock::time_point t3 = Clock::now();
  editor_stop = true;
  editor_thread.join();
  // Every stream must show the editor's last switch.
  bool converged;
  {
    std::unique_lock lock(streams_changed.mu);
    converged = streams_changed.cv.wait_for(lock, 30s, [&] {
      return streams_all([&](Stream& s) { return s.last_branch == last_set; });
    });
  }
  const double converge_s = std::chrono::duration<double>(Clock::now() - t3).count();

  // 3. restart, under the clients' and streams' load.
  g_phase.store(kRestart);
  const double restart_at_s = since_epoch_s();
  int restart_rc = std::system(o.restart_cmd.c_str());
  const double restart_s = since_epoch_s() - restart_at_s;
  long new_pid = ReadPid(o.pid_file);

  // 4. after: the full load again.
  g_phase.store(kAfter);
  editor_stop = false;
  editor_thread = std::thread(RunEditor, std::cref(o), std::ref(editor), std::ref(editor_stop),
                              std::ref(last_set));
  Clock::time_point t4 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.after_seconds));
  editor_stop = true;
  editor_thread.join();
  const double after_s = std::chrono::duration<double>(Clock::now() - t4).count();

  g_phase.store(kDone);
  for (auto& st : streams) {
    std::lock_guard lock(st.mu);
    if (st.ctx) st.ctx->TryCancel();
  }
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(sampler_mu);
    sampler_stop = true;
  }
  sampler_cv.notify_all();
  sampler.join();

  // --- the report ---------------------------------------------------------
  std::vector<Tally*> client_tallies, stream_tallies;
  for (auto& c : clients) client_tallies.push_back(&c);
  for (auto& st : streams) stream_tallies.push_back(&st.tally);
  auto secs = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  auto cpu_us_per_call = [&](long dticks, Phase p) {
    size_t calls = 0;
    for (auto& c : clients) calls += c.latencies_ns[p].size();
    return calls ? static_cast<double>(dticks) * 1e6 / static_cast<double>(hz) /
                       static_cast<double>(calls)
                 : 0.0;
  };
  // Reconnection: every client answered again, every stream broke in the
  // restart and had a new stream answer.
  int clients_back = 0, streams_back = 0;
  double slowest_back_s = 0;
  for (size_t i = 0; i < clients.size(); ++i) {
    if (!clients[i].latencies_ns[kAfter].empty()) ++clients_back;
    if (int64_t ns = client_back[i].load(); ns > 0) {
      slowest_back_s = std::max(slowest_back_s, ns / 1e9 - restart_at_s);
    }
  }
  uint64_t stream_updates = 0, stream_errors = 0;
  for (auto& st : streams) {
    stream_updates += st.updates;
    for (Phase p : {kUnary, kOpen, kSoak, kAfter}) stream_errors += st.tally.errors[p];
    if (st.reopened_after_restart_ns > 0) {
      ++streams_back;
      slowest_back_s = std::max(slowest_back_s, st.reopened_after_restart_ns / 1e9 - restart_at_s);
    }
  }
  uint64_t steady_errors = 0;
  for (Phase p : {kUnary, kOpen, kSoak, kAfter}) {
    for (auto& c : clients) steady_errors += c.errors[p];
    steady_errors += editor.errors[p];
  }
  steady_errors += stream_errors;

  std::printf("{\n  \"clients\": %d, \"streams\": %d, \"switch_every_ms\": %d,\n", o.clients,
              o.streams, o.switch_every_ms);
  std::printf(
      "  \"unary\": {\"seconds\": %.2f, \"getcurrent\": %s, \"dsd_cpu_us_per_call\": %.1f},\n",
      secs(t0, t1), LatencyJson(client_tallies, kUnary, secs(t0, t1)).c_str(),
      cpu_us_per_call(ticks1 - ticks0, kUnary));
  std::printf(
      "  \"soak\": {\"seconds\": %.2f, \"getcurrent\": %s, \"set_database\": %s, "
      "\"stream_errors\": %s, \"dsd_cpu_us_per_getcurrent\": %.1f, \"converged\": %s, "
      "\"converge_s\": %.3f},\n",
      secs(t2, t3), LatencyJson(client_tallies, kSoak, secs(t2, t3)).c_str(),
      LatencyJson({&editor}, kSoak, secs(t2, t3)).c_str(),
      LatencyJson(stream_tallies, kSoak, secs(t2, t3)).c_str(),
      cpu_us_per_call(ticks3 - ticks2, kSoak), converged ? "true" : "false", converge_s);
  std::printf(
      "  \"restart\": {\"cmd_rc\": %d, \"cmd_s\": %.3f, \"old_pid\": %ld, \"new_pid\": %ld, "
      "\"clients_back\": %d, \"streams_back\": %d, \"slowest_back_s\": %.3f, "
      "\"getcurrent_errors_during\": %llu},\n",
      restart_rc, restart_s, pid, new_pid, clients_back, streams_back, slowest_back_s, [&] {
        unsigned long long n = 0;
        for (auto& c : clients) n += c.errors[kRestart];
        return n;
      }());
  std::printf("  \"after\": {\"seconds\": %.2f, \"getcurrent\": %s, \"set_database\": %s},\n",
              after_s, LatencyJson(client_tallies, kAfter, after_s).c_str(),
              LatencyJson({&editor}, kAfter, after_s).c_str());
  std::printf("  \"stream_updates\": %llu, \"errors_outside_restart\": %llu,\n",
              static_cast<unsigned long long>(stream_updates),
              static_cast<unsigned long long>(steady_errors));
  std::printf("  \"samples\": [");
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    std::printf(
        "%s\n    {\"t\": %.1f, \"phase\": \"%s\", \"pid\": %ld, \"rss_kb\": %ld, "
        "\"fds\": %ld, \"threads\": %ld}",
        i ? "," : "", s.t_s, kPhaseNames[s.phase], s.pid, s.rss_kb, s.fds, s.threads);
  }
  std::printf("\n  ]\n}\n");
  std::fflush(stdout);

  bool ok = steady_errors == 0 && converged && restart_rc == 0 && new_pid != pid &&
            clients_back == o.clients && streams_back == o.streams;
  if (!ok) std::fprintf(stderr, "ds_soak_bench: FAILED (see the JSON)\n");
  return ok ? 0 : 1;
}
