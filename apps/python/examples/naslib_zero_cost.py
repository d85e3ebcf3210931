"""A zero-cost predictor in the shape NASLib's ZeroCost predictor has (`query(graph)` returns a
score, higher predicting better), backed by MicroNAS. NASLib users plug it in where they use
`ZeroCost(method_type=...)`, passing the NB201 architecture string of their graph (NASLib's
`graph.get_hash()` op indices convert to it with `nb201_string`).

    python naslib_zero_cost.py
"""

import micronas

# NASLib's NB201 op indices (naslib/search_spaces/nasbench201/conversions.py order).
NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]


def nb201_string(op_indices):
    """NASLib's 6 op indices as an NB201 string. NASLib orders the edges 1<-0, 2<-0, 3<-0, 2<-1,
    3<-1, 3<-2 (checked against nb201_zc_naslib_subset.csv); the string orders them by node."""
    e = [NASLIB_OPS[i] for i in op_indices]
    return f"|{e[0]}~0|+|{e[1]}~0|{e[3]}~1|+|{e[2]}~0|{e[4]}~1|{e[5]}~2|"


class MicronasZeroCost:
    """``query(arch)`` -> score, higher predicting better. method_type: "ntk" (-κ),
    "linear_regions", or "tenas" (-log κ + log regions: TE-NAS combines the two by ranks over a
    population, which one query cannot see)."""

    def __init__(self, method_type="ntk", batch=72, repeat=3, seed=0, backend="cpu"):
        self.method_type = method_type
        self.options = dict(batch=batch, repeat=repeat, seed=seed)
        self.context = micronas.Context(backend)

    def query(self, graph):
        arch = graph if isinstance(graph, str) else nb201_string(graph)
        r = micronas.score(arch, context=self.context, **self.options)
        if self.method_type == "ntk":
            return -r["ntk_condition"]
        if self.method_type == "linear_regions":
            return r["linear_regions"]
        if self.method_type == "tenas":
            import math

            return -math.log(r["ntk_condition"]) + math.log(r["linear_regions"])
        raise ValueError(f"unknown method_type {self.method_type!r}")


def main(batch=72, repeat=3):
    predictor = MicronasZeroCost("ntk", batch=batch, repeat=repeat)
    good = (2, 2, 0, 2, 2, 2)  # conv3x3 everywhere but a skip 3<-0: a strong NB201 cell
    bad = (4, 4, 4, 4, 4, 4)   # average pooling everywhere: a weak one
    scores = {nb201_string(g): predictor.query(g) for g in (good, bad)}
    for arch, score in scores.items():
        print(f"{score:12.3f}  {arch}")
    return scores


if __name__ == "__main__":
    main()
