// Optimisers (PyTorch's update rules on hand-computable cases), and training: it learns, it is
// bitwise reproducible for a seed and across thread counts, and a checkpoint resumes to the
// bitwise-identical result of an uninterrupted run.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/optimizer.hpp"
#include "micronas/threads.hpp"
#include "micronas/timeseries_data.hpp"
#include "micronas/timeseries_training.hpp"
#include "micronas/trainer.hpp"

namespace micronas {
namespace {

using namespace training;

// Adam's first step moves every parameter by lr·g / (|g| + eps) (bias-corrected moments are g and
// g²): lr·sign(g) to float rounding (relative 1e-6). Coupled weight decay adds wd·p to g first.
TEST(Optimizer, AdamFirstStepIsLrTimesSign) {
  std::vector<float> p = {1.0f, -2.0f, 0.5f}, g = {0.3f, -4.0f, 1e-3f};
  AdamOptions o;
  o.lr = 0.01;
  Adam adam(3, o);
  std::vector<float> p0 = p, g0 = g;
  adam.step(p.data(), g.data(), o.lr);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(p[i], p0[i] - 0.01 * g0[i] / (std::abs(g0[i]) + 1e-8), 1e-6) << i;
  // Second step with the same gradient: m̂ = g, v̂ = g²: again lr·sign(g).
  g = g0;
  adam.step(p.data(), g.data(), o.lr);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(p[i], p0[i] - 0.02 * (g0[i] > 0 ? 1 : -1), 1e-6) << i;
  // Weight decay 0.5 on p = 1 with g = 0: the step sees g = 0.5.
  o.weight_decay = 0.5;
  Adam decayed(1, o);
  float q = 1.0f, zero = 0.0f;
  decayed.step(&q, &zero, o.lr);
  EXPECT_NEAR(q, 0.99f, 1e-6);
}

TEST(Optimizer, SgdMomentumFollowsTorch) {
  // torch.optim.SGD: b1 = g1, b2 = μ·b1 + g2; p -= lr·b.
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 0.01;
  Sgd sgd(1, o);
  float p = 2.0f, g = 1.0f;
  sgd.step(&p, &g, o.lr);
  const double g1 = 1.0 + 0.01 * 2.0, p1 = 2.0 - 0.1 * g1;
  EXPECT_NEAR(p, p1, 1e-6);
  g = -0.5f;
  sgd.step(&p, &g, 0.05);
  const double g2 = -0.5 + 0.01 * p1, b2 = 0.9 * g1 + g2;
  EXPECT_NEAR(p, p1 - 0.05 * b2, 1e-6);
  // The state round-trips.
  Sgd copy(1, o);
  copy.set_state(sgd.state());
  EXPECT_EQ(copy.state(), sgd.state());
  EXPECT_THROW(copy.set_state({1.0}), Error);
}

TEST(Optimizer, CosineAnnealingAndClipping) {
  EXPECT_DOUBLE_EQ(cosine_annealing_lr(0.36, 8e-4, 0, 100), 0.36);
  EXPECT_NEAR(cosine_annealing_lr(0.36, 8e-4, 50, 100), (0.36 + 8e-4) / 2, 1e-15);
  EXPECT_NEAR(cosine_annealing_lr(0.36, 8e-4, 100, 100), 8e-4, 1e-15);
  std::vector<float> g = {3.0f, 4.0f};  // norm 5
  EXPECT_NEAR(clip_grad_norm(g.data(), 2, 10.0), 5.0, 1e-12);
  EXPECT_EQ(g, (std::vector<float>{3.0f, 4.0f})) << "below the limit: unchanged";
  clip_grad_norm(g.data(), 2, 1.0);
  EXPECT_NEAR(std::hypot(g[0], g[1]), 5.0 / (5.0 + 1e-6), 1e-6);
}

struct Problem {
  timeseries::Space space{16, 4, 3, small_options()};
  timeseries::Dataset train, test;
  TrainingGraph graph;
  static timeseries::SpaceOptions small_options() {
    timeseries::SpaceOptions o;
    o.time_width_max = 8;
    o.bottleneck_max = 16;
    o.block_width_max = 16;
    o.scale = 1;
    o.min_time = 8;
    return o;
  }
  Problem()
      : graph(timeseries::exact_network(space, space.parse("tr:k5w8|sf:b8[3,5]w16r|sf:b8[3]w8"))) {
    timeseries::SyntheticSpec spec;
    spec.cases = 96;
    spec.length = 16;
    spec.dims = 4;
    spec.classes = 3;
    spec.seed = 1;
    train = timeseries::make_synthetic(spec);
    spec.seed = 2;
    spec.cases = 60;
    test = timeseries::make_synthetic(spec);
    const auto stats = timeseries::channel_stats(train);
    timeseries::normalize(train, stats);
    timeseries::normalize(test, stats);
  }
  Samples samples() const { return {train.values.data(), train.labels.data(), train.cases}; }
};

TrainerOptions small_options(TrainerOptions::Kind kind) {
  TrainerOptions o;
  o.epochs = 12;
  o.batch = 16;
  o.seed = 3;
  o.optimizer = kind;
  o.lr = kind == TrainerOptions::Kind::kAdam ? 0.01 : 0.05;
  o.clip = 5.0;
  o.weight_decay = 1e-4;
  return o;
}

TEST(Trainer, LearnsTheSyntheticClasses) {
  const Problem p;
  for (auto kind : {TrainerOptions::Kind::kAdam, TrainerOptions::Kind::kSgd}) {
    const TrainerOptions o = small_options(kind);
    Trainer t(p.graph, {}, o, 4);
    double first = 0.0, last = 0.0;
    for (int e = 0; e < o.epochs; ++e) {
      last = t.train_epoch(p.samples());
      if (e == 0) first = last;
    }
    EXPECT_LT(last, first);
    const std::vector<int> pred = t.predict(p.test.values.data(), p.test.cases);
    const Scores s = classification_scores(pred, p.test.labels.data(), p.test.cases, 3);
    // Chance is 1/3; the synthetic classes are distinct sine patterns.
    EXPECT_GE(s.accuracy, 0.8) << (kind == TrainerOptions::Kind::kAdam ? "adam" : "sgd");
    EXPECT_GT(s.macro_f1, 0.0);
  }
}

TEST(Trainer, ReproducibleAcrossRunsAndThreads) {
  const Problem p;
  const TrainerOptions o = small_options(TrainerOptions::Kind::kAdam);
  std::vector<float> result[3];
  const int saved = num_threads();
  for (int run = 0; run < 3; ++run) {
    set_num_threads(run == 2 ? 1 : 2);
    Trainer t(p.graph, {}, o, 4);
    for (int e = 0; e < 3; ++e) t.train_epoch(p.samples());
    result[run] = t.parameters();
  }
  set_num_threads(saved);
  EXPECT_EQ(result[0], result[1]) << "same seed, same result";
  EXPECT_EQ(result[0], result[2]) << "1 thread and 2 threads";
}

TEST(Trainer, CheckpointResumesBitwise) {
  const Problem p;
  for (auto kind : {TrainerOptions::Kind::kAdam, TrainerOptions::Kind::kSgd}) {
    TrainerOptions o = small_options(kind);
    o.epochs = 4;
    Trainer straight(p.graph, {}, o, 4);
    for (int e = 0; e < 4; ++e) straight.train_epoch(p.samples());
    Trainer first(p.graph, {}, o, 4);
    for (int e = 0; e < 2; ++e) first.train_epoch(p.samples());
    const std::string bytes = first.checkpoint("options A");
    Trainer resumed(p.graph, {}, o, 99);  // other initial weights: the checkpoint replaces them
    resumed.restore(bytes, "options A", "ckpt");
    EXPECT_EQ(resumed.epochs_done(), 2);
    for (int e = 2; e < 4; ++e) resumed.train_epoch(p.samples());
    EXPECT_EQ(resumed.parameters(), straight.parameters());
    EXPECT_EQ(resumed.predict(p.test.values.data(), p.test.cases),
              straight.predict(p.test.values.data(), p.test.cases));
    Trainer other(p.graph, {}, o, 4);
    try {
      other.restore(bytes, "options B", "ckpt");
      ADD_FAILURE() << "a checkpoint of other options must be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.status(), Status::kInvalidArgument);
    }
    EXPECT_THROW(other.restore(bytes.substr(0, bytes.size() - 3), "options A", "ckpt"), Error);
  }
}

}  // namespace
}  // namespace micronas
