#include "common/dotenv.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ds::common {
namespace {

namespace fs = std::filesystem;

// Effective values (last assignment wins), as dotenv.parse() returns them.
std::map<std::string, std::string> Values(std::string_view text) {
  absl::StatusOr<std::vector<DotenvEntry>> entries = ParseDotenv(text, "t.env");
  EXPECT_TRUE(entries.ok()) << entries.status();
  std::map<std::string, std::string> out;
  if (entries.ok()) {
    for (const DotenvEntry& e : *entries) out[e.key] = e.value;
  }
  return out;
}

std::string Value(std::string_view text, std::string_view key) {
  auto values = Values(text);
  auto it = values.find(std::string(key));
  return it == values.end() ? "<absent>" : it->second;
}

using M = std::map<std::string, std::string>;

// ---- Parsing: each expectation was checked against dotenv 18 parse(). ----

TEST(ParseDotenv, BasicsCommentsAndExport) {
  EXPECT_EQ(Values("# comment\nA=1\n  # indented comment\nexport B=2\n\nC = 3 \n"),
            (M{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(Values("export = 5\n"), (M{{"export", "5"}}));  // export as a key
  EXPECT_EQ(Values("exportX=1\n"), (M{{"exportX", "1"}}));
  EXPECT_EQ(Values("not an assignment\nexport\nA=1\n=2\n"), (M{{"A", "1"}}));
}

TEST(ParseDotenv, KeysAndSeparators) {
  EXPECT_EQ(Values("a.b-c_D9=1\nK: v\nK2:v\nK3 :v\n"), (M{{"a.b-c_D9", "1"}, {"K", "v"}}));
  EXPECT_EQ(Value("A==b=c\n", "A"), "=b=c");
  EXPECT_EQ(Value("A\t=\tb\n", "A"), "b");
  EXPECT_EQ(Value("A=\n", "A"), "");
  EXPECT_EQ(Value("A=", "A"), "");
  EXPECT_EQ(Value("A=x", "A"), "x");  // no final newline
}

TEST(ParseDotenv, InlineComments) {
  EXPECT_EQ(Value("A=abc # c\n", "A"), "abc");
  EXPECT_EQ(Value("A=abc#c\n", "A"), "abc");  // no space needed
  EXPECT_EQ(Value("A= # only a comment\n", "A"), "");
  EXPECT_EQ(Value("A=\"a#b\" # c\n", "A"), "a#b");
  EXPECT_EQ(Value("A='a#b'#c\n", "A"), "a#b");
  EXPECT_EQ(Value("A=`a # b`\n", "A"), "a # b");
}

TEST(ParseDotenv, Quotes) {
  EXPECT_EQ(Value("A='  x  '\n", "A"), "  x  ");
  EXPECT_EQ(Value("A=\"\"\n", "A"), "");
  EXPECT_EQ(Value("A=`it's \"q\"`\n", "A"), "it's \"q\"");
  EXPECT_EQ(Value("A='it's'\n", "A"), "it's");  // read raw, outer quotes stripped
  EXPECT_EQ(Value("A=\"abc\"def\n", "A"), "\"abc\"def");
  EXPECT_EQ(Value("A= \"x\" y\n", "A"), "\"x\" y");
  EXPECT_EQ(Value("A=\"a\\\"b\"\n", "A"), "a\\\"b");  // no unescaping of \"
  EXPECT_EQ(Value("A=x'y'\n", "A"), "x'y'");
}

TEST(ParseDotenv, EscapesOnlyInDoubleQuotes) {
  EXPECT_EQ(Value("A=\"a\\nb\\rc\\td\"\n", "A"), "a\nb\rc\\td");
  EXPECT_EQ(Value("A='a\\nb'\n", "A"), "a\\nb");
  EXPECT_EQ(Value("A=`a\\nb`\n", "A"), "a\\nb");
  EXPECT_EQ(Value("A=a\\nb\n", "A"), "a\\nb");
  EXPECT_EQ(Value("A=\"a\\\\nb\"\n", "A"), "a\\\nb");  // \\n is \ then newline
}

TEST(ParseDotenv, MultiLineValues) {
  EXPECT_EQ(Values("A=\"line1\nline2\"\nB=2\n"), (M{{"A", "line1\nline2"}, {"B", "2"}}));
  EXPECT_EQ(Value("A='l1\nl2'\n", "A"), "l1\nl2");
  EXPECT_EQ(Value("A=`l1\nl2`\n", "A"), "l1\nl2");
  // The quote closes at the first quote that ends a line, however far away.
  EXPECT_EQ(Values("A=\"abc\nB=def\"\n"), (M{{"A", "abc\nB=def"}}));
}

TEST(ParseDotenv, LineEndings) {
  EXPECT_EQ(Values("A=1\r\nB=\"x\r\ny\"\r\nC=3"), (M{{"A", "1"}, {"B", "x\ny"}, {"C", "3"}}));
  EXPECT_EQ(Values("A=1\rB=2\r"), (M{{"A", "1"}, {"B", "2"}}));  // old Mac
}

TEST(ParseDotenv, DuplicatesLastWins) {
  auto entries = ParseDotenv("A=1\nB=2\nA=3\n", "t.env");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  const DotenvEntry* a = FindDotenvKey(*entries, "A");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(a->line, 3);
  EXPECT_EQ(FindDotenvKey(*entries, "Z"), nullptr);
}

TEST(ParseDotenv, LineNumbers) {
  auto entries = ParseDotenv("# c\r\nA=\"x\ny\"\n\nexport B=1\rC=2\n", "t.env");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].line, 2);
  EXPECT_EQ((*entries)[1].line, 5);
  EXPECT_EQ((*entries)[2].line, 6);
}

TEST(ParseDotenv, Unicode) {
  EXPECT_EQ(Value("\xEF\xBB\xBF" "A=1\n", "A"), "1");  // BOM is whitespace to dotenv
  EXPECT_EQ(Value("A=\xC2\xA0x\xE3\x80\x80\n", "A"), "x");  // U+00A0, U+3000 trimmed
  EXPECT_EQ(Value("A='\xC2\xA0x'\n", "A"), "\xC2\xA0x");
  EXPECT_EQ(Value("A=h\xC3\xA9 \xF0\x9F\x98\x80\n", "A"), "h\xC3\xA9 \xF0\x9F\x98\x80");
  // Broken UTF-8 reads as U+FFFD, as Node decodes it.
  EXPECT_EQ(Value("A=\xFFx\xE2\x80\n", "A"), "\xEF\xBF\xBDx\xEF\xBF\xBD");
  // U+2028 ends a "line" for JavaScript's ^ and $: quotes after it strip.
  EXPECT_EQ(Value("A=x\xE2\x80\xA8'b'\n", "A"), "x\xE2\x80\xA8" "b");
}

TEST(ParseDotenv, ConnectionStrings) {
  EXPECT_EQ(Value("DATABASE_URL=postgresql://u:p@h:5432/db?sslmode=require&x=y\n", "DATABASE_URL"),
            "postgresql://u:p@h:5432/db?sslmode=require&x=y");
}

// dotenv's single regular expression lets \s cross line breaks.
TEST(ParseDotenv, SurprisingButFaithful) {
  EXPECT_EQ(Values("A=\n\"x\"\nB=1\n"), (M{{"A", "x"}, {"B", "1"}}));
  EXPECT_EQ(Values("A\n=1\n"), (M{{"A", "1"}}));
  EXPECT_EQ(Values("K:\nB=2\n"), (M{{"K", "B=2"}}));
  // An escaped quote closes the value when no plain one does.
  EXPECT_EQ(Values("A=\"abc\\\"\nB=1\n"), (M{{"A", "abc\\"}, {"B", "1"}}));
}

TEST(ParseDotenv, UnterminatedQuoteNamesFileLineAndKey) {
  auto r = ParseDotenv("A=1\n\nPASSWORD=\"hunter2\nB=2\n", ".env.local");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            ".env.local:3: unterminated double quote in the value of PASSWORD; "
            "close the quote or remove the line");
  EXPECT_EQ(std::string(r.status().message()).find("hunter2"), std::string::npos);

  r = ParseDotenv("X='abc\n", "f");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f:1: unterminated single quote in the value of X; close the quote or remove the line");
  r = ParseDotenv("A=1\r\nX=`abc", "f");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "f:2: unterminated back quote in the value of X; close the quote or remove the line");
}

