// Invariances of the network executor: thread count, batched cotangents, parameter sharing,
// initialisation, and clear errors on bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/network.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

const char* kMixed =
    "|nor_conv_3x3/skip_connect~0|+|nor_conv_1x1/avg_pool_3x3~0|none~1|+|"
    "skip_connect/nor_conv_1x1/nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|";

struct Result {
  std::vector<float> logits, dparams, dinput;
};

Result run(Network<float>& net, const std::vector<float>& input, int batch,
           const std::vector<float>& cot, int T) {
  Result r;
  r.logits = net.forward(input.data(), batch);
  r.dparams.resize(T * net.num_params());
  r.dinput.resize(input.size() * T);
  net.backward(cot.data(), T, r.dparams.data(), r.dinput.data());
  return r;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Network, OneThreadEqualsTwoThreadsBitwise) {
  Network<float> net(build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed)));
  net.initialize(InitMode::kPyTorchDefault, 1);
  const int N = 6, T = 6;
  auto input = test::gaussian(N * net.graph().values[0].numel(), 2);
  auto cot = test::gaussian(T * N * 10, 3);
  set_num_threads(1);
  Result one = run(net, input, N, cot, T);
  set_num_threads(2);
  Result two = run(net, input, N, cot, T);
  EXPECT_TRUE(bitwise_equal(one.logits, two.logits));
  EXPECT_TRUE(bitwise_equal(one.dparams, two.dparams));
  EXPECT_TRUE(bitwise_equal(one.dinput, two.dinput));
  double norm = 0;
  for (float g : one.dparams) norm += std::abs(g);
  EXPECT_GT(norm, 0.0);
}

TEST(Network, BatchedCotangentsEqualSeparatePassesBitwise) {
  Network<float> net(build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed)));
  net.initialize(InitMode::kPyTorchDefault, 4);
  const int N = 4, T = 4, classes = 10;
  auto input = test::gaussian(N * net.graph().values[0].numel(), 5);
  auto cot = test::gaussian(T * N * classes, 6);
  Result all = run(net, input, N, cot, T);
  const std::int64_t P = net.num_params(), in = N * net.graph().values[0].numel();
  for (int t = 0; t < T; ++t) {
    std::vector<float> cot_t(cot.begin() + t * N * classes, cot.begin() + (t + 1) * N * classes);
    Result one = run(net, input, N, cot_t, 1);
    EXPECT_TRUE(bitwise_equal(one.dparams, std::vector<float>(all.dparams.begin() + t * P,
                                                              all.dparams.begin() + (t + 1) * P)));
    EXPECT_TRUE(bitwise_equal(one.dinput, std::vector<float>(all.dinput.begin() + t * in,
                                                             all.dinput.begin() + (t + 1) * in)));
  }
}

TEST(Network, SameSeedSameParametersAndSharedNamesShareValues) {
  Graph super = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse("supernet-none"));
  Graph cand = build_graph(NetworkConfig::ntk(Dataset::kCifar10), Arch::parse(kMixed));
  Network<float> a(super), b(super), c(cand), d(cand);
  a.initialize(InitMode::kPyTorchDefault, 11);
  b.initialize(InitMode::kPyTorchDefault, 11);
  EXPECT_EQ(0, std::memcmp(a.params(), b.params(), a.num_params() * sizeof(float)));
  b.initialize(InitMode::kPyTorchDefault, 12);
  EXPECT_NE(0, std::memcmp(a.params(), b.params(), a.num_params() * sizeof(float)));
  // A candidate copies the supernet's values by name; fresh initialisation with the same seed
  // gives the same values too, because every parameter has its own named stream.
  c.copy_parameters_from(a);
  d.initialize(InitMode::kPyTorchDefault, 11);
  EXPECT_EQ(0, std::memcmp(c.params(), d.params(), c.num_params() * sizeof(float)));
  const Parameter& p = c.parameter("cells.0.edges.1<-0.3.op.1.weight");
  EXPECT_EQ(c.params()[p.offset], a.params()[a.parameter(p.name).offset]);
}

TEST(Network, InitialisationFollowsPyTorchDefaultsAndKaiming) {
  Graph g = build_graph(NetworkConfig::nb201(Dataset::kCifar10), Arch::parse("supernet-none"));
  std::vector<double> v(g.num_params);
  initialize_parameters(g, InitMode::kPyTorchDefault, 3, v.data());
  for (const Parameter& p : g.params) {
    double lo = 1e9, hi = -1e9;
    for (std::int64_t i = 0; i < p.size; ++i) {
      lo = std::min(lo, v[p.offset + i]);
      hi = std::max(hi, v[p.offset + i]);
    }
    if (p.role == Parameter::Role::kBatchNormWeight) {
      EXPECT_EQ(lo, 1.0);
      EXPECT_EQ(hi, 1.0);
    } else if (p.role == Parameter::Role::kBatchNormBias) {
      EXPECT_EQ(lo, 0.0);
      EXPECT_EQ(hi, 0.0);
    } else {
      double bound = 1.0 / std::sqrt(p.fan_in);
      EXPECT_GE(lo, -bound) << p.name;
      EXPECT_LE(hi, bound) << p.name;
      if (p.size >= 256) {
        EXPECT_GT(hi - lo, 1.8 * bound) << p.name << " does not fill its range";
      }
    }
  }
  // Kaiming fan_out: the sample variance of a large conv weight is close to 2/fan_out.
  initialize_parameters(g, InitMode::kKaimingFanOut, 3, v.data());
  for (const Parameter& p : g.params) {
    if (p.role != Parameter::Role::kConvWeight || p.size < 30000) continue;
    double sq = 0;
    for (std::int64_t i = 0; i < p.size; ++i) sq += v[p.offset + i] * v[p.offset + i];
    double var = sq / p.size, want = 2.0 / p.fan_out;
    EXPECT_NEAR(var / want, 1.0, 0.05) << p.name;  // ~4/sqrt(n/2) standard errors
  }
}

TEST(Network, RejectsNonFiniteInputWithSampleAndElement) {
  Network<float> net(build_graph(NetworkConfig::linear_regions(Dataset::kCifar10), Arch()));
  net.initialize(InitMode::kPyTorchDefault, 1);
  std::vector<float> input(4 * 9, 0.5f);
  input[2 * 9 + 4] = std::nanf("");
  try {
    net.forward(input.data(), 4);
    FAIL() << "NaN input accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kNumericalError);
    EXPECT_NE(std::string(e.what()).find("sample 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("element 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(net.backward(nullptr, 1, nullptr, nullptr), Error);  // no forward yet
}

TEST(Network, RejectsInvalidConfigurations) {
  NetworkConfig c = NetworkConfig::ntk(Dataset::kCifar10);
  c.input_size = 30;  // 30 -> 15: the second reduction would see an odd size
  EXPECT_THROW(build_graph(c, Arch()), Error);
  c = NetworkConfig::linear_regions(Dataset::kCifar10);
  c.input_channels = 3;  // no stem: input channels must equal C
  EXPECT_THROW(build_graph(c, Arch()), Error);
}

}  // namespace
}  // namespace micronas
