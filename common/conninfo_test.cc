#include "common/conninfo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "common/status_testing.h"

namespace ds::common {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ParamValue(const ConnInfo& info, const std::string& key) {
  for (const auto& [k, v] : info.params) {
    if (k == key) return v;
  }
  return "<unset>";
}

bool HasParam(const ConnInfo& info, const std::string& key) {
  for (const auto& [k, v] : info.params) {
    if (k == key) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// ParseConnInfo: URI form
// ---------------------------------------------------------------------------

TEST(ParseConnInfoTest, UriWithAllParts) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("postgresql://alice:s3cret@db.example.com:6543/appdb?sslmode=require");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_uri);
  EXPECT_EQ(info->user, "alice");
  EXPECT_EQ(info->password, "s3cret");
  EXPECT_EQ(info->host, "db.example.com");
  EXPECT_EQ(info->port, "6543");
  EXPECT_EQ(info->dbname, "appdb");
  EXPECT_EQ(info->options, "");
  EXPECT_EQ(info->neon_endpoint_id, "");
  EXPECT_EQ(ParamValue(*info, "sslmode"), "require");
  EXPECT_EQ(ParamValue(*info, "user"), "alice");
  EXPECT_EQ(ParamValue(*info, "host"), "db.example.com");
}

TEST(ParseConnInfoTest, ParamsHoldOnlyExplicitKeywords) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://alice@db.example.com/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  std::vector<std::string> keys;
  for (const auto& [k, v] : info->params) keys.push_back(k);
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre("user", "host", "dbname"));
  EXPECT_FALSE(HasParam(*info, "password"));
  EXPECT_FALSE(HasParam(*info, "port"));
  EXPECT_FALSE(HasParam(*info, "sslmode"));
}

TEST(ParseConnInfoTest, PostgresSchemeIsUriToo) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgres://bob@localhost/db1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_TRUE(info->is_uri);
  EXPECT_EQ(info->user, "bob");
  EXPECT_EQ(info->host, "localhost");
  EXPECT_EQ(info->dbname, "db1");
  EXPECT_EQ(info->password, "");
}

TEST(ParseConnInfoTest, PercentEncodedPasswordIsDecoded) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("postgresql://alice:p%40ss%3Aw%2Fo%20rd%25@db.example.com/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->password, "p@ss:w/o rd%");
  EXPECT_EQ(info->host, "db.example.com");
  EXPECT_EQ(info->user, "alice");
}

TEST(ParseConnInfoTest, ColonInsideUriPasswordBelongsToPassword) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://alice:pa:ss@db.example.com/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->user, "alice");
  EXPECT_EQ(info->password, "pa:ss");
  EXPECT_EQ(info->host, "db.example.com");
}

TEST(ParseConnInfoTest, UriOptionsEndpoint) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo(
      "postgresql://alice:pw@203.0.113.7/neondb?options=endpoint%3Dep-cool-darkness-123456");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->options, "endpoint=ep-cool-darkness-123456");
  EXPECT_EQ(info->neon_endpoint_id, "ep-cool-darkness-123456");
}

TEST(ParseConnInfoTest, UriMultiHost) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("postgresql://alice@h1.example.com:5432,h2.example.com:5433/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "h1.example.com,h2.example.com");
  EXPECT_EQ(info->port, "5432,5433");
  EXPECT_EQ(info->dbname, "appdb");
}

TEST(ParseConnInfoTest, UriIpv6Loopback) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://alice@[::1]:5433/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "::1");
  EXPECT_EQ(info->port, "5433");
  EXPECT_EQ(info->dbname, "appdb");
}

TEST(ParseConnInfoTest, UriIpv6Full) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://[2001:db8::1234]/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "2001:db8::1234");
  EXPECT_EQ(info->port, "");
}

TEST(ParseConnInfoTest, UriSocketDirInQuery) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("postgresql:///appdb?host=/var/run/postgresql&port=5444");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "/var/run/postgresql");
  EXPECT_EQ(info->port, "5444");
  EXPECT_EQ(info->dbname, "appdb");
}

TEST(ParseConnInfoTest, UriPercentEncodedSocketDirAsHost) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://%2Ftmp%2Fpg/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "/tmp/pg");
}

// ---------------------------------------------------------------------------
// ParseConnInfo: key=value form
// ---------------------------------------------------------------------------

TEST(ParseConnInfoTest, KeyValueBasic) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo(
      "host=db.example.com port=6543 dbname=appdb user=alice password=s3cret sslmode=require");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->is_uri);
  EXPECT_EQ(info->host, "db.example.com");
  EXPECT_EQ(info->port, "6543");
  EXPECT_EQ(info->dbname, "appdb");
  EXPECT_EQ(info->user, "alice");
  EXPECT_EQ(info->password, "s3cret");
  EXPECT_EQ(ParamValue(*info, "sslmode"), "require");
}

