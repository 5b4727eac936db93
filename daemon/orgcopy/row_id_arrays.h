// The row ids of one batch of the selection, moved from the selecting
// session to the loading one as tid[] parameters: one array for a table,
// one per partition for a partitioned table (whose partitions' row ids
// repeat). A binary parameter costs the loading session one array_recv,
// where COPYing the ids into a temp table of its own cost it a heap insert
// per id (the tasks' 320,000 ids: 129-159 ms against 15).
#ifndef DS_DAEMON_ORGCOPY_ROW_ID_ARRAYS_H_
#define DS_DAEMON_ORGCOPY_ROW_ID_ARRAYS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ds::daemon::orgcopy {

struct RowIdArray {
  uint32_t partition = 0;  // the partition's oid; 0 for a table's own rows
  int part = 0;            // 0, 1, ...: the arrays of one partition
  int64_t count = 0;
  std::string tids;  // tid[] in PostgreSQL's binary array format (array_recv)
};

// Converts COPY text rows of "(block,offset)" or, with `by_partition`,
// "oid\t(block,offset)" (what `COPY (SELECT [rel, ]rid ...) TO STDOUT`
// sends) into binary arrays of at most `max_per_array` (> 0) ids: for the
// table, or for each partition in the order they first appear, the ids in
// the order they came. Always one array, maybe empty, without partitions.
// InvalidArgument names a row that is neither.
absl::StatusOr<std::vector<RowIdArray>> RowIdArraysFromCopyText(std::string_view copy_text,
                                                                bool by_partition,
                                                                int64_t max_per_array);

}  // namespace ds::daemon::orgcopy

#endif  // DS_DAEMON_ORGCOPY_ROW_ID_ARRAYS_H_
