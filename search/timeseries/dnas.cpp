// Differentiable search on the time-series space (see include/micronas/timeseries_dnas.hpp).
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_cost.hpp"
#include "micronas/timeseries_dnas.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_repair.hpp"

namespace micronas::timeseries {
namespace {

constexpr const char* kFormat = "micronas-dnas-checkpoint-3";

// JSON has no infinity: an unset target is stored as -1.
double unset_as_negative(double target) { return std::isfinite(target) ? target : -1.0; }
double negative_as_unset(double stored) {
  return stored < 0 ? std::numeric_limits<double>::infinity() : stored;
}

double entropy(const std::vector<double>& p) {
  double h = 0.0;
  for (double v : p)
    if (v > 0.0) h -= v * std::log(v);
  return h;
}
double binary_entropy(double p) { return entropy({p, 1.0 - p}); }

// Mean entropy per choice of a distribution.
double mean_entropy(const Space& space, const ArchDistribution& d) {
  double sum = 0.0;
  int choices = 0;
  for (const TimeReduceDistribution& t : d.time_reduce) {
    sum += entropy(t.kernel) + entropy(t.width);
    choices += 2;
  }
  for (std::size_t i = 0; i < d.sensor_fusion.size(); ++i) {
    const SensorFusionDistribution& s = d.sensor_fusion[i];
    sum += entropy(s.bottleneck) + entropy(s.width) + binary_entropy(s.residual);
    for (double b : s.branch) sum += binary_entropy(b);
    choices += 6;
    if (!space.reduces(static_cast<int>(i))) {
      sum += binary_entropy(s.skip);
      ++choices;
    }
  }
  return choices ? sum / choices : 0.0;
}

// out += scale · g, entry by entry.
void add_scaled(ArchDistribution* out, const ArchDistribution& g, double scale) {
  const auto axpy = [scale](std::vector<double>& y, const std::vector<double>& x) {
    for (std::size_t i = 0; i < y.size(); ++i) y[i] += scale * x[i];
  };
  for (std::size_t i = 0; i < out->time_reduce.size(); ++i) {
    axpy(out->time_reduce[i].kernel, g.time_reduce[i].kernel);
    axpy(out->time_reduce[i].width, g.time_reduce[i].width);
  }
  for (std::size_t i = 0; i < out->sensor_fusion.size(); ++i) {
    SensorFusionDistribution& y = out->sensor_fusion[i];
    const SensorFusionDistribution& x = g.sensor_fusion[i];
    axpy(y.bottleneck, x.bottleneck);
    axpy(y.width, x.width);
    for (std::size_t b = 0; b < y.branch.size(); ++b) y.branch[b] += scale * x.branch[b];
    y.residual += scale * x.residual;
    y.skip += scale * x.skip;
  }
}

}  // namespace

void DnasOptions::validate() const {
  const auto require = [](bool ok, const char* what) {
    if (!ok) throw Error(Status::kInvalidArgument, std::string("DNAS: ") + what);
  };
  require(epochs >= 1, "epochs must be at least 1");
  require(batch >= 2, "batch must be at least 2");
  require(arch_lr > 0 && std::isfinite(arch_lr), "arch_lr must be positive");
  require(arch_lr_min >= 0 && arch_lr_min <= arch_lr, "arch_lr_min must be in [0, arch_lr]");
  require(weight_lr > 0 && std::isfinite(weight_lr), "weight_lr must be positive");
  require(clip >= 0, "clip must be >= 0");
  require(tau0 > 0 && tau_decay > 0 && tau_decay <= 1 && tau_floor > 0,
          "the temperature schedule needs tau0 > 0, decay in (0, 1], floor > 0");
  require(penalty_above >= 0 && penalty_below >= 0, "penalties must be >= 0");
  require(target_latency_ms > 0 && target_memory_bytes > 0 && target_flash_bytes > 0,
          "cost targets must be positive");
}

DnasSearch::DnasSearch(const Space& space, const mcu::TargetProfile& target,
                       const DnasOptions& options)
    : space_(space),
      options_(options),
      relaxation_(space),
      target_(target),
      cost_(space, target),
      net_(supernet(space, NetworkOptions{options.dropout})),
      executor_(std::make_unique<training::TrainingExecutor<float>>(net_)),
      adam_(net_.parameter_count(), training::AdamOptions{options.weight_lr}) {
  options.validate();
  Rng rng(derive_seed(options.seed, "alpha"));
  logits_ = relaxation_.initial_logits(rng);
  params_ = net_.initial_parameters(derive_seed(options.seed, "init"));
  state_ = net_.initial_state();
  grads_.resize(params_.size());
}

DnasSearch::~DnasSearch() = default;

double DnasSearch::penalty(double expected, double target, const ArchDistribution& cost_grad,
                           ArchDistribution* grad) const {
  if (!options_.hardware || !std::isfinite(target)) return 0.0;
  const double m = expected > target ? options_.penalty_above : options_.penalty_below;
  add_scaled(grad, cost_grad, m / expected);
  return m * std::log(expected / target);
}

std::uint64_t DnasSearch::stream(const char* label) const {
  return derive_seed(derive_seed(options_.seed, label), static_cast<std::uint64_t>(step_));
}

double DnasSearch::supernet_pass(const ArchDistribution& d, const float* x, const int* labels,
                                 int n, const char* dropout, training::MixingGradients* dmixing) {
  const training::MixingValues mixing = supernet_mixing(space_, net_, d);
  training::ExecutionOptions eo;
  eo.dropout_seed = stream(dropout);
  const std::vector<float>& out =
      executor_->forward(params_.data(), state_.data(), mixing, x, n, eo);
  std::vector<float> dout(out.size());
  const double loss =
      training::nll_loss<float>(n, space_.classes(), out.data(), labels, dout.data());
  executor_->backward(params_.data(), mixing, dout.data(), grads_.data(), dmixing);
  return loss;
}

double DnasSearch::arch_step(const float* x, const int* labels, int n, double tau) {
  Rng noise(stream("gumbel-arch"));
  std::vector<double> probs;
  const ArchDistribution d = relaxation_.relax(logits_, tau, &noise, &probs);
  training::MixingGradients dmixing;
  double loss = supernet_pass(d, x, labels, n, "dropout-arch", &dmixing);
  ArchDistribution grad = supernet_mixing_backward(space_, net_, dmixing);
  ArchDistribution cost_grad;
  const double latency = cost_.latency_ms(d, &cost_grad);
  loss += penalty(latency, latency_target_, cost_grad, &grad);
  const double memory = cost_.peak_memory_bytes(d, &cost_grad);
  loss += penalty(memory, memory_target_, cost_grad, &grad);
  if (std::isfinite(flash_target_)) {
    const double flash = cost_.flash_bytes(d, &cost_grad);
    loss += penalty(flash, flash_target_, cost_grad, &grad);
  }
  const std::vector<double> dlogits = relaxation_.backward(probs, tau, grad);
  const double lr =
      training::cosine_annealing_lr(options_.arch_lr, options_.arch_lr_min, step_, total_steps_);
  for (std::size_t i = 0; i < logits_.size(); ++i) logits_[i] -= lr * dlogits[i];
  return loss;
}

double DnasSearch::weight_step(const float* x, const int* labels, int n, double tau) {
  Rng noise(stream("gumbel-weights"));
  const double loss =
      supernet_pass(relaxation_.relax(logits_, tau, &noise), x, labels, n, "dropout", nullptr);
  if (options_.clip > 0.0)
    training::clip_grad_norm(grads_.data(), static_cast<std::int64_t>(grads_.size()),
                             options_.clip);
  adam_.step(params_.data(), grads_.data(), options_.weight_lr);
  return loss;
}

const DnasEpoch& DnasSearch::run_epoch(const training::Samples& train,
                                       const training::Samples& validation) {
  if (epochs_done() >= options_.epochs)
    throw Error(Status::kInvalidArgument, "DNAS: every epoch is already done");
  if (train.count < 2 || validation.count < 2)
    throw Error(Status::kInvalidArgument,
                "DNAS needs at least two training and two validation samples");
  const std::int64_t sample = net_.nodes()[net_.input()].shape.size();
  const int batch = options_.batch;
  const int batches = train.count / batch + (train.count % batch > 1 ? 1 : 0);
  const int val_batches = validation.count / batch + (validation.count % batch > 1 ? 1 : 0);
  total_steps_ = std::int64_t{batches} * options_.epochs;
  const auto epoch = static_cast<std::uint64_t>(epochs_done());
  const std::vector<int> order = training::shuffled_order(
      train.count, derive_seed(derive_seed(options_.seed, "shuffle"), epoch));
  const std::vector<int> val_order = training::shuffled_order(
      validation.count, derive_seed(derive_seed(options_.seed, "val-shuffle"), epoch));
  std::vector<float> x;
  std::vector<int> labels;
  double train_sum = 0.0, arch_sum = 0.0;
  double tau = options_.tau0;
  set_targets();
  for (int b = 0; b < batches; ++b) {
    tau = gumbel_temperature(step_, options_.tau0, options_.tau_decay, options_.tau_floor);
    const int vfirst = (b % val_batches) * batch;
    const int vn = std::min(batch, validation.count - vfirst);
    training::gather_batch(validation, sample, val_order, vfirst, vn, &x, &labels);
    arch_sum += arch_step(x.data(), labels.data(), vn, tau);
    const int first = b * batch;
    const int n = std::min(batch, train.count - first);
    training::gather_batch(train, sample, order, first, n, &x, &labels);
    train_sum += weight_step(x.data(), labels.data(), n, tau);
    ++step_;
  }
  DnasEpoch e = summary();
  e.train_loss = train_sum / batches;
  e.arch_loss = arch_sum / batches;
  e.temperature = tau;
  e.latency_target = latency_target_;
  e.memory_target = memory_target_;
  e.flash_target = flash_target_;
  history_.push_back(e);
  return history_.back();
}

void DnasSearch::set_targets() {
  const DnasOptions& o = options_;
  latency_target_ = o.target_latency_ms;
  memory_target_ = o.target_memory_bytes;
  flash_target_ = o.target_flash_bytes;
  if (!std::isfinite(latency_target_) && !std::isfinite(memory_target_) &&
      !std::isfinite(flash_target_))
    return;
  const Arch arch = derive();
  const DeployedCost derived = deployed_cost(space_, arch, target_);
  const double arena = derived.peak_sram_kb * 1024.0;
  memory_target_ *= static_cast<double>(reference_peak_memory_bytes(lower(space_, arch))) / arena;
  if (o.scale_targets) {
    const ArchDistribution w = weights();
    latency_target_ *= cost_.latency_ms(w) / derived.latency_ms;
    flash_target_ *= cost_.flash_bytes(w) / (derived.flash_kb * 1024.0);
  }
}

ArchDistribution DnasSearch::weights() const { return relaxation_.relax(logits_, 1.0, nullptr); }

Arch DnasSearch::derive() const { return relaxation_.derive(logits_); }

DnasEpoch DnasSearch::summary() const {
  const ArchDistribution w = weights();
  DnasEpoch e;
  e.expected_latency_ms = cost_.latency_ms(w);
  e.expected_memory_bytes = cost_.peak_memory_bytes(w);
  e.expected_flash_bytes = cost_.flash_bytes(w);
  e.entropy = mean_entropy(space_, w);
  e.argmax = derive().to_string();
  return e;
}

// JSON keeps every float and double exactly (shortest round-trip form), so a restored search
// continues bitwise.
std::string DnasSearch::checkpoint(const std::string& fingerprint) const {
  nlohmann::json j;
  j["format"] = kFormat;
  j["fingerprint"] = fingerprint;
  j["step"] = step_;
  j["logits"] = logits_;
  j["params"] = params_;
  j["state"] = state_;
  j["adam"] = adam_.state();
  j["history"] = nlohmann::json::array();
  for (const DnasEpoch& e : history_)
    j["history"].push_back({e.train_loss, e.arch_loss, e.temperature, e.expected_latency_ms,
                            e.expected_memory_bytes, e.entropy, e.argmax,
                            unset_as_negative(e.memory_target), unset_as_negative(e.latency_target),
                            unset_as_negative(e.flash_target), e.expected_flash_bytes});
  return j.dump();
}

void DnasSearch::restore(const std::string& bytes, const std::string& fingerprint,
                         const std::string& path) {
  const auto fail = [&path](const std::string& why) {
    throw Error(Status::kIoError, path + ": not a valid DNAS checkpoint (" + why + ")");
  };
  const nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
  // Compared as JSON values: a field of another type is a mismatch, not the JSON library's error.
  if (j.is_discarded() || !j.is_object() || j.value("format", nlohmann::json()) != kFormat)
    fail("no header");
  if (j.value("fingerprint", nlohmann::json()) != fingerprint)
    throw Error(Status::kInvalidArgument,
                path +
                    ": the checkpoint was written by a search with other options or data; "
                    "remove it or pass the same options");
  try {
    std::vector<double> logits = j.at("logits").get<std::vector<double>>();
    std::vector<float> params = j.at("params").get<std::vector<float>>();
    std::vector<float> state = j.at("state").get<std::vector<float>>();
    const std::vector<double> adam = j.at("adam").get<std::vector<double>>();
    const auto step = j.at("step").get<std::int64_t>();
    if (logits.size() != logits_.size() || params.size() != params_.size() ||
        state.size() != state_.size() || adam.size() != adam_.state().size() || step < 0)
      fail("sizes do not match the space");
    std::vector<DnasEpoch> history;
    for (const nlohmann::json& h : j.at("history")) {
      DnasEpoch e;
      e.train_loss = h.at(0).get<double>();
      e.arch_loss = h.at(1).get<double>();
      e.temperature = h.at(2).get<double>();
      e.expected_latency_ms = h.at(3).get<double>();
      e.expected_memory_bytes = h.at(4).get<double>();
      e.entropy = h.at(5).get<double>();
      e.argmax = h.at(6).get<std::string>();
      e.memory_target = negative_as_unset(h.at(7).get<double>());
      e.latency_target = negative_as_unset(h.at(8).get<double>());
      e.flash_target = negative_as_unset(h.at(9).get<double>());
      e.expected_flash_bytes = h.at(10).get<double>();
      history.push_back(e);
    }
    if (history.size() > static_cast<std::size_t>(options_.epochs)) fail("too many epochs");
    adam_.set_state(adam);
    logits_ = std::move(logits);
    params_ = std::move(params);
    state_ = std::move(state);
    step_ = step;
    history_ = std::move(history);
  } catch (const nlohmann::json::exception& e) {
    fail(e.what());
  }
}

}  // namespace micronas::timeseries
