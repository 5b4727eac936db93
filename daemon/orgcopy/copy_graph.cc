#include "daemon/orgcopy/copy_graph.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ds::daemon::orgcopy {
namespace {

// Finds the FK a configured name means: "constraint", "table.constraint" or
// "schema.table.constraint".
absl::StatusOr<int> ResolveConstraint(const Catalog& catalog, const std::string& spec_name,
                                      const char* setting) {
  std::vector<std::string> parts = absl::StrSplit(spec_name, '.');
  std::vector<int> matches;
  for (size_t i = 0; i < catalog.foreign_keys.size(); ++i) {
    const OrgCopyForeignKey& fk = catalog.foreign_keys[i].fk;
    bool match = false;
    if (parts.size() == 1) {
      match = fk.name == parts[0];
    } else if (parts.size() == 2) {
      match = fk.child.name == parts[0] && fk.name == parts[1];
    } else if (parts.size() == 3) {
      match = fk.child.schema == parts[0] && fk.child.name == parts[1] && fk.name == parts[2];
    }
    if (match) matches.push_back(static_cast<int>(i));
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, " names \"", spec_name,
                     "\", which is no foreign key of the source; write it as constraint, "
                     "table.constraint or schema.table.constraint"));
  }
  std::vector<std::string> which;
  for (int m : matches) {
    const OrgCopyForeignKey& fk = catalog.foreign_keys[m].fk;
    which.push_back(absl::StrCat(fk.child.Display(), ".", fk.name));
  }
  return absl::InvalidArgumentError(absl::StrCat(setting, " names \"", spec_name,
                                                 "\", which is ambiguous: qualify it as one of ",
                                                 absl::StrJoin(which, ", ")));
}

// Tarjan's strongly connected components over edges child -> parent. A
// component is emitted after every component it reaches, so the output
// lists parents before children: the load order.
std::vector<std::vector<int>> Components(int n, const std::vector<std::vector<int>>& parents_of,
                                         const std::vector<bool>& member) {
  std::vector<int> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<int> stack;
  std::vector<std::vector<int>> out;
  int next = 0;
  std::function<void(int)> visit = [&](int v) {
    index[v] = low[v] = next++;
    stack.push_back(v);
    on_stack[v] = true;
    for (int w : parents_of[v]) {
      if (!member[w]) continue;
      if (index[w] < 0) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack[w]) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      std::vector<int> component;
      int w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack[w] = false;
        component.push_back(w);
      } while (w != v);
      std::sort(component.begin(), component.end());
      out.push_back(std::move(component));
    }
  };
  for (int v = 0; v < n; ++v) {
    if (member[v] && index[v] < 0) visit(v);
  }
  return out;
}

// Orders `tables` so that each comes after the parents it has through
// `edges` (catalog FK indices between them, self-references ignored);
// false when those edges still form a cycle.
bool OrderWithin(const Catalog& catalog, const std::vector<int>& tables,
                 const std::vector<int>& edges, std::vector<int>* order) {
  std::map<int, int> pending;  // table -> parents not yet placed
  for (int t : tables) pending[t] = 0;
  for (int e : edges) {
    const CatalogForeignKey& fk = catalog.foreign_keys[e];
    if (fk.child != fk.parent) ++pending[fk.child];
  }
  order->clear();
  std::deque<int> ready;
  for (int t : tables) {
    if (pending[t] == 0) ready.push_back(t);
  }
  while (!ready.empty()) {
    int t = ready.front();
    ready.pop_front();
    order->push_back(t);
    for (int e : edges) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      if (fk.parent == t && fk.child != t && --pending[fk.child] == 0) ready.push_back(fk.child);
    }
  }
  return order->size() == tables.size();
}

std::string CycleText(const Catalog& catalog, const std::vector<int>& tables) {
  std::vector<std::string> names;
  for (int t : tables) names.push_back(catalog.tables[t].name.Display());
  names.push_back(names.front());
  return absl::StrJoin(names, " -> ");
}

std::string FkText(const Catalog& catalog, int e) {
  const OrgCopyForeignKey& fk = catalog.foreign_keys[e].fk;
  return absl::StrCat(fk.child.Display(), ".", fk.name, " (", absl::StrJoin(fk.child_columns, ", "),
                      ")");
}

