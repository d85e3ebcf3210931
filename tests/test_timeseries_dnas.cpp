// Differentiable search on a small space: the cost penalties pull the expected latency down,
// the search is bitwise reproducible for a seed whatever the thread count, and a search resumed
// from a checkpoint ends exactly where an uninterrupted one does.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/mcu.hpp"
#include "micronas/random.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_dnas.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_repair.hpp"
#include "tests/timeseries_spaces.hpp"

namespace micronas::timeseries {
namespace {

// Windows of the tiny space (16 x 2, 2 classes) whose class is the sign of sensor 0's mean.
struct Data {
  std::vector<float> x;
  std::vector<int> labels;
  training::Samples samples() const {
    return {x.data(), labels.data(), static_cast<int>(labels.size())};
  }
};

Data make_data(const Space& space, int count, std::uint64_t seed) {
  Data d;
  Rng rng(seed);
  const int t = space.length(), s = space.sensors();
  for (int i = 0; i < count; ++i) {
    const int label = static_cast<int>(rng.below(2));
    for (int k = 0; k < t * s; ++k)
      d.x.push_back(static_cast<float>(rng.normal() + (k % s == 0 ? (label ? 1.0 : -1.0) : 0.0)));
    d.labels.push_back(label);
  }
  return d;
}

DnasOptions small_options() {
  DnasOptions o;
  o.epochs = 3;
  o.batch = 8;
  o.seed = 42;
  return o;
}

class Dnas : public ::testing::Test {
 protected:
  Space space = test::tiny();
  mcu::TargetProfile target = mcu::load_target("stm32l552");
  Data train = make_data(space, 24, 1), validation = make_data(space, 16, 2);
};

TEST_F(Dnas, LatencyPenaltyLowersTheExpectedLatency) {
  DnasOptions off = small_options();
  off.hardware = false;
  DnasOptions on = small_options();
  // A target below every network: the penalty pushes towards cheaper choices throughout.
  on.target_latency_ms = 1e-3;
  DnasSearch a(space, target, off), b(space, target, on);
  for (int e = 0; e < 3; ++e) {
    a.run_epoch(train.samples(), validation.samples());
    b.run_epoch(train.samples(), validation.samples());
  }
  EXPECT_LT(b.history().back().expected_latency_ms, 0.9 * a.history().back().expected_latency_ms);
  EXPECT_LT(b.history().back().expected_latency_ms, b.history().front().expected_latency_ms);
  EXPECT_EQ(b.history().size(), 3u);
  EXPECT_NO_THROW(space.check(b.derive()));
  // Every epoch's τ follows the schedule: 3 batches per epoch.
  EXPECT_DOUBLE_EQ(b.history()[1].temperature, gumbel_temperature(5));
}

// The latency and flash targets are their limits scaled by E[cost] / cost of the architecture
// derived when the epoch starts, so each penalty is in force exactly while that network exceeds
// its limit; without scaling (the reference) they are the limits themselves. The memory target
// is in both modes the SRAM limit in the reference model's units: scaled by reference peak /
// deployed arena of that architecture.
TEST_F(Dnas, TargetsFollowTheDerivedNetwork) {
  for (bool scaled : {true, false}) {
    DnasOptions o = small_options();
    o.scale_targets = scaled;
    o.target_latency_ms = 5.0;
    o.target_memory_bytes = 4096;
    o.target_flash_bytes = 120 * 1024;
    DnasSearch search(space, target, o);
    const ExpectedCost cost(space, target);
    for (int e = 0; e < 2; ++e) {
      const Arch arch = search.derive();
      const DeployedCost derived = deployed_cost(space, arch, target);
      const ArchDistribution w = search.weights();
      const double reference = static_cast<double>(reference_peak_memory_bytes(lower(space, arch)));
      search.run_epoch(train.samples(), validation.samples());
      const DnasEpoch& epoch = search.history().back();
      EXPECT_DOUBLE_EQ(epoch.memory_target, 4096 * reference / (derived.peak_sram_kb * 1024.0));
      // The reference model counts less than the arena: the target in its units is lower.
      EXPECT_LT(epoch.memory_target, 4096);
      if (scaled) {
        EXPECT_DOUBLE_EQ(epoch.latency_target, 5.0 * (cost.latency_ms(w) / derived.latency_ms));
        EXPECT_DOUBLE_EQ(epoch.flash_target,
                         120 * 1024 * (cost.flash_bytes(w) / (derived.flash_kb * 1024)));
      } else {
        EXPECT_EQ(epoch.latency_target, 5.0);
        EXPECT_EQ(epoch.flash_target, 120 * 1024);
      }
    }
  }
  DnasSearch unset(space, target, small_options());
  unset.run_epoch(train.samples(), validation.samples());
  EXPECT_TRUE(std::isinf(unset.history().back().latency_target));
  EXPECT_TRUE(std::isinf(unset.history().back().memory_target));
  EXPECT_TRUE(std::isinf(unset.history().back().flash_target));
}

// A limit between the derived network's latency and the expectation: the reference's penalty
// acts (E[lat] > limit), the scaled one does not (the derived network fits), so with no pull
// below the target the scaled search's epoch is the cost-free search's, bitwise.
TEST_F(Dnas, ScaledPenaltyIdleWhileTheDerivedNetworkFits) {
  DnasOptions o = small_options();
  o.penalty_below = 0;
  DnasSearch probe(space, target, o);
  const double derived = deployed_cost(space, probe.derive(), target).latency_ms;
  const double expected = ExpectedCost(space, target).latency_ms(probe.weights());
  ASSERT_LT(derived, 0.8 * expected);
  o.target_latency_ms = 0.5 * (derived + expected);
  DnasOptions off = o;
  off.hardware = false;
  DnasOptions limit = o;
  limit.scale_targets = false;
  DnasSearch scaled(space, target, o), free(space, target, off), reference(space, target, limit);
  scaled.run_epoch(train.samples(), validation.samples());
  free.run_epoch(train.samples(), validation.samples());
  reference.run_epoch(train.samples(), validation.samples());
  EXPECT_EQ(scaled.logits(), free.logits());
  EXPECT_NE(reference.logits(), free.logits());
}

// A memory or flash penalty whose target is below every network pulls that expectation down.
TEST_F(Dnas, MemoryAndFlashPenaltiesLowerTheirExpectations) {
  DnasOptions off = small_options();
  off.hardware = false;
  DnasOptions memory = small_options(), flash = small_options();
  memory.target_memory_bytes = 1;
  flash.target_flash_bytes = 1;
  DnasSearch a(space, target, off), b(space, target, memory), c(space, target, flash);
  for (int e = 0; e < 3; ++e)
    for (DnasSearch* s : {&a, &b, &c}) s->run_epoch(train.samples(), validation.samples());
  EXPECT_LT(b.history().back().expected_memory_bytes, a.history().back().expected_memory_bytes);
  EXPECT_LT(c.history().back().expected_flash_bytes, a.history().back().expected_flash_bytes);
}

TEST_F(Dnas, DeterministicForASeedAndThreadCount) {
  DnasOptions o = small_options();
  o.target_latency_ms = 1.0;
  o.target_memory_bytes = 2000.0;
  const int threads = num_threads();
  std::string first;
  for (int t : {1, 2}) {
    set_num_threads(t);
    DnasSearch s(space, target, o);
    for (int e = 0; e < 2; ++e) s.run_epoch(train.samples(), validation.samples());
    if (first.empty())
      first = s.checkpoint("x");
    else
      EXPECT_EQ(s.checkpoint("x"), first) << "threads " << t;
  }
  set_num_threads(threads);
  o.seed = 43;
  DnasSearch other(space, target, o);
  for (int e = 0; e < 2; ++e) other.run_epoch(train.samples(), validation.samples());
  EXPECT_NE(other.checkpoint("x"), first);
}

TEST_F(Dnas, ResumedSearchEqualsUninterrupted) {
  DnasOptions o = small_options();
  o.target_latency_ms = 1.0;
  DnasSearch whole(space, target, o);
  for (int e = 0; e < 3; ++e) whole.run_epoch(train.samples(), validation.samples());
  DnasSearch part(space, target, o);
  part.run_epoch(train.samples(), validation.samples());
  const std::string saved = part.checkpoint("print");
  DnasSearch resumed(space, target, o);
  resumed.restore(saved, "print", "ckpt");
  EXPECT_EQ(resumed.epochs_done(), 1);
  for (int e = 0; e < 2; ++e) resumed.run_epoch(train.samples(), validation.samples());
  EXPECT_EQ(resumed.logits(), whole.logits());
  EXPECT_EQ(resumed.checkpoint("print"), whole.checkpoint("print"));
  EXPECT_THROW(resumed.run_epoch(train.samples(), validation.samples()), Error);

  DnasSearch refuse(space, target, o);
  try {
    refuse.restore(saved, "other", "ckpt");
    FAIL() << "a checkpoint of other options was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kInvalidArgument);
  }
  try {
    refuse.restore(saved.substr(0, saved.size() / 2), "print", "ckpt");
    FAIL() << "a truncated checkpoint was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kIoError);
  }
  // Header fields of another JSON type are a foreign file, not the JSON library's exception.
  for (const char* header : {R"({"format": 3})", R"({"format": "micronas-dnas-checkpoint-3",
                                                     "fingerprint": ["print"]})"}) {
    try {
      refuse.restore(header, "print", "ckpt");
      FAIL() << header << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("ckpt"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace micronas::timeseries
