#include "daemon/orgcopy/load.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/orgcopy/copy_rows.h"
#include "daemon/orgcopy/row_id_arrays.h"
#include "daemon/orgcopy/subset.h"
#include "daemon/orgcopy/target.h"

namespace ds::daemon::orgcopy {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string ColumnList(const std::vector<std::string>& columns) {
  std::vector<std::string> quoted;
  for (const std::string& c : columns) quoted.push_back(QuoteIdent(c));
  return absl::StrJoin(quoted, ", ");
}

// The source's SELECT list: the columns, those loaded later as NULL.
std::string SelectList(const std::vector<std::string>& columns,
                       const std::vector<std::string>& nulls) {
  std::vector<std::string> out;
  for (const std::string& c : columns) {
    bool null = std::find(nulls.begin(), nulls.end(), c) != nulls.end();
    out.push_back(null ? std::string("NULL") : QuoteIdent(c));
  }
  return absl::StrJoin(out, ", ");
}

// The second half of NULL-then-UPDATE: the nulled columns' real values, by
// row key, into a temp table of the target, then one UPDATE.
absl::Status SetNulledColumns(CopySessions& p, int t) {
  const CatalogTable& table = p.source_catalog.tables[t];
  const std::vector<std::string>& nulls = p.graph.null_columns.at(t);
  std::vector<std::string> cols = table.row_key;
  cols.insert(cols.end(), nulls.begin(), nulls.end());
  const std::string patch = absl::StrCat("pg_temp.ds_patch_", t);
  PgConnection& target = *p.target;
  PgResult r =
      target.Exec(absl::StrCat("CREATE TEMP TABLE ds_patch_", t, " ON COMMIT DROP AS SELECT ",
                               ColumnList(cols), " FROM ", FromName(table), " WITH NO DATA"));
  if (!r.ok()) return target.ErrorStatus(r, "creating a temp table in the target");
  std::vector<std::string> any_set;
  for (const std::string& c : nulls) any_set.push_back(absl::StrCat(QuoteIdent(c), " IS NOT NULL"));
  absl::StatusOr<CopiedRows> copied =
      CopyRows(*p.source,
               absl::StrCat(SelectedRowsSql(p.source_catalog, t, ColumnList(cols)), " AND (",
                            absl::StrJoin(any_set, " OR "), ")"),
               target, absl::StrCat("COPY ", patch, " (", ColumnList(cols), ") FROM STDIN"));
  if (!copied.ok()) return copied.status();
  std::vector<std::string> sets, keys;
  for (const std::string& c : nulls) {
    sets.push_back(absl::StrCat(QuoteIdent(c), " = p.", QuoteIdent(c)));
  }
  for (const std::string& c : table.row_key) {
    keys.push_back(absl::StrCat("t.", QuoteIdent(c), " = p.", QuoteIdent(c)));
  }
  r = target.Exec(absl::StrCat("UPDATE ", FromName(table), " t SET ", absl::StrJoin(sets, ", "),
                               " FROM ", patch, " p WHERE ", absl::StrJoin(keys, " AND ")));
  if (!r.ok()) {
    return target.ErrorStatus(
        r, absl::StrCat("setting the cycle's columns of ", table.name.Display()));
  }
  return absl::OkStatus();
}

// The target's side of the load, one transaction: BeginLoad, then each
// table's triggers off (SwitchOffTriggers) and its rows (LoadTable), then
// FinishLoad.
struct LoadState {
  std::vector<TriggerState> triggers;
  std::vector<DroppedForeignKey> dropped;
  int64_t triggers_switched_off = 0;
};

absl::Status BeginLoad(CopySessions& p, JobContext& ctx, LoadState& state) {
  PgConnection& target = *p.target;
  const Catalog& catalog = p.source_catalog;
  std::string begin = "BEGIN";
  if (p.replica_mode) absl::StrAppend(&begin, "; SET LOCAL session_replication_role = replica");
  if (!p.graph.deferred_fks.empty()) {
    std::vector<std::string> names;
    for (int e : p.graph.deferred_fks) {
      const OrgCopyForeignKey& fk = catalog.foreign_keys[e].fk;
      names.push_back(absl::StrCat(QuoteIdent(fk.child.schema), ".", QuoteIdent(fk.name)));
    }
    absl::StrAppend(&begin, "; SET CONSTRAINTS ", absl::StrJoin(names, ", "), " DEFERRED");
  }
  PgResult r = target.Exec(begin);
  if (!r.ok()) return target.ErrorStatus(r, "starting the target's transaction");
  std::vector<int> drop(p.graph.dropped_fks.begin(), p.graph.dropped_fks.end());
  absl::StatusOr<std::vector<DroppedForeignKey>> dropped = DropForeignKeys(target, catalog, drop);
  if (!dropped.ok()) return dropped.status();
  state.dropped = std::move(*dropped);
  if (!state.dropped.empty()) {
    ctx.Log("info", absl::StrCat(p.graph.drop_all_fks
                                     ? "foreign keys dropped for the load, re-added and "
                                       "validated after it: "
                                     : "foreign keys dropped for the load (a cycle of NOT NULL "
                                       "FKs), re-added and validated after it: ",
                                 state.dropped.size()));
  }
  return absl::OkStatus();
}

// Before a table's first row: its user triggers (and its partitions') off,
// their states kept for FinishLoad.
absl::Status SwitchOffTriggers(CopySessions& p, const std::vector<int>& tables, LoadState& state) {
  std::vector<OrgCopyTable> names;
  for (int t : tables) names.push_back(p.source_catalog.tables[t].name);
  absl::StatusOr<std::vector<TriggerState>> triggers = DisableUserTriggers(*p.target, names);
  if (!triggers.ok()) return triggers.status();
  for (TriggerState& t : *triggers) {
    if (t.enabled != 'D') ++state.triggers_switched_off;
    state.triggers.push_back(std::move(t));
  }
  return absl::OkStatus();
}

// Rows of table t, read by `select_sql` on `source`, into the target. A
// table loaded in several batches keeps one line in the report.
absl::StatusOr<int64_t> LoadRows(CopySessions& p, PgConnection& source, int t,
                                 const std::string& select_sql, int total, JobContext& ctx,
                                 OrgCopyReport& report) {
  const CatalogTable& table = p.source_catalog.tables[t];
  if (ctx.cancelled()) return absl::CancelledError("the organization copy was cancelled");
  Clock::time_point start = Clock::now();
  absl::StatusOr<CopiedRows> copied =
      CopyRows(source, select_sql, *p.target,
               absl::StrCat("COPY ", QuotedName(table.name), " (",
                            ColumnList(table.CopyableColumns()), ") FROM STDIN"));
  if (!copied.ok()) {
    return absl::Status(copied.status().code(), absl::StrCat("copying ", table.name.Display(), ": ",
                                                             copied.status().message()));
  }
  const double seconds = SecondsSince(start);
  report.rows += copied->rows;
  report.bytes += copied->bytes;
  report.copy_seconds += seconds;
  auto line = std::find_if(report.tables.begin(), report.tables.end(),
                           [&](const OrgCopyTableReport& r) { return r.table == table.name; });
  const bool first_batch = line == report.tables.end();
  if (first_batch) {
    report.tables.push_back({table.name, 0, 0, 0});
    line = report.tables.end() - 1;
  }
  line->rows += copied->rows;
  line->bytes += copied->bytes;
  line->seconds += seconds;
  // Step i of n counts tables, not COPYs: a table loaded in several
  // batches moves the count once and reports its rows so far.
  ctx.Progress(
      static_cast<int>(report.tables.size()), total, table.name.Display(),
      absl::StrCat(line->rows, " rows, ", line->bytes, " bytes", first_batch ? "" : " so far"));
  return copied->rows;
}

// What a COPY of table t's rows reads: its copyable columns, a cycle's
// nulled columns as NULL.
std::string LoadedColumns(const CopySessions& p, int t) {
  std::vector<std::string> nulls;
  if (auto it = p.graph.null_columns.find(t); it != p.graph.null_columns.end()) {
    nulls = it->second;
  }
  return SelectList(p.source_catalog.tables[t].CopyableColumns(), nulls);
}

// S's rows of table t, from the selecting session (SelectedRowsSql).
absl::StatusOr<int64_t> LoadTable(CopySessions& p, int t, int total, JobContext& ctx,
                                  OrgCopyReport& report) {
  return LoadRows(p, *p.source, t, SelectedRowsSql(p.source_catalog, t, LoadedColumns(p, t)), total,
                  ctx, report);
}

// A batch's rows (subset.h, on_rows) from the imported session, array by
// array (one or more per partition of a partitioned table): the array
// stored there, then the rows it names copied. `partition_names` keeps
// the names of the partitions met so far (NamePartitions).
absl::StatusOr<int64_t> LoadBatch(CopySessions& p, const KeyBatch& batch,
                                  std::vector<RowIdArray>& ids,
                                  absl::flat_hash_map<uint32_t, std::string>& partition_names,
                                  int total, JobContext& ctx, OrgCopyReport& report) {
  PgConnection& source = *p.source2;
  const CatalogTable& table = p.source_catalog.tables[batch.table];
  if (absl::Status s = NamePartitions(source, ids, partition_names); !s.ok()) return s;
  const std::string columns = LoadedColumns(p, batch.table);
  int64_t loaded = 0;
  for (RowIdArray& array : ids) {
    PgResult stored = source.ExecBinaryParams(StoreBatchSql(batch, array), {std::move(array.tids)});
    if (!stored.ok()) return source.ErrorStatus(stored, "moving the row ids");
    absl::StatusOr<int64_t> rows =
        LoadRows(p, source, batch.table,
                 BatchRowsSql(table, columns, batch, array,
                              array.partition == 0 ? "" : partition_names.at(array.partition)),
                 total, ctx, report);
    if (!rows.ok()) return rows.status();
    loaded += *rows;
  }
  return loaded;
}

// After the last table: dropped FKs back and validated, triggers back,
// sequences past the copied values, commit. A replica-mode load checked no
// FK and needs no check here: the selection proved that S breaks none
// (subset.h), and the target gets S's rows exactly.
absl::Status FinishLoad(CopySessions& p, const std::vector<int>& filled, JobContext& ctx,
                        LoadState& state, OrgCopyReport& report) {
  PgConnection& target = *p.target;
  if (ctx.cancelled()) return absl::CancelledError("the organization copy was cancelled");
  Clock::time_point start = Clock::now();
  if (absl::Status s = ReAddForeignKeys(target, state.dropped); !s.ok()) return s;
  report.fk_check_seconds = SecondsSince(start);
  start = Clock::now();
  if (absl::Status s = RestoreTriggers(target, state.triggers); !s.ok()) return s;
  std::vector<OrgCopyTable> names;
  for (int t : filled) names.push_back(p.source_catalog.tables[t].name);
  absl::StatusOr<std::vector<std::string>> sequences = AdvanceSequences(target, names);
  if (!sequences.ok()) return sequences.status();
  report.sequences_set = std::move(*sequences);
  PgResult r = target.Exec("COMMIT");
  if (!r.ok()) return target.ErrorStatus(r, "committing the copy (deferred FK checks run now)");
  report.commit_seconds = SecondsSince(start);
  return absl::OkStatus();
}

}  // namespace

