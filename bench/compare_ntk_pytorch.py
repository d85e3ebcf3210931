"""Side-by-side: one NTK evaluation the TE-NAS way in PyTorch vs `micronas score`, same machine,
same thread count, alternating, on the same network configuration (NTK net C=3, N=1, 32x32,
CIFAR-10 head). Prints median seconds, the ratio, and achieved GFLOP/s against the CPU's peak.

TE-NAS computes the Jacobian with B backward passes through the whole batch (BN couples the
samples); micronas carries all B cotangents through one backward pass. Both do ~4·B²·F flops
(data and weight gradients; F = MACs of one image's forward pass).

Both sides are timed warm: PyTorch runs one untimed evaluation first and keeps freed memory in
its heap (glibc mallopt), since otherwise every evaluation pays millions of page faults and
takes 2x longer on some machines; micronas runs two repeats in one process and the second one's
time counts.

    /usr/bin/python3 bench/compare_ntk_pytorch.py --arch supernet-none --batch 72 --threads 2
    /usr/bin/python3 bench/compare_ntk_pytorch.py --binary build-avx2/micronas --pytorch-isa avx2

`--pytorch-isa avx2` caps PyTorch's oneDNN kernels at AVX2 (DNNL_MAX_CPU_ISA), to compare with an
AVX2 build of micronas at one instruction set.
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

torch = None  # imported in main(), once oneDNN's instruction-set cap is in the environment


def nb201_network():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "scripts"))
    from nb201_torch import NB201Network
    return NB201Network


def forward_macs(net, x):
    """Conv + linear MACs of one image's forward pass (hooks on the real modules)."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out[0].numel() * m.in_channels * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv_hook) for m in net.modules()
             if isinstance(m, torch.nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in net.modules()
              if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        net(x[:1])
    for h in hooks:
        h.remove()
    return total[0]


def tenas_ntk(net, x):
    """TE-NAS's get_ntk_n for one network: B backward passes, fp32 Gram and eigenvalues."""
    net.zero_grad()
    logits = net(x)
    rows = []
    for i in range(x.shape[0]):
        logits[i:i + 1].backward(torch.ones_like(logits[i:i + 1]), retain_graph=True)
        rows.append(torch.cat([p.grad.reshape(-1) for name, p in net.named_parameters()
                               if "weight" in name and p.grad is not None]))
        net.zero_grad()
    jac = torch.stack(rows)
    eig = torch.linalg.eigvalsh(jac @ jac.t())
    return (eig[-1] / eig[0]).item()


def micronas_ntk_seconds(binary, arch, batch, threads, seed):
    """Seconds of the second of two NTK evaluations in one process (the first warms it up)."""
    out = subprocess.run([binary, "score", arch, "--batch", str(batch), "--repeat", "2",
                          "--threads", str(threads), "--seed", str(seed), "--json"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["per_repeat"][1]["seconds"]["ntk"]


def keep_freed_memory():
    """glibc: serve large tensors from the heap and never trim it (M_TRIM_THRESHOLD = -1,
    M_MMAP_THRESHOLD = -3), so a repeated evaluation reuses pages instead of faulting them in."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-1, 2 ** 30)
    libc.mallopt(-3, 32 * 2 ** 20)


def peak_gflops(threads):
    """fp32 peak assuming two 256-bit FMA pipes per core (16 FMA lanes = 32 flop/cycle)."""
    mhz = 0.0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                mhz = max(mhz, float(line.split(":")[1]))
    return threads * 32 * mhz / 1e3, mhz


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="supernet-none")
    ap.add_argument("--batch", type=int, default=72)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                     "micronas"))
    ap.add_argument("--pytorch-isa", choices=["native", "avx2"], default="native",
                    help="cap PyTorch's oneDNN kernels at this instruction set")
    args = ap.parse_args()
    if args.pytorch_isa == "avx2":
        os.environ["DNNL_MAX_CPU_ISA"] = "AVX2"
        os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    global torch
    import torch as torch_module
    torch = torch_module
    NB201Network = nb201_network()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = NB201Network(args.arch, 3, 1, True, -1, 3, 10).train()
    x = torch.randn(args.batch, 3, 32, 32)
    flops = 4.0 * args.batch ** 2 * forward_macs(net, x)
    tenas_ntk(net, x)  # warm-up

    ours, theirs = [], []
    for r in range(args.rounds):
        start = time.perf_counter()
        tenas_ntk(net, x)
        theirs.append(time.perf_counter() - start)
        ours.append(micronas_ntk_seconds(args.binary, args.arch, args.batch, args.threads, r))
        print(f"round {r}: pytorch {theirs[-1]:.3f} s, micronas {ours[-1]:.3f} s", flush=True)
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    peak, mhz = peak_gflops(args.threads)
    print(f"arch {args.arch}, B={args.batch}, threads={args.threads}, torch {torch.__version__}, "
          f"PyTorch ISA {args.pytorch_isa}")
    print(f"pytorch  {t_theirs:.3f} s  {flops / t_theirs / 1e9:.1f} GFLOP/s")
    print(f"micronas {t_ours:.3f} s  {flops / t_ours / 1e9:.1f} GFLOP/s "
          f"({100 * flops / t_ours / 1e9 / peak:.1f}% of {peak:.0f} GFLOP/s peak at {mhz:.0f} MHz)")
    print(f"speed-up {t_theirs / t_ours:.2f}x")


if __name__ == "__main__":
    main()
