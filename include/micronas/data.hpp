// Inputs for the proxies: seeded synthetic Gaussians, CIFAR-10/100 binary files with NB201's
// normalisation and TE-NAS's sampling, or a float32 .npy tensor given by the user.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace micronas {

// A batch of images, NCHW float32.
struct ImageBatch {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<float> data;
};

// Where inputs come from, parsed from "synthetic", "cifar10:PATH", "cifar100:PATH" or "npy:PATH".
struct DataSpec {
  enum class Kind { kSynthetic, kCifar10, kCifar100, kNpy };
  Kind kind = Kind::kSynthetic;
  std::string path;
  // Throws Error(kInvalidArgument) naming the accepted forms.
  static DataSpec parse(const std::string& text);
  std::string to_string() const;
};

// Draws the proxies' input batches. Deterministic: the same spec and seed give the same batches,
// in the same order, on every machine.
class InputSampler {
 public:
  // Loads the data eagerly: a missing, truncated or malformed file throws Error(kIoError) naming
  // the file and the problem (e.g. "record 12 is truncated: 1500 of 3073 bytes"). The file must
  // be a regular file (callers such as score_architecture load it more than once, so a pipe like
  // /dev/stdin is refused as such). An npy array
  // that is not 4-D throws kInvalidArgument; one holding NaN/Inf (or float64 values beyond
  // float32's range) throws kNumericalError naming the first bad element. The sampler owns its
  // random stream: successive calls continue it, so repeated calls give different batches.
  InputSampler(const DataSpec& spec, std::uint64_t seed);
  ~InputSampler();
  InputSampler(InputSampler&&) noexcept;
  InputSampler& operator=(InputSampler&&) noexcept;

  // NTK batch [batch, 3, size, size]. CIFAR: `batch` distinct random images, each randomly
  // flipped horizontally and randomly cropped to size x size from the image zero-padded by 4
  // (TE-NAS's training transform), normalised per channel with NB201's mean/std.
  // Synthetic: N(0, 1). Npy: `batch` distinct random samples of the user's [N, 3, size, size]
  // array (no augmentation; the user's values are used as given).
  // Throws kInvalidArgument for batch < 1, fewer than `batch` images or an npy array of another
  // shape; kUnsupported for CIFAR with size != 32 (NB201's 16 x 16 configurations are defined on
  // ImageNet16-120 images, which CIFAR cannot stand in for).
  ImageBatch ntk_batch(int batch, int size);

  // Linear-region batch [batch, 1, 3, 3]. CIFAR: for each sample a random image, a random
  // channel and a random 3x3 window (no padding, no flip) of the normalised image. Synthetic:
  // N(0, 1). Npy: an [N, 1, 3, 3] array gives `batch` distinct random samples as given; any other
  // [N, C, H, W] array with H, W >= 3 is cropped like CIFAR (values as given).
  ImageBatch lr_batch(int batch);

  const DataSpec& spec() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// NB201/TE-NAS normalisation constants (mean, std over 255) per CIFAR dataset.
struct Normalization {
  float mean[3], std[3];
};
Normalization cifar_normalization(DataSpec::Kind kind);

}  // namespace micronas