// Whether a cycle can be broken at this FK by loading its nullable columns
// NULL and updating them after: some column must be nullable (MATCH
// SIMPLE skips the check then; MATCH FULL needs all of them NULL) and the
// child needs a row key to update by.
bool Breakable(const Catalog& catalog, int e) {
  const CatalogForeignKey& fk = catalog.foreign_keys[e];
  const CatalogTable& child = catalog.tables[fk.child];
  if (fk.fk.not_null || child.row_key.empty()) return false;
  for (const std::string& c : fk.fk.child_columns) {
    const CatalogColumn* col = child.Column(c);
    if (fk.match_full && col->not_null) return false;
    // A key column cannot be updated by its own key.
    if (std::find(child.row_key.begin(), child.row_key.end(), c) != child.row_key.end()) {
      return false;
    }
  }
  return true;
}

// The fewest of `hard` (FKs that neither NULL nor deferral can break)
// whose removal lets `tables` load in order: all of them at first, then
// each given back while the order still exists. Also sets `order`.
std::vector<int> FksToDrop(const Catalog& catalog, const std::vector<int>& tables,
                           const std::vector<int>& hard, std::vector<int>* order) {
  std::set<int> drop(hard.begin(), hard.end());
  auto remaining = [&] {
    std::vector<int> out;
    for (int e : hard) {
      if (!drop.count(e)) out.push_back(e);
    }
    return out;
  };
  for (int e : hard) {
    drop.erase(e);
    if (!OrderWithin(catalog, tables, remaining(), order)) drop.insert(e);
  }
  OrderWithin(catalog, tables, remaining(), order);  // holds: checked above or no edges left
  return {drop.begin(), drop.end()};
}

// What the target role lacks to drop and re-add FK e, or "" when nothing.
std::string MissingRight(const Catalog& catalog, int e, const TargetRights* rights) {
  if (!rights) return "";
  const CatalogForeignKey& fk = catalog.foreign_keys[e];
  std::vector<std::string> missing;
  if (!rights->owned[fk.child]) {
    missing.push_back(absl::StrCat("ownership of ", catalog.tables[fk.child].name.Display()));
  }
  if (!rights->may_reference[fk.parent]) {
    missing.push_back(absl::StrCat("REFERENCES on ", catalog.tables[fk.parent].name.Display()));
  }
  return absl::StrJoin(missing, " and ");
}

