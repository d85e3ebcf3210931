"""Regenerates the PyTorch golden files under tests/golden/ (see tests/golden/README.md).

For each case: seeded random parameters (BN gamma/beta moved away from 1/0 so that their
gradients are exercised), a seeded input batch and a seeded cotangent on the logits. In float64
it records the logits, the gradient of sum(cotangent * logits) with respect to every parameter
and the input, and TE-NAS's NTK Jacobian rows: for a few samples i, the gradient of
sum_c logits[i, c] with respect to every parameter whose name contains "weight", concatenated in
state_dict order, taken from the same training-mode forward (so rows see BN batch statistics).

Usage: python3 tests/scripts/make_golden.py [output dir, default tests/golden]
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nb201_torch import NB201Network  # noqa: E402

# TE-NAS's NTK net (C=3, N=1, stem) at 8x8; the supernet states use C=2 to keep the files small
# (a supernet cell has 4-5 times the parameters of a single cell).
NTK = dict(channels=3, cells_per_stage=1, use_stem=True, depth=-1, input_channels=3,
           input_size=8, num_classes=10)
NTK_C2 = dict(NTK, channels=2)

CASES = [
    # One NB201 cell (every op kind, a `none` edge) on TE-NAS's NTK net, at 8x8 to keep it small.
    dict(name="ntk_cell", seed=101, batch=4, jacobian_samples=[0, 3], config=NTK,
         arch="|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|"
              "nor_conv_3x3~2|"),
    # The start of the pruning search: every op but `none` on every edge, w = 1/4.
    dict(name="supernet_none", seed=202, batch=4, jacobian_samples=[1, 2], config=NTK_C2,
         arch="supernet-none"),
    # A mid-search state: 2- and 3-op edges (one counting `none` in k), a `none`-only edge.
    dict(name="supernet_mixed", seed=303, batch=5, jacobian_samples=[0, 2, 4], config=NTK_C2,
         arch="|nor_conv_3x3/skip_connect~0|+|none/avg_pool_3x3/nor_conv_1x1~0|"
              "nor_conv_3x3/avg_pool_3x3~1|+|skip_connect/nor_conv_1x1~0|none~1|"
              "nor_conv_3x3/skip_connect/avg_pool_3x3~2|"),
    # TE-NAS's linear-region "thin" net: one C=1 cell on a 1x3x3 input.
    dict(name="lr_thin", seed=404, batch=16, jacobian_samples=[0, 7, 15],
         config=dict(channels=1, cells_per_stage=1, use_stem=False, depth=1, input_channels=1,
                     input_size=3, num_classes=10),
         arch="|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|"
              "nor_conv_3x3~1|avg_pool_3x3~2|"),
    # Both ResNet reduction blocks (8 -> 4 -> 2), N=2; node 1 is all-zero (edge 1<-0 is `none`),
    # so a conv + BN runs on a constant input (zero batch variance).
    dict(name="c4n2_reductions", seed=505, batch=3, jacobian_samples=[0, 2],
         config=dict(channels=4, cells_per_stage=2, use_stem=True, depth=-1, input_channels=3,
                     input_size=8, num_classes=7),
         arch="|none~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|"
              "nor_conv_1x1~2|"),
]


def file_name(key):
    # '<' is not portable in file names; case.json maps every key to its file.
    return key.replace("<-", "-") + ".npy"


def randomize(model, rng):
    """PyTorch-default-like magnitudes for conv/linear; BN gamma in [0.5, 1.5], beta in
    [-0.5, 0.5] so that neither their gradients nor their effect is trivial."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:  # conv or linear weight
                bound = 1.0 / math.sqrt(p[0].numel())
                values = rng.uniform(-bound, bound, size=p.shape)
            elif name.startswith("classifier"):
                bound = 1.0 / math.sqrt(model.classifier.in_features)
                values = rng.uniform(-bound, bound, size=p.shape)
            elif name.endswith("weight"):
                values = rng.uniform(0.5, 1.5, size=p.shape)
            else:
                values = rng.uniform(-0.5, 0.5, size=p.shape)
            p.copy_(torch.from_numpy(values))


def make_case(case, out_root):
    cfg = case["config"]
    torch.manual_seed(0)  # module constructors draw defaults; every value is overwritten below
    model = NB201Network(case["arch"], cfg["channels"], cfg["cells_per_stage"], cfg["use_stem"],
                         cfg["depth"], cfg["input_channels"], cfg["num_classes"]).double()
    model.train()
    names = [k for k, _ in model.named_parameters()]
    assert list(model.state_dict().keys()) == names, "state_dict must hold only parameters"

    rng = np.random.Generator(np.random.PCG64(case["seed"]))
    randomize(model, rng)
    batch, size = case["batch"], cfg["input_size"]
    x = torch.from_numpy(rng.standard_normal((batch, cfg["input_channels"], size, size)))
    cot = torch.from_numpy(rng.standard_normal((batch, cfg["num_classes"])))
    x.requires_grad_(True)

    params = dict(model.named_parameters())
    logits = model(x)
    grads = torch.autograd.grad((cot * logits).sum(), [x] + list(params.values()),
                                retain_graph=True)
    dinput, dparams = grads[0], grads[1:]

    # TE-NAS's NTK rows: parameters whose name contains "weight", in state_dict order.
    weight_names = [n for n in names if "weight" in n]
    rows = []
    for i in case["jacobian_samples"]:
        g = torch.autograd.grad(logits[i].sum(), [params[n] for n in weight_names],
                                retain_graph=True)
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    jacobian = torch.stack(rows)

    out = os.path.join(out_root, case["name"])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "params"))
    os.makedirs(os.path.join(out, "grads"))

    def save(rel, tensor):
        np.save(os.path.join(out, rel), np.ascontiguousarray(tensor.detach().numpy(), "<f8"))

    save("input.npy", x)
    save("cotangent.npy", cot)
    save("logits.npy", logits)
    save("dinput.npy", dinput)
    save("jacobian.npy", jacobian)
    entries = []
    for (name, p), g in zip(params.items(), dparams):
        save(os.path.join("params", file_name(name)), p)
        save(os.path.join("grads", file_name(name)), g)
        entries.append(dict(name=name, shape=list(p.shape),
                            value="params/" + file_name(name), grad="grads/" + file_name(name)))
    meta = dict(
        name=case["name"],
        arch=case["arch"],
        config=cfg,
        batch=batch,
        seed=case["seed"],
        dtype="float64",
        torch_version=torch.__version__,
        files=dict(input="input.npy", cotangent="cotangent.npy", logits="logits.npy",
                   dinput="dinput.npy", jacobian="jacobian.npy"),
        jacobian_samples=case["jacobian_samples"],
        jacobian_params=weight_names,
        params=entries,
    )
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    total = sum(p.numel() for p in params.values())
    print(f"{case['name']}: {len(names)} tensors, {total} parameters, "
          f"jacobian {tuple(jacobian.shape)}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "golden")
    torch.set_num_threads(1)  # deterministic reductions
    for case in CASES:
        make_case(case, out_root)


if __name__ == "__main__":
    main()
