// RowIdArraysFromCopyText, judged by a real PostgreSQL 15 (tests/pg_fixture.h):
// the arrays it builds must be what the server reads back as tid[] / oid[].
#include "daemon/orgcopy/row_id_arrays.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "daemon/pg/pg_conn.h"
#include "tests/pg_fixture.h"

namespace ds::daemon::orgcopy {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMany = 1000;  // more ids than any test's batch

class RowIdArraysTest : public test_pg::PostgresTest {
 protected:
  void SetUp() override {
    PostgresTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<PgConnection>> c =
        PgConnection::Open(conninfo(), "row_id_arrays_test");
    ASSERT_TRUE(c.ok()) << c.status();
    conn_ = std::move(*c);
  }
  // The server's text for `params` cast as `sql` says.
  std::string Read(const std::string& sql, const std::vector<std::string>& params) {
    PgResult r = conn_->ExecBinaryParams(sql, params);
    EXPECT_TRUE(r.ok()) << conn_->ErrorText(r);
    return r.ok() && r.rows() == 1 ? std::string(r.Get(0, 0)) : "<error>";
  }
  std::unique_ptr<PgConnection> conn_;
};

TEST_F(RowIdArraysTest, TheServerReadsTheIdsBack) {
  absl::StatusOr<std::vector<RowIdArray>> a =
      RowIdArraysFromCopyText("(0,1)\n(7,65535)\n(4294967295,2)\n", /*by_partition=*/false, kMany);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].partition, 0u);
  EXPECT_EQ((*a)[0].count, 3);
  EXPECT_EQ(Read("SELECT $1::tid[]::text", {(*a)[0].tids}),
            R"x({"(0,1)","(7,65535)","(4294967295,2)"})x");

  // By partition: one array each, in the order the partitions first appear.
  absl::StatusOr<std::vector<RowIdArray>> p = RowIdArraysFromCopyText(
      "16384\t(3,4)\n4294967295\t(0,9)\n16384\t(5,1)\n", /*by_partition=*/true, kMany);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].partition, 16384u);
  EXPECT_EQ((*p)[0].count, 2);
  EXPECT_EQ(Read("SELECT $1::tid[]::text", {(*p)[0].tids}), R"x({"(3,4)","(5,1)"})x");
  EXPECT_EQ((*p)[1].partition, 4294967295u);
  EXPECT_EQ(Read("SELECT $1::tid[]::text", {(*p)[1].tids}), R"x({"(0,9)"})x");

  // The real use: a TID scan over the array finds exactly those rows.
  PgResult made = conn_->Exec("CREATE TEMP TABLE t AS SELECT generate_series(1, 500) AS x");
  ASSERT_TRUE(made.ok()) << conn_->ErrorText(made);
  PgResult ids =
      conn_->Exec("SELECT string_agg(ctid::text, E'\\n') || E'\\n' FROM t WHERE x % 100 = 7");
  ASSERT_TRUE(ids.ok()) << conn_->ErrorText(ids);
  absl::StatusOr<std::vector<RowIdArray>> rows =
      RowIdArraysFromCopyText(ids.Get(0, 0), false, kMany);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(Read("SELECT string_agg(x::text, ',' ORDER BY x) FROM t WHERE ctid = ANY ($1::tid[])",
                 {(*rows)[0].tids}),
            "7,107,207,307,407");
}

TEST_F(RowIdArraysTest, ABatchSplitsIntoArraysOfAtMostTheMost) {
  absl::StatusOr<std::vector<RowIdArray>> a =
      RowIdArraysFromCopyText("(0,1)\n(0,2)\n(0,3)\n(0,4)\n(0,5)\n", false, 2);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 3u);
  std::vector<std::string> read;
  for (const RowIdArray& array : *a) {
    EXPECT_EQ(array.partition, 0u);
    read.push_back(absl::StrCat(array.part, ":", array.count, ":",
                                Read("SELECT $1::tid[]::text", {array.tids})));
  }
  EXPECT_THAT(read, ::testing::ElementsAre(R"x(0:2:{"(0,1)","(0,2)"})x",
                                           R"x(1:2:{"(0,3)","(0,4)"})x", R"x(2:1:{"(0,5)"})x"));

  // By partition, each partition's arrays count from 0 on their own.
  absl::StatusOr<std::vector<RowIdArray>> p =
      RowIdArraysFromCopyText("7\t(0,1)\n8\t(0,1)\n7\t(0,2)\n7\t(0,3)\n", true, 2);
  ASSERT_TRUE(p.ok()) << p.status();
  read.clear();
  for (const RowIdArray& array : *p) {
    read.push_back(absl::StrCat(array.partition, ".", array.part, ":",
                                Read("SELECT $1::tid[]::text", {array.tids})));
  }
  EXPECT_THAT(read, ::testing::ElementsAre(R"x(7.0:{"(0,1)","(0,2)"})x", R"x(8.0:{"(0,1)"})x",
                                           R"x(7.1:{"(0,3)"})x"));
}

TEST_F(RowIdArraysTest, NoRowsIsAnEmptyArray) {
  absl::StatusOr<std::vector<RowIdArray>> a = RowIdArraysFromCopyText("", false, kMany);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].count, 0);
  EXPECT_EQ(Read("SELECT cardinality($1::tid[])", {(*a)[0].tids}), "0");
  absl::StatusOr<std::vector<RowIdArray>> none = RowIdArraysFromCopyText("", true, kMany);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
}

TEST(RowIdArraysFromCopyText, NamesARowThatIsNoRowId) {
  for (const char* bad : {"(1,2)", "(1,2\n", "1,2\n", "(1,70000)\n", "(-1,2)\n", "(1,2)x\n",
                          "(99999999999,1)\n", "(1,2)\n\n"}) {
    absl::StatusOr<std::vector<RowIdArray>> a = RowIdArraysFromCopyText(bad, false, kMany);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(a.status().message(), HasSubstr("unexpected row id from the source"));
  }
  absl::StatusOr<std::vector<RowIdArray>> a =
      RowIdArraysFromCopyText("16384\t(1,3)\n(1,2)\n", true, kMany);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(), HasSubstr("\"(1,2)\""));
  EXPECT_FALSE(RowIdArraysFromCopyText("16384\t(1,3)\n", false, kMany).ok());
}

}  // namespace
}  // namespace ds::daemon::orgcopy
