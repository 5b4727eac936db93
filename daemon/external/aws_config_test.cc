#include "daemon/external/aws_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ds::daemon::external {
namespace {

using ::testing::HasSubstr;

class AwsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() /
            ("ds_aws_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(home_ / ".aws");
  }
  void TearDown() override { std::filesystem::remove_all(home_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(home_ / ".aws" / name) << text;
  }
  common::Config ConfigWith(const std::map<std::string, std::string>& flags) {
    std::vector<common::ConfigLayer> layers = {common::DefaultsLayer(), *common::FlagLayer(flags)};
    return common::Config::Build(layers);
  }
  std::filesystem::path home_;
};

TEST_F(AwsConfigTest, EnvironmentVariablesComeFirst) {
  Write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = f\n");
  absl::StatusOr<AwsCredentials> c = FindAwsCredentials({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                                         {"AWS_SECRET_ACCESS_KEY", "s"},
                                                         {"AWS_SESSION_TOKEN", "tok"}},
                                                        home_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->source, "AWS_ACCESS_KEY_ID");
}

TEST_F(AwsConfigTest, HalfSetEnvironmentNamesTheMissingVariable) {
  absl::StatusOr<AwsCredentials> c = FindAwsCredentials({{"AWS_ACCESS_KEY_ID", "AKIA"}}, home_);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("AWS_SECRET_ACCESS_KEY is not"));
}

TEST_F(AwsConfigTest, SharedCredentialsFileAtTheProfile) {
  Write("credentials",
        "# comment\n[default]\naws_access_key_id=DEF\naws_secret_access_key=d\n\n"
        "[dev]\n aws_access_key_id = DEVKEY \naws_secret_access_key = dev/secret+x\n"
        "aws_session_token = st\n");
  absl::StatusOr<AwsCredentials> c = FindAwsCredentials({{"AWS_PROFILE", "dev"}}, home_);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_key_id, "DEVKEY");
  EXPECT_EQ(c->secret_access_key, "dev/secret+x");
  EXPECT_EQ(c->session_token, "st");
  EXPECT_THAT(c->source, HasSubstr("[dev]"));
  c = FindAwsCredentials({}, home_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "DEF");
}

TEST_F(AwsConfigTest, NothingFoundSaysWhereItLooked) {
  absl::StatusOr<AwsCredentials> c = FindAwsCredentials({{"AWS_PROFILE", "nope"}}, home_);
  ASSERT_TRUE(absl::IsNotFound(c.status()));
  EXPECT_THAT(c.status().message(), HasSubstr("AWS_ACCESS_KEY_ID"));
  EXPECT_THAT(c.status().message(), HasSubstr("[nope]"));
}

TEST_F(AwsConfigTest, RegionFromSettingThenEnvironmentThenProfile) {
  Write("config", "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\n");
  EXPECT_EQ(*FindAwsRegion(ConfigWith({{"aws_region", "us-west-2"}}), {{"AWS_REGION", "x"}}, home_),
            "us-west-2");
  EXPECT_EQ(*FindAwsRegion(ConfigWith({}), {{"AWS_REGION", "ca-central-1"}}, home_),
            "ca-central-1");
  EXPECT_EQ(*FindAwsRegion(ConfigWith({}), {}, home_), "eu-west-1");
  EXPECT_EQ(*FindAwsRegion(ConfigWith({}), {{"AWS_PROFILE", "dev"}}, home_), "ap-south-1");
  std::filesystem::remove(home_ / ".aws" / "config");
  absl::StatusOr<std::string> none = FindAwsRegion(ConfigWith({}), {}, home_);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().message(), HasSubstr("aws_region"));
}

TEST_F(AwsConfigTest, EndpointOverrides) {
  EXPECT_EQ(AwsEndpoint({}, "COGNITO_IDENTITY_PROVIDER", "cognito-idp", "us-east-1"),
            "https://cognito-idp.us-east-1.amazonaws.com");
  EXPECT_EQ(AwsEndpoint({{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"}},
                        "COGNITO_IDENTITY_PROVIDER", "cognito-idp", "us-east-1"),
            "http://127.0.0.1:5000");
  EXPECT_EQ(AwsEndpoint({{"AWS_ENDPOINT_URL", "http://a"},
                         {"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://b"}},
                        "COGNITO_IDENTITY_PROVIDER", "cognito-idp", "us-east-1"),
            "http://b");
}

}  // namespace
}  // namespace ds::daemon::external
