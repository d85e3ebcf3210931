#include "micronas/data.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "micronas/error.hpp"
#include "micronas/npy.hpp"
#include "micronas/random.hpp"
#include "runtime/cifar.hpp"

namespace micronas {
namespace {

// TE-NAS's training transform pads by 4 before the random 32 x 32 crop.
constexpr int kCropPadding = 4;
// Linear-region inputs are 1 x 3 x 3 windows.
constexpr int kWindow = 3;

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void check_batch(int batch, const DataSpec& spec) {
  if (batch < 1) {
    throw Error(Status::kInvalidArgument,
                spec.to_string() + ": batch " + std::to_string(batch) + " must be >= 1");
  }
}

// `k` distinct indices out of [0, n), uniformly: the first k steps of a Fisher-Yates shuffle.
std::vector<std::int64_t> draw_distinct(Rng& rng, std::int64_t n, int k) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  for (int i = 0; i < k; ++i) {
    const std::int64_t j = i + static_cast<std::int64_t>(rng.below(n - i));
    std::swap(order[i], order[j]);
  }
  order.resize(k);
  return order;
}

ImageBatch empty_batch(int n, int c, int h, int w) {
  ImageBatch b;
  b.n = n, b.c = c, b.h = h, b.w = w;
  b.data.resize(static_cast<std::size_t>(n) * c * h * w);
  return b;
}

}  // namespace

DataSpec DataSpec::parse(const std::string& text) {
  const char* forms = "expected \"synthetic\", \"cifar10:PATH\", \"cifar100:PATH\" or \"npy:PATH\"";
  DataSpec spec;
  if (text == "synthetic") return spec;
  const std::size_t colon = text.find(':');
  const std::string prefix = text.substr(0, colon);
  if (colon == std::string::npos ||
      (prefix != "cifar10" && prefix != "cifar100" && prefix != "npy")) {
    throw Error(Status::kInvalidArgument, "data \"" + text + "\": " + forms);
  }
  spec.kind = prefix == "cifar10"    ? Kind::kCifar10
              : prefix == "cifar100" ? Kind::kCifar100
                                     : Kind::kNpy;
  spec.path = text.substr(colon + 1);
  if (spec.path.empty()) {
    throw Error(Status::kInvalidArgument,
                "data \"" + text + "\": the path after \"" + prefix + ":\" is empty; " + forms);
  }
  return spec;
}

std::string DataSpec::to_string() const {
  switch (kind) {
    case Kind::kSynthetic: return "synthetic";
    case Kind::kCifar10: return "cifar10:" + path;
    case Kind::kCifar100: return "cifar100:" + path;
    case Kind::kNpy: return "npy:" + path;
  }
  return "?";
}

Normalization cifar_normalization(DataSpec::Kind kind) {
  // NB201's get_datasets: mean = [x / 255 for x in [...]] in Python doubles, later a float32
  // tensor, so each constant is the double quotient rounded to float.
  auto make = [](const double(&mean)[3], const double(&std)[3]) {
    Normalization n;
    for (int c = 0; c < 3; ++c) {
      n.mean[c] = static_cast<float>(mean[c] / 255.0);
      n.std[c] = static_cast<float>(std[c] / 255.0);
    }
    return n;
  };
  switch (kind) {
    case DataSpec::Kind::kCifar10: return make({125.3, 123.0, 113.9}, {63.0, 62.1, 66.7});
    case DataSpec::Kind::kCifar100: return make({129.3, 124.1, 112.4}, {68.2, 65.4, 70.4});
    default:
      throw Error(Status::kInvalidArgument,
                  "cifar_normalization: only CIFAR-10 and CIFAR-100 have normalisation constants");
  }
}

struct InputSampler::State {
  DataSpec spec;
  Rng rng;
  // CIFAR: the raw bytes and, per channel, the normalised value of each byte.
  CifarImages cifar;
  float normalized[3][256] = {};
  // Npy: the user's NCHW array as float32.
  std::vector<std::int64_t> shape;
  std::vector<float> values;

  // The stream is derived from the seed and a label so that it is independent of other users of
  // the same seed (parameter initialisation derives its streams the same way).
  State(const DataSpec& s, std::uint64_t seed) : spec(s), rng(derive_seed(seed, "inputs")) {
    switch (spec.kind) {
      case DataSpec::Kind::kSynthetic: break;
      case DataSpec::Kind::kCifar10:
      case DataSpec::Kind::kCifar100: load_cifar(); break;
      case DataSpec::Kind::kNpy: load_npy(); break;
    }
  }

