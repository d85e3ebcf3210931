"""Regenerates the PyTorch golden files of the time-series supernet (tests/golden/timeseries/).

An independent PyTorch implementation of the supernet of include/micronas/timeseries_training.hpp
(King et al.'s MicroNAS, reference section 3): Time-Reduce cells sum their (k, 1) stride-(2, 1)
conv -> ReLU -> BatchNorm ops weighted by P(k) and apply a width mask; Sensor-Fusion cells have
a (1, S) bottleneck with its mask, three temporal branches weighted by P(on), a residual conv
weighted by P(residual), the block mask, and in non-reducing cells the skip mixing
P(skip) x + (1 - P(skip)) cell; the head is conv 1x1 -> ReLU -> global average pooling ->
log-softmax over the classes. Convs pad like TensorFlow's "same" (smaller half before) and have
biases; batch norm runs in training mode (eps 1e-5, momentum 0.1). Dropout is 0, since the two
implementations draw different masks.

In float64 it records the log-probabilities, the mean NLL, the gradient of the loss with respect
to every parameter and every mixing input, the running statistics after the forward, and the
parameters after one Adam step (lr 0.01, weight decay 1e-3) and, separately, one SGD step
(lr 0.1, momentum 0.9, weight decay 1e-3) from the same gradients, the gradients clipped to norm
1 first (torch.nn.utils.clip_grad_norm_).

Usage: python3 tests/scripts/make_timeseries_golden.py [output dir, default tests/golden/timeseries]
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

# The space: window 16 x 4, 3 classes; 2 Time-Reduce cells (16 -> 8 -> 4), a reducing
# Sensor-Fusion cell (4 -> 2 sensors) and one non-reducing cell; narrow widths.
CONFIG = dict(length=16, sensors=4, classes=3, kernels=[3, 5, 7], time_width_step=2,
              time_width_max=4, bottleneck_step=2, bottleneck_max=4, block_width_step=2,
              block_width_max=6, scale=1, min_time=4, min_sensors=5)
BRANCHES = [3, 5, 7]
BATCH = 4
SEED = 404


def same_pad(size, k, stride):
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


class Supernet:
    """Parameters and mixing inputs as named leaf tensors; forward() builds the graph."""

    def __init__(self, gen):
        self.gen = gen
        self.params = {}  # name -> tensor, in creation order
        self.mixing = {}
        self.bn_running = {}

    def uniform(self, shape, lo, hi):
        return (torch.rand(shape, generator=self.gen, dtype=torch.float64) * (hi - lo) + lo)

    def conv_params(self, name, cin, cout, kh, kw):
        bound = 1.0 / math.sqrt(cin * kh * kw)
        self.params[name + ".weight"] = self.uniform((cout, cin, kh, kw), -bound, bound)
        self.params[name + ".bias"] = self.uniform((cout,), -bound, bound)
        self.params[name + ".bn.gamma"] = self.uniform((cout,), 0.5, 1.5)
        self.params[name + ".bn.beta"] = self.uniform((cout,), -0.5, 0.5)
        self.bn_running[name + ".bn"] = (torch.zeros(cout, dtype=torch.float64),
                                         torch.ones(cout, dtype=torch.float64))

    def conv(self, name, x, stride, bn=True):
        w = self.params[name + ".weight"]
        kh, kw = w.shape[2], w.shape[3]
        top, bottom = same_pad(x.shape[2], kh, stride[0])
        left, right = same_pad(x.shape[3], kw, stride[1])
        y = F.conv2d(F.pad(x, (left, right, top, bottom)), w, self.params[name + ".bias"],
                     stride=stride)
        y = F.relu(y)
        if getattr(self, "relus", None) is not None:
            self.relus.append(y)
        if not bn:
            return y
        mean, var = self.bn_running[name + ".bn"]
        return F.batch_norm(y, mean, var, self.params[name + ".bn.gamma"],
                            self.params[name + ".bn.beta"], training=True, momentum=0.1, eps=1e-5)


def build(gen, c=CONFIG):
    """The supernet of space options `c`, its Time-Reduce and Sensor-Fusion cell counts."""
    net = Supernet(gen)
    t, s, cin = c["length"], c["sensors"], 1
    cells = []
    while len(cells) == 0 or (t + 1) // 2 >= c["min_time"]:
        cells.append(("tr", len(cells) + 1))
        t = (t + 1) // 2
        if (t + 1) // 2 < c["min_time"]:
            break
    n_time = len(cells)
    sf = 0
    halvings = 0
    ss = s
    while (ss + 1) // 2 >= c["min_sensors"]:
        halvings += 1
        ss = (ss + 1) // 2
    n_sensor = max(1, halvings) * (c["scale"] + 1)
    for i in range(n_time):
        name = "tr%d" % (i + 1)
        for k in c["kernels"]:
            net.conv_params("%s.conv_k%d" % (name, k), cin, c["time_width_max"], k, 1)
        net.mixing[name + ".kernel"] = None
        net.mixing[name + ".width"] = None
        cin = c["time_width_max"]
    for i in range(n_sensor):
        name = "sf%d" % (i + 1)
        reduces = i % (c["scale"] + 1) == 0
        net.conv_params(name + ".bottleneck", cin, c["bottleneck_max"], 1, s)
        for k in BRANCHES:
            net.conv_params("%s.branch%d" % (name, k), c["bottleneck_max"], c["block_width_max"],
                            k, 1)
        net.conv_params(name + ".residual", cin, c["block_width_max"], 1, 2 if reduces else 1)
        for m in ["bottleneck", "branch", "width", "residual"] + ([] if reduces else ["skip"]):
            net.mixing[name + "." + m] = None
        if reduces:
            s = (s + 1) // 2
        cin = c["block_width_max"]
    net.params["head.conv.weight"] = net.uniform((c["classes"], cin, 1, 1), -1 / math.sqrt(cin),
                                                 1 / math.sqrt(cin))
    net.params["head.conv.bias"] = net.uniform((c["classes"],), -1 / math.sqrt(cin),
                                               1 / math.sqrt(cin))
    return net, n_time, n_sensor


def widths(step, top):
    return list(range(step, top + 1, step))


def categorical(gen, n):
    p = torch.rand(n, generator=gen, dtype=torch.float64) + 0.2
    return p / p.sum()


def mask(gen, step, top):
    # P(width > c) for a random distribution over the widths.
    p = categorical(gen, len(widths(step, top)))
    return torch.tensor([sum(float(pi) for w, pi in zip(widths(step, top), p) if w > ch)
                         for ch in range(top)], dtype=torch.float64)


def mixing_values(net, gen, c=CONFIG):
    for name in list(net.mixing):
        cell, what = name.split(".")
        if what == "kernel":
            v = categorical(gen, len(c["kernels"]))
        elif what == "width" and cell.startswith("tr"):
            v = mask(gen, c["time_width_step"], c["time_width_max"])
        elif what == "width":
            v = mask(gen, c["block_width_step"], c["block_width_max"])
        elif what == "bottleneck":
            v = mask(gen, c["bottleneck_step"], c["bottleneck_max"])
        elif what == "branch":
            v = torch.rand(3, generator=gen, dtype=torch.float64) * 0.6 + 0.2
        elif what == "residual":
            v = torch.rand(1, generator=gen, dtype=torch.float64) * 0.6 + 0.2
        else:  # skip: [P(skip), 1 - P(skip)]
            p = float(torch.rand(1, generator=gen, dtype=torch.float64)) * 0.6 + 0.2
            v = torch.tensor([p, 1.0 - p], dtype=torch.float64)
        net.mixing[name] = v


def forward(net, x, n_time, n_sensor, c=CONFIG, dropout=0.0, log_softmax=True, relus=None):
    """Log-probabilities (or the logits); Dropout2d(dropout) on every cell's output (before the
    skip mixing). `relus`, a list, receives every ReLU's output."""
    net.relus = relus
    m = net.mixing
    for i in range(n_time):
        name = "tr%d" % (i + 1)
        y = sum(m[name + ".kernel"][j] * net.conv("%s.conv_k%d" % (name, k), x, (2, 1))
                for j, k in enumerate(c["kernels"]))
        x = y * m[name + ".width"][None, :, None, None]
        if dropout > 0:
            x = F.dropout2d(x, dropout, training=True)
    for i in range(n_sensor):
        name = "sf%d" % (i + 1)
        reduces = i % (c["scale"] + 1) == 0
        sw = 2 if reduces else 1
        neck = net.conv(name + ".bottleneck", x, (1, sw)) * m[name + ".bottleneck"][None, :, None,
                                                                                      None]
        y = sum(m[name + ".branch"][j] * net.conv("%s.branch%d" % (name, k), neck, (1, 1))
                for j, k in enumerate(BRANCHES))
        y = y + m[name + ".residual"][0] * net.conv(name + ".residual", x, (1, sw))
        y = y * m[name + ".width"][None, :, None, None]
        if dropout > 0:
            y = F.dropout2d(y, dropout, training=True)
        x = y if reduces else m[name + ".skip"][0] * x + m[name + ".skip"][1] * y
    w = net.params["head.conv.weight"]
    head = F.relu(F.conv2d(x, w, net.params["head.conv.bias"]))
    if relus is not None:
        relus.append(head)
    logits = head.mean(dim=(2, 3))
    return F.log_softmax(logits, dim=1) if log_softmax else logits