TEST(ParseDotenv, QuoteClosedSomewhereLaterIsReadLikeDotenv) {
  // Not an error: a matching quote exists later, and dotenv reads the raw text.
  EXPECT_EQ(Values("A=\"abc\nB=\"def\"\n"), (M{{"A", "\"abc"}, {"B", "def"}}));
  // A stray quote on a line that is not an assignment is ignored.
  EXPECT_EQ(Values("\"oops\nA=1\n"), (M{{"A", "1"}}));
}

// ---- Editing ----

std::string Set(std::string_view text, std::string_view key, std::string_view value) {
  absl::StatusOr<std::string> r = SetDotenvValue(text, key, value, "t.env");
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : "<error>";
}

TEST(SetDotenvValue, ChangesOnlyTheValueBytes) {
  EXPECT_EQ(Set("A=1\nB=2\n", "A", "x"), "A=x\nB=2\n");
  EXPECT_EQ(Set("  export  A = 1   # keep me\nB=2\n", "A", "x"),
            "  export  A = x   # keep me\nB=2\n");
  EXPECT_EQ(Set("A=\"old\"#c\n", "A", "new"), "A=new#c\n");
  EXPECT_EQ(Set("A: old\n", "A", "new"), "A: new\n");
  EXPECT_EQ(Set("A=\n", "A", "v"), "A=v\n");
  EXPECT_EQ(Set("A= # c\n", "A", "v"), "A=v # c\n");
  EXPECT_EQ(Set("A=x", "A", "y"), "A=y");  // no newline added when editing
}