TEST(ParseConnInfoTest, KeyValueSpacesAroundEquals) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("  host = db.example.com   dbname =  appdb ");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->is_uri);
  EXPECT_EQ(info->host, "db.example.com");
  EXPECT_EQ(info->dbname, "appdb");
}

TEST(ParseConnInfoTest, KeyValueQuotedPasswordWithSpacesAndQuotes) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo(R"(host=h user=alice password='se cr\'et @:x' dbname=d)");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->password, "se cr'et @:x");
  EXPECT_EQ(info->dbname, "d");
}

TEST(ParseConnInfoTest, KeyValueUnixSocketDir) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=/tmp dbname=appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "/tmp");
  EXPECT_EQ(info->dbname, "appdb");
  EXPECT_EQ(info->neon_endpoint_id, "");
}

TEST(ParseConnInfoTest, KeyValueMultiHost) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=a.example.com,b.example.com port=5432,5433");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "a.example.com,b.example.com");
  EXPECT_EQ(info->port, "5432,5433");
}

TEST(ParseConnInfoTest, KeyValueIpv6) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=::1 port=5432");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "::1");
  EXPECT_EQ(info->port, "5432");
}

TEST(ParseConnInfoTest, KeyValueHostaddrOnlyFillsHost) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("hostaddr=127.0.0.1 port=5432");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "127.0.0.1");
  EXPECT_EQ(ParamValue(*info, "hostaddr"), "127.0.0.1");
}

TEST(ParseConnInfoTest, KeyValueHostWinsOverHostaddr) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=db.example.com hostaddr=10.0.0.1");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->host, "db.example.com");
}

TEST(ParseConnInfoTest, KeyValueOptionsEndpoint) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("host=10.1.2.3 options='endpoint=ep-cool-darkness-123456' dbname=neondb");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->options, "endpoint=ep-cool-darkness-123456");
  EXPECT_EQ(info->neon_endpoint_id, "ep-cool-darkness-123456");
}

TEST(ParseConnInfoTest, NeonHostGivesEndpointId) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo(
      "postgresql://alice:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb"
      "?sslmode=require");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->neon_endpoint_id, "ep-cool-darkness-123456");
}

// ---------------------------------------------------------------------------
// ParseConnInfo: errors
// ---------------------------------------------------------------------------

TEST(ParseConnInfoTest, EmptyIsError) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(info.status()), HasSubstr("empty"));
}

TEST(ParseConnInfoTest, WhitespaceOnlyIsError) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("  \t\n ");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
}

struct BadConn {
  std::string conn;
  std::string secret;     // must not appear in the error
  std::string mentioned;  // must appear in the error
};

void PrintTo(const BadConn& c, std::ostream* os) { *os << c.conn; }

class ParseConnInfoErrorTest : public ::testing::TestWithParam<BadConn> {};

TEST_P(ParseConnInfoErrorTest, FailsWithoutShowingPassword) {
  const BadConn& c = GetParam();
  absl::StatusOr<ConnInfo> info = ParseConnInfo(c.conn);
  ASSERT_FALSE(info.ok()) << "parsed: " << c.conn;
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  std::string msg = Msg(info.status());
  EXPECT_THAT(msg, Not(HasSubstr(c.secret))) << msg;
  EXPECT_THAT(msg, HasSubstr(c.mentioned)) << msg;
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseConnInfoErrorTest,
    ::testing::Values(
        BadConn{"postgresql://alice:hunter2@db.example.com/app?bogus=1", "hunter2", "bogus"},
        BadConn{"postgresql://alice:hunter2@db.example.com/app?sslmode", "hunter2", "sslmode"},
        BadConn{"postgresql://alice:hunter2@[::1/app", "hunter2", "]"},
        BadConn{"host=h user=alice password=hunter2 junk", "hunter2", "junk"},
        BadConn{"host=h password='hunter2 unterminated", "hunter2", "unterminated"},
        BadConn{"host=h password=hunter2 colour=blue", "hunter2", "colour"},
        BadConn{"just some words", "hunter2", "invalid connection string"},
        // libpq quotes the undecodable token, which here is the password.
        BadConn{"postgresql://alice:hunter2%zz@db.example.com/app", "hunter2", "percent"},
        // Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_error_raw_question_mark):
        // a raw '?' in the password hid it from the mask, and libpq quoted it.
        BadConn{"postgresql://alice:hun?ter2%zz@db.example.com/app", "hun?ter2", "percent"}));

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_raw_slash_read_as_port):
// libpq stops the user part at a raw '/', took the password for a port, and
// RedactedUri showed it.
TEST(ParseConnInfoTest, UnencodedSlashInUriPasswordIsError) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://u:secret/x@h/d");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(info.status()), Not(HasSubstr("secret")));
  EXPECT_THAT(Msg(info.status()), HasSubstr("percent-encode"));
}

