"""Speed of the image layers: forward + backward of ``Conv2d(3, 32, 3, padding=1)`` on (50, 3, 32, 32) and of
``MaxPool2d(2)`` on its (50, 32, 32, 32) output, float64 and float32, one thread, against PyTorch's CPU
convolution and pooling in the same run when ``import torch`` works (skipped, and said, when it does not).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv.py            # ~20 s
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_conv.py --cpu-time # a loaded machine

Each row is the fastest of ``--repeats`` blocks of ``--calls`` forward + backward calls, after a warm-up,
implementations interleaved block by block (as ``bench_train.py`` does). Also printed: the bytes of
Conv2d's patch matrix (its cache) and the copy gate's backward alone, by the loop over kernel offsets the layer
uses and by ``np.add.at``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layers.conv import Conv2d, MaxPool2d  # noqa: E402  (the project root is put on the path first)

SHAPE, FILTERS, KERNEL = (50, 3, 32, 32), 32, 3


def _ours(layer, x, upstream):
    def step():
        layer.forward(x)
        layer.backward(upstream)
    return step


def _scatters(conv, x, upstream):
    """The copy gate's backward alone, two ways, on the same patch gradients: the loop over kernel offsets
    (what ``Conv2d.backward`` does) and ``np.add.at`` on the flat index of each patch's pixels."""
    n, c, h, w = x.shape
    k, p = conv.kernel_size, conv.padding
    padded = (n, c, h + 2 * p, w + 2 * p)
    windows = np.lib.stride_tricks.sliding_window_view(np.arange(np.prod(padded)).reshape(padded), (k, k), axis=(2, 3))
    flat_index = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * k * k)
    conv.forward(x)
    up = upstream.transpose(0, 2, 3, 1).reshape(-1, FILTERS)
    dpatches = up.dot(conv.params["W"].reshape(FILTERS, -1))
    by_offset = dpatches.reshape(n, h, w, c, k, k)

    def offsets():
        dx = np.zeros(padded, dtype=x.dtype)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + h, j:j + w] += by_offset[..., i, j].transpose(0, 3, 1, 2)

    def add_at():
        np.add.at(np.zeros(np.prod(padded), dtype=x.dtype), flat_index, dpatches)
    return offsets, add_at


def _torch_steps(torch, x, upstream, weights, pool_x, pool_up):
    fn = torch.nn.functional
    tx, tup = torch.from_numpy(x).requires_grad_(), torch.from_numpy(upstream)
    tw = torch.from_numpy(weights.copy()).requires_grad_()
    tb = torch.zeros(FILTERS, dtype=tx.dtype, requires_grad=True)
    px, pup = torch.from_numpy(pool_x).requires_grad_(), torch.from_numpy(pool_up)

    def conv():
        fn.conv2d(tx, tw, tb, padding=1).backward(tup)

    def pool():
        fn.max_pool2d(px, 2).backward(pup)
    return conv, pool


def _best(steps, calls, repeats, clock):
    """The fastest block of each step, seconds per call; blocks interleaved."""
    for step in steps.values():
        step()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(repeats):
        for name, step in steps.items():
            start = clock()
            for _ in range(calls):
                step()
            best[name] = min(best[name], (clock() - start) / calls)
    return best


def _load_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def run(dtype, args, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(dtype)
    conv = Conv2d(SHAPE[1], FILTERS, KERNEL, padding=1, rng=0, dtype=dtype)
    upstream = rng.standard_normal(conv.forward(x).shape).astype(dtype)
    pool, pool_x = MaxPool2d(2), rng.standard_normal(upstream.shape).astype(dtype)
    pool_up = rng.standard_normal(pool.forward(pool_x).shape).astype(dtype)
    steps = {"Conv2d": _ours(conv, x, upstream), "MaxPool2d": _ours(pool, pool_x, pool_up)}
    steps["scatter: offsets"], steps["scatter: np.add.at"] = _scatters(conv, x, upstream)
    if torch is not None:
        steps["torch conv2d"], steps["torch max_pool2d"] = _torch_steps(torch, x, upstream, conv.params["W"], pool_x,
                                                                         pool_up)
    best = _best(steps, args.calls, args.repeats, time.thread_time if args.cpu_time else time.perf_counter)
    conv.forward(x)
    print(f"\n{np.dtype(dtype).name}: forward + backward, ms per call (patch matrix {conv.cache[0].shape}, "
          f"{conv.cache[0].nbytes / 2**20:.2f} MiB)")
    for name, seconds in best.items():
        peer = {"Conv2d": "torch conv2d", "MaxPool2d": "torch max_pool2d"}.get(name)
        ratio = f"  {seconds / best[peer]:.2f}× PyTorch" if peer in best else ""
        print(f"  {name:<18} {seconds * 1e3:8.2f}{ratio}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5, help="calls per timed block (default 5)")
    parser.add_argument("--repeats", type=int, default=7, help="timed blocks per implementation (default 7)")
    parser.add_argument("--cpu-time", action="store_true", help="time by the thread's CPU time, not the wall clock")
    args = parser.parse_args(argv)
    torch = _load_torch()
    print(f"numpy {np.__version__}; " + (f"torch {torch.__version__}" if torch else "PyTorch not importable: skipped"))
    with threadpool_limits(1):
        for dtype in (np.float64, np.float32):
            run(dtype, args, torch)


if __name__ == "__main__":
    main()
