// Mini-batch training, evaluation and checkpoints (see include/micronas/trainer.hpp).
#include "micronas/trainer.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "micronas/error.hpp"
#include "micronas/random.hpp"

namespace micronas::training {
namespace {

constexpr char kMagic[8] = {'M', 'N', 'T', 'R', 'A', 'I', 'N', '1'};

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <class T>
void put_vector(std::string& out, const std::vector<T>& v) {
  put(out, static_cast<std::uint64_t>(v.size()));
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

class Reader {
 public:
  Reader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  template <class T>
  T get() {
    T v;
    need(sizeof(T));
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> get_vector(std::uint64_t expected) {
    const auto n = get<std::uint64_t>();
    if (n != expected)
      fail("a vector of " + std::to_string(n) + " values, expected " + std::to_string(expected));
    std::vector<T> v(n);
    need(n * sizeof(T));
    std::memcpy(v.data(), bytes_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(std::uint64_t n) {
    if (n > bytes_.size() - pos_) fail("truncated");
  }
  bool done() const { return pos_ == bytes_.size(); }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(Status::kIoError, path_ + ": not a valid training checkpoint (" + why + ")");
  }

 private:
  const std::string& bytes_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<int> shuffled_order(int count, std::uint64_t seed) {
  std::vector<int> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (int i = count - 1; i > 0; --i)
    std::swap(order[i], order[rng.below(static_cast<std::uint64_t>(i) + 1)]);
  return order;
}

void gather_batch(const Samples& data, std::int64_t sample_size, const std::vector<int>& order,
                  int first, int n, std::vector<float>* x, std::vector<int>* labels) {
  x->resize(static_cast<std::size_t>(n * sample_size));
  labels->resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int s = order[first + i];
    std::copy(data.x + s * sample_size, data.x + (s + 1) * sample_size,
              x->begin() + i * sample_size);
    (*labels)[i] = data.labels[s];
  }
}

Trainer::Trainer(const TrainingGraph& graph, MixingValues mixing, const TrainerOptions& options,
                 std::uint64_t init_seed)
    : graph_(graph),
      mixing_(std::move(mixing)),
      options_(options),
      params_(graph.initial_parameters(init_seed)),
      state_(graph.initial_state()),
      grads_(params_.size()) {
  if (options.batch < 2) throw Error(Status::kInvalidArgument, "batch must be at least 2");
  if (options.epochs < 1) throw Error(Status::kInvalidArgument, "epochs must be at least 1");
  if (options.optimizer == TrainerOptions::Kind::kAdam) {
    AdamOptions a;
    a.lr = options.lr;
    a.weight_decay = options.weight_decay;
    optimizer_ = std::make_unique<Adam>(graph.parameter_count(), a);
  } else {
    SgdOptions s;
    s.lr = options.lr;
    s.momentum = options.momentum;
    s.weight_decay = options.weight_decay;
    optimizer_ = std::make_unique<Sgd>(graph.parameter_count(), s);
  }
}

double Trainer::train_epoch(const Samples& data) {
  const TensorShape in = graph_.nodes()[graph_.input()].shape;
  const std::int64_t sample = in.size();
  const int classes = graph_.nodes()[graph_.output()].shape.c;
  const int batches = data.count / options_.batch + (data.count % options_.batch > 1 ? 1 : 0);
  if (batches == 0) throw Error(Status::kInvalidArgument, "too few samples for one batch");
  total_steps_ = std::int64_t{batches} * options_.epochs;
  // The order of epoch e: a shuffle from its own stream.
  const std::vector<int> order = shuffled_order(
      data.count,
      derive_seed(derive_seed(options_.seed, "shuffle"), static_cast<std::uint64_t>(epoch_)));
  if (!executor_) executor_ = std::make_unique<TrainingExecutor<float>>(graph_);
  TrainingExecutor<float>& ex = *executor_;
  std::vector<float> x, dout;
  std::vector<int> labels;
  double loss_sum = 0.0;
  int loss_count = 0;
  for (int b = 0; b < batches; ++b) {
    const int first = b * options_.batch;
    const int n = std::min(options_.batch, data.count - first);
    gather_batch(data, sample, order, first, n, &x, &labels);
    ExecutionOptions eo;
    eo.training = true;
    eo.dropout_seed =
        derive_seed(derive_seed(options_.seed, "dropout"), static_cast<std::uint64_t>(step_));
    const std::vector<float>& out =
        ex.forward(params_.data(), state_.data(), mixing_, x.data(), n, eo);
    dout.resize(out.size());
    loss_sum += nll_loss<float>(n, classes, out.data(), labels.data(), dout.data()) * n;
    loss_count += n;
    ex.backward(params_.data(), mixing_, dout.data(), grads_.data(), nullptr);
    if (options_.clip > 0.0)
      clip_grad_norm(grads_.data(), static_cast<std::int64_t>(grads_.size()), options_.clip);
    const double lr = options_.optimizer == TrainerOptions::Kind::kSgd
                          ? cosine_annealing_lr(options_.lr, options_.eta_min, step_, total_steps_)
                          : options_.lr;
    optimizer_->step(params_.data(), grads_.data(), lr);
    ++step_;
  }
  ++epoch_;
  losses_.push_back(loss_sum / loss_count);
  return losses_.back();
}

std::vector<int> Trainer::predict(const float* x, int count) const {
  const std::int64_t sample = graph_.nodes()[graph_.input()].shape.size();
  const int classes = graph_.nodes()[graph_.output()].shape.c;
  TrainingExecutor<float> ex(graph_);
  std::vector<float> state = state_;  // eval mode reads the running statistics only
  std::vector<int> predicted;
  ExecutionOptions eo;
  eo.training = false;
  for (int first = 0; first < count; first += options_.batch) {
    const int n = std::min(options_.batch, count - first);
    const std::vector<float>& out =
        ex.forward(params_.data(), state.data(), mixing_, x + first * sample, n, eo);
    for (int i = 0; i < n; ++i) {
      const float* row = out.data() + i * classes;
      predicted.push_back(static_cast<int>(std::max_element(row, row + classes) - row));
    }
  }
  return predicted;
}

std::string Trainer::checkpoint(const std::string& fingerprint) const {
  std::string out(kMagic, sizeof(kMagic));
  put(out, static_cast<std::uint64_t>(fingerprint.size()));
  out += fingerprint;
  put(out, static_cast<std::int64_t>(epoch_));
  put(out, step_);
  put_vector(out, params_);
  put_vector(out, state_);
  put_vector(out, optimizer_->state());
  put_vector(out, losses_);
  return out;
}

void Trainer::restore(const std::string& bytes, const std::string& fingerprint,
                      const std::string& path) {
  Reader r(bytes, path);
  r.need(sizeof(kMagic));
  if (bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) r.fail("no header");
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) r.get<char>();
  if (r.get_string() != fingerprint)
    throw Error(Status::kInvalidArgument,
                path +
                    ": the checkpoint was written by a run with other options, architecture "
                    "or data; remove it or pass the same options");
  const auto epoch = r.get<std::int64_t>();
  const auto step = r.get<std::int64_t>();
  std::vector<float> params = r.get_vector<float>(params_.size());
  std::vector<float> state = r.get_vector<float>(state_.size());
  std::vector<double> opt = r.get_vector<double>(optimizer_->state().size());
  if (epoch < 0 || epoch > options_.epochs || step < 0) r.fail("epoch or step out of range");
  std::vector<double> losses = r.get_vector<double>(static_cast<std::uint64_t>(epoch));
  if (!r.done()) r.fail("trailing bytes");
  optimizer_->set_state(opt);
  params_ = std::move(params);
  state_ = std::move(state);
  epoch_ = static_cast<int>(epoch);
  step_ = step;
  losses_ = std::move(losses);
}

Scores classification_scores(const std::vector<int>& predicted, const int* labels, int count,
                             int classes) {
  Scores s;
  if (count == 0) return s;
  std::vector<int> tp(classes, 0), fp(classes, 0), fn(classes, 0);
  int correct = 0;
  for (int i = 0; i < count; ++i) {
    const int p = predicted[i], y = labels[i];
    if (p == y) {
      ++correct;
      ++tp[y];
    } else {
      ++fp[p];
      ++fn[y];
    }
  }
  s.accuracy = double(correct) / count;
  double f1 = 0.0;
  int present = 0;
  for (int c = 0; c < classes; ++c) {
    if (tp[c] + fp[c] + fn[c] == 0) continue;
    ++present;
    f1 += 2.0 * tp[c] / (2.0 * tp[c] + fp[c] + fn[c]);
  }
  s.macro_f1 = present ? f1 / present : 0.0;
  return s;
}

}  // namespace micronas::training