// ---------------------------------------------------------------------------
// NeonEndpointId
// ---------------------------------------------------------------------------

TEST(NeonEndpointIdTest, PlainAwsHost) {
  EXPECT_EQ(NeonEndpointId("ep-cool-darkness-123456.us-east-2.aws.neon.tech", ""),
            "ep-cool-darkness-123456");
}

TEST(NeonEndpointIdTest, PoolerSuffixStripped) {
  EXPECT_EQ(NeonEndpointId("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", ""),
            "ep-cool-darkness-123456");
}

TEST(NeonEndpointIdTest, CellHosts) {
  EXPECT_EQ(NeonEndpointId("ep-cool-darkness-123456.c-2.us-east-2.aws.neon.tech", ""),
            "ep-cool-darkness-123456");
  EXPECT_EQ(NeonEndpointId("ep-cool-darkness-123456-pooler.c-2.us-east-2.aws.neon.tech", ""),
            "ep-cool-darkness-123456");
}

TEST(NeonEndpointIdTest, AzureHost) {
  EXPECT_EQ(NeonEndpointId("ep-quiet-river-a1b2c3d4.eastus2.azure.neon.tech", ""),
            "ep-quiet-river-a1b2c3d4");
  EXPECT_EQ(NeonEndpointId("ep-quiet-river-a1b2c3d4-pooler.eastus2.azure.neon.tech", ""),
            "ep-quiet-river-a1b2c3d4");
}

TEST(NeonEndpointIdTest, MultiHostUsesFirst) {
  EXPECT_EQ(NeonEndpointId("ep-first-111111.us-east-2.aws.neon.tech,"
                           "ep-second-222222.us-east-2.aws.neon.tech",
                           ""),
            "ep-first-111111");
}

TEST(NeonEndpointIdTest, NonNeonHostsGiveEmpty) {
  for (const char* host : {
           "",
           "localhost",
           "127.0.0.1",
           "::1",
           "/tmp",
           "db.example.com",
           "ep-cool-darkness-123456",              // no domain at all
           "ep-cool-darkness-123456.example.com",  // ep- label, other domain
           "ep-cool-darkness-123456.neon.tech.evil.example",
           "ep-cool-darkness-123456.notneon.tech",  // not under neon.tech
           "myep-x-1.us-east-2.aws.neon.tech",      // label does not start with ep-
           "console.neon.tech",
       }) {
    EXPECT_EQ(NeonEndpointId(host, ""), "") << host;
  }
}

TEST(NeonEndpointIdTest, OptionsEndpointWinsOverHost) {
  EXPECT_EQ(NeonEndpointId("ep-from-host-111111.us-east-2.aws.neon.tech",
                           "endpoint=ep-from-options-222222"),
            "ep-from-options-222222");
}

TEST(NeonEndpointIdTest, OptionsEndpointWithNonNeonHost) {
  // The SNI workaround: connecting by IP or through a proxy.
  EXPECT_EQ(NeonEndpointId("203.0.113.7", "endpoint=ep-cool-darkness-123456"),
            "ep-cool-darkness-123456");
  EXPECT_EQ(NeonEndpointId("", "endpoint=ep-cool-darkness-123456"), "ep-cool-darkness-123456");
}

TEST(NeonEndpointIdTest, OptionsEndpointAmongOtherSettings) {
  EXPECT_EQ(NeonEndpointId("db.example.com", "-c search_path=app endpoint=ep-abc-123456"),
            "ep-abc-123456");
  EXPECT_EQ(NeonEndpointId("db.example.com", "endpoint=ep-abc-123456 -c statement_timeout=0"),
            "ep-abc-123456");
}

TEST(NeonEndpointIdTest, OptionsWithoutEndpointFallBackToHost) {
  EXPECT_EQ(NeonEndpointId("ep-from-host-111111.us-east-2.aws.neon.tech", "-c search_path=app"),
            "ep-from-host-111111");
  EXPECT_EQ(NeonEndpointId("db.example.com", "-c search_path=app"), "");
  // endpoint= that does not name an ep- endpoint is not an endpoint id.
  EXPECT_EQ(NeonEndpointId("db.example.com", "endpoint=foo"), "");
}

// ---------------------------------------------------------------------------
// RedactedUri
// ---------------------------------------------------------------------------

TEST(RedactedUriTest, MasksPasswordKeepsEverythingElse) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("postgresql://alice:s3cret@db.example.com:6543/appdb?sslmode=require");
  ASSERT_TRUE(info.ok()) << info.status();
  std::string uri = RedactedUri(*info);
  EXPECT_THAT(uri, Not(HasSubstr("s3cret")));
  EXPECT_THAT(uri, HasSubstr("****"));
  EXPECT_EQ(uri, "postgresql://alice:****@db.example.com:6543/appdb?sslmode=require");
}

