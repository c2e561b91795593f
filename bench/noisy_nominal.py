"""How often the nominal policy reaches the goal with exploration noise on its actions.

With exploration outside the filter (`td3.explore = "executed"`,
experiments/configs/explore_outside_filter.toml) every executed action carries exploration noise,
the nominal policy's fallbacks too, so the training episodes should be compared with the nominal
policy under the same noise, not with the noiseless nominal (with the defaults, which explore
inside the filter, the reference is the noiseless nominal). This measures that reference: the
nominal policy plus Gaussian noise (standard deviation in action units, clipped to the bounds)
from the evaluation's kind of fixed starts, within each environment's episode budget.

    python bench/noisy_nominal.py                       # noise 0, 1.5 (explore_outside_filter.toml) and 0.5
    python bench/noisy_nominal.py --noise 0 0.3 1.5 --starts 500
Prints a table and writes bench/results/noisy_nominal.json.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/noisy_nominal.py`
from bench import common  # noqa: E402
from envs import make_environment  # noqa: E402
from rl.evaluation import CallablePolicy, evaluation_starts, rollout  # noqa: E402

#: the episode budgets docs/LEARNING.md's runs use
BUDGETS = {"point_mass": 500, "differential_drive": 1000, "pendulum": 800}


def noisy_nominal(env, std: float, rng: np.random.Generator) -> CallablePolicy:  # noqa: ANN001
    def act(states: np.ndarray) -> np.ndarray:
        return env.clip_actions(env.nominal(states) + rng.normal(0.0, std, (len(states), env.action_dim)))

    return CallablePolicy(f"nominal + N(0, {std})", act)


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--noise", type=float, nargs="+", default=[0.0, 1.5, 0.5], help="noise std values, action units")
    p.add_argument("--starts", type=int, default=200, help="fixed starts per environment (default 200)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the starts (the evaluation's default)")
    p.add_argument("--out", type=Path, default=common.RESULTS / "noisy_nominal.json")
    args = p.parse_args(argv)
    if args.starts < 1 or any(not np.isfinite(n) or n < 0 for n in args.noise):
        p.error("--starts must be at least 1 and every --noise a finite number >= 0")
    rows = []
    print(f"{'environment':<20} {'budget':>6} {'bounds':>12} {'noise':>6} {'success':>8} {'mean length':>12}")
    for system, budget in BUDGETS.items():
        cfg = common.config({"env": {"system": system, "max_steps_per_episode": budget}})
        env = make_environment(cfg.env)
        starts = evaluation_starts(env, args.starts, args.seed)
        for std in args.noise:
            result = rollout(env, noisy_nominal(env, std, np.random.default_rng(0)), starts, budget)
            row = {"environment": system, "budget": budget, "action_bounds": env.action_high.tolist(),
                   "noise": std, "success_rate": result.success_rate, "mean_length": float(result.lengths.mean())}
            rows.append(row)
            print(f"{system:<20} {budget:>6} {str(env.action_high.tolist()):>12} {std:>6g} "
                  f"{result.success_rate:>8.0%} {row['mean_length']:>12.0f}")
    common.save_json(args.out, {"starts": args.starts, "seed": args.seed, "rows": rows}, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