// Plans one strongly connected component of more than one table.
PlannedCycle PlanCycle(const Catalog& catalog, const std::vector<int>& tables,
                       const std::vector<int>& inner, bool replica_mode, const TargetRights* rights,
                       CopyGraph& graph) {
  PlannedCycle cycle;
  cycle.fks = inner;
  cycle.tables = tables;
  if (replica_mode) {
    cycle.load = OrgCopyCycleLoad::kReplicaMode;
    cycle.detail = "FK checks off during the load; the selection found every FK's parent";
    return cycle;
  }
  std::vector<int> kept, nulled, deferred, dropped;
  for (int e : inner) {
    // A self-reference needs no plan: its one COPY checks at the end.
    if (catalog.foreign_keys[e].child == catalog.foreign_keys[e].parent) continue;
    (Breakable(catalog, e) ? nulled : kept).push_back(e);
  }
  std::vector<int> order;
  if (!OrderWithin(catalog, tables, kept, &order)) {
    std::vector<int> still;
    for (int e : kept) {
      (catalog.foreign_keys[e].fk.deferrable ? deferred : still).push_back(e);
    }
    if (!OrderWithin(catalog, tables, still, &order)) {
      dropped = FksToDrop(catalog, tables, still, &order);
      std::vector<std::string> missing;
      for (int e : dropped) {
        std::string right = MissingRight(catalog, e, rights);
        if (!right.empty()) missing.push_back(absl::StrCat(FkText(catalog, e), " needs ", right));
      }
      if (!missing.empty()) {
        std::vector<std::string> blocking;
        for (int e : still) blocking.push_back(FkText(catalog, e));
        cycle.load = OrgCopyCycleLoad::kRefused;
        cycle.detail = absl::StrCat(
            "the cycle ", CycleText(catalog, tables),
            " goes through NOT NULL, NOT DEFERRABLE FKs (", absl::StrJoin(blocking, "; "),
            "): loading it needs the right to set session_replication_role (a superuser, or "
            "GRANT SET ON PARAMETER session_replication_role), or to drop and re-add "
            "constraints (",
            absl::StrJoin(missing, "; "), "), or one of these FKs made DEFERRABLE or nullable");
        graph.refusals.push_back(cycle.detail);
        return cycle;
      }
    }
  }
  cycle.tables = order;
  std::vector<std::string> parts;
  if (!nulled.empty()) {
    std::vector<std::string> columns;
    for (int e : nulled) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      graph.null_fks.insert(e);
      for (const std::string& c : fk.fk.child_columns) {
        if (catalog.tables[fk.child].Column(c)->not_null) continue;
        std::vector<std::string>& cols = graph.null_columns[fk.child];
        if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
        columns.push_back(absl::StrCat(catalog.tables[fk.child].name.Display(), ".", c));
      }
    }
    parts.push_back(absl::StrCat("loaded NULL then updated: ", absl::StrJoin(columns, ", ")));
  }
  if (!deferred.empty()) {
    std::vector<std::string> names;
    for (int e : deferred) {
      graph.deferred_fks.insert(e);
      names.push_back(FkText(catalog, e));
    }
    parts.push_back(absl::StrCat("deferred to commit: ", absl::StrJoin(names, "; ")));
  }
  if (!dropped.empty()) {
    std::vector<std::string> names;
    for (int e : dropped) {
      graph.dropped_fks.insert(e);
      names.push_back(FkText(catalog, e));
    }
    parts.push_back(absl::StrCat("dropped for the load, re-added NOT VALID and validated: ",
                                 absl::StrJoin(names, "; ")));
  }
  cycle.load = !dropped.empty()    ? OrgCopyCycleLoad::kDropAndValidate
               : !deferred.empty() ? OrgCopyCycleLoad::kDeferred
                                   : OrgCopyCycleLoad::kNullThenUpdate;
  cycle.detail = absl::StrJoin(parts, "; ");
  return cycle;
}

}  // namespace

