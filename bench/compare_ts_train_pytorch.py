"""Side-by-side: one training step of the UCI-HAR-shaped time-series supernet (window 128 x 9,
6 classes, the reference's widths, uniform distribution, batch 64, Dropout2d 0.3) in PyTorch and
in micronas, same machine, same thread count, alternating. A step is forward, NLL over the
log-softmax of the classes, backward to the parameters and the mixing inputs, and one Adam
update. The PyTorch side is the independent implementation of tests/scripts/
make_timeseries_golden.py (which the engine matches to 1e-10 in double), run in float32.

Prints the ISA, the median and best step times of each side and their ratio, in wall time and
in the process's CPU time (on one thread the CPU time is the measure that another busy process
on the same cores disturbs least).

    /usr/bin/python3 bench/compare_ts_train_pytorch.py --threads 2 --rounds 5
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "scripts"))
import make_timeseries_golden as ts  # noqa: E402

UCI_HAR = dict(length=128, sensors=9, classes=6, kernels=[3, 5, 7], time_width_step=4,
               time_width_max=16, bottleneck_step=8, bottleneck_max=64, block_width_step=8,
               block_width_max=64, scale=2, min_time=16, min_sensors=5)


def isa():
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = line
                break
    return "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "SSE"


def uniform_mask(step, top):
    ws = ts.widths(step, top)
    return torch.tensor([sum(1.0 / len(ws) for w in ws if w > c) for c in range(top)])


def torch_step_fn(batch):
    c = UCI_HAR
    gen = torch.Generator().manual_seed(1)
    net, n_time, n_sensor = ts.build(gen, c)
    for name in list(net.mixing):
        cell, what = name.split(".")
        if what == "kernel":
            v = torch.full((3,), 1.0 / 3)
        elif what == "width" and cell.startswith("tr"):
            v = uniform_mask(c["time_width_step"], c["time_width_max"])
        elif what == "width":
            v = uniform_mask(c["block_width_step"], c["block_width_max"])
        elif what == "bottleneck":
            v = uniform_mask(c["bottleneck_step"], c["bottleneck_max"])
        elif what == "branch":
            v = torch.full((3,), 0.5)
        elif what == "residual":
            v = torch.full((1,), 0.5)
        else:
            v = torch.tensor([0.5, 0.5])
        net.mixing[name] = v.float().requires_grad_(True)
    net.params = {k: v.float().requires_grad_(True) for k, v in net.params.items()}
    net.bn_running = {k: (m.float(), v.float()) for k, (m, v) in net.bn_running.items()}
    opt = torch.optim.Adam(list(net.params.values()), lr=1e-3)
    x = torch.randn((batch, 1, c["length"], c["sensors"]), generator=gen)
    labels = torch.arange(batch) % c["classes"]

    def step():
        opt.zero_grad(set_to_none=False)
        for m in net.mixing.values():
            m.grad = None
        loss = F.nll_loss(ts.forward(net, x, n_time, n_sensor, c, dropout=0.3), labels)
        loss.backward()
        opt.step()
    return step


def time_torch(step, steps):
    times, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


def time_micronas(binary, threads, seconds, conv):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary, "--benchmark_format=json", "--benchmark_min_time=%g" % seconds,
                          "--benchmark_filter=/%s/" % conv,
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=false"],
                         env=env, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    return [b["real_time"] / 1e3 for b in runs], [b["cpu_time"] / 1e3 for b in runs]  # ms -> s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5, help="alternations of the two sides")
    ap.add_argument("--steps", type=int, default=5, help="PyTorch steps per round")
    ap.add_argument("--conv", choices=["fast", "direct"], default="fast",
                    help="micronas's convs: Winograd and lowered products (its default) or all "
                         "direct")
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                     "bench", "bench_ts_train"))
    args = ap.parse_args()
    if args.batch != 64:
        sys.exit("bench_ts_train runs batch 64")
    torch.set_num_threads(args.threads)
    step = torch_step_fn(args.batch)
    step()  # warm-up: allocator, oneDNN primitives
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    for _ in range(args.rounds):
        wall, cpu = time_torch(step, args.steps)
        theirs += wall
        theirs_cpu += cpu
        wall, cpu = time_micronas(args.binary, args.threads, 0.5, args.conv)
        ours += wall
        ours_cpu += cpu
    result = dict(isa=isa(), threads=args.threads, conv=args.conv, batch=args.batch, torch=torch.__version__,
                  pytorch_median_ms=1e3 * statistics.median(theirs),
                  pytorch_best_ms=1e3 * min(theirs),
                  micronas_median_ms=1e3 * statistics.median(ours),
                  micronas_best_ms=1e3 * min(ours),
                  pytorch_cpu_median_ms=1e3 * statistics.median(theirs_cpu),
                  micronas_cpu_median_ms=1e3 * statistics.median(ours_cpu))
    result["ratio_median"] = result["pytorch_median_ms"] / result["micronas_median_ms"]
    result["ratio_best"] = result["pytorch_best_ms"] / result["micronas_best_ms"]
    result["ratio_cpu_median"] = (result["pytorch_cpu_median_ms"] /
                                  result["micronas_cpu_median_ms"])
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
