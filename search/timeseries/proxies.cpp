// The NTK condition number and the linear-region count of time-series networks
// (include/micronas/timeseries_proxies.hpp).
#include <algorithm>
#include <array>
#include <memory>
#include <string>

#include "kernels/common/pattern_hash.hpp"
#include "micronas/error.hpp"
#include "micronas/timeseries_proxies.hpp"

namespace micronas::timeseries {
namespace {

using training::NodeKind;
using training::TrainingGraph;

int classes_of(const TrainingGraph& net) {
  const training::TensorShape s = net.nodes()[net.output()].shape;
  if (s.h != 1 || s.w != 1)
    throw Error(Status::kInvalidArgument, "the proxies need a network that ends in class scores");
  return s.c;
}

training::ExecutionOptions training_mode() {
  training::ExecutionOptions o;
  o.training = true;  // batch statistics, as TE-NAS; dropout is not in the proxy networks
  // The node-by-node arithmetic on the direct kernels: the NTK condition number and the ReLU
  // sign patterns are measurements that rounding can tip (an activation within 1e-6 of zero),
  // so they keep one arithmetic, not one that changes with the batch size.
  o.fast_paths = false;
  return o;
}

}  // namespace

std::vector<int> ntk_parameters(const TrainingGraph& net) {
  std::vector<int> out;
  for (std::size_t i = 0; i < net.parameters().size(); ++i) {
    const std::string& name = net.parameters()[i].name;
    if (name.find("weight") != std::string::npos || name.find("gamma") != std::string::npos)
      out.push_back(static_cast<int>(i));
  }
  return out;
}

template <class R>
std::vector<R> network_jacobian(const TrainingGraph& net, const std::vector<R>& params,
                                const std::vector<std::vector<R>>& mixing, const R* x, int batch,
                                training::TrainingExecutor<R>* executor) {
  if (batch < 2) throw Error(Status::kInvalidArgument, "the NTK needs a batch of at least 2");
  if (static_cast<std::int64_t>(params.size()) != net.parameter_count())
    throw Error(Status::kInvalidArgument, "network_jacobian: wrong parameter count");
  const int classes = classes_of(net);
  const std::vector<int> columns = ntk_parameters(net);
  std::int64_t cols = 0;
  for (int p : columns) cols += net.parameters()[p].size;
  // The running statistics are updated by a training-mode forward: work on a copy.
  std::vector<R> state(static_cast<std::size_t>(net.state_count()), R(0));
  std::unique_ptr<training::TrainingExecutor<R>> own;
  if (!executor) own = std::make_unique<training::TrainingExecutor<R>>(net);
  training::TrainingExecutor<R>& ex = executor ? *executor : *own;
  ex.forward(params.data(), state.data(), mixing, x, batch, training_mode());
  std::vector<R> jacobian(static_cast<std::size_t>(batch * cols));
  std::vector<R> dout(static_cast<std::size_t>(batch) * classes, R(0));
  std::vector<R> dparams(params.size());
  // backward() reads only what the forward kept, so one forward serves all rows.
  for (int i = 0; i < batch; ++i) {
    std::fill(dout.begin(), dout.end(), R(0));
    std::fill(dout.begin() + std::int64_t{i} * classes,
              dout.begin() + std::int64_t{i + 1} * classes, R(1));
    ex.backward(params.data(), mixing, dout.data(), dparams.data(), nullptr);
    R* row = jacobian.data() + std::int64_t{i} * cols;
    for (int p : columns) {
      const training::Parameter& q = net.parameters()[p];
      row = std::copy(dparams.begin() + q.offset, dparams.begin() + q.offset + q.size, row);
    }
  }
  return jacobian;
}

NtkCondition network_ntk(const TrainingGraph& net, const std::vector<float>& params,
                         const training::MixingValues& mixing, const float* x, int batch,
                         training::TrainingExecutor<float>* executor) {
  Jacobian j;
  j.rows = batch;
  j.values = network_jacobian<float>(net, params, mixing, x, batch, executor);
  j.cols = static_cast<std::int64_t>(j.values.size()) / batch;
  return micronas::ntk_condition(ntk_gram(j), batch);
}

void ReluPatternCounter::add_batch(const TrainingGraph& net, const std::vector<float>& params,
                                   const training::MixingValues& mixing, const float* x, int batch,
                                   training::TrainingExecutor<float>* executor) {
  if (batch < 1) throw Error(Status::kInvalidArgument, "add_batch: batch must be positive");
  std::vector<float> state(static_cast<std::size_t>(net.state_count()), 0.0f);
  std::unique_ptr<training::TrainingExecutor<float>> own;
  if (!executor) own = std::make_unique<training::TrainingExecutor<float>>(net);
  training::TrainingExecutor<float>& ex = executor ? *executor : *own;
  ex.forward(params.data(), state.data(), mixing, x, batch, training_mode());
  std::vector<std::array<std::uint64_t, 2>> h(static_cast<std::size_t>(batch),
                                              {pattern_hash::kSeed0, pattern_hash::kSeed1});
  const bool verify = patterns_.verify();
  std::vector<std::vector<std::uint64_t>> rows(verify ? batch : 0);
  for (std::size_t node = 0; node < net.nodes().size(); ++node) {
    if (net.nodes()[node].kind != NodeKind::kRelu) continue;
    const std::int64_t per_sample = net.nodes()[node].shape.size();
    const std::vector<float>& v = ex.value(static_cast<int>(node));
    for (int n = 0; n < batch; ++n) {
      const float* xs = v.data() + n * per_sample;
      std::uint64_t word = 0;
      const auto emit = [&](std::uint64_t w) {
        pattern_hash::absorb(w, h[n].data());
        if (verify) rows[n].push_back(w);
      };
      for (std::int64_t i = 0; i < per_sample; ++i) {
        word |= static_cast<std::uint64_t>(xs[i] > 0.0f) << (i & 63);
        if ((i & 63) == 63) emit(word), word = 0;
      }
      if (per_sample & 63) emit(word);
      // Closes the layer's segment so that patterns of different layers never alias.
      pattern_hash::absorb(pattern_hash::segment_end(per_sample), h[n].data());
    }
  }
  for (int n = 0; n < batch; ++n)
    patterns_.add(h[n][0], h[n][1], verify ? std::move(rows[n]) : std::vector<std::uint64_t>{});
  patterns_.check();
}

template std::vector<float> network_jacobian<float>(const TrainingGraph&, const std::vector<float>&,
                                                    const std::vector<std::vector<float>>&,
                                                    const float*, int,
                                                    training::TrainingExecutor<float>*);
template std::vector<double> network_jacobian<double>(const TrainingGraph&,
                                                      const std::vector<double>&,
                                                      const std::vector<std::vector<double>>&,
                                                      const double*, int,
                                                      training::TrainingExecutor<double>*);

}  // namespace micronas::timeseries
