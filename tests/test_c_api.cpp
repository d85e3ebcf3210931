// The C ABI's own contract, below the Python package: hostile option JSON, integers that C
// would wrap, bounded thread counts and error messages, contexts whose thread counts stay their
// own, parameters checked by shape, and the seed meaning what `score` means by it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "micronas/graph.hpp"
#include "micronas/micronas.h"
#include "micronas/network.hpp"
#include "micronas/random.hpp"
#include "micronas/score.hpp"

namespace {

const char* kCell =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "nor_conv_3x3~2|";

struct Context {
  micronas_context* handle = nullptr;
  explicit Context(int threads) {
    EXPECT_EQ(micronas_context_create("cpu", threads, 0, &handle), MICRONAS_OK)
        << micronas_last_error();
  }
  ~Context() { micronas_context_destroy(handle); }
  std::string describe() const {
    char* text = nullptr;
    EXPECT_EQ(micronas_context_describe(handle, &text), MICRONAS_OK);
    std::string s = text;
    micronas_free(text);
    return s;
  }
};

// The JSON a call returned, or null (the error is micronas_last_error()).
nlohmann::json score(const Context& c, const std::string& options, micronas_status* status) {
  char* out = nullptr;
  *status = micronas_score(c.handle, kCell, options.c_str(), &out);
  if (*status != MICRONAS_OK) return nullptr;
  nlohmann::json j = nlohmann::json::parse(out);
  micronas_free(out);
  return j;
}

TEST(CApi, DeeplyNestedOptionsAreRefusedWithoutRecursingIntoThem) {
  Context c(1);
  const std::size_t depth = 100000;
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  micronas_status status;
  score(c, nested, &status);
  EXPECT_EQ(status, MICRONAS_PARSE_ERROR);
  EXPECT_NE(std::string(micronas_last_error()).find("got a JSON array"), std::string::npos)
      << micronas_last_error();
  score(c, "{\"seed\": " + nested + "}", &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT);
  EXPECT_LT(std::string(micronas_last_error()).size(), 200u) << "the value is not echoed";
}

TEST(CApi, IntegersOutsideTheirTypeAreRefusedNotWrapped) {
  Context c(1);
  micronas_status status;
  score(c, R"({"batch": 4294967300, "repeat": 1})", &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(micronas_last_error()).find("'batch' must be an integer in"),
            std::string::npos)
      << micronas_last_error();
  score(c, R"({"seed": -1})", &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT);
  score(c, R"({"batch": 50000, "repeat": 1})", &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT) << "a batch whose Gram alone takes 20 GB";
  score(c, R"({"batch": 8, "repeat": 1, "lr_samples": 8, "lr_batches": 1})", &status);
  EXPECT_EQ(status, MICRONAS_OK) << micronas_last_error();
}

TEST(CApi, ThreadCountsAreBoundedAndStayWithTheirContext) {
  micronas_context* handle = nullptr;
  EXPECT_EQ(micronas_context_create("cpu", 100000, 0, &handle), MICRONAS_INVALID_ARGUMENT);
  EXPECT_EQ(handle, nullptr);
  EXPECT_EQ(micronas_context_create("cpu", -1, 0, &handle), MICRONAS_INVALID_ARGUMENT);

  Context by_default(0);
  const std::string described = by_default.describe();
  micronas_status status;
  const nlohmann::json before = score(by_default, R"({"batch": 8, "repeat": 1})", &status);
  ASSERT_EQ(status, MICRONAS_OK) << micronas_last_error();
  {
    Context one(1);
    const nlohmann::json r = score(one, R"({"batch": 8, "repeat": 1})", &status);
    ASSERT_EQ(status, MICRONAS_OK) << micronas_last_error();
    EXPECT_EQ(r["threads"], 1);
  }
  EXPECT_EQ(by_default.describe(), described);
  const nlohmann::json after = score(by_default, R"({"batch": 8, "repeat": 1})", &status);
  ASSERT_EQ(status, MICRONAS_OK) << micronas_last_error();
  EXPECT_EQ(after["threads"], before["threads"]) << "the other context's count did not leak";
}

TEST(CApi, ErrorMessagesAreBounded) {
  const std::string arch = "|" + std::string(1 << 20, 'x') + "~0|";
  char* out = nullptr;
  EXPECT_EQ(micronas_arch_canonical(arch.c_str(), &out), MICRONAS_PARSE_ERROR);
  const std::string error = micronas_last_error();
  EXPECT_LT(error.size(), 2100u);
  EXPECT_NE(error.find("bytes in all"), std::string::npos) << error.substr(0, 200);
}

TEST(CApi, ParametersAreCheckedByShapeAndTheSeedDrawsWhatScoreDraws) {
  using namespace micronas;
  Context c(1);
  Network<float> net(build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kCell)));
  net.initialize(InitMode::kPyTorchDefault, score_init_seed(5, /*ntk=*/true, -1));
  const Graph& g = net.graph();
  std::vector<micronas_tensor> tensors;
  nlohmann::json shapes = nlohmann::json::object();
  for (const Parameter& p : g.params) {
    tensors.push_back({p.name.c_str(), net.params() + p.offset, p.size});
    shapes[p.name] = p.shape;
  }
  std::vector<float> x(8 * 3 * 32 * 32);
  Rng rng(3);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1.0, 1.0));

  auto kappa = [&](const std::string& options, const micronas_tensor* params, int count,
                   micronas_status* status) {
    char* out = nullptr;
    *status = micronas_ntk_condition(c.handle, kCell, options.c_str(), x.data(), 8, 3, 32, 32,
                                     params, count, &out);
    if (*status != MICRONAS_OK) return nlohmann::json();
    nlohmann::json j = nlohmann::json::parse(out);
    micronas_free(out);
    return j;
  };
  micronas_status status;
  const nlohmann::json given = kappa(nlohmann::json{{"param_shapes", shapes}}.dump(),
                                     tensors.data(), static_cast<int>(tensors.size()), &status);
  ASSERT_EQ(status, MICRONAS_OK) << micronas_last_error();
  const nlohmann::json drawn = kappa(R"({"seed": 5})", nullptr, 0, &status);
  ASSERT_EQ(status, MICRONAS_OK) << micronas_last_error();
  EXPECT_EQ(drawn["ntk_condition"], given["ntk_condition"]);
  EXPECT_EQ(drawn["eigenvalues"], given["eigenvalues"]);

  // A weight stated as [cout, cin·k·k] has the right size and the wrong shape.
  const std::string name = g.params[0].name;
  nlohmann::json flat = shapes;
  flat[name] = {g.params[0].shape[0], g.params[0].size / g.params[0].shape[0]};
  kappa(nlohmann::json{{"param_shapes", flat}}.dump(), tensors.data(),
        static_cast<int>(tensors.size()), &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(micronas_last_error()).find("'" + name + "' has shape"), std::string::npos)
      << micronas_last_error();
  kappa(R"({"param_shapes": {"bogus": [1]}})", nullptr, 0, &status);
  EXPECT_EQ(status, MICRONAS_INVALID_ARGUMENT);
}

}  // namespace