TEST(SetDotenvValue, LastDuplicateIsEdited) {
  EXPECT_EQ(Set("A=1\nA=2\nB=3\n", "A", "x"), "A=1\nA=x\nB=3\n");
}

TEST(SetDotenvValue, MultiLineValueIsReplacedWhole) {
  EXPECT_EQ(Set("A=\"l1\nl2\nl3\" # c\nB=2\n", "A", "x"), "A=x # c\nB=2\n");
  // The value began on the next line: the edit keeps it on the key's line.
  EXPECT_EQ(Set("A=\n'x'\nB=1\n", "A", "y"), "A=y\nB=1\n");
}

TEST(SetDotenvValue, KeepsCrlf) {
  EXPECT_EQ(Set("A=1\r\nB=2\r\n", "B", "x"), "A=1\r\nB=x\r\n");
  EXPECT_EQ(Set("A=1\r\nB=2", "C", "x"), "A=1\r\nB=2\r\nC=x\r\n");
}

TEST(SetDotenvValue, AppendsAbsentKey) {
  EXPECT_EQ(Set("", "A", "1"), "A=1\n");
  EXPECT_EQ(Set("A=1\n", "B", "2"), "A=1\nB=2\n");
  EXPECT_EQ(Set("A=1", "B", "2"), "A=1\nB=2\n");
  EXPECT_EQ(Set("# only a comment", "B", "2"), "# only a comment\nB=2\n");
}