TEST(RedactedUriTest, NoPasswordNoMask) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("postgresql://alice@db.example.com/appdb");
  ASSERT_TRUE(info.ok()) << info.status();
  std::string uri = RedactedUri(*info);
  EXPECT_EQ(uri, "postgresql://alice@db.example.com/appdb");
}

TEST(RedactedUriTest, HandBuiltInfoWithNastyPasswords) {
  for (const char* pw : {"p@ss", "pa:ss", "p%40ss", "pa ss", "pa'ss", "pa\"ss", "pa/ss?x#y&z=1"}) {
    ConnInfo info;
    info.user = "alice";
    info.password = pw;
    info.host = "db.example.com";
    info.dbname = "app";
    info.params = {
        {"user", "alice"}, {"password", pw}, {"host", "db.example.com"}, {"dbname", "app"}};
    std::string uri = RedactedUri(info);
    EXPECT_THAT(uri, Not(HasSubstr(pw))) << uri;
    EXPECT_THAT(uri, HasSubstr("alice:****@db.example.com")) << uri;
  }
}

TEST(RedactedUriTest, PasswordWithoutUser) {
  ConnInfo info;
  info.password = "hunter2";
  info.host = "h";
  info.params = {{"password", "hunter2"}, {"host", "h"}};
  std::string uri = RedactedUri(info);
  EXPECT_THAT(uri, Not(HasSubstr("hunter2")));
  EXPECT_THAT(uri, HasSubstr("****"));
}

TEST(RedactedUriTest, SslPasswordMasked) {
  absl::StatusOr<ConnInfo> info =
      ParseConnInfo("host=h user=u sslpassword=keyphrase99 sslmode=verify-full");
  ASSERT_TRUE(info.ok()) << info.status();
  std::string uri = RedactedUri(*info);
  EXPECT_THAT(uri, Not(HasSubstr("keyphrase99")));
  EXPECT_THAT(uri, HasSubstr("sslpassword=****"));
  EXPECT_THAT(uri, HasSubstr("sslmode=verify-full"));
}

TEST(RedactedUriTest, Ipv6HostBracketed) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=::1 port=5433 dbname=d");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(RedactedUri(*info), "postgresql://[::1]:5433/d");
}

TEST(RedactedUriTest, SocketDirGoesToQuery) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo("host=/tmp dbname=d port=5444");
  ASSERT_TRUE(info.ok()) << info.status();
  std::string uri = RedactedUri(*info);
  EXPECT_THAT(uri, HasSubstr("host=%2Ftmp"));
  EXPECT_THAT(uri, HasSubstr("port=5444"));
}

// The redacted URI must describe the same address: parse it back and compare.
class RedactedUriRoundTripTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RedactedUriRoundTripTest, ReparsesToSameAddress) {
  absl::StatusOr<ConnInfo> info = ParseConnInfo(GetParam());
  ASSERT_TRUE(info.ok()) << info.status();
  std::string uri = RedactedUri(*info);
  absl::StatusOr<ConnInfo> again = ParseConnInfo(uri);
  ASSERT_TRUE(again.ok()) << uri << ": " << again.status();
  EXPECT_TRUE(again->is_uri);
  EXPECT_EQ(again->host, info->host) << uri;
  EXPECT_EQ(again->port, info->port) << uri;
  EXPECT_EQ(again->dbname, info->dbname) << uri;
  EXPECT_EQ(again->user, info->user) << uri;
  EXPECT_EQ(again->options, info->options) << uri;
  EXPECT_EQ(again->neon_endpoint_id, info->neon_endpoint_id) << uri;
  if (!info->password.empty()) {
    EXPECT_EQ(again->password, "****") << uri;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Forms, RedactedUriRoundTripTest,
    ::testing::Values(
        "postgresql://alice:s3cret@db.example.com:6543/appdb?sslmode=require",
        "postgresql://al%20ice:pw@db.example.com/my%2Fdb",
        "host=db.example.com port=5432 dbname='my db' user='a b' password=x",
        "postgresql://u@[::1]:5433/d", "host=/var/run/postgresql dbname=d",
        "postgresql://u:pw@10.1.2.3/neondb?options=endpoint%3Dep-cool-darkness-123456",
        "host=h options='-c search_path=app,public'",
        "postgresql://ep-cool-darkness-123456-pooler.c-2.us-east-2.aws.neon.tech/neondb",
        "postgresql://h1.example.com,h2.example.com/appdb",
        "host=h1.example.com,h2.example.com port=5432",
        // One port per host.
        "postgresql://h1.example.com:5432,h2.example.com:5433/appdb",
        "host=h1.example.com,h2.example.com port=5432,5433 dbname=appdb"));

// ---------------------------------------------------------------------------
// RedactConnectionString
// ---------------------------------------------------------------------------

struct SecretCase {
  std::string conn;
  // Pieces of the password that must not appear in the output (each piece
  // on its own, so that a partly masked password also fails).
  std::vector<std::string> fragments;
};

void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.conn; }

