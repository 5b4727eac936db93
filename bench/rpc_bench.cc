// ds_rpc_bench: GetCurrent latency and throughput against a running dsd.
//
//   ds_rpc_bench --socket PATH --workspace DIR --clients N --seconds S
//
// Each client is a thread with its own channel (and, through a local
// subchannel pool, its own connection). It makes one warm-up call, then calls
// GetCurrent back to back for S seconds, timing every call. Prints one JSON
// object; exits 1 if any call failed, 2 on a usage error.
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ds/v1/workspace.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::string workspace;
  int clients = 1;
  double seconds = 5;
};

struct ClientResult {
  std::vector<int64_t> latencies_ns;
  uint64_t errors = 0;
  std::string first_error;
};

void Usage() {
  std::fprintf(stderr,
               "usage: ds_rpc_bench --socket PATH --workspace DIR --clients N --seconds S\n");
}

bool ParseInt(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return false;
    std::string_view v = argv[++i];
    if (a == "--socket") {
      o.socket = v;
    } else if (a == "--workspace") {
      o.workspace = v;
    } else if (a == "--clients") {
      if (!ParseInt(v, o.clients) || o.clients < 1 || o.clients > 1024) return false;
    } else if (a == "--seconds") {
      try {
        o.seconds = std::stod(std::string(v));
      } catch (...) {
        return false;
      }
      if (!(o.seconds > 0 && o.seconds <= 3600)) return false;
    } else {
      return false;
    }
  }
  return !o.socket.empty() && !o.workspace.empty();
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // A per-channel subchannel pool: without it channels with equal arguments
  // share one connection and the "clients" would be multiplexed onto it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);  // as ds does
  return grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args);
}

grpc::Status Call(ds::v1::WorkspaceService::Stub& stub, const ds::v1::GetCurrentRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ds::v1::GetCurrentResponse resp;
  return stub.GetCurrent(&ctx, req, &resp);
}

void RecordError(ClientResult& r, const grpc::Status& s) {
  if (r.errors++ == 0) {
    r.first_error = std::to_string(s.error_code()) + " " + s.error_message();
  }
}

int64_t Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  // Nearest rank.
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, o)) {
    Usage();
    return 2;
  }

  ds::v1::GetCurrentRequest req;
  req.mutable_workspace()->set_workspace_dir(o.workspace);

  std::vector<ClientResult> results(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point start{};
  const auto duration =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));

  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&, i] {
      ClientResult& r = results[static_cast<size_t>(i)];
      auto stub = ds::v1::WorkspaceService::NewStub(MakeChannel(o.socket));
      // Warm-up: connects and lets dsd cache the workspace.
      if (grpc::Status s = Call(*stub, req); !s.ok()) RecordError(r, s);
      r.latencies_ns.reserve(1 << 16);
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      const Clock::time_point end = start + duration;
      for (;;) {
        Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        grpc::Status s = Call(*stub, req);
        Clock::time_point t1 = Clock::now();
        if (!s.ok()) {
          RecordError(r, s);
          continue;
        }
        r.latencies_ns.push_back(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
      }
    });
  }
  while (ready.load() < o.clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  start = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<int64_t> all;
  uint64_t errors = 0;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(all.begin(), all.end());
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf(
      "{\"clients\": %d, \"calls\": %zu, \"seconds\": %.3f, \"throughput_rps\": %.1f, "
      "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
      "\"errors\": %llu}\n",
      o.clients, all.size(), elapsed, elapsed > 0 ? static_cast<double>(all.size()) / elapsed : 0.0,
      us(Percentile(all, 50)), us(Percentile(all, 90)), us(Percentile(all, 99)),
      us(all.empty() ? 0 : all.back()), static_cast<unsigned long long>(errors));
  std::fflush(stdout);
  if (errors > 0) {
    std::fprintf(stderr, "ds_rpc_bench: %llu call(s) failed; first: %s\n",
                 static_cast<unsigned long long>(errors), first_error.c_str());
    return 1;
  }
  return 0;
}
