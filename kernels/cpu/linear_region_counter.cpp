// Linear regions: distinct activation patterns, hashed during the forward pass.
#include <algorithm>

#include "micronas/error.hpp"
#include "micronas/proxies.hpp"

namespace micronas {

void PatternSet::add(std::uint64_t h0, std::uint64_t h1, std::vector<std::uint64_t> row) {
  hashes_.emplace_back(h0, h1);
  if (verify_) rows_.push_back(std::move(row));
}

void PatternSet::check() const {
  if (verify_ && exact_count() != count())
    throw Error(Status::kInternal, "activation-pattern hash count " + std::to_string(count()) +
                                       " differs from the exact count " +
                                       std::to_string(exact_count()));
}

std::int64_t PatternSet::count() const {
  auto sorted = hashes_;
  std::sort(sorted.begin(), sorted.end());
  return std::unique(sorted.begin(), sorted.end()) - sorted.begin();
}

std::int64_t PatternSet::exact_count() const {
  if (!verify_)
    throw Error(Status::kInvalidArgument, "exact_count() needs a counter built with verify=true");
  return count_distinct_rows(rows_);
}

void LinearRegionCounter::add_batch(Network<float>& net, const float* inputs, int batch) {
  ActivationPatterns patterns;
  std::vector<std::vector<std::uint64_t>> rows;
  if (patterns_.verify()) patterns.rows = &rows;
  net.forward(inputs, batch, &patterns);
  for (int n = 0; n < batch; ++n)
    patterns_.add(patterns.hash[2 * n], patterns.hash[2 * n + 1],
                  patterns_.verify() ? std::move(rows[n]) : std::vector<std::uint64_t>{});
  patterns_.check();
}

std::int64_t count_distinct_rows(std::vector<std::vector<std::uint64_t>> rows) {
  std::sort(rows.begin(), rows.end());
  return std::unique(rows.begin(), rows.end()) - rows.begin();
}

}  // namespace micronas