class RedactValidTest : public ::testing::TestWithParam<SecretCase> {};

TEST_P(RedactValidTest, NoPasswordInOutput) {
  const SecretCase& c = GetParam();
  ASSERT_TRUE(ParseConnInfo(c.conn).ok()) << "test case must be valid: " << c.conn;
  std::string out = RedactConnectionString(c.conn);
  for (const std::string& f : c.fragments) EXPECT_THAT(out, Not(HasSubstr(f))) << out;
  EXPECT_THAT(out, HasSubstr("****")) << out;
}

INSTANTIATE_TEST_SUITE_P(
    Passwords, RedactValidTest,
    ::testing::Values(
        SecretCase{"postgresql://alice:hunter2@db.example.com/app", {"hunter2"}},
        SecretCase{"postgresql://alice:hun%40ter2@db.example.com/app", {"hun", "ter2", "%40"}},
        SecretCase{"postgresql://alice:hun:ter2@db.example.com/app", {"hun:", "ter2"}},
        SecretCase{"postgresql://alice:hun%20ter2@db.example.com/app", {"hun", "ter2"}},
        SecretCase{"postgresql://alice:hun%27ter2%22x@db.example.com/app", {"hun", "ter2"}},
        SecretCase{"postgresql://alice:hunter2@db.example.com/app?sslmode=require&"
                   "application_name=web",
                   {"hunter2"}},
        SecretCase{"postgresql://:hunter2@db.example.com/app", {"hunter2"}},
        SecretCase{"host=db.example.com user=alice password=hunter2", {"hunter2"}},
        SecretCase{"host=db.example.com user=alice password='hun ter2'", {"hun", "ter2"}},
        SecretCase{"host=db.example.com user=alice password='hun@ter2'", {"hun", "ter2"}},
        SecretCase{"host=db.example.com user=alice password=hun:ter2", {"hun", "ter2"}},
        SecretCase{R"(host=db.example.com user=alice password='hun\'ter"2')", {"hun", "ter"}},
        SecretCase{"host=db.example.com user=alice password=hun%40ter2", {"hun", "ter2"}},
        SecretCase{"password=hunter2", {"hunter2"}},
        SecretCase{"host=h sslpassword=hunter2", {"hunter2"}}));

// A raw '@' or '/' inside a URI password is a common mistake (it should be
// percent-encoded). libpq then reads part of the password as the host or
// database; the redacted form must still not show it.
TEST(RedactConnectionStringTest, UnencodedAtInUriPasswordNotShown) {
  std::string out = RedactConnectionString("postgresql://alice:hunter@xyzzy42@db.example.com/app");
  EXPECT_THAT(out, Not(HasSubstr("hunter"))) << out;
  EXPECT_THAT(out, Not(HasSubstr("xyzzy42"))) << out;
}

TEST(RedactConnectionStringTest, UnencodedSlashInUriPasswordNotShown) {
  std::string out = RedactConnectionString("postgresql://alice:hunter/xyzzy42@db.example.com/app");
  EXPECT_THAT(out, Not(HasSubstr("hunter"))) << out;
  EXPECT_THAT(out, Not(HasSubstr("xyzzy42"))) << out;
}

class RedactInvalidTest : public ::testing::TestWithParam<SecretCase> {};

TEST_P(RedactInvalidTest, NoPasswordInOutput) {
  const SecretCase& c = GetParam();
  ASSERT_FALSE(ParseConnInfo(c.conn).ok()) << "test case must be invalid: " << c.conn;
  std::string out = RedactConnectionString(c.conn);
  for (const std::string& f : c.fragments) EXPECT_THAT(out, Not(HasSubstr(f))) << out;
  // The error of ParseConnInfo shows the string redacted the same way.
  std::string err = Msg(ParseConnInfo(c.conn).status());
  for (const std::string& f : c.fragments) EXPECT_THAT(err, Not(HasSubstr(f))) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Passwords, RedactInvalidTest,
    ::testing::Values(
        SecretCase{"postgresql://alice:hunter2@db.example.com/app?bogus=1", {"hunter2"}},
        SecretCase{"postgresql://alice:hun%40ter2@db.example.com/app?bogus=1", {"hun", "ter2"}},
        SecretCase{"postgresql://alice:hun:ter2@db.example.com/app?bogus=1", {"hun:", "ter2"}},
        SecretCase{"postgresql://alice:hun@ter2@db.example.com/app?bogus=1", {"hun@", "ter2"}},
        SecretCase{"postgresql://alice:hunter2@[::1/app", {"hunter2"}},
        SecretCase{"host=h user=alice password=hunter2 junk", {"hunter2"}},
        SecretCase{"host=h user=alice password = hunter2 junk", {"hunter2"}},
        SecretCase{"host=h user=alice password='hun ter2' junk", {"hun", "ter2"}},
        SecretCase{"host=h user=alice password='hunter2", {"hunter2"}},
        SecretCase{"host=h user=alice password=hun@ter2 junk", {"hun", "ter2"}},
        SecretCase{"host=h user=alice password=hun:ter2 junk", {"hun", "ter2"}},
        // Unquoted passwords containing characters that end a token in
        // free text.
        SecretCase{"host=h user=alice password=hun\"ter2 junk", {"hun", "ter2"}},
        SecretCase{"host=h user=alice password=hun,ter2 junk", {"hun", "ter2"}},
        SecretCase{R"(host=h user=alice password=hun\ ter2 junk)", {"hun", "ter2"}},
        // Invalid URIs whose password holds a space or a quote.
        SecretCase{"postgresql://alice:hun ter2@db.example.com/app?bogus=1", {"hun", "ter2"}},
        SecretCase{"postgresql://alice:hun'ter2@db.example.com/app?bogus=1", {"hun", "ter2"}}));

TEST(RedactConnectionStringTest, ValidStringsMatchRedactedUriOfParse) {
  for (const char* conn : {
           "postgresql://alice:pw@db.example.com:6543/appdb?sslmode=require",
           "host=db.example.com dbname=appdb user=alice password=pw",
           "host=/tmp dbname=d",
           "postgresql://u@[::1]:5433/d",
           "host=h options='endpoint=ep-abc-123456'",
           "hostaddr=127.0.0.1 port=5432 dbname=d",
       }) {
    absl::StatusOr<ConnInfo> info = ParseConnInfo(conn);
    ASSERT_TRUE(info.ok()) << conn;
    EXPECT_EQ(RedactConnectionString(conn), RedactedUri(*info)) << conn;
  }
}

TEST(RedactConnectionStringTest, InvalidWithoutSecretsUnchanged) {
  EXPECT_EQ(RedactConnectionString("not a connection string"), "not a connection string");
}

// ---------------------------------------------------------------------------
// ScrubSecrets
// ---------------------------------------------------------------------------

TEST(ScrubSecretsTest, UriInLogLine) {
  EXPECT_EQ(ScrubSecrets("connecting to postgresql://alice:hunter2@db.example.com/app failed"),
            "connecting to postgresql://alice:****@db.example.com/app failed");
}

// Found by fuzz_conninfo (corpus: leak_keyword_in_quoted_user): a user
// name holding an escaped quote and "password=" made the scan read
// "' password='" as the password and show the real one after it.
TEST(ScrubSecretsTest, QuotedValueCannotPoseAsPasswordKeyword) {
  EXPECT_EQ(ScrubSecrets(R"(host=h user='a\'olapassword=' password='s3cret' dbname=d)"),
            R"(host=h user='a\'olapassword=' password=**** dbname=d)");
  EXPECT_EQ(ScrubSecrets(R"(user='x\' password=' password='s3cret')"),
            R"(user='x\' password=' password=****)");
  // A dbname may itself be a connection string: its password is masked.
  EXPECT_EQ(ScrubSecrets("dbname='postgresql://u:s3cret@h/db' user=u"),
            "dbname='postgresql://u:****@h/db' user=u");
}

TEST(ScrubSecretsTest, UriAtEndOfText) {
  EXPECT_EQ(ScrubSecrets("url=postgres://alice:hunter2@h"), "url=postgres://alice:****@h");
}

TEST(ScrubSecretsTest, UriPasswordWithRawAtAndColon) {
  std::string out = ScrubSecrets("postgresql://alice:hun@t:er2@db.example.com:5432/app");
  EXPECT_EQ(out, "postgresql://alice:****@db.example.com:5432/app");
}

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_raw_hash_password):
// libpq reads a raw '#' or '?' before the '@' as part of the password, but
// the scrubber took either for the end of the authority and masked nothing.
TEST(ScrubSecretsTest, UriPasswordWithRawHashOrQuestionMark) {
  EXPECT_EQ(ScrubSecrets("connecting to postgresql://u:pa#ss@h/d failed"),
            "connecting to postgresql://u:****@h/d failed");
  EXPECT_EQ(ScrubSecrets("postgresql://u:pa?ss@h/d?sslmode=require"),
            "postgresql://u:****@h/d?sslmode=require");
  EXPECT_EQ(ScrubSecrets("postgresql://u:x#y?z@h"), "postgresql://u:****@h");
}

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_raw_scheme_in_password):
// "://" inside a raw password was taken for the start of the next URI.
TEST(ScrubSecretsTest, UriPasswordHoldingSchemeSeparator) {
  EXPECT_EQ(ScrubSecrets("postgresql://u:a://b@h/d"), "postgresql://u:****@h/d");
  EXPECT_EQ(RedactConnectionString("postgresql://u:a://b%zz@h/d"), "postgresql://u:****@h/d");
}

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_raw_newline_in_password):
// ScrubSecrets works line by line, but a connection string is one string.
TEST(RedactConnectionStringTest, InvalidUriWithLineBreakInPassword) {
  std::string out = RedactConnectionString("postgresql://u:sec\nret%zz@h/d");
  EXPECT_THAT(out, Not(HasSubstr("sec"))) << out;
  EXPECT_THAT(out, Not(HasSubstr("ret"))) << out;
}

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_vtab_before_value):
// libpq skips tabs, \v and \f after "password=", the scrubber only spaces,
// so it saw an empty value and kept the real one.
TEST(ScrubSecretsTest, PasswordKeyValueAfterOtherWhiteSpace) {
  EXPECT_EQ(ScrubSecrets("host=h password=\v\vsecret user=u"), "host=h password=\v\v**** user=u");
  EXPECT_EQ(ScrubSecrets("host=h password\t=\tsecret"), "host=h password\t=\t****");
}