TEST(SetDotenvValue, QuotesOnlyAsNeeded) {
  const std::string url = "postgresql://u:p@h/db?sslmode=require&a=b";
  EXPECT_EQ(Set("", "U", url), "U=" + url + "\n");
  EXPECT_EQ(Set("", "A", "C:\\dir\\"), "A=C:\\dir\\\n");  // bare: backslashes are literal
  EXPECT_EQ(Set("", "A", ""), "A=''\n");
  EXPECT_EQ(Set("", "A", "a b"), "A='a b'\n");
  EXPECT_EQ(Set("", "A", " lead"), "A=' lead'\n");
  EXPECT_EQ(Set("", "A", "a#b"), "A='a#b'\n");
  EXPECT_EQ(Set("", "A", "a\\nb"), "A=a\\nb\n");  // bare values expand nothing
  EXPECT_EQ(Set("", "A", "a\\n b"), "A='a\\n b'\n");
  EXPECT_EQ(Set("", "A", "it's"), "A=\"it's\"\n");
  EXPECT_EQ(Set("", "A", "l1\nl2"), "A=\"l1\\nl2\"\n");
  EXPECT_EQ(Set("", "A", "cr\r"), "A=\"cr\\r\"\n");
  EXPECT_EQ(Set("", "A", "it's \"q\""), "A=`it's \"q\"`\n");
  EXPECT_EQ(Set("", "A", "it's\n\\n"), "A=`it's\n\\n`\n");  // multi-line backticks
  EXPECT_EQ(Set("X=1\r\n", "A", "'\"\n"), "X=1\r\nA=`'\"\r\n`\r\n");
}

TEST(SetDotenvValue, UnrepresentableValue) {
  for (std::string_view v : {"'\"`", "'\"\r", "it's a \\", "a\"b\\\n`"}) {
    absl::StatusOr<std::string> r = SetDotenvValue("A=1\n", "SECRET", v, "t.env");
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("SECRET"), absl::string_view::npos);
    EXPECT_NE(r.status().message().find("cannot be represented in .env"), absl::string_view::npos);
  }
  EXPECT_FALSE(SetDotenvValue("", "A", "\xFF", "t.env").ok());
  EXPECT_FALSE(SetDotenvValue("", "A", std::string_view("a\0b", 3), "t.env").ok());
}

TEST(SetDotenvValue, InvalidKey) {
  for (std::string_view k : {"", "A B", "A=B", "K\xC3\xA9", "#A"}) {
    absl::StatusOr<std::string> r = SetDotenvValue("", k, "v", "t.env");
    ASSERT_FALSE(r.ok()) << k;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(SetDotenvValue, ParseErrorIsReturned) {
  absl::StatusOr<std::string> r = SetDotenvValue("A=1\nB='x\n", "A", "2", "t.env");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "t.env:2: unterminated single quote in the value of B; "
            "close the quote or remove the line");
}

TEST(SetDotenvValue, RefusesEditsThatChangeOtherKeys) {
  // A's quote closes at the escaped quote because no plain quote follows;
  // B's new value would supply one and pull B into A's value.
  absl::StatusOr<std::string> r = SetDotenvValue("A=\"x\\\"\nB=1\n", "B", "\"\n", "t.env");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "t.env:2: cannot set B there without changing how dotenv reads other lines; "
            "edit that line by hand");
  // Appending after a dangling `B:` would make the new line B's value.
  r = SetDotenvValue("B:\n", "C", "v", "t.env");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  // `K:` then a line break reads the next line as K's value; that line is
  // what gets replaced.
  EXPECT_EQ(Set("K:\nB=2\n", "K", "v"), "K:\nv\n");
}