// The load once the selection is done: every table in load order, from
// the selecting session, a cycle's NULL-loaded columns set after its last
// table.
absl::Status Load(CopySessions& p, const std::vector<int64_t>& rows, JobContext& ctx,
                  OrgCopyReport& report) {
  LoadState state;
  if (absl::Status s = BeginLoad(p, ctx, state); !s.ok()) return s;
  std::vector<int> fill = TablesToFill(p.graph, &rows);
  if (absl::Status s = SwitchOffTriggers(p, fill, state); !s.ok()) return s;
  if (state.triggers_switched_off > 0) {
    ctx.Log("info",
            absl::StrCat("user triggers off during the load: ", state.triggers_switched_off));
  }

  // After a cycle's last table, the columns it loaded NULL are set.
  std::map<int, std::vector<int>> patch_after;
  for (const PlannedCycle& c : p.graph.cycles) {
    for (int t : c.tables) {
      if (p.graph.null_columns.count(t) && rows[t] > 0) patch_after[c.tables.back()].push_back(t);
    }
  }
  for (int t : p.graph.load_order) {
    if (rows[t] > 0) {
      absl::StatusOr<int64_t> loaded = LoadTable(p, t, static_cast<int>(fill.size()), ctx, report);
      if (!loaded.ok()) return loaded.status();
    }
    if (auto it = patch_after.find(t); it != patch_after.end()) {
      for (int patched : it->second) {
        if (absl::Status s = SetNulledColumns(p, patched); !s.ok()) return s;
      }
    }
  }
  return FinishLoad(p, fill, ctx, state, report);
}

