"""Regenerates the proxy golden files under tests/golden/proxies/ (see tests/golden/README.md).

TE-NAS's two zero-cost proxies, computed in float64 by the independent PyTorch network of
nb201_torch.py with TE-NAS's own procedure:

* NTK cases (the NTK net, C=3, N=1, stem, 10 classes, at 8x8): one training-mode forward of the
  batch, then one backward pass per sample i of sum_c logits[i, c] (TE-NAS's loop), keeping the
  gradients of the parameters whose name contains "weight", concatenated in state_dict order:
  J [B, P_weight]. K = J J^T, eigenvalues by torch.linalg.eigvalsh (ascending), and
  cond = lambda_max / lambda_min.
* Linear-region cases (the thin net: C=1, N=1, depth 1, no stem, 1x3x3 input, 10 classes):
  3 batches, each its own training-mode forward (BN statistics per batch). Every nn.ReLU records
  [pre-activation > 0] of its input, per sample flattened C,H,W, concatenated in execution order;
  the count is the number of distinct rows over all batches, cross-checked against TE-NAS's fp16
  Hamming-matmul count.

Parameters are PyTorch-default-style (conv/linear weight and linear bias U(+-1/sqrt(fan_in)),
BN gamma 1 and beta 0, as TE-NAS scores freshly initialised networks), drawn from a seeded
NumPy generator so that the files do not depend on torch's RNG.

Usage: python3 tests/scripts/make_proxy_golden.py [output dir, default tests/golden/proxies]
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import file_name  # noqa: E402
from nb201_torch import NB201Network  # noqa: E402

NTK = dict(channels=3, cells_per_stage=1, use_stem=True, depth=-1, input_channels=3,
           input_size=8, num_classes=10)
THIN = dict(channels=1, cells_per_stage=1, use_stem=False, depth=1, input_channels=1,
            input_size=3, num_classes=10)

# The NTK archs keep one 3x3 and at most two 1x1 convolutions per cell so that the Jacobian stays
# under 5k columns (each 3x3 conv adds 1722 columns across the three stages, each 1x1 adds 210,
# the fixed stem/blocks/head 2772), which keeps the float64 files small.
NTK_CASES = [
    # One NB201 cell with every op kind.
    dict(name="ntk_cell", seed=1101, batch=8,
         arch="|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|"
              "nor_conv_1x1~2|"),
    # A pruning-search state: 2- to 4-op edges (`none` counting in k), a single-op edge.
    dict(name="ntk_supernet_mixed", seed=2202, batch=8,
         arch="|nor_conv_3x3/skip_connect/avg_pool_3x3/none~0|+|nor_conv_1x1/none~0|"
              "skip_connect/avg_pool_3x3~1|+|skip_connect/none/avg_pool_3x3~0|avg_pool_3x3~1|"
              "nor_conv_1x1/skip_connect~2|"),
    # Ill-conditioned but valid: samples 4..7 are samples 0..3 plus 1e-3 noise (as augmented
    # copies of one image are), so kappa ~ 1.5e6: an fp32 Jacobian's error in K (~1e-6 of
    # lambda_max) is of the size of lambda_min, and only the fp64 path resolves it reliably.
    dict(name="ntk_near_duplicates", seed=3303, batch=8, near_duplicates=1e-3,
         arch="|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|avg_pool_3x3~0|skip_connect~1|"
              "nor_conv_1x1~2|"),
]

# Smallest |pre-activation| allowed in a linear-region case (see make_lr_case).
MIN_MARGIN = 2e-6

LR_CASES = [
    dict(name="lr_cell", seed=4404, batches=3, batch=1000,
         arch="|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
              "nor_conv_3x3~1|nor_conv_1x1~2|"),
    # Both 3x3 and 1x1 ops on one edge and several convs reading the same node.
    dict(name="lr_supernet_mixed", seed=5505, batches=3, batch=1000,
         arch="|nor_conv_3x3/nor_conv_1x1/skip_connect~0|+|nor_conv_3x3/avg_pool_3x3~0|"
              "nor_conv_1x1/none~1|+|skip_connect/nor_conv_3x3~0|none~1|"
              "nor_conv_3x3/nor_conv_1x1/avg_pool_3x3/skip_connect~2|"),
    # The start of the pruning search: every op on every edge, `none` included (w = 1/5).
    dict(name="lr_supernet", seed=6606, batches=3, batch=1000, arch="supernet"),
]


def build(arch, cfg):
    torch.manual_seed(0)  # module constructors draw defaults; every value is overwritten below
    model = NB201Network(arch, cfg["channels"], cfg["cells_per_stage"], cfg["use_stem"],
                         cfg["depth"], cfg["input_channels"], cfg["num_classes"]).double()
    model.train()
    names = [k for k, _ in model.named_parameters()]
    assert list(model.state_dict().keys()) == names, "state_dict must hold only parameters"
    return model


def pytorch_default(model, rng):
    """nn.Conv2d / nn.Linear defaults (kaiming_uniform(a=sqrt(5)) is U(+-1/sqrt(fan_in)), the
    linear bias likewise), BN gamma 1 and beta 0."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                bound = 1.0 / math.sqrt(p[0].numel())
                p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=p.shape)))
            elif name.startswith("classifier"):
                bound = 1.0 / math.sqrt(model.classifier.in_features)
                p.copy_(torch.from_numpy(rng.uniform(-bound, bound, size=p.shape)))
            elif name.endswith("weight"):
                p.fill_(1.0)
            else:
                p.fill_(0.0)