// Whatever value is written, dotenv must read it back and nothing else may
// change; everything before the edited value stays byte for byte.
TEST(SetDotenvValue, RandomValuesRoundTrip) {
  const std::vector<std::string> pieces = {"a", " ", "#", "'", "\"", "`", "\\", "n", "r", "\n",
                                           "\r", "=", "\t", "\xC3\xA9", "\xC2\xA0", "$", "&"};
  const std::vector<std::string> files = {
      "", "A=1\n", "TARGET=old\n", "export TARGET = 'old' # c\r\nB=2\r\n",
      "TARGET=\"l1\nl2\"\nB=\"x\"\n", "B=`q`\nTARGET=1\nTARGET=2", "# c\nB='it's'\n"};
  std::mt19937 rng(42);
  int written = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string value;
    for (int n = rng() % 7; n > 0; --n) value += pieces[rng() % pieces.size()];
    const std::string& file = files[rng() % files.size()];
    absl::StatusOr<std::string> r = SetDotenvValue(file, "TARGET", value, "t.env");
    bool has_bq = value.find('`') != std::string::npos;
    bool has_cr = value.find('\r') != std::string::npos;
    bool ends_bs = !value.empty() && value.back() == '\\';
    if (!has_bq && !has_cr && !ends_bs) {
      // Backticks can always carry such a value.
      ASSERT_TRUE(r.ok()) << r.status();
    }
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ++written;
    auto want = Values(file);
    want["TARGET"] = value;
    ASSERT_EQ(Values(*r), want);
    auto before = ParseDotenv(file, "t.env");
    const DotenvEntry* old = FindDotenvKey(*before, "TARGET");
    if (old == nullptr) {
      EXPECT_EQ(r->substr(0, file.size()), file);
    }
  }
  EXPECT_GT(written, 2000);
}

// ---- Writing files ----

// Root reads and writes regardless of file modes, and CI runs as root: for
// the call under test, a test that needs modes to apply drops its effective
// uid and gid to 65534 (nobody) and hands `dir` to that user, so the test
// runs (and can fail) there too. Effective capabilities go with the uid.
class UnprivilegedScope {
 public:
  explicit UnprivilegedScope(const fs::path& dir) {
    if (::geteuid() != 0) return;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      EXPECT_EQ(::lchown(e.path().c_str(), kNobody, kNobody), 0) << e.path();
    }
    EXPECT_EQ(::chown(dir.c_str(), kNobody, kNobody), 0) << dir;
    EXPECT_EQ(::setegid(kNobody), 0);
    EXPECT_EQ(::seteuid(kNobody), 0);
    dropped_ = ::geteuid() == kNobody;
    EXPECT_TRUE(dropped_) << "could not drop to uid " << kNobody;
  }
  ~UnprivilegedScope() {
    if (!dropped_) return;
    EXPECT_EQ(::seteuid(0), 0);
    EXPECT_EQ(::setegid(0), 0);
  }
  UnprivilegedScope(const UnprivilegedScope&) = delete;
  UnprivilegedScope& operator=(const UnprivilegedScope&) = delete;

 private:
  static constexpr uid_t kNobody = 65534;
  bool dropped_ = false;
};

class WriteDotenvValueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ds-dotenv-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(dir_);
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void Write(const fs::path& p, std::string_view s) {
    std::ofstream(p, std::ios::binary) << s;
  }
  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  // Nothing but `names` in the directory: no temp file left behind.
  void ExpectOnly(std::vector<std::string> names) {
    std::vector<std::string> seen;
    for (const auto& e : fs::directory_iterator(dir_)) seen.push_back(e.path().filename());
    std::sort(seen.begin(), seen.end());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(seen, names);
  }
  fs::path dir_;
};

TEST_F(WriteDotenvValueTest, CreatesMissingFileOwnerOnly) {
  fs::path f = dir_ / ".env";
  ASSERT_TRUE(WriteDotenvValue(f, "DATABASE_URL", "postgresql://h/db").ok());
  EXPECT_EQ(Read(f), "DATABASE_URL=postgresql://h/db\n");
  EXPECT_EQ(Mode(f), 0600u);
  ExpectOnly({".env"});
}

TEST_F(WriteDotenvValueTest, KeepsModeAndOtherBytes) {
  fs::path f = dir_ / ".env";
  Write(f, "# app\r\nexport DATABASE_URL=\"old\" # dev\r\nOTHER=1");
  ASSERT_EQ(::chmod(f.c_str(), 0640), 0);
  ASSERT_TRUE(WriteDotenvValue(f, "DATABASE_URL", "postgresql://h/db?sslmode=require").ok());
  EXPECT_EQ(Read(f),
            "# app\r\nexport DATABASE_URL=postgresql://h/db?sslmode=require # dev\r\nOTHER=1");
  EXPECT_EQ(Mode(f), 0640u);
  ExpectOnly({".env"});
}

