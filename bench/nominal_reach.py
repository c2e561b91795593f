"""How reliably each environment's nominal policy reaches the goal on its own (docs/PROBLEM.md).

CALF falls back to the nominal policy whenever the actor's action is not certified, so the
nominal policy must reach the goal from the starts episodes use; this measures it. Every start is
drawn like an episode's reset (seeded), all are simulated at once with the environment's own RK4
step, and the script prints the share that reaches the goal within the episode budget and the
median and largest number of steps it took.

    python bench/nominal_reach.py                         # point mass and differential drive, 1000 starts
    python bench/nominal_reach.py --set env.pd_kd=0.4     # the point mass with a weakly damped PD law
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/nominal_reach.py`
from bench import common  # noqa: E402
from config import ConfigError  # noqa: E402
from config.assignments import assignments_to_overrides  # noqa: E402
from envs.registry import make_environment  # noqa: E402

SYSTEMS = ("point_mass", "differential_drive")


def reach(system: str, starts: int, seed: int, overrides: dict) -> dict:
    """Steps to the goal from `starts` reset states under the nominal policy (-1: not within the budget)."""
    cfg = common.config(overrides, {"env": {"system": system}})
    env = make_environment(cfg.env)
    states = env.sample_states(np.random.default_rng(seed), starts)
    steps = np.full(starts, -1)
    for t in range(1, cfg.env.max_steps_per_episode + 1):
        states = env.rk4_step(states, env.nominal(states))
        steps[env.goal_reached(states) & (steps < 0)] = t
        if (steps > 0).all():
            break
    done = steps[steps > 0]
    return {"system": system, "starts": starts, "budget": cfg.env.max_steps_per_episode,
            "reached": float((steps > 0).mean()), "median_steps": float(np.median(done)) if done.size else None,
            "max_steps": int(done.max()) if done.size else None}


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--starts", type=int, default=1000, help="reset states per environment (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated (default: both built-in ones)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="any config key")
    args = p.parse_args(argv)
    try:
        overrides = assignments_to_overrides(args.set)
        rows = [reach(s.strip(), args.starts, args.seed, overrides) for s in args.systems.split(",") if s.strip()]
    except (ConfigError, ValueError) as exc:
        print(f"nominal_reach: error: {exc}", file=sys.stderr)
        return 2
    for r in rows:
        steps = (f"median {r['median_steps']:.0f} steps, slowest {r['max_steps']}" if r["median_steps"] is not None
                 else "none reached it")
        print(f"{r['system']}: {r['reached']:.1%} of {r['starts']} starts reach the goal within {r['budget']} steps "
              f"({steps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