  void load_cifar() {
    cifar = read_cifar_binary(spec.path, spec.kind == DataSpec::Kind::kCifar10 ? 1 : 2);
    const Normalization norm = cifar_normalization(spec.kind);
    // torchvision's ToTensor then Normalize, both in float32: x = byte / 255, (x - mean) / std.
    // A table of the 256 results per channel gives bitwise the same values.
    for (int c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        normalized[c][v] = (static_cast<float>(v) / 255.0f - norm.mean[c]) / norm.std[c];
      }
    }
  }

  void load_npy() {
    NpyArray array = read_npy(spec.path);
    shape = array.shape;
    bool positive = shape.size() == 4;
    for (std::int64_t d : shape) positive = positive && d >= 1;
    if (!positive) {
      throw Error(Status::kInvalidArgument, where() + ": array of shape " + shape_text(shape) +
                                                " is not a non-empty 4-D [N, C, H, W] tensor");
    }
    const std::string bad = nonfinite_element(array);
    if (!bad.empty())
      throw Error(Status::kNumericalError, where() + ": " + bad + "; inputs must be finite");
    values.assign(array.data.begin(), array.data.end());
  }

  std::string where() const { return spec.to_string(); }

  std::size_t npy_offset(std::int64_t n, std::int64_t c, std::int64_t y, std::int64_t x) const {
    return static_cast<std::size_t>(((n * shape[1] + c) * shape[2] + y) * shape[3] + x);
  }

  float cifar_pixel(std::int64_t image, int c, int y, int x) const {
    const std::size_t i = static_cast<std::size_t>(image) * kCifarPixels +
                          static_cast<std::size_t>(c * kCifarSide + y) * kCifarSide + x;
    return normalized[c][cifar.pixels[i]];
  }

  ImageBatch gaussian(int n, int c, int h, int w) {
    ImageBatch b = empty_batch(n, c, h, w);
    for (float& v : b.data) v = static_cast<float>(rng.normal());
    return b;
  }

  // Draws `batch` distinct samples out of `available`, or says why it cannot.
  std::vector<std::int64_t> distinct(std::int64_t available, int batch, const char* what) {
    if (available < batch) {
      throw Error(Status::kInvalidArgument, where() + ": a " + what + " batch of " +
                                                std::to_string(batch) +
                                                " needs that many distinct samples; the data has " +
                                                std::to_string(available));
    }
    return draw_distinct(rng, available, batch);
  }

  ImageBatch cifar_ntk(int batch, int size) {
    if (size != kCifarSide) {
      // NB201's 16 x 16 configurations use ImageNet16-120 images with their own transform
      // (crop 16, padding 2); a CIFAR image has no agreed 16 x 16 version to stand in for them.
      throw Error(Status::kUnsupported,
                  where() + ": NTK inputs of " + std::to_string(size) + "x" + std::to_string(size) +
                      " are not defined for CIFAR's 32x32 images; use "
                      "size 32, or give " +
                      std::to_string(size) + "x" + std::to_string(size) + " inputs as npy:PATH");
    }
    const std::vector<std::int64_t> images = distinct(cifar.count, batch, "NTK");
    ImageBatch b = empty_batch(batch, 3, size, size);
    const int offsets = kCifarSide + 2 * kCropPadding - size + 1;  // 0..8 for size 32
    for (int i = 0; i < batch; ++i) {
      // TE-NAS / NB201's training transform, in its order: RandomHorizontalFlip (flip when a
      // uniform draw is < 0.5), RandomCrop(32, padding=4), ToTensor, Normalize. The padding is
      // applied to the raw image, so the zero border becomes (0 - mean) / std after Normalize,
      // not 0; normalized[c][0] is exactly that value.
      const bool flip = rng.uniform() < 0.5;
      const int oy = static_cast<int>(rng.below(offsets)) - kCropPadding;
      const int ox = static_cast<int>(rng.below(offsets)) - kCropPadding;
      float* out = b.data.data() + static_cast<std::size_t>(i) * 3 * size * size;
      for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < size; ++y) {
          for (int x = 0; x < size; ++x) {
            // Output (y, x) reads the flipped, padded image at (y + oy, x + ox) (offsets here
            // relative to the unpadded image); flipping maps column X to 31 - X.
            const int sy = y + oy, fx = x + ox;
            const bool inside = sy >= 0 && sy < kCifarSide && fx >= 0 && fx < kCifarSide;
            const int sx = flip ? kCifarSide - 1 - fx : fx;
            *out++ = inside ? cifar_pixel(images[i], c, sy, sx) : normalized[c][0];
          }
        }
      }
    }
    return b;
  }

  ImageBatch cifar_lr(int batch) {
    ImageBatch b = empty_batch(batch, 1, kWindow, kWindow);
    const int offsets = kCifarSide - kWindow + 1;  // 0..29
    for (int i = 0; i < batch; ++i) {
      const std::int64_t image = static_cast<std::int64_t>(rng.below(cifar.count));
      const int c = static_cast<int>(rng.below(3));
      const int oy = static_cast<int>(rng.below(offsets));
      const int ox = static_cast<int>(rng.below(offsets));
      float* out = b.data.data() + static_cast<std::size_t>(i) * kWindow * kWindow;
      for (int y = 0; y < kWindow; ++y) {
        for (int x = 0; x < kWindow; ++x) *out++ = cifar_pixel(image, c, oy + y, ox + x);
      }
    }
    return b;
  }

  ImageBatch npy_ntk(int batch, int size) {
    if (shape[1] != 3 || shape[2] != size || shape[3] != size) {
      throw Error(Status::kInvalidArgument,
                  where() + ": NTK inputs need an array of shape [N, 3, " + std::to_string(size) +
                      ", " + std::to_string(size) + "]; the file has " + shape_text(shape));
    }
    const std::vector<std::int64_t> samples = distinct(shape[0], batch, "NTK");
    ImageBatch b = empty_batch(batch, 3, size, size);
    const std::size_t per = static_cast<std::size_t>(3) * size * size;
    for (int i = 0; i < batch; ++i) {
      std::copy_n(values.begin() + npy_offset(samples[i], 0, 0, 0), per, b.data.begin() + i * per);
    }
    return b;
  }

  ImageBatch npy_lr(int batch) {
    ImageBatch b = empty_batch(batch, 1, kWindow, kWindow);
    const std::size_t per = kWindow * kWindow;
    if (shape[1] == 1 && shape[2] == kWindow && shape[3] == kWindow) {
      const std::vector<std::int64_t> samples = distinct(shape[0], batch, "linear-region");
      for (int i = 0; i < batch; ++i) {
        std::copy_n(values.begin() + npy_offset(samples[i], 0, 0, 0), per,
                    b.data.begin() + i * per);
      }
      return b;
    }
    if (shape[2] < kWindow || shape[3] < kWindow) {
      throw Error(Status::kInvalidArgument,
                  where() +
                      ": linear-region inputs need [N, 1, 3, 3] samples or [N, C, H, W] "
                      "images with H, W >= 3 to crop from; the file has " +
                      shape_text(shape));
    }
    // Cropped like CIFAR (random sample, channel and window), values as given.
    for (int i = 0; i < batch; ++i) {
      const std::int64_t n = static_cast<std::int64_t>(rng.below(shape[0]));
      const std::int64_t c = static_cast<std::int64_t>(rng.below(shape[1]));
      const std::int64_t oy = static_cast<std::int64_t>(rng.below(shape[2] - kWindow + 1));
      const std::int64_t ox = static_cast<std::int64_t>(rng.below(shape[3] - kWindow + 1));
      float* out = b.data.data() + i * per;
      for (int y = 0; y < kWindow; ++y) {
        for (int x = 0; x < kWindow; ++x) *out++ = values[npy_offset(n, c, oy + y, ox + x)];
      }
    }
    return b;
  }
};