TEST_F(WriteDotenvValueTest, SecretMakesAReadableFileOwnerOnly) {
  fs::path f = dir_ / ".env";
  Write(f, "APP_PORT=3000\n");
  ASSERT_EQ(::chmod(f.c_str(), 0644), 0);
  absl::StatusOr<std::optional<mode_t>> was =
      WriteDotenvSecret(f, "DB_CONNECTION_STRING", "postgresql://u:pw@h/db");
  ASSERT_TRUE(was.ok()) << was.status();
  ASSERT_TRUE(was->has_value()) << "the caller must hear that the mode changed";
  EXPECT_EQ(**was, 0644u);
  EXPECT_EQ(Mode(f), 0600u);
  EXPECT_EQ(Read(f), "APP_PORT=3000\nDB_CONNECTION_STRING=postgresql://u:pw@h/db\n");
  ExpectOnly({".env"});
  // Once private it stays so, and there is nothing more to say.
  was = WriteDotenvSecret(f, "DB_CONNECTION_STRING", "postgresql://u:pw2@h/db");
  ASSERT_TRUE(was.ok()) << was.status();
  EXPECT_FALSE(was->has_value());
  EXPECT_EQ(Mode(f), 0600u);
}

TEST_F(WriteDotenvValueTest, SecretKeepsOwnerBitsAndNewFilesArePrivate) {
  fs::path f = dir_ / ".env";
  Write(f, "A=1\n");
  ASSERT_EQ(::chmod(f.c_str(), 0664), 0);
  absl::StatusOr<std::optional<mode_t>> was = WriteDotenvSecret(f, "A", "2");
  ASSERT_TRUE(was.ok()) << was.status();
  EXPECT_EQ(was->value_or(0), 0664u);
  EXPECT_EQ(Mode(f), 0600u);
  fs::path g = dir_ / "new.env";
  was = WriteDotenvSecret(g, "A", "1");
  ASSERT_TRUE(was.ok()) << was.status();
  EXPECT_FALSE(was->has_value());
  EXPECT_EQ(Mode(g), 0600u);
}

TEST_F(WriteDotenvValueTest, SecretTightensTheFileASymlinkPointsAt) {
  fs::create_directory(dir_ / "shared");
  Write(dir_ / "shared" / "env", "A=1\n");
  ASSERT_EQ(::chmod((dir_ / "shared" / "env").c_str(), 0644), 0);
  fs::create_symlink("shared/env", dir_ / ".env");
  absl::StatusOr<std::optional<mode_t>> was = WriteDotenvSecret(dir_ / ".env", "A", "2");
  ASSERT_TRUE(was.ok()) << was.status();
  EXPECT_EQ(was->value_or(0), 0644u);
  EXPECT_TRUE(fs::is_symlink(dir_ / ".env"));
  EXPECT_EQ(Mode(dir_ / "shared" / "env"), 0600u);
  EXPECT_EQ(Read(dir_ / "shared" / "env"), "A=2\n");
}

TEST_F(WriteDotenvValueTest, ParseFailureWritesNothing) {
  fs::path f = dir_ / ".env";
  const std::string original = "A=1\nB=\"open\n";
  Write(f, original);
  absl::Status s = WriteDotenvValue(f, "A", "2");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(f.string() + ":2: unterminated double quote in the value of B"),
            absl::string_view::npos)
      << s;
  EXPECT_EQ(Read(f), original);
  ExpectOnly({".env"});
}

TEST_F(WriteDotenvValueTest, UnrepresentableValueWritesNothing) {
  fs::path f = dir_ / ".env";
  Write(f, "A=1\n");
  EXPECT_EQ(WriteDotenvValue(f, "A", "'\"`").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(f), "A=1\n");
  ExpectOnly({".env"});
}