// Found by fuzz_conninfo (tests/fuzz/fuzz_conninfo/leak_scheme_in_keyword_user):
// "://" inside a key=value string made the rest look like a URI's userinfo,
// and the password= after it was never looked at.
TEST(ScrubSecretsTest, SchemeSeparatorInKeywordValue) {
  std::string out = ScrubSecrets("host=h user='a://b' password='secret' application_name='c:d@e'");
  EXPECT_THAT(out, Not(HasSubstr("secret"))) << out;
}

TEST(ScrubSecretsTest, SchemeSeparatorInAHostBeforeAPasswordHoldingAt) {
  // Found by fuzz_conninfo: the host's "://" made the text up to the '@'
  // inside the password look like a URI's userinfo, leaving the rest of
  // the password shown.
  const std::string scrubbed = ScrubSecrets(
      "connecting to host='xle /x://rhostx:/' user='al' password='@db.secret\\\\' "
      "dbname='d' failed");
  EXPECT_EQ(scrubbed.find("db.secret"), std::string::npos) << scrubbed;
  EXPECT_NE(scrubbed.find("dbname='d'"), std::string::npos) << scrubbed;
}

TEST(ScrubSecretsTest, SeveralUrisOnOneLine) {
  std::string out =
      ScrubSecrets("copy postgresql://a:first-secret@h1/db to postgresql://b:second-secret@h2/db");
  EXPECT_THAT(out, Not(HasSubstr("first-secret")));
  EXPECT_THAT(out, Not(HasSubstr("second-secret")));
  EXPECT_EQ(out, "copy postgresql://a:****@h1/db to postgresql://b:****@h2/db");
}

