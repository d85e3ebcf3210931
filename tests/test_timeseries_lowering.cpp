// Lowering of time-series architectures to layers: the example UCI-HAR network checked layer by
// layer against shapes, "same" paddings, MACs and parameters worked out by hand.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "micronas/random.hpp"
#include "micronas/timeseries_lowering.hpp"
#include "micronas/timeseries_space.hpp"

namespace micronas::timeseries {
namespace {

const char* kExample = "tr:k5w8|tr:k3w12|tr:k7w16|sf:b16[3,7]w32r|sf:skip|sf:b8[5]w24";

std::vector<std::string> names(const LayerGraph& g) {
  std::vector<std::string> out;
  for (const Layer& l : g.layers) out.push_back(l.name);
  return out;
}

int index(const LayerGraph& g, const std::string& name) {
  for (std::size_t i = 0; i < g.layers.size(); ++i)
    if (g.layers[i].name == name) return static_cast<int>(i);
  throw Error(Status::kInternal, "no layer " + name);
}

const Layer& find(const LayerGraph& g, const std::string& name) { return g.layers[index(g, name)]; }

TEST(TimeseriesLowering, ExampleNetworkLayerByLayer) {
  Space har(128, 9, 6);
  LayerGraph g = lower(har, har.parse(kExample));
  EXPECT_EQ(names(g), (std::vector<std::string>{
                          "tr1.conv", "tr1.dropout", "tr2.conv", "tr2.dropout", "tr3.conv",
                          "tr3.dropout", "sf1.bottleneck", "sf1.branch3", "sf1.branch7", "sf1.sum7",
                          "sf1.residual", "sf1.add", "sf1.dropout", "sf3.bottleneck", "sf3.branch5",
                          "sf3.dropout", "head.conv", "head.pool", "head.softmax"}));
  EXPECT_EQ(g.output, 18);
  EXPECT_EQ(g.input, (Shape{128, 9, 1}));

  // tr1: (128, 9, 1) -> (64, 9, 8), kernel (5, 1) stride (2, 1): total padding
  // 63 * 2 + 5 - 128 = 3 -> 1 before, 2 after.
  const Layer& tr1 = g.layers[0];
  EXPECT_EQ(tr1.inputs, std::vector<int>{-1});
  EXPECT_EQ(tr1.out, (Shape{64, 9, 8}));
  EXPECT_EQ(tr1.kh, 5);
  EXPECT_EQ(tr1.sh, 2);
  EXPECT_EQ(tr1.pad_top, 1);
  EXPECT_EQ(tr1.pad_bottom, 2);
  EXPECT_EQ(tr1.pad_left + tr1.pad_right, 0);
  EXPECT_EQ(tr1.macs(), 64 * 9 * 8 * 5 * 1);
  EXPECT_EQ(tr1.params(), 5 * 1 * 8 + 8);
  EXPECT_TRUE(tr1.relu && tr1.batch_norm);
  EXPECT_DOUBLE_EQ(g.layers[1].dropout, 0.3);
  // tr2: 31 * 2 + 3 - 64 = 1 -> 0 before, 1 after. tr3: 15 * 2 + 7 - 32 = 5 -> 2, 3.
  EXPECT_EQ(g.layers[2].pad_top, 0);
  EXPECT_EQ(g.layers[2].pad_bottom, 1);
  EXPECT_EQ(g.layers[2].macs(), 32 * 9 * 12 * 3 * 8);
  EXPECT_EQ(g.layers[4].pad_top, 2);
  EXPECT_EQ(g.layers[4].pad_bottom, 3);
  EXPECT_EQ(g.layers[4].out, (Shape{16, 9, 16}));

  // sf1 reduces 9 -> 5 sensor positions: bottleneck (1, 9) stride (1, 2), padding
  // 4 * 2 + 9 - 9 = 8 -> 4, 4.
  const Layer& neck = find(g, "sf1.bottleneck");
  EXPECT_EQ(neck.inputs, std::vector<int>{5});
  EXPECT_EQ(neck.kw, 9);
  EXPECT_EQ(neck.sw, 2);
  EXPECT_EQ(neck.out, (Shape{16, 5, 16}));
  EXPECT_EQ(neck.pad_left, 4);
  EXPECT_EQ(neck.pad_right, 4);
  EXPECT_EQ(neck.macs(), 16 * 5 * 16 * 9 * 16);
  const Layer& b7 = find(g, "sf1.branch7");
  EXPECT_EQ(b7.inputs, std::vector<int>{6});
  EXPECT_EQ(b7.pad_top, 3);
  EXPECT_EQ(b7.pad_bottom, 3);
  EXPECT_EQ(b7.out, (Shape{16, 5, 32}));
  EXPECT_EQ(b7.params(), 7 * 16 * 32 + 32);
  const Layer& sum = find(g, "sf1.sum7");
  EXPECT_EQ(sum.kind, LayerKind::kAdd);
  EXPECT_EQ(sum.inputs, (std::vector<int>{7, 8}));
  // Residual from the cell input, (1, 2) stride (1, 2): 4 * 2 + 2 - 9 = 1 -> 0 before, 1 after.
  const Layer& res = find(g, "sf1.residual");
  EXPECT_EQ(res.inputs, std::vector<int>{5});
  EXPECT_EQ(res.kw, 2);
  EXPECT_EQ(res.pad_left, 0);
  EXPECT_EQ(res.pad_right, 1);
  EXPECT_EQ(res.macs(), 16 * 5 * 32 * 2 * 16);
  EXPECT_EQ(find(g, "sf1.add").inputs, (std::vector<int>{9, 10}));

  // sf2 is skipped: sf3 reads sf1's output. Not reducing: bottleneck (1, 5) stride 1, 2 + 2.
  const Layer& neck3 = find(g, "sf3.bottleneck");
  EXPECT_EQ(neck3.inputs, std::vector<int>{12});
  EXPECT_EQ(neck3.in, (Shape{16, 5, 32}));
  EXPECT_EQ(neck3.out, (Shape{16, 5, 8}));
  EXPECT_EQ(neck3.sw, 1);
  EXPECT_EQ(neck3.pad_left, 2);
  EXPECT_EQ(neck3.pad_right, 2);
  EXPECT_EQ(find(g, "sf3.dropout").inputs, std::vector<int>{14});  // one branch, no sum

  const Layer& head = find(g, "head.conv");
  EXPECT_EQ(head.out, (Shape{16, 5, 6}));
  EXPECT_TRUE(head.relu);
  EXPECT_FALSE(head.batch_norm);
  EXPECT_EQ(find(g, "head.pool").out, (Shape{1, 1, 6}));

  EXPECT_EQ(g.macs(), 64 * 9 * 8 * 5 + 32 * 9 * 12 * 3 * 8 + 16 * 9 * 16 * 7 * 12 +  // Time-Reduce
                          16 * 5 * 16 * 9 * 16 + 16 * 5 * 32 * 3 * 16 +  // sf1 bottleneck, k3
                          16 * 5 * 32 * 7 * 16 + 16 * 5 * 32 * 2 * 16 +  // sf1 k7, residual
                          16 * 5 * 8 * 5 * 32 + 16 * 5 * 24 * 5 * 8 +    // sf3
                          16 * 5 * 6 * 24);                              // head
  EXPECT_EQ(g.macs(), 1166080);
  EXPECT_EQ(g.params(), 12690);
  EXPECT_EQ(g.bn_params(), 2 * (8 + 12 + 16) + 2 * (16 + 32 + 32 + 32) + 2 * (8 + 24));
}

TEST(TimeseriesLowering, NonReducingResidualIsOneByOne) {
  Space har(128, 9, 6);
  LayerGraph g = lower(har, har.parse("tr:k3w4|tr:k3w4|tr:k3w4|sf:b8[3]w8|sf:b8[3,5,7]w16r|"
                                      "sf:skip"));
  const Layer& res = find(g, "sf2.residual");
  EXPECT_EQ(res.kh, 1);
  EXPECT_EQ(res.kw, 1);
  EXPECT_EQ(res.in, (Shape{16, 5, 8}));
  EXPECT_EQ(res.out, (Shape{16, 5, 16}));
  EXPECT_EQ(res.pad_left + res.pad_right + res.pad_top + res.pad_bottom, 0);
  EXPECT_EQ(find(g, "sf2.sum5").inputs.size(), 2u);
  // A running sum: branch 7 is added to the sum of branches 3 and 5.
  EXPECT_EQ(find(g, "sf2.sum7").inputs,
            (std::vector<int>{index(g, "sf2.sum5"), index(g, "sf2.branch7")}));
  EXPECT_EQ(find(g, "head.conv").in, (Shape{16, 5, 16}));
}

TEST(TimeseriesLowering, EverySampledNetworkIsConsistent) {
  Space skoda(64, 30, 10);
  Rng rng(3);
  for (int i = 0; i < 200; ++i) {
    Arch a = skoda.sample(rng);
    LayerGraph g = lower(skoda, a);
    std::vector<CellShape> cells = skoda.shapes(a);
    EXPECT_EQ(g.layers[g.output].out, (Shape{1, 1, 10}));
    EXPECT_EQ(find(g, "head.conv").in, cells.back().out) << a.to_string();
    for (std::size_t l = 0; l < g.layers.size(); ++l) {
      const Layer& layer = g.layers[l];
      for (int in : layer.inputs) {
        ASSERT_LT(in, static_cast<int>(l));  // a schedule: inputs come first
        EXPECT_EQ(in < 0 ? g.input : g.layers[in].out, layer.in) << layer.name;
      }
      if (layer.kind == LayerKind::kConv) {
        // "same": (out - 1) * stride + kernel = in + padding whenever padding is needed.
        EXPECT_GE((layer.out.t - 1) * layer.sh + layer.kh, layer.in.t);
        EXPECT_EQ(layer.out.t, same_out(layer.in.t, layer.sh));
        EXPECT_EQ(layer.out.s, same_out(layer.in.s, layer.sw));
        EXPECT_LE(layer.pad_left, layer.pad_right);
      }
    }
  }
  Arch bad = skoda.smallest();
  bad.time_reduce[0].width = 5;
  EXPECT_THROW(lower(skoda, bad), Error);
}

}  // namespace
}  // namespace micronas::timeseries