absl::StatusOr<CopyGraph> BuildCopyGraph(const Catalog& catalog, const OrgCopySpec& spec,
                                         bool replica_mode, const TargetRights* rights) {
  CopyGraph graph;
  const OrgCopyTable root_name{spec.root_schema, spec.root_table};
  graph.root = catalog.Find(root_name);
  if (graph.root < 0) {
    return absl::NotFoundError(
        absl::StrCat("the source has no table ", root_name.Display(),
                     " (the root table of the copy; set org_copy_root_table)"));
  }
  const CatalogTable& root = catalog.tables[graph.root];
  for (size_t i = 0; i < root.columns.size(); ++i) {
    if (root.columns[i].name == spec.root_column) graph.root_column = static_cast<int>(i);
  }
  if (graph.root_column < 0) {
    return absl::NotFoundError(absl::StrCat("the source table ", root_name.Display(),
                                            " has no column ", spec.root_column));
  }

  const size_t n_fk = catalog.foreign_keys.size();
  const int n = static_cast<int>(catalog.tables.size());
  graph.down.assign(n_fk, false);
  graph.down_reason.assign(n_fk, "");
  for (size_t e = 0; e < n_fk; ++e) {
    bool not_null = catalog.foreign_keys[e].fk.not_null;
    graph.down[e] = not_null;
    graph.down_reason[e] = not_null ? "NOT NULL" : "nullable";
  }
  for (const std::string& name : spec.skip_down) {
    absl::StatusOr<int> e = ResolveConstraint(catalog, name, "skip_down");
    if (!e.ok()) return e.status();
    graph.down[*e] = false;
    graph.down_reason[*e] = "skip_down";
  }
  for (const std::string& name : spec.follow_down) {
    absl::StatusOr<int> e = ResolveConstraint(catalog, name, "follow_down");
    if (!e.ok()) return e.status();
    graph.down[*e] = true;
    graph.down_reason[*e] = "follow_down";
  }

  // Tables that can hold D rows: the root's, then children by down FKs.
  graph.in_down.assign(n, false);
  graph.in_down[graph.root] = true;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t e = 0; e < n_fk; ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      if (graph.down[e] && graph.in_down[fk.parent] && !graph.in_down[fk.child]) {
        graph.in_down[fk.child] = grew = true;
      }
    }
  }
  // Tables that can hold S rows: those, then parents by any FK.
  graph.in_copy = graph.in_down;
  for (bool grew = true; grew;) {
    grew = false;
    for (size_t e = 0; e < n_fk; ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      if (graph.in_copy[fk.child] && !graph.in_copy[fk.parent]) {
        graph.in_copy[fk.parent] = grew = true;
      }
    }
  }

  std::vector<std::vector<int>> parents_of(n);
  for (size_t e = 0; e < n_fk; ++e) {
    parents_of[catalog.foreign_keys[e].child].push_back(catalog.foreign_keys[e].parent);
  }
  std::vector<int> fks_from(n, 0), fks_onto(n, 0), only_fk(n, -1);
  bool root_fed = false;
  for (size_t e = 0; e < n_fk; ++e) {
    const CatalogForeignKey& fk = catalog.foreign_keys[e];
    ++fks_from[fk.child];
    only_fk[fk.child] = static_cast<int>(e);
    if (graph.in_copy[fk.child]) ++fks_onto[fk.parent];
    root_fed = root_fed || (graph.down[e] && fk.child == graph.root);
  }
  for (int t = 0; t < n && !root_fed; ++t) {
    if (t == graph.root || !graph.in_copy[t] || fks_from[t] != 1 || fks_onto[t] != 0) continue;
    const int e = only_fk[t];
    if (graph.down[e] && catalog.foreign_keys[e].parent == graph.root) graph.root_leaves[t] = e;
  }
  // As the owner, every FK between copied tables dropped for the load, if
  // the role may re-add each one; cycles then need nothing else.
  std::vector<int> copied_fks;
  for (size_t e = 0; e < n_fk; ++e) {
    if (graph.in_copy[catalog.foreign_keys[e].child]) copied_fks.push_back(static_cast<int>(e));
  }
  graph.drop_all_fks = !replica_mode && spec.drop_foreign_keys && !copied_fks.empty() &&
                       std::all_of(copied_fks.begin(), copied_fks.end(),
                                   [&](int e) { return MissingRight(catalog, e, rights).empty(); });
  if (graph.drop_all_fks) graph.dropped_fks.insert(copied_fks.begin(), copied_fks.end());
  for (const std::vector<int>& component : Components(n, parents_of, graph.in_copy)) {
    std::vector<int> inner;
    bool self_only = component.size() == 1;
    for (size_t e = 0; e < n_fk; ++e) {
      const CatalogForeignKey& fk = catalog.foreign_keys[e];
      bool child_in = std::binary_search(component.begin(), component.end(), fk.child);
      bool parent_in = std::binary_search(component.begin(), component.end(), fk.parent);
      if (child_in && parent_in) inner.push_back(static_cast<int>(e));
    }
    if (graph.drop_all_fks) {
      graph.load_order.insert(graph.load_order.end(), component.begin(), component.end());
      if (!inner.empty()) {
        graph.cycles.push_back(PlannedCycle{
            .tables = component,
            .fks = inner,
            .load = OrgCopyCycleLoad::kDropAndValidate,
            .detail = "dropped for the load with every FK of the copy, re-added NOT VALID and "
                      "validated",
        });
      }
      continue;
    }
    if (self_only) {
      graph.load_order.push_back(component[0]);
      if (!inner.empty()) {
        std::vector<std::string> names;
        for (int e : inner) names.push_back(FkText(catalog, e));
        graph.cycles.push_back(PlannedCycle{
            .tables = component,
            .fks = inner,
            .load = OrgCopyCycleLoad::kSelfReference,
            .detail = absl::StrCat("one COPY; FK checks run at its end (",
                                   absl::StrJoin(names, "; "), ")"),
        });
      }
      continue;
    }
    PlannedCycle cycle = PlanCycle(catalog, component, inner, replica_mode, rights, graph);
    for (int t : cycle.tables) graph.load_order.push_back(t);
    graph.cycles.push_back(std::move(cycle));
  }
  graph.any_order = (replica_mode || graph.drop_all_fks) && graph.null_columns.empty() &&
                    graph.deferred_fks.empty();
  return graph;
}

}  // namespace ds::daemon::orgcopy