TEST(ScrubSecretsTest, QuotedUri) {
  EXPECT_EQ(ScrubSecrets("DB_CONNECTION_STRING=\"postgresql://alice:hunter2@h/db\""),
            "DB_CONNECTION_STRING=\"postgresql://alice:****@h/db\"");
}

TEST(ScrubSecretsTest, HttpsUserinfo) {
  EXPECT_EQ(ScrubSecrets("GET https://bob:tok3n@api.example.com/v2"),
            "GET https://bob:****@api.example.com/v2");
}

TEST(ScrubSecretsTest, PasswordKeyValue) {
  EXPECT_EQ(ScrubSecrets("host=h password=hunter2 user=u"), "host=h password=**** user=u");
}

TEST(ScrubSecretsTest, PasswordKeyValueQuoted) {
  EXPECT_EQ(ScrubSecrets("host=h password='hun ter2' user=u"), "host=h password=**** user=u");
  EXPECT_EQ(ScrubSecrets("host=h password=\"hun ter2\" user=u"), "host=h password=**** user=u");
  std::string out = ScrubSecrets(R"(host=h password='hun\'ter2' user=u)");
  EXPECT_THAT(out, Not(HasSubstr("ter2")));
  EXPECT_THAT(out, HasSubstr("user=u"));
}

TEST(ScrubSecretsTest, PasswordWithSpacesAroundEquals) {
  EXPECT_EQ(ScrubSecrets("password = hunter2"), "password = ****");
}

TEST(ScrubSecretsTest, PasswordInQueryString) {
  EXPECT_EQ(ScrubSecrets("postgresql://h/db?password=hunter2&sslmode=require"),
            "postgresql://h/db?password=****&sslmode=require");
}

