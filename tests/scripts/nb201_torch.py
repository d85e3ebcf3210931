"""Independent PyTorch reference of the NAS-Bench-201 search network as TE-NAS runs it.

Written from the network semantics (NB201 cell, xautodl's ReLUConvBN and ResNet basic block,
TE-NAS's pruning-state supernet), not from the C++ lowering, so that the goldens it produces
check the engine rather than restate it. The module tree is laid out so that ``state_dict()``
keys are exactly the engine's parameter names, in the same (registration) order:

    stem.0.weight, stem.1.weight, stem.1.bias,
    cells.<i>.edges.<to><-<from>.<op index>.op.{1,2}.{weight,bias}   (search cells)
    cells.<i>.conv_a.op.{1,2}.*, cells.<i>.conv_b.op.{1,2}.*, cells.<i>.downsample.1.weight
    lastact.0.weight, lastact.0.bias, classifier.weight, classifier.bias

BatchNorm is built with ``track_running_stats=False``: in training mode the computation is the
same as TE-NAS's (batch statistics, biased variance, eps 1e-5), and the state_dict then holds
only the trainable tensors, like the engine.
"""

import torch
import torch.nn as nn

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
# Edges in NB201 order: (to, from).
EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]
BN_EPS = 1e-5


def parse_arch(text):
    """NB201 string (``|op~0|+|op~0|op~1|+...``) with ``a/b`` for several active ops on an edge,
    or ``supernet`` / ``supernet-none``. Returns, per edge in EDGES order, the sorted op indices."""
    if text == "supernet":
        return [list(range(5)) for _ in EDGES]
    if text == "supernet-none":
        return [list(range(1, 5)) for _ in EDGES]
    edges = []
    for node, group in enumerate(text.split("+"), start=1):
        tokens = [t for t in group.strip().split("|") if t]
        if len(tokens) != node:
            raise ValueError(f"node {node} of '{text}' needs {node} inputs, got {len(tokens)}")
        for src, token in enumerate(tokens):
            names, _, frm = token.partition("~")
            if int(frm) != src:
                raise ValueError(f"edge '{token}' of node {node} should come from node {src}")
            ops = sorted({OPS.index(name) for name in names.split("/")})
            edges.append(ops)
    return edges


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d(no bias) -> BatchNorm2d(affine), registered as ``op.0/1/2``."""

    def __init__(self, c_in, c_out, kernel, stride, pad):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPS, affine=True, track_running_stats=False),
        )

    def forward(self, x):
        return self.op(x)


def make_op(index, channels):
    name = OPS[index]
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        # Border windows average only the in-image values.
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"op {name} has no module")


def make_edge(ops, channels):
    """The modules of one edge, keyed by op index like TE-NAS's ModuleList (so that keys read
    `edges.<to><-<from>.<op index>...`). Only active ops other than `none` get a module: pruned
    ops are not run and have no parameters, `none` adds zero."""
    return nn.ModuleDict({str(i): make_op(i, channels) for i in ops if OPS[i] != "none"})


class SearchCell(nn.Module):
    """Node i = Σ over its incoming edges j->i of the edge output; cell output = node 3.
    A mixed edge with k active ops gives Σ (1/k)·op(x): TE-NAS weights the ops of an edge by a
    softmax of 0 (active) / -1000 (pruned), which is exactly 1/k, and `none` counts in k."""

    def __init__(self, arch_edges, channels):
        super().__init__()
        # Registered in EDGES order, which is also the sorted key order xautodl uses.
        self.edges = nn.ModuleDict(
            {f"{to}<-{frm}": make_edge(ops, channels) for (to, frm), ops in zip(EDGES, arch_edges)}
        )
        self.num_active = {f"{to}<-{frm}": len(ops) for (to, frm), ops in zip(EDGES, arch_edges)}

    def forward(self, x):
        nodes = [x]
        for to in range(1, 4):
            total = None
            for frm in range(to):
                key = f"{to}<-{frm}"
                for op in self.edges[key].values():
                    term = op(nodes[frm]) * (1.0 / self.num_active[key])
                    total = term if total is None else total + term
            # A node whose every incoming op is `none` is zero.
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[3]


class ResNetBlock(nn.Module):
    """xautodl's ResNetBasicblock with stride 2: out = downsample(x) + conv_b(conv_a(x))."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Macro skeleton (C, N, use_stem, depth): [stem] -> N cells(C) -> block(2C) -> N cells(2C)
    -> block(4C) -> N cells(4C), truncated to the first `depth` cells/blocks when depth > 0,
    then BN + ReLU, global average pooling and a linear classifier."""

    def __init__(self, arch, channels, cells_per_stage, use_stem, depth, input_channels,
                 num_classes):
        super().__init__()
        arch_edges = parse_arch(arch)
        c = channels if use_stem else input_channels
        if use_stem:
            self.stem = nn.Sequential(
                nn.Conv2d(input_channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels, eps=BN_EPS, track_running_stats=False),
            )
        else:
            assert input_channels == channels, "without a stem the input must have C channels"
            self.stem = nn.Identity()
        plan = []
        for stage in range(3):
            if stage > 0:
                plan.append(("block", channels << stage))
            plan += [("cell", channels << stage)] * cells_per_stage
        if depth > 0:
            plan = plan[:depth]
        cells = []
        for kind, c_out in plan:
            cells.append(SearchCell(arch_edges, c) if kind == "cell" else ResNetBlock(c, c_out))
            c = c_out
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(
            nn.BatchNorm2d(c, eps=BN_EPS, track_running_stats=False), nn.ReLU(inplace=False)
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.global_pooling(self.lastact(x))
        return self.classifier(x.flatten(1))