class CaseWriter:
    def __init__(self, out_root, name):
        self.out = os.path.join(out_root, name)
        if os.path.isdir(self.out):
            shutil.rmtree(self.out)
        os.makedirs(os.path.join(self.out, "params"))

    def save(self, rel, array, dtype="<f8"):
        np.save(os.path.join(self.out, rel), np.ascontiguousarray(array, dtype))
        return rel

    def save_params(self, model):
        entries = []
        for name, p in model.named_parameters():
            rel = self.save(os.path.join("params", file_name(name)), p.detach().numpy())
            entries.append(dict(name=name, shape=list(p.shape), value=rel))
        return entries

    def write_meta(self, meta):
        with open(os.path.join(self.out, "case.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")

    def size(self):
        return sum(os.path.getsize(os.path.join(d, f))
                   for d, _, files in os.walk(self.out) for f in files)


def make_ntk_case(case, out_root):
    cfg = NTK
    model = build(case["arch"], cfg)
    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    pytorch_default(model, rng)
    batch, size = case["batch"], cfg["input_size"]
    x = rng.standard_normal((batch, cfg["input_channels"], size, size))
    if "near_duplicates" in case:
        half = batch // 2
        x[half:] = x[:half] + case["near_duplicates"] * rng.standard_normal(x[half:].shape)
    x = torch.from_numpy(x)

    # TE-NAS's get_ntk_n: one forward, then one backward per sample through the whole batch.
    params = dict(model.named_parameters())
    weight_names = [n for n in params if "weight" in n]
    logits = model(x)
    rows = []
    for i in range(batch):
        g = torch.autograd.grad(logits[i].sum(), [params[n] for n in weight_names],
                                retain_graph=True)
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    jacobian = torch.stack(rows).detach()
    gram = jacobian @ jacobian.t()
    eigenvalues = torch.linalg.eigvalsh(gram)
    lambda_min, lambda_max = eigenvalues[0].item(), eigenvalues[-1].item()
    assert lambda_min > 0, f"{case['name']}: K is not positive definite"
    cond = lambda_max / lambda_min

    w = CaseWriter(out_root, case["name"])
    files = dict(input=w.save("input.npy", x.numpy()),
                 jacobian=w.save("jacobian.npy", jacobian.numpy()),
                 gram=w.save("gram.npy", gram.numpy()),
                 eigenvalues=w.save("eigenvalues.npy", eigenvalues.numpy()))
    w.write_meta(dict(
        name=case["name"], kind="ntk", arch=case["arch"], config=cfg, batch=batch,
        seed=case["seed"], near_duplicates=case.get("near_duplicates", 0.0), dtype="float64",
        torch_version=torch.__version__, files=files,
        lambda_min=lambda_min, lambda_max=lambda_max, condition=cond,
        jacobian_params=weight_names, params=w.save_params(model)))
    print(f"{case['name']}: J {tuple(jacobian.shape)}, lambda [{lambda_min:.3e}, "
          f"{lambda_max:.3e}], cond {cond:.6e}, {w.size() / 1024:.0f} KiB")


def relu_patterns(model, x):
    """Training-mode forward of x; returns the bits [pre-activation > 0] of every ReLU, per
    sample flattened C,H,W and concatenated in execution order: [batch, bits] bool; and the
    smallest |pre-activation| seen."""
    relus = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
    fired, bits, margin = [], [], [math.inf]

    def hook(name):
        def record(module, inputs, output):
            fired.append(name)
            bits.append(inputs[0].reshape(inputs[0].shape[0], -1) > 0)
            margin[0] = min(margin[0], inputs[0].abs().min().item())
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in relus]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    # Hooking in module order records in execution order only if the two agree: each executed
    # conv op's ReLU (edges in NB201 order, ops by index), then lastact's.
    assert fired == [name for name, _ in relus], f"ReLU execution order {fired}"
    assert fired[-1] == "lastact.1"
    return torch.cat(bits, dim=1), margin[0]