// The load while the selection runs (graph.any_order: tables may load in
// any order, and a table in several COPYs). The selection runs on the
// first source session in a thread of its own; after each statement, the
// row ids it added (subset.h, on_rows) are copied out into dsd's memory as
// binary arrays (row_id_arrays.h) and queued; this thread stores each batch
// in the second source session (same exported snapshot) under its
// statement number, and loads those rows from there, while the first
// session goes on selecting.
// Root leaves are read by their join on the second session first. `rows`
// gets S's rows per table once the selection has ended.
absl::Status LoadWhileSelecting(CopySessions& p, const OrgCopySpec& spec, JobContext& ctx,
                                OrgCopyReport& report, std::vector<int64_t>& rows) {
  const Catalog& catalog = p.source_catalog;
  struct FoundKeys {
    KeyBatch batch;
    std::vector<RowIdArray> ids;
  };
  // The partitions' names, looked up once per copy as batches meet them
  // (read on this thread only).
  absl::flat_hash_map<uint32_t, std::string> partition_names;
  std::mutex mu;
  std::condition_variable changed;
  std::deque<FoundKeys> found;
  bool selection_ended = false;
  absl::StatusOr<std::vector<int64_t>> selected = absl::UnknownError("the selection did not run");
  std::atomic<bool> stop{false};

  std::vector<int> root_leaves;
  for (int t : p.graph.load_order) {
    if (p.graph.root_leaves.count(t)) root_leaves.push_back(t);
  }
  Clock::time_point select_start = Clock::now();
  std::thread selector([&] {
    SelectHooks hooks;
    hooks.read_elsewhere.assign(catalog.tables.size(), false);
    for (int t : root_leaves) hooks.read_elsewhere[t] = true;
    hooks.stop = [&] { return stop.load() || ctx.cancelled(); };
    hooks.on_rows = [&](const KeyBatch& batch) -> absl::Status {
      std::string text;
      absl::StatusOr<int64_t> moved =
          p.source->CopyOut(KeysCopyOutSql(catalog, batch), [&](std::string_view chunk) {
            text.append(chunk);
            return absl::OkStatus();
          });
      if (!moved.ok()) return moved.status();
      absl::StatusOr<std::vector<RowIdArray>> ids = RowIdArraysFromCopyText(
          text, catalog.tables[batch.table].partitioned, spec.row_ids_per_array);
      if (!ids.ok()) return ids.status();
      FoundKeys item{batch, std::move(*ids)};
      {
        std::lock_guard lock(mu);
        found.push_back(std::move(item));
      }
      changed.notify_one();
      return absl::OkStatus();
    };
    absl::StatusOr<std::vector<int64_t>> result = SelectRows(
        *p.source, catalog, p.graph, spec.organization_id, spec.upward_walk_below, hooks);
    {
      std::lock_guard lock(mu);
      selected = std::move(result);
      report.select_seconds = SecondsSince(select_start);
      selection_ended = true;
    }
    changed.notify_one();
  });
  // However this ends, the selection stops at its next statement and its
  // thread is joined before the sessions it uses can go.
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, selector};

  LoadState state;
  if (absl::Status s = BeginLoad(p, ctx, state); !s.ok()) return s;
  const int in_copy = static_cast<int>(TablesToFill(p.graph, nullptr).size());
  std::vector<bool> triggers_off(catalog.tables.size(), false);
  auto first_rows_of = [&](int t) -> absl::Status {
    if (triggers_off[t]) return absl::OkStatus();
    triggers_off[t] = true;
    return SwitchOffTriggers(p, {t}, state);
  };
  std::vector<int64_t> leaf_rows(catalog.tables.size(), 0);
  for (int t : root_leaves) {
    if (absl::Status s = first_rows_of(t); !s.ok()) return s;
    const CatalogTable& table = catalog.tables[t];
    absl::StatusOr<int64_t> loaded =
        LoadRows(p, *p.source2, t,
                 RootLeafRowsSql(*p.source2, catalog, p.graph, t, spec.organization_id,
                                 ColumnList(table.CopyableColumns())),
                 in_copy, ctx, report);
    if (!loaded.ok()) return loaded.status();
    leaf_rows[t] = *loaded;
    ++report.batches_while_selecting;
  }
  for (;;) {
    FoundKeys item;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return !found.empty() || selection_ended; });
      if (found.empty()) break;
      item = std::move(found.front());
      found.pop_front();
    }
    if (absl::Status s = first_rows_of(item.batch.table); !s.ok()) return s;
    absl::StatusOr<int64_t> loaded =
        LoadBatch(p, item.batch, item.ids, partition_names, in_copy, ctx, report);
    if (!loaded.ok()) return loaded.status();
    ++report.batches_while_selecting;
  }
  selector.join();
  if (!selected.ok()) return selected.status();
  rows = *selected;
  for (int t : root_leaves) rows[t] = leaf_rows[t];
  // A root leaf without rows keeps no line in the report, as elsewhere.
  std::erase_if(report.tables, [](const OrgCopyTableReport& r) { return r.rows == 0; });
  if (state.triggers_switched_off > 0) {
    ctx.Log("info",
            absl::StrCat("user triggers off during the load: ", state.triggers_switched_off));
  }
  return FinishLoad(p, TablesToFill(p.graph, &rows), ctx, state, report);
}

std::vector<int> TablesToFill(const CopyGraph& graph, const std::vector<int64_t>* rows) {
  std::vector<int> out;
  for (int t : graph.load_order) {
    if (!rows || (*rows)[t] > 0) out.push_back(t);
  }
  return out;
}

}  // namespace ds::daemon::orgcopy
