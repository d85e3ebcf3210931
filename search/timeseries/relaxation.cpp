// Gumbel-softmax relaxation of the time-series space's choices and its chain rule.
#include <algorithm>
#include <cmath>
#include <string>

#include "micronas/error.hpp"
#include "micronas/timeseries_relaxation.hpp"

namespace micronas::timeseries {
namespace {

// Walks the choices of a space in the logits' layout. `visit(kind, offset, count)` is called
// once per choice group with its first logit and number of logits.
enum class Group { kKernel, kTimeWidth, kSkip, kBottleneck, kBranch, kBlockWidth, kResidual };

template <class Visit>
void for_each_group(const Space& space, Visit&& visit) {
  std::size_t at = 0;
  auto group = [&](Group kind, int cell, int index, std::size_t count) {
    visit(kind, cell, index, at, count);
    at += count;
  };
  for (int c = 0; c < space.time_reduce_cells(); ++c) {
    group(Group::kKernel, c, 0, space.options().kernels.size());
    group(Group::kTimeWidth, c, 0, space.time_widths().size());
  }
  for (int c = 0; c < space.sensor_fusion_cells(); ++c) {
    if (!space.reduces(c)) group(Group::kSkip, c, 0, 2);
    group(Group::kBottleneck, c, 0, space.bottleneck_widths().size());
    for (int b = 0; b < static_cast<int>(kBranchKernels.size()); ++b)
      group(Group::kBranch, c, b, 2);
    group(Group::kBlockWidth, c, 0, space.block_widths().size());
    group(Group::kResidual, c, 0, 2);
  }
}

bool is_width(Group g) {
  return g == Group::kTimeWidth || g == Group::kBottleneck || g == Group::kBlockWidth;
}

// The distribution's entries of one choice group: a categorical's vector, or the probability of
// a binary choice's second outcome.
struct GroupView {
  std::vector<double>* categorical = nullptr;
  double* binary = nullptr;
};

template <class D>
GroupView view(D& d, Group kind, int cell, int index) {
  switch (kind) {
    case Group::kKernel: return {&d.time_reduce[cell].kernel, nullptr};
    case Group::kTimeWidth: return {&d.time_reduce[cell].width, nullptr};
    case Group::kSkip: return {nullptr, &d.sensor_fusion[cell].skip};
    case Group::kBottleneck: return {&d.sensor_fusion[cell].bottleneck, nullptr};
    case Group::kBranch: return {nullptr, &d.sensor_fusion[cell].branch[index]};
    case Group::kBlockWidth: return {&d.sensor_fusion[cell].width, nullptr};
    case Group::kResidual: return {nullptr, &d.sensor_fusion[cell].residual};
  }
  return {};
}

double gumbel(Rng& rng) {
  const double u = 1.0 - rng.uniform();  // (0, 1]
  // -log(-log(u)) is +inf at u = 1; nudge it into the open interval.
  return -std::log(-std::log(std::min(u, 1.0 - 0x1.0p-53)));
}

}  // namespace

double gumbel_temperature(long step, double tau0, double decay, double floor) {
  return std::max(tau0 * std::pow(decay, static_cast<double>(step)), floor);
}

ArchRelaxation::ArchRelaxation(const Space& space) : space_(space) {
  for_each_group(space_, [&](Group kind, int cell, int index, std::size_t, std::size_t count) {
    const bool time = kind == Group::kKernel || kind == Group::kTimeWidth;
    const std::string prefix = (time ? "tr" : "sf") + std::to_string(cell) + ".";
    auto add_values = [&](const std::string& what, const std::vector<int>& values) {
      for (int v : values) names_.push_back(prefix + what + std::to_string(v));
    };
    switch (kind) {
      case Group::kKernel: add_values("kernel", space_.options().kernels); break;
      case Group::kTimeWidth: add_values("width", space_.time_widths()); break;
      case Group::kBottleneck: add_values("bottleneck", space_.bottleneck_widths()); break;
      case Group::kBlockWidth: add_values("width", space_.block_widths()); break;
      case Group::kSkip:
        names_.push_back(prefix + "skip.keep");
        names_.push_back(prefix + "skip.skip");
        break;
      case Group::kBranch: {
        const std::string b = prefix + "branch" + std::to_string(kBranchKernels[index]);
        names_.push_back(b + ".off");
        names_.push_back(b + ".on");
        break;
      }
      case Group::kResidual:
        names_.push_back(prefix + "residual.none");
        names_.push_back(prefix + "residual.conv");
        break;
    }
    (void)count;
  });
}

std::vector<double> ArchRelaxation::initial_logits(Rng& rng) const {
  std::vector<double> logits(size(), 0.0);
  for_each_group(space_, [&](Group kind, int, int, std::size_t at, std::size_t count) {
    if (is_width(kind)) return;
    for (std::size_t i = 0; i < count; ++i) logits[at + i] = 1e-3 * rng.normal();
  });
  return logits;
}

ArchDistribution ArchRelaxation::relax(const std::vector<double>& logits, double tau, Rng* rng,
                                       std::vector<double>* probabilities) const {
  if (logits.size() != size()) {
    throw Error(Status::kInvalidArgument, "architecture logits: " + std::to_string(logits.size()) +
                                              " values for " + std::to_string(size()) + " logits");
  }
  if (!(tau > 0) || !std::isfinite(tau)) {
    throw Error(Status::kInvalidArgument,
                "Gumbel-softmax temperature must be > 0, got " + std::to_string(tau));
  }
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (!std::isfinite(logits[i])) {
      throw Error(Status::kInvalidArgument, "architecture logit " + names_[i] + " is not finite");
    }
  }
  ArchDistribution d = ArchDistribution::uniform(space_);
  for (auto& cell : d.sensor_fusion) cell.skip = 0.0;
  std::vector<double> y(size());
  for_each_group(space_, [&](Group kind, int cell, int index, std::size_t at, std::size_t count) {
    // Softmax of (α + g) / τ, shifted by its maximum so no exponential overflows.
    double top = -INFINITY;
    for (std::size_t i = 0; i < count; ++i) {
      y[at + i] = (logits[at + i] + (rng ? gumbel(*rng) : 0.0)) / tau;
      top = std::max(top, y[at + i]);
    }
    double sum = 0.0;
    for (std::size_t i = 0; i < count; ++i) sum += (y[at + i] = std::exp(y[at + i] - top));
    for (std::size_t i = 0; i < count; ++i) y[at + i] /= sum;
    GroupView v = view(d, kind, cell, index);
    if (v.categorical) {
      v.categorical->assign(y.begin() + static_cast<std::ptrdiff_t>(at),
                            y.begin() + static_cast<std::ptrdiff_t>(at + count));
    } else {
      *v.binary = y[at + 1];
    }
  });
  if (probabilities) *probabilities = std::move(y);
  return d;
}

