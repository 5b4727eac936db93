#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"
#include "daemon/external/stripe_step.h"
#include "daemon/http/scripted_transport.h"
#include "daemon/jobs/recording_job_context.h"

namespace ds::daemon::external {
namespace {

ExternalStepPlan ConfiguredStripePlan() {
  ExternalStepPlan p;
  p.configured = true;
  return p;
}

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(DS_EXTERNAL_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Stripe's own fixtures (testdata/README.md): the parser reads the real shapes.
TEST(StripeParseTest, StripesPublishedFixtures) {
  absl::StatusOr<StripeProduct> product =
      ParseStripeProduct(ReadTestdata("stripe_fixture_product.json"));
  ASSERT_TRUE(product.ok()) << product.status();
  EXPECT_EQ(product->id, "prod_NZbFOV0OmNHxwl");
  EXPECT_EQ(product->name, "T-shirt");
  EXPECT_TRUE(product->active);
  EXPECT_TRUE(product->metadata.empty());
  absl::StatusOr<StripePrice> price = ParseStripePrice(ReadTestdata("stripe_fixture_price.json"));
  ASSERT_TRUE(price.ok()) << price.status();
  EXPECT_EQ(price->id, "price_1MoS37LgUG5tbmjcCA3GTNX8");
  EXPECT_EQ(price->product, "prod_NZbFOV0OmNHxwl");
  EXPECT_EQ(price->currency, "usd");
  EXPECT_EQ(price->unit_amount, 2000);
  EXPECT_EQ(price->interval, "month");
}

TEST(StripeParseTest, MissingIdOrWrongTypesAreErrors) {
  EXPECT_FALSE(ParseStripeProduct(R"({"name":"x"})").ok());
  EXPECT_FALSE(ParseStripeProduct(R"({"id":"p","active":"yes"})").ok());
  EXPECT_FALSE(ParseStripePrice(R"({"id":"price_1","currency":"usd","unit_amount":"2000"})").ok());
  EXPECT_FALSE(ParseStripePrice(R"({"id":"price_1","currency":"usd","metadata":{"a":1}})").ok());
}

TEST(StripeKeyTest, OnlyTestModeKeys) {
  EXPECT_EQ(*StripeTestKey({{"STRIPE_SECRET_KEY", "sk_test_1"}}), "sk_test_1");
  EXPECT_EQ(*StripeTestKey({{"STRIPE_API_KEY", "rk_test_2"}}), "rk_test_2");
  absl::StatusOr<std::string> live = StripeTestKey({{"STRIPE_SECRET_KEY", "sk_live_abc"}});
  ASSERT_TRUE(absl::IsPermissionDenied(live.status()));
  EXPECT_THAT(live.status().message(), HasSubstr("live-mode"));
  EXPECT_THAT(live.status().message(), Not(HasSubstr("sk_live_abc")));
  EXPECT_TRUE(
      absl::IsInvalidArgument(StripeTestKey({{"STRIPE_SECRET_KEY", "pk_test_x"}}).status()));
  EXPECT_TRUE(absl::IsNotFound(StripeTestKey({}).status()));
}

TEST(StripeFormTest, KeysAndValuesPercentEncoded) {
  EXPECT_EQ(FormEncode({{"name", "Pro & Co"}, {"metadata[tier]", "a=b"}}),
            "name=Pro%20%26%20Co&metadata%5Btier%5D=a%3Db");
}

TEST(SeedFileTest, ParsesTheDocumentedShape) {
  absl::StatusOr<SeedFile> seed = ParseSeedFile(R"({
    "metadata_key": "ds_seed_id",
    "products": [
      {"seed_id": "pro", "name": "Pro", "description": "All of it", "active": true,
       "metadata": {"tier": "pro"},
       "prices": [{"seed_id": "pro-monthly", "currency": "USD", "unit_amount": 2000,
                   "recurring": {"interval": "month", "interval_count": 1}},
                  {"seed_id": "pro-once", "currency": "eur", "unit_amount": 0}]},
      {"seed_id": "free", "name": "Free"}
    ]})",
                                                "seed.json");
  ASSERT_TRUE(seed.ok()) << seed.status();
  EXPECT_EQ(seed->metadata_key, "ds_seed_id");
  ASSERT_EQ(seed->products.size(), 2u);
  EXPECT_EQ(seed->products[0].prices[0].currency, "usd");
  EXPECT_EQ(seed->products[0].prices[0].interval, "month");
  EXPECT_EQ(seed->products[0].metadata.at("tier"), "pro");
  EXPECT_EQ(seed->price_count(), 2u);
}

TEST(SeedFileTest, ErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"products":[]})", "seed.json: 'metadata_key' is required"},
      {R"({"metadata_key":"k"})", "products: is required"},
      {R"({"metadata_key":"k","products":[{"name":"x"}]})", "products[0]: 'seed_id' is required"},
      {R"({"metadata_key":"k","products":[{"seed_id":"a","name":"x","prices":[{"seed_id":"p","currency":"dollars","unit_amount":1}]}]})",
       "products[0].prices[0].currency: must be a 3-letter"},
      {R"({"metadata_key":"k","products":[{"seed_id":"a","name":"x","prices":[{"seed_id":"p","currency":"usd"}]}]})",
       "products[0].prices[0].unit_amount: is required"},
      {R"({"metadata_key":"k","products":[{"seed_id":"a","name":"x","prices":[{"seed_id":"p","currency":"usd","unit_amount":1,"recurring":{"interval":"fortnight"}}]}]})",
       "recurring.interval: must be day, week, month or year"},
      {R"({"metadata_key":"k","products":[{"seed_id":"a","name":"x"},{"seed_id":"a","name":"y"}]})",
       "products[1].seed_id: 'a' is used twice"},
      {R"({"metadata_key":"k","products":[{"seed_id":"a","name":"x","metadata":{"n":1}}]})",
       "products[0].metadata.n: must be a string"},
      {"{not json", "seed.json"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SeedFile> seed = ParseSeedFile(c.json, "seed.json");
    ASSERT_FALSE(seed.ok()) << c.json;
    EXPECT_THAT(seed.status().message(), HasSubstr(c.error)) << c.json;
  }
}

class StripeStepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           StrCat("ds_stripe_", ::getpid(), "_",
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "seed.json") << R"({"metadata_key":"ds_seed_id","products":[
      {"seed_id":"pro","name":"Pro","prices":[{"seed_id":"pro-m","currency":"usd","unit_amount":2000,
        "recurring":{"interval":"month"}}]},
      {"seed_id":"free","name":"Free"}]})";
    http::ClientOptions client = StripeClientOptions();
    client.clock = &clock_;
    client.pacing = {};
    step_ = std::make_unique<StripeProductsStep>(
        StripeStepOptions{[this] { return transport_; }, client});
    std::vector<common::ConfigLayer> layers = {
        common::DefaultsLayer(), *common::FlagLayer({{"stripe_seed_file", "seed.json"}})};
    config_ = common::Config::Build(layers);
    input_.config = &config_;
    input_.workspace_dir = dir_.string();
    input_.credentials = {{"STRIPE_SECRET_KEY", "sk_test_abc"},
                          {"STRIPE_API_BASE", "http://stripe.test/"}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string List(std::string items, bool more = false) {
    return StrCat(R"({"object":"list","data":[)", items, R"(],"has_more":)", more, "}");
  }
  std::string Header(const http::HttpRequest& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  std::filesystem::path dir_;
  http::ManualClock clock_;
  std::shared_ptr<http::ScriptedTransport> transport_ = std::make_shared<http::ScriptedTransport>();
  std::unique_ptr<StripeProductsStep> step_;
  common::Config config_;
  ExternalStepInput input_;
  RecordingJobContext job_;
};

TEST_F(StripeStepTest, UnsetSeedFileIsSkipped) {
  std::vector<common::ConfigLayer> layers = {common::DefaultsLayer()};
  config_ = common::Config::Build(layers);
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(input_);
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->configured);
  EXPECT_THAT(plan->skip_reason, HasSubstr("stripe_seed_file"));
}

