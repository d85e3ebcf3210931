// Uses the installed library through its public headers only.
#include <cstdio>

#include "micronas/arch.hpp"
#include "micronas/graph.hpp"

int main() {
  micronas::Arch arch = micronas::Arch::parse(
      "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "nor_conv_3x3~2|");
  micronas::ModelSize size = micronas::model_size(
      micronas::build_graph(micronas::NetworkConfig::nb201(micronas::Dataset::kCifar10), arch));
  std::printf("%.5f\n", size.flops_m());
  return size.macs == 184730250 ? 0 : 1;
}