std::vector<double> ArchRelaxation::backward(const std::vector<double>& probabilities, double tau,
                                             const ArchDistribution& grad) const {
  if (probabilities.size() != size()) {
    throw Error(Status::kInvalidArgument,
                "relaxation backward: " + std::to_string(probabilities.size()) +
                    " probabilities for " + std::to_string(size()));
  }
  ArchDistribution g = grad;
  std::vector<double> out(size(), 0.0);
  for_each_group(space_, [&](Group kind, int cell, int index, std::size_t at, std::size_t count) {
    GroupView v = view(g, kind, cell, index);
    std::vector<double> dy(count, 0.0);
    if (v.categorical) {
      if (v.categorical->size() != count) {
        throw Error(Status::kInvalidArgument, "relaxation backward: gradient of " + names_[at] +
                                                  "'s choice has " +
                                                  std::to_string(v.categorical->size()) +
                                                  " entries, expected " + std::to_string(count));
      }
      dy = *v.categorical;
    } else {
      dy[1] = *v.binary;  // the distribution holds the second outcome's probability only
    }
    double inner = 0.0;
    for (std::size_t i = 0; i < count; ++i) inner += probabilities[at + i] * dy[i];
    for (std::size_t i = 0; i < count; ++i) {
      out[at + i] = probabilities[at + i] * (dy[i] - inner) / tau;
    }
  });
  return out;
}

Arch ArchRelaxation::derive(const std::vector<double>& logits) const {
  if (logits.size() != size()) {
    throw Error(Status::kInvalidArgument, "architecture logits: " + std::to_string(logits.size()) +
                                              " values for " + std::to_string(size()) + " logits");
  }
  // One-hot per choice from the logits, then the distribution's own argmax rules, except for
  // the fallback branch, which is decided here by the logit margin.
  ArchDistribution d = ArchDistribution::uniform(space_);
  std::vector<std::array<double, 3>> margins(d.sensor_fusion.size());
  for_each_group(space_, [&](Group kind, int cell, int index, std::size_t at, std::size_t count) {
    const auto first = logits.begin() + static_cast<std::ptrdiff_t>(at);
    const std::size_t best = static_cast<std::size_t>(
        std::max_element(first, first + static_cast<std::ptrdiff_t>(count)) - first);
    GroupView v = view(d, kind, cell, index);
    if (v.categorical) {
      std::fill(v.categorical->begin(), v.categorical->end(), 0.0);
      (*v.categorical)[best] = 1.0;
    } else {
      *v.binary = best == 1 ? 1.0 : 0.0;
      if (kind == Group::kBranch) margins[cell][index] = logits[at + 1] - logits[at];
    }
  });
  Arch arch = d.argmax(space_);
  for (std::size_t c = 0; c < d.sensor_fusion.size(); ++c) {
    const auto& p = d.sensor_fusion[c].branch;
    if (p[0] + p[1] + p[2] > 0.0) continue;
    const auto most = std::max_element(margins[c].begin(), margins[c].end()) - margins[c].begin();
    arch.sensor_fusion[c].branches = static_cast<std::uint8_t>(1u << most);
  }
  return arch;
}

}  // namespace micronas::timeseries