TEST_F(StripeStepTest, ALiveKeyIsRefusedBeforeAnyRequest) {
  input_.credentials["STRIPE_SECRET_KEY"] = "sk_live_123";
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(input_);
  ASSERT_TRUE(absl::IsPermissionDenied(plan.status())) << plan.status();
  EXPECT_TRUE(absl::IsPermissionDenied(step_->Run(input_, ConfiguredStripePlan(), job_)));
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(StripeStepTest, PlanReadsTheSeedAndSendsNothing) {
  absl::StatusOr<ExternalStepPlan> plan = step_->Plan(input_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->summary, HasSubstr("2 products and 1 prices"));
  EXPECT_TRUE(transport_->requests().empty());
}

TEST_F(StripeStepTest, CreatesWhatIsMissingWithIdempotencyKeys) {
  // "free" exists already (found by its metadata); "pro" and its price do not.
  transport_->Add(200, List(R"({"id":"prod_other","name":"Theirs","metadata":{}},
                              {"id":"prod_free","name":"Free","metadata":{"ds_seed_id":"free"}})"));
  transport_->Add(200, List(""));
  transport_->Add(
      200, R"({"id":"prod_pro","object":"product","name":"Pro","metadata":{"ds_seed_id":"pro"}})");
  transport_->Add(
      200,
      R"({"id":"price_1","object":"price","product":"prod_pro","currency":"usd","unit_amount":2000,"metadata":{"ds_seed_id":"pro-m"}})");
  absl::Status s = step_->Run(input_, ConfiguredStripePlan(), job_);
  ASSERT_TRUE(s.ok()) << s;
  std::vector<http::HttpRequest> sent = transport_->requests();
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[0].url, "http://stripe.test/v1/products?limit=100");
  EXPECT_EQ(sent[1].url, "http://stripe.test/v1/prices?limit=100");
  EXPECT_EQ(Header(sent[0], "Authorization"), "Bearer sk_test_abc");
  EXPECT_EQ(sent[2].method, "POST");
  EXPECT_EQ(sent[2].body, "name=Pro&metadata%5Bds_seed_id%5D=pro");
  EXPECT_EQ(Header(sent[2], "Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_THAT(Header(sent[2], "Idempotency-Key"), HasSubstr("ds-seed-"));
  EXPECT_NE(Header(sent[2], "Idempotency-Key"), Header(sent[3], "Idempotency-Key"));
  EXPECT_EQ(sent[3].body,
            "product=prod_pro&currency=usd&unit_amount=2000&recurring%5Binterval%5D=month&"
            "metadata%5Bds_seed_id%5D=pro-m");
  EXPECT_THAT(job_.lines(), Contains(HasSubstr("created 1 products and 1 prices")));
}

TEST_F(StripeStepTest, ASecondRunOnlyLists) {
  transport_->Add(200, List(R"({"id":"prod_a","metadata":{"ds_seed_id":"pro"}})", true));
  transport_->Add(200, List(R"({"id":"prod_b","metadata":{"ds_seed_id":"free"}})"));
  transport_->Add(200,
                  List(R"({"id":"price_1","currency":"usd","metadata":{"ds_seed_id":"pro-m"}})"));
  ASSERT_TRUE(step_->Run(input_, ConfiguredStripePlan(), job_).ok());
  std::vector<http::HttpRequest> sent = transport_->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[1].url, "http://stripe.test/v1/products?limit=100&starting_after=prod_a");
  for (const auto& r : sent) EXPECT_EQ(r.method, "GET");
  EXPECT_THAT(job_.lines(), Contains(HasSubstr("created 0 products and 0 prices")));
}

TEST_F(StripeStepTest, ARetriedCreateKeepsItsIdempotencyKey) {
  transport_->Add(200, List(R"({"id":"prod_b","metadata":{"ds_seed_id":"free"}})"));
  transport_->Add(200,
                  List(R"({"id":"price_1","currency":"usd","metadata":{"ds_seed_id":"pro-m"}})"));
  transport_->AddError(absl::UnavailableError("connection reset"));
  transport_->Add(429, R"({"error":{"message":"rate"}})");
  transport_->Add(200, R"({"id":"prod_pro","metadata":{"ds_seed_id":"pro"}})");
  ASSERT_TRUE(step_->Run(input_, ConfiguredStripePlan(), job_).ok());
  std::vector<http::HttpRequest> sent = transport_->requests();
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_EQ(Header(sent[2], "Idempotency-Key"), Header(sent[4], "Idempotency-Key"));
}

TEST_F(StripeStepTest, ARefusedKeyIsReportedNamingTheVariable) {
  transport_->Add(
      401,
      R"({"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***abc"}})");
  absl::Status s = step_->Run(input_, ConfiguredStripePlan(), job_);
  ASSERT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("STRIPE_SECRET_KEY"));
  EXPECT_EQ(transport_->requests().size(), 1u);
}

}  // namespace
}  // namespace ds::daemon::external