def tenas_count(patterns):
    """TE-NAS's LinearRegionCount.calc_LR: Hamming distances by an fp16 matmul, then
    sum_i 1 / (number of rows equal to row i)."""
    a = patterns.to(torch.float32)
    try:
        res = torch.matmul(a.half(), (1 - a).t().half())
    except RuntimeError:
        # No fp16 matmul on this CPU build: fp32 gives the same integers (each is a count of at
        # most `bits` ones, exact in fp16 too since bits < 2048).
        res = torch.matmul(a, (1 - a).t())
    res = res.float()
    res = res + res.t()
    res = 1 - torch.sign(res)
    return (1.0 / res.sum(1)).sum().item()


def make_lr_case(case, out_root):
    cfg = THIN
    model = build(case["arch"], cfg)
    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    pytorch_default(model, rng)
    shape = (case["batches"], case["batch"], cfg["input_channels"], cfg["input_size"],
             cfg["input_size"])
    # The C++ check runs the float network, whose pre-activations differ from these by a few
    # fp32 roundings of O(1) values (~3e-7; BN statistics are accumulated in fp64 on both sides).
    # A bit closer to 0 than that could flip and change the exact count, so the inputs are
    # redrawn (same generator, next draw) until every pre-activation is MIN_MARGIN away from 0.
    for draw in range(1, 21):
        # Stored and fed as float32: the C++ float network sees exactly these values.
        inputs = rng.standard_normal(shape).astype(np.float32)
        runs = [relu_patterns(model, torch.from_numpy(b).double()) for b in inputs]
        margin = min(m for _, m in runs)
        if margin > MIN_MARGIN:
            break
    else:
        raise RuntimeError(f"{case['name']}: no input draw keeps the pre-activations off 0")
    patterns = torch.cat([bits for bits, _ in runs])
    count = torch.unique(patterns, dim=0).shape[0]
    tenas = tenas_count(patterns)
    assert round(tenas) == count and abs(tenas - count) < 1e-2, (tenas, count)

    w = CaseWriter(out_root, case["name"])
    files = dict(inputs=w.save("inputs.npy", inputs, "<f4"))
    w.write_meta(dict(
        name=case["name"], kind="linear_regions", arch=case["arch"], config=cfg,
        batches=case["batches"], batch=case["batch"], seed=case["seed"],
        dtype="float64 (inputs float32)", torch_version=torch.__version__, files=files,
        pattern_bits=patterns.shape[1], count=count, tenas_count=tenas,
        input_draw=draw, min_abs_preactivation=margin,
        params=w.save_params(model)))
    print(f"{case['name']}: {patterns.shape[1]} bits per sample, {count} distinct of "
          f"{patterns.shape[0]} (TE-NAS {tenas:.4f}), min |pre-activation| {margin:.1e} "
          f"(draw {draw}), {w.size() / 1024:.0f} KiB")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = (sys.argv[1] if len(sys.argv) > 1
                else os.path.join(here, "..", "golden", "proxies"))
    torch.set_num_threads(1)  # deterministic reductions
    for case in NTK_CASES:
        make_ntk_case(case, out_root)
    for case in LR_CASES:
        make_lr_case(case, out_root)


if __name__ == "__main__":
    main()
