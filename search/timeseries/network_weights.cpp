// Weights of an exact time-series network: seeded, saved and loaded as .npy files, and the
// engine's inference-mode forward pass (see include/micronas/timeseries_export.hpp).
#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_export.hpp"

namespace micronas::timeseries {
namespace {

bool is_empty_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;
  bool empty = true;
  while (const dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  ::closedir(d);
  return empty;
}

void check_sizes(const training::TrainingGraph& net, const NetworkWeights& w) {
  if (static_cast<std::int64_t>(w.params.size()) != net.parameter_count() ||
      static_cast<std::int64_t>(w.state.size()) != net.state_count())
    throw Error(Status::kInvalidArgument, "the weights do not fit the network");
}

}  // namespace

NetworkWeights random_network_weights(const training::TrainingGraph& net, std::uint64_t seed) {
  NetworkWeights w;
  w.params = net.initial_parameters(seed);
  w.state = net.initial_state();
  Rng rng(seed ^ 0x5eedba7c4e0f11ULL);
  for (const training::Node& n : net.nodes()) {
    if (n.kind != training::NodeKind::kBatchNorm) continue;
    const training::Parameter& gamma = net.parameters()[n.weight];
    const training::Parameter& beta = net.parameters()[n.bias];
    for (int c = 0; c < n.shape.c; ++c) {
      w.params[gamma.offset + c] = static_cast<float>(-1.5 + 3.0 * rng.uniform());
      w.params[beta.offset + c] = static_cast<float>(-0.5 + rng.uniform());
      w.state[n.state + c] = static_cast<float>(0.5 * rng.uniform());
      w.state[n.state + n.shape.c + c] = static_cast<float>(0.5 + rng.uniform());
    }
  }
  return w;
}

void check_weights_directory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0 && (!S_ISDIR(st.st_mode) || !is_empty_dir(dir)))
    throw Error(Status::kIoError, "weights directory '" + dir +
                                      "' exists and is not an empty directory (never overwritten)");
}

void save_network_weights(const training::TrainingGraph& net, const NetworkWeights& w,
                          const std::string& dir) {
  check_sizes(net, w);
  check_weights_directory(dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 && ::mkdir(dir.c_str(), 0755) != 0)
    throw Error(Status::kIoError,
                "cannot create weights directory '" + dir + "': " + std::strerror(errno));
  for (const training::Parameter& p : net.parameters())
    write_npy(dir + "/" + p.name + ".npy", {p.dims.begin(), p.dims.end()},
              w.params.data() + p.offset);
  for (const training::Node& n : net.nodes()) {
    if (n.kind != training::NodeKind::kBatchNorm) continue;
    write_npy(dir + "/" + n.name + ".running_mean.npy", {n.shape.c}, w.state.data() + n.state);
    write_npy(dir + "/" + n.name + ".running_var.npy", {n.shape.c},
              w.state.data() + n.state + n.shape.c);
  }
}

NetworkWeights load_network_weights(const training::TrainingGraph& net, const std::string& dir) {
  NetworkWeights w;
  w.params.assign(static_cast<std::size_t>(net.parameter_count()), 0.0f);
  w.state.assign(static_cast<std::size_t>(net.state_count()), 0.0f);
  // Every value must be a finite float32 number: a NaN or Inf (or a float64 value that would
  // become one) gives no model that TFLite accepts, or one of NaN garbage.
  auto read = [&](const std::string& name, const std::vector<std::int64_t>& dims, float* out) {
    const std::string path = dir + "/" + name + ".npy";
    const NpyArray a = read_npy(path);
    if (a.shape != dims)
      throw Error(Status::kInvalidArgument,
                  path + ": shape " + npy_shape_text(a.shape) + " does not match (expected " +
                      npy_shape_text(dims) + ", the network's " + name + ")");
    const std::string bad = nonfinite_element(a);
    if (!bad.empty())
      throw Error(Status::kInvalidArgument, path + ": " + bad + "; weights must be finite");
    for (std::size_t i = 0; i < a.data.size(); ++i) out[i] = static_cast<float>(a.data[i]);
    return path;
  };
  for (const training::Parameter& p : net.parameters())
    read(p.name, {p.dims.begin(), p.dims.end()}, w.params.data() + p.offset);
  for (const training::Node& n : net.nodes()) {
    if (n.kind != training::NodeKind::kBatchNorm) continue;
    read(n.name + ".running_mean", {n.shape.c}, w.state.data() + n.state);
    float* var = w.state.data() + n.state + n.shape.c;
    const std::string path = read(n.name + ".running_var", {n.shape.c}, var);
    for (int c = 0; c < n.shape.c; ++c)
      if (var[c] < 0)
        throw Error(Status::kInvalidArgument, path + ": element [" + std::to_string(c) +
                                                  "] is negative; a variance must be >= 0");
  }
  return w;
}

std::vector<double> reference_probabilities(const training::TrainingGraph& net,
                                            const NetworkWeights& w, const float* x, int batch) {
  check_sizes(net, w);
  training::TrainingExecutor<double> exec(net);
  const std::vector<double> params(w.params.begin(), w.params.end());
  std::vector<double> state(w.state.begin(), w.state.end());
  std::vector<std::vector<double>> mixing;
  const std::int64_t numel = net.nodes()[0].shape.size();
  const std::vector<double> input(x, x + batch * numel);
  training::ExecutionOptions o;
  o.training = false;
  std::vector<double> out =
      exec.forward(params.data(), state.data(), mixing, input.data(), batch, o);
  for (double& v : out) v = std::exp(v);  // log-softmax -> probabilities
  return out;
}

}  // namespace micronas::timeseries
