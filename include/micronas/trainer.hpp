// Mini-batch training of a training graph (training_graph.hpp) on labelled samples: seeded
// shuffling, Adam or SGD with momentum and cosine annealing, gradient-norm clipping, weight
// decay, evaluation, and checkpoints that resume to the bitwise-identical result.
//
// Determinism: the shuffle of epoch e and the Dropout2d masks of step s come from counter-based
// streams of the seed, and every kernel is thread-invariant, so a run is bitwise reproducible for
// a seed (and, the kernels being thread-invariant, for any thread count).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "micronas/optimizer.hpp"
#include "micronas/training_graph.hpp"

namespace micronas::training {

struct TrainerOptions {
  int epochs = 30;
  int batch = 64;
  std::uint64_t seed = 0;
  enum class Kind { kAdam, kSgd } optimizer = Kind::kAdam;
  double lr = 1e-3;       // Adam: constant; SGD: the start of the cosine annealing
  double momentum = 0.9;  // SGD
  double eta_min = 0.0;   // SGD: the cosine annealing's floor after the last step
  double weight_decay = 0.0;
  double clip = 0.0;  // max gradient L2 norm, 0: no clipping
};

// Samples [count, sample shape of the graph's input], labels in 0..classes-1.
struct Samples {
  const float* x = nullptr;
  const int* labels = nullptr;
  int count = 0;
};

// A seeded permutation of 0..count-1 (Fisher-Yates): the order of an epoch's samples.
std::vector<int> shuffled_order(int count, std::uint64_t seed);
// Copies samples order[first .. first + n) (each `sample_size` floats) and their labels into one
// batch.
void gather_batch(const Samples& data, std::int64_t sample_size, const std::vector<int>& order,
                  int first, int n, std::vector<float>* x, std::vector<int>* labels);

class Trainer {
 public:
  // Parameters initialised from `init_seed` (TrainingGraph::initial_parameters). `graph` must
  // outlive the trainer.
  Trainer(const TrainingGraph& graph, MixingValues mixing, const TrainerOptions& options,
          std::uint64_t init_seed);

  // One epoch over `data` in a seeded shuffled order, in mini-batches of options.batch (a last
  // batch of one sample is skipped: batch norm needs two). Returns the mean training loss.
  double train_epoch(const Samples& data);
  // Class predictions (argmax of the output) in eval mode.
  std::vector<int> predict(const float* x, int count) const;
  int epochs_done() const { return epoch_; }
  // The mean training loss of every epoch done (kept in checkpoints).
  const std::vector<double>& losses() const { return losses_; }
  std::int64_t steps_done() const { return step_; }
  const std::vector<float>& parameters() const { return params_; }
  const std::vector<float>& state() const { return state_; }  // batch-norm running statistics

  // The whole training state (epoch, step, parameters, running statistics, optimiser) with
  // `fingerprint` (what the run was started with) as bytes; restore refuses a checkpoint whose
  // fingerprint differs (kInvalidArgument) or that is malformed (kIoError).
  std::string checkpoint(const std::string& fingerprint) const;
  void restore(const std::string& bytes, const std::string& fingerprint, const std::string& path);

 private:
  const TrainingGraph& graph_;
  MixingValues mixing_;
  TrainerOptions options_;
  std::vector<float> params_, state_, grads_;
  std::unique_ptr<Optimizer> optimizer_;
  // Kept across epochs: its activations and gradients are allocated once per run.
  std::unique_ptr<TrainingExecutor<float>> executor_;
  int epoch_ = 0;
  std::int64_t step_ = 0;
  std::vector<double> losses_;
  std::int64_t total_steps_ = 0;  // of the whole run, known after the first epoch's data
};

// Accuracy and macro-F1 (the mean over classes of F1; a class absent from both labels and
// predictions is left out of the mean) of predictions against labels.
struct Scores {
  double accuracy = 0.0, macro_f1 = 0.0;
};
Scores classification_scores(const std::vector<int>& predicted, const int* labels, int count,
                             int classes);

}  // namespace micronas::training
