"""The CALF filter's network forward against its floor: a bare torch matmul chain of the same shapes.

What ControlSystem runs every simulation step for all N agents is one actor forward and one
critic forward (`Networks.act`, `Networks.certificate_q`: Q1 alone by default). The floor is the
same arithmetic written as bare `torch.addmm` / `relu_` / `tanh_` calls on float32 tensors that
already exist (no numpy conversion, no concatenation, nothing else). For each N the three
variants run in alternating rounds and the medians are compared:

  filter     Networks.act + Networks.certificate_q(..., 'q1')   (what the filter calls)
  bare       the bare chain of the same shapes (actor + one critic head)
  twin_old   Networks.act + both critic heads through TwinCritic.forward (the training path's
             batched matmul on an expanded input: what the filter called before)
  min_twin   Networks.act + Networks.certificate_q(..., 'min_twin') (both heads, fast path)

Prints filter / bare at N = 10 000 (target <= 1.5) and filter(100 000) / filter(10 000) (target
<= 12, linear would be 10), and writes bench/results/filter_floor.json.

    python bench/filter_floor.py                      # N = 1000, 10 000, 30 000, 100 000
    python bench/filter_floor.py --rounds 30 --threads 1
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/filter_floor.py`
from bench import common  # noqa: E402
from rl.networks import build_networks  # noqa: E402

VARIANTS = ("filter", "bare", "twin_old", "min_twin")


def make_variants(n: int, hidden: int, layers: int, seed: int) -> dict:
    """The four callables for N rows of the point mass (state 2, action 1)."""
    rng = np.random.default_rng(seed)
    nets = build_networks(2, 1, np.array([5.0]), hidden, layers, seed=seed)
    states = rng.uniform(-5, 5, size=(n, 2))
    actions = rng.uniform(-5, 5, size=(n, 1))
    # the bare chain: the same weights' shapes, tensors made once, plain calls
    a_layers = [(w.detach().t().contiguous(), b.detach().clone()) for w, b in nets.actor._layers]
    c_layers = [(w.detach()[0].clone(), b.detach()[0, 0].clone()) for w, b in nets.critic._layers]
    s_t = torch.from_numpy(states.astype(np.float32))
    sa_t = torch.from_numpy(np.concatenate([states, actions], axis=1).astype(np.float32))

    def bare() -> None:
        with torch.inference_mode():
            x = s_t
            for w, b in a_layers[:-1]:
                x = torch.addmm(b, x, w).relu_()
            w, b = a_layers[-1]
            torch.addmm(b, x, w).tanh_()
            y = sa_t
            for w, b in c_layers[:-1]:
                y = torch.addmm(b, y, w).relu_()
            w, b = c_layers[-1]
            torch.addmm(b, y, w)

    def filter_() -> None:
        a = nets.act(states)
        nets.certificate_q(states, a, "q1")

    def min_twin() -> None:
        a = nets.act(states)
        nets.certificate_q(states, a, "min_twin")

    def twin_old() -> None:
        a = nets.act(states)
        with torch.inference_mode():
            nets.critic(torch.from_numpy(states.astype(np.float32)),
                        torch.from_numpy(a.astype(np.float32))).numpy().astype(np.float64)

    return {"filter": filter_, "bare": bare, "twin_old": twin_old, "min_twin": min_twin}


def measure(n: int, rounds: int, hidden: int, layers: int, seed: int) -> dict:
    fns = make_variants(n, hidden, layers, seed)
    for fn in fns.values():  # warm-up: allocator, BLAS
        fn()
        fn()
    reps = max(1, int(200_000 // max(n, 1)))  # calls per timing sample, so small N is not all clock noise
    times = common.alternate(VARIANTS, rounds, lambda name: common.per_call(fns[name], reps) * 1e3)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {"n": n, "median_ms": med, "samples_ms": times, "calls_per_sample": reps,
            "filter_over_bare": med["filter"] / med["bare"],
            "twin_old_over_bare": med["twin_old"] / med["bare"]}


def main(argv: list[str] | None = None) -> int:
    ap = common.parser(__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 30_000, 100_000])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the config's default td3.torch_threads is 1)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(common.RESULTS / "filter_floor.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = []
    for n in args.sizes:
        row = measure(n, args.rounds, args.hidden, args.layers, args.seed)
        rows.append(row)
        m = row["median_ms"]
        print(f"N = {n:>7}: filter {m['filter']:8.3f} ms  bare {m['bare']:8.3f} ms  (x{row['filter_over_bare']:.2f})  "
              f"twin_old {m['twin_old']:8.3f} ms (x{row['twin_old_over_bare']:.2f})  min_twin {m['min_twin']:8.3f} ms",
              flush=True)
    by_n = {r["n"]: r for r in rows}
    summary = {}
    if 10_000 in by_n:
        summary["filter_over_bare_at_10000"] = by_n[10_000]["filter_over_bare"]
        print(f"filter / bare chain at N = 10 000: x{summary['filter_over_bare_at_10000']:.2f} (target <= 1.5)")
    if 10_000 in by_n and 100_000 in by_n:
        for k in ("filter", "bare", "twin_old", "min_twin"):
            summary[f"{k}_100000_over_10000"] = by_n[100_000]["median_ms"][k] / by_n[10_000]["median_ms"][k]
        print(f"filter N = 100 000 / N = 10 000: x{summary['filter_100000_over_10000']:.2f} (target <= 12; linear = 10); "
              f"bare chain x{summary['bare_100000_over_10000']:.2f}, old twin path x{summary['twin_old_100000_over_10000']:.2f}")
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} cores")
    common.save_json(args.out, {
        "rows": rows, "summary": summary, "threads": args.threads, "hidden": args.hidden, "layers": args.layers,
        "rounds": args.rounds, "loadavg_before": load_before, "loadavg_after": load_after,
        "torch": torch.__version__, "platform": common.machine()["machine"],
        "command": common.command_line(__file__, argv)})
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