TEST(ScrubSecretsTest, PasswordColonForm) {
  EXPECT_EQ(ScrubSecrets("password: hunter2"), "password: ****");
}

TEST(ScrubSecretsTest, PgPasswordVariable) {
  EXPECT_EQ(ScrubSecrets("PGPASSWORD=hunter2 psql -h h"), "PGPASSWORD=**** psql -h h");
  EXPECT_EQ(ScrubSecrets("export PGPASSWORD='hunter2'"), "export PGPASSWORD=****");
}

TEST(ScrubSecretsTest, SslPasswordAndUppercase) {
  EXPECT_EQ(ScrubSecrets("sslpassword=keyphrase"), "sslpassword=****");
  EXPECT_EQ(ScrubSecrets("PASSWORD=hunter2"), "PASSWORD=****");
}

TEST(ScrubSecretsTest, NeonApiKey) {
  std::string out = ScrubSecrets("using key napi_abcdefghij0123456789 for project x");
  EXPECT_THAT(out, Not(HasSubstr("abcdefghij0123456789")));
  EXPECT_THAT(out, HasSubstr("using key "));
  EXPECT_THAT(out, HasSubstr(" for project x"));
}

TEST(ScrubSecretsTest, NeonApiKeyInJson) {
  std::string out = ScrubSecrets(R"({"key":"napi_abcdefghij0123456789","ok":true})");
  EXPECT_THAT(out, Not(HasSubstr("abcdefghij0123456789")));
  EXPECT_THAT(out, HasSubstr(R"("ok":true)"));
}

TEST(ScrubSecretsTest, StripeAndGitHubKeys) {
  EXPECT_EQ(ScrubSecrets("key sk_live_51Habc, then rk_test_9x"), "key ****, then ****");
  EXPECT_EQ(ScrubSecrets(R"({"token":"ghp_0123456789abcdef"})"), R"({"token":"****"})");
  EXPECT_EQ(ScrubSecrets("github_pat_11ABC_def"), "****");
  EXPECT_EQ(ScrubSecrets("mask_test_data and task_sk_test_x"), "mask_test_data and task_sk_test_x")
      << "only at a word's start";
}

TEST(ScrubSecretsTest, BearerToken) {
  EXPECT_EQ(ScrubSecrets("Authorization: Bearer eyJhbGciOi.payload.sig"),
            "Authorization: Bearer ****");
  EXPECT_EQ(ScrubSecrets("authorization: bearer abc123 extra"), "authorization: bearer **** extra");
}

TEST(ScrubSecretsTest, InnocentTextUnchanged) {
  for (const char* text : {
           "",
           "no secrets here",
           "password authentication failed for user \"alice\"",
           "FATAL:  password authentication failed for user x",
           "connect to postgresql://alice@db.example.com:5432/app",
           "postgresql:///app?host=/tmp",
           "see https://neon.tech/docs/connect/connection-errors",
           "https://console.neon.tech/app/projects/foo-bar-123",
           "the password is required",
           "key=value other=thing",
           "endpoint=ep-cool-darkness-123456",
           // A URI with a user but no password, then more text with an '@'.
           "connect to postgresql://alice@db.example.com:5432/app failed; owner bob@example.com",
           "restored postgresql://u@h:5432/db at 12:00 for phil@example.com",
       }) {
    EXPECT_EQ(ScrubSecrets(text), text) << text;
  }
}

TEST(ScrubSecretsTest, TextAfterMaskedUriKept) {
  EXPECT_EQ(ScrubSecrets("copy postgresql://a:s3cret@h1/db to bob@example.com"),
            "copy postgresql://a:****@h1/db to bob@example.com");
}

TEST(ScrubSecretsTest, PasswordValueAfterSpaceIsMasked) {
  // libpq reads "password= x" as password "x", so the value is masked.
  EXPECT_EQ(ScrubSecrets("password= hunter2"), "password= ****");
}

}  // namespace
}  // namespace ds::common

namespace ds::common {
namespace {

TEST(ScrubSecretsTest, SqlRolePasswordsInMigrationText) {
  // A failing migration's statement is shown and recorded: a role's
  // password in it must not be.
  EXPECT_EQ(ScrubSecrets("CREATE ROLE app WITH LOGIN PASSWORD 'hunter2';"),
            "CREATE ROLE app WITH LOGIN PASSWORD '****';");
  EXPECT_EQ(ScrubSecrets("alter role app encrypted password\n  'it''s secret' valid until 'x'"),
            "alter role app encrypted password\n  '****' valid until 'x'");
  EXPECT_EQ(ScrubSecrets("ALTER ROLE app PASSWORD NULL"), "ALTER ROLE app PASSWORD NULL");
  EXPECT_EQ(ScrubSecrets("SELECT password_hash FROM users"), "SELECT password_hash FROM users");
}

}  // namespace
}  // namespace ds::common