TEST_F(WriteDotenvValueTest, UnreadableNamesTheFile) {
  fs::path f = dir_ / "dir.env";
  fs::create_directory(f);  // reading a directory fails even for root
  absl::Status s = WriteDotenvValue(f, "A", "1");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(f.string()), absl::string_view::npos) << s;

  UnprivilegedScope unprivileged(dir_);
  fs::path g = dir_ / ".env";
  Write(g, "A=1\n");
  ASSERT_EQ(::chmod(g.c_str(), 0200), 0);  // writable, not readable
  s = WriteDotenvValue(g, "A", "2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(s.message().find(g.string()), absl::string_view::npos) << s;
}

TEST_F(WriteDotenvValueTest, UnwritableDirectoryLeavesFileAlone) {
  fs::path f = dir_ / ".env";
  Write(f, "A=1\n");
  UnprivilegedScope unprivileged(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
  EXPECT_FALSE(WriteDotenvValue(f, "A", "2").ok());
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(Read(f), "A=1\n");
  ExpectOnly({".env"});
}

// A read-only .env was made so on purpose: replacing it (which the
// directory's permissions allow) would silently undo that. Refused, naming
// the file and what to do; even root leaves a file nobody may write alone.
TEST_F(WriteDotenvValueTest, ReadOnlyFileIsRefusedAndKept) {
  fs::path f = dir_ / ".env";
  Write(f, "A=1\n");
  ASSERT_EQ(::chmod(f.c_str(), 0444), 0);
  absl::Status s = WriteDotenvValue(f, "A", "2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(f.string() + " is read-only (mode 0444)"), absl::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("chmod u+w " + f.string()), absl::string_view::npos) << s;
  EXPECT_EQ(CheckDotenvWritable(f).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Read(f), "A=1\n");
  EXPECT_EQ(Mode(f), 0444u);
  ExpectOnly({".env"});
}

// A dangling symlink used to be replaced by a regular file: refused,
// naming the link, its target and what to do; the link stays.
TEST_F(WriteDotenvValueTest, DanglingSymlinkIsRefusedAndKept) {
  fs::path link = dir_ / ".env";
  fs::create_symlink("shared/missing.env", link);
  absl::Status s = WriteDotenvValue(link, "A", "1");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(link.string() + " is a symlink to shared/missing.env, which does "
                                             "not exist"),
            absl::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("touch " + (dir_ / "shared/missing.env").string()),
            absl::string_view::npos)
      << s;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(fs::exists(dir_ / "shared"));
  ExpectOnly({".env"});
}

TEST_F(WriteDotenvValueTest, MissingFileInWritableDirectoryMayBeWritten) {
  EXPECT_TRUE(CheckDotenvWritable(dir_ / ".env").ok());
  UnprivilegedScope unprivileged(dir_);
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
  absl::Status s = CheckDotenvWritable(dir_ / ".env");
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("its directory " + dir_.string() + " is not writable"),
            absl::string_view::npos)
      << s;
}

}  // namespace
}  // namespace ds::common

namespace ds::common {
namespace {

// A shared .env is often a symlink: editing it must change the file it
// points at and keep the link.
TEST(WriteDotenvSymlinkTest, EditsTheTargetAndKeepsTheLink) {
  char tmpl[] = "/tmp/ds-dotenv-link-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  std::filesystem::create_directories(dir / "shared");
  {
    std::ofstream(dir / "shared" / "env", std::ios::binary) << "A=1\nB=2\n";
  }
  std::filesystem::create_symlink("shared/env", dir / ".env");
  ASSERT_TRUE(WriteDotenvValue(dir / ".env", "B", "3").ok());
  EXPECT_TRUE(std::filesystem::is_symlink(dir / ".env"));
  std::ifstream in(dir / "shared" / "env", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "A=1\nB=3\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ds::common