LR_POINTS = 64
LR_SEGMENT = 0.05


def ntk_case(net, x, n_time, n_sensor, params):
    """TE-NAS's NTK on the logits: J[i] = d(sum_c logits[i, c]) / d(conv weights, BN gammas),
    one training-mode forward; K = J J^T and its condition number, in float64."""
    names = [k for k in params if "weight" in k or "gamma" in k]
    logits = forward(net, x, n_time, n_sensor, log_softmax=False)
    rows = []
    for i in range(x.shape[0]):
        g = torch.autograd.grad(logits[i].sum(), [params[k] for k in names], retain_graph=True)
        rows.append(torch.cat([t.reshape(-1) for t in g]))
    j = torch.stack(rows)
    gram = j @ j.T
    ev = torch.linalg.eigvalsh(gram)
    return dict(gram=gram, condition=float(ev[-1] / ev[0]))


def linear_regions_case(net, gen, n_time, n_sensor, c=CONFIG):
    """Distinct ReLU patterns (every ReLU output > 0) over LR_POINTS points on a segment from one
    random window towards another, one training-mode forward of all of them."""
    a = torch.randn((1, 1, c["length"], c["sensors"]), generator=gen, dtype=torch.float64)
    b = torch.randn((1, 1, c["length"], c["sensors"]), generator=gen, dtype=torch.float64)
    t = torch.linspace(0, LR_SEGMENT, LR_POINTS, dtype=torch.float64)[:, None, None, None]
    # The points as float32 values, as the library reads them.
    x = (a + t * (b - a)).float().double()
    relus = []
    with torch.no_grad():
        forward(net, x, n_time, n_sensor, log_softmax=False, relus=relus)
    bits = torch.cat([(r > 0).reshape(x.shape[0], -1) for r in relus], dim=1)
    return len({tuple(row.tolist()) for row in bits}), x


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "golden", "timeseries")
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    net, n_time, n_sensor = build(gen)
    mixing_values(net, gen)
    x = torch.randn((BATCH, 1, CONFIG["length"], CONFIG["sensors"]), generator=gen,
                    dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 2])
    params = {k: v.clone().requires_grad_(True) for k, v in net.params.items()}
    mixing = {k: v.clone().requires_grad_(True) for k, v in net.mixing.items()}
    initial = {k: v.detach().clone() for k, v in params.items()}
    net.params, net.mixing = params, mixing
    log_probs = forward(net, x, n_time, n_sensor)
    loss = F.nll_loss(log_probs, labels)
    loss.backward()

    shutil.rmtree(out, ignore_errors=True)
    for sub in ["params", "grads", "mixing", "dmixing", "running", "adam", "sgd"]:
        os.makedirs(os.path.join(out, sub))

    def save(rel, tensor):
        np.save(os.path.join(out, rel), np.ascontiguousarray(tensor.detach().numpy(), "<f8"))

    save("input.npy", x)
    save("log_probs.npy", log_probs)
    for k in params:
        save("params/%s.npy" % k, initial[k])
        save("grads/%s.npy" % k, params[k].grad)
    for k in mixing:
        save("mixing/%s.npy" % k, mixing[k])
        save("dmixing/%s.npy" % k, mixing[k].grad)
    for k, (mean, var) in net.bn_running.items():
        save("running/%s.mean.npy" % k, mean)
        save("running/%s.var.npy" % k, var)

    # One optimiser step of each kind from the same (clipped) gradients.
    grads = {k: params[k].grad.clone() for k in params}
    for kind in ["adam", "sgd"]:
        leaves = [initial[k].clone().requires_grad_(True) for k in params]
        for leaf, k in zip(leaves, params):
            leaf.grad = grads[k].clone()
        norm = torch.nn.utils.clip_grad_norm_(leaves, max_norm=1.0)
        if kind == "adam":
            opt = torch.optim.Adam(leaves, lr=0.01, weight_decay=1e-3)
        else:
            opt = torch.optim.SGD(leaves, lr=0.1, momentum=0.9, weight_decay=1e-3)
        opt.step()
        for leaf, k in zip(leaves, params):
            save("%s/%s.npy" % (kind, k), leaf)

    ntk = ntk_case(net, x, n_time, n_sensor, params)
    regions, lr_input = linear_regions_case(net, gen, n_time, n_sensor)
    save("ntk_gram.npy", ntk["gram"])
    save("lr_input.npy", lr_input)

    meta = dict(config=CONFIG, batch=BATCH, seed=SEED, labels=labels.tolist(),
                loss=float(loss), grad_norm=float(norm),
                parameters=list(params.keys()), mixing=list(mixing.keys()),
                batch_norms=list(net.bn_running.keys()),
                adam=dict(lr=0.01, weight_decay=1e-3), sgd=dict(lr=0.1, momentum=0.9,
                                                                weight_decay=1e-3),
                clip=1.0, ntk_condition=ntk["condition"], linear_regions=regions,
                lr_points=LR_POINTS, lr_segment=LR_SEGMENT, torch_version=torch.__version__)
    with open(os.path.join(out, "case.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", out, "loss", float(loss))


if __name__ == "__main__":
    main()
