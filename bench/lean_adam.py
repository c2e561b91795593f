"""One Adam step on TD3's critic parameters: LeanAdam (the fused kernel called directly) against the
stock torch.optim.Adam(fused=True), and which path this torch gives LeanAdam (README, Install).

    python bench/lean_adam.py            # medians of 7 rounds of 500 steps, one torch thread
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/lean_adam.py`
from bench import common  # noqa: E402
from rl.lean_adam import LeanAdam, checked_kernel, fallback_reason  # noqa: E402
from rl.networks import build_networks  # noqa: E402


def step_us(make, rounds: int = 7, steps: int = 500) -> float:
    """Median microseconds per step over `rounds` rounds (gradients fixed, after a warm-up)."""
    nets = build_networks(2, 1, np.array([5.0]), seed=0)
    params = [torch.nn.Parameter(p.detach().clone()) for p in nets.critic.parameters()]
    opt = make(params)
    for p in params:
        p.grad = torch.randn_like(p)
    for _ in range(50):
        opt.step()
    return statistics.median(common.per_call(opt.step, steps) * 1e6 for _ in range(rounds))


def main() -> int:
    torch.set_num_threads(1)
    kernel = checked_kernel()
    print(f"torch {torch.__version__}: LeanAdam " + ("calls torch._fused_adam_ directly" if kernel is not None
                                                    else f"runs the stock step ({fallback_reason()})"))
    stock = step_us(lambda ps: torch.optim.Adam(ps, lr=3e-4, fused=True))
    lean = step_us(lambda ps: LeanAdam(ps, 3e-4))
    print(f"critic Adam step: LeanAdam {lean:.0f} us, torch.optim.Adam(fused=True) {stock:.0f} us (x{stock / lean:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