InputSampler::InputSampler(const DataSpec& spec, std::uint64_t seed)
    : state_(std::make_unique<State>(spec, seed)) {}
InputSampler::~InputSampler() = default;
InputSampler::InputSampler(InputSampler&&) noexcept = default;
InputSampler& InputSampler::operator=(InputSampler&&) noexcept = default;

const DataSpec& InputSampler::spec() const { return state_->spec; }

ImageBatch InputSampler::ntk_batch(int batch, int size) {
  State& s = *state_;
  check_batch(batch, s.spec);
  if (size < 1) {
    throw Error(Status::kInvalidArgument,
                s.where() + ": image size " + std::to_string(size) + " must be >= 1");
  }
  switch (s.spec.kind) {
    case DataSpec::Kind::kSynthetic: return s.gaussian(batch, 3, size, size);
    case DataSpec::Kind::kCifar10:
    case DataSpec::Kind::kCifar100: return s.cifar_ntk(batch, size);
    case DataSpec::Kind::kNpy: return s.npy_ntk(batch, size);
  }
  throw Error(Status::kInternal, "ntk_batch: unknown data kind");
}

ImageBatch InputSampler::lr_batch(int batch) {
  State& s = *state_;
  check_batch(batch, s.spec);
  switch (s.spec.kind) {
    case DataSpec::Kind::kSynthetic: return s.gaussian(batch, 1, kWindow, kWindow);
    case DataSpec::Kind::kCifar10:
    case DataSpec::Kind::kCifar100: return s.cifar_lr(batch);
    case DataSpec::Kind::kNpy: return s.npy_lr(batch);
  }
  throw Error(Status::kInternal, "lr_batch: unknown data kind");
}

}  // namespace micronas
