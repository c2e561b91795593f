"""How well the pendulum's nominal policy swings up, and how its value scale compares with the others.

From the evaluation starts (rl.evaluation: `--starts` states drawn with the environment's own reset
distribution from `--seed`), and from a larger sample, it reports per training preset the share of
episodes that reach the goal within the preset's episode budget (as an episode ends at the goal);
then, running on past the goal for twice the budget, the share that reach it within the budget
and stay upright (|theta| < 0.2 rad at every later step, at rest in the goal at the end); the steps to the goal; and for every environment the nominal policy's
discounted return (gamma = td3.gamma) from the same kind of starts: the critic's scale.

    python bench/pendulum_nominal.py            # prints, writes bench/results/pendulum_nominal.json
                                                # and docs/pendulum_nominal.png
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/pendulum_nominal.py`
from bench import common  # noqa: E402
from config import SYSTEMS, TRAINING_PRESETS, build_config  # noqa: E402
from envs import make_environment  # noqa: E402
from rl.evaluation import NominalPolicy, evaluation_starts, rollout  # noqa: E402


#: "stays upright": after first reaching the goal, |theta| never exceeds this (rad, about 11 degrees)
UPRIGHT = 0.2


def free_run(env, starts: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Nominal trajectories that do not stop at the goal: (states (steps + 1, n, d), inside the goal (steps, n))."""
    s = starts.copy()
    path = [s.copy()]
    inside = []
    for _ in range(steps):
        s = env.rk4_step(s, env.nominal(s))
        path.append(s.copy())
        inside.append(env.goal_reached(s))
    return np.array(path), np.array(inside)


def measure(starts_count: int, seed: int, large: int) -> dict:
    out: dict = {"starts": starts_count, "seed": seed, "presets": {}}
    for preset in TRAINING_PRESETS:
        cfg = build_config(train_preset=preset, overrides={"env": {"system": "pendulum"}})
        env = make_environment(cfg.env)
        budget = cfg.env.max_steps_per_episode
        row = {"budget": budget}
        for label, n in (("eval", starts_count), ("large", large)):
            starts = evaluation_starts(env, n, seed)
            res = rollout(env, NominalPolicy(env), starts, budget)
            traj, inside = free_run(env, starts, 2 * budget)
            reached = inside.any(axis=0)
            first = np.argmax(inside, axis=0)
            # upright from then on: |theta| within UPRIGHT of 0 at every later step, at rest in the goal at the end
            stays = reached & inside[-1] & np.array(
                [np.abs(traj[f + 1:, i, 0]).max() < UPRIGHT for i, f in enumerate(first)])
            reached_in_budget = reached & (first < budget)
            row[label] = {
                "success_rate": res.success_rate,
                "reach_and_stay_rate": float(np.mean(stays & reached_in_budget)),
                "steps_to_goal_median": float(np.median(res.lengths[res.outcomes == 1])),
                "steps_to_goal_p95": float(np.percentile(res.lengths[res.outcomes == 1], 95)),
                "steps_to_goal_max": int(res.lengths[res.outcomes == 1].max()),
                "boundary_rate": res.rate(2),
            }
        out["presets"][preset] = row
    scales = {}
    for system in SYSTEMS:
        cfg = build_config(overrides={"env": {"system": system}})
        env = make_environment(cfg.env)
        s = evaluation_starts(env, starts_count, seed)
        disc = np.zeros(len(s))
        alive = np.ones(len(s), dtype=bool)
        g = 1.0
        for _ in range(2000):
            a = env.nominal(s)
            disc += g * alive * env.reward(s, a) * cfg.env.reward_scale
            g *= cfg.td3.gamma
            s = env.rk4_step(s, a)
            alive &= ~env.goal_reached(s)
        scales[system] = {"reward_scale": cfg.env.reward_scale, "median": float(np.median(disc)),
                          "p10": float(np.percentile(disc, 10)), "min": float(disc.min())}
    out["discounted_nominal_return"] = scales
    return out


def figure(path: Path, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = build_config(train_preset="quick", overrides={"env": {"system": "pendulum"}})
    env = make_environment(cfg.env)
    budget = cfg.env.max_steps_per_episode
    starts = evaluation_starts(env, 24, seed)
    traj, inside = free_run(env, starts, budget)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6))
    for i in range(traj.shape[1]):
        th, om = traj[:, i, 0].copy(), traj[:, i, 1]
        th[1:][np.abs(np.diff(th)) > np.pi] = np.nan  # break the line where theta wraps
        ax.plot(th, om, lw=0.8)
        ax.plot(starts[i, 0], starts[i, 1], "k.", ms=4)
    ax.plot(0, 0, "g*", ms=14, label="goal (upright, still)")
    ax.set_xlabel("theta (rad; 0 = upright, +-pi = hanging)")
    ax.set_ylabel("omega (rad/s)")
    ax.set_xlim(-np.pi, np.pi)
    ax.set_title(f"nominal swing-up from 24 evaluation starts (seed {seed})")
    ax.legend(loc="upper right", fontsize=8)
    many = evaluation_starts(env, 1000, seed)
    res = rollout(env, NominalPolicy(env), many, budget)
    bx.hist(res.lengths[res.outcomes == 1], bins=40, color="tab:blue")
    for preset in TRAINING_PRESETS:
        b = build_config(train_preset=preset, overrides={"env": {"system": "pendulum"}}).env.max_steps_per_episode
        bx.axvline(b, color="tab:red", ls="--", lw=1)
        bx.text(b, bx.get_ylim()[1] * 0.9, f" {preset}", color="tab:red", fontsize=8)
    bx.set_xlabel("steps to the goal (dt = 0.01 s)")
    bx.set_ylabel("episodes (of 1000 starts)")
    bx.set_title(f"time to upright: {res.success_rate:.1%} within the quick budget ({budget} steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main() -> None:
    p = common.parser(__doc__)
    p.add_argument("--starts", type=int, default=100, help="evaluation starts (the [evaluation] default)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the starts (the [evaluation] default)")
    p.add_argument("--large", type=int, default=1000, help="size of the larger sample")
    p.add_argument("--out", default=str(common.RESULTS / "pendulum_nominal.json"))
    p.add_argument("--figure", default=str(common.ROOT / "docs" / "pendulum_nominal.png"))
    args = p.parse_args()
    result = measure(args.starts, args.seed, args.large)
    for preset, row in result["presets"].items():
        for label in ("eval", "large"):
            r = row[label]
            n = args.starts if label == "eval" else args.large
            print(f"{preset:9s} budget {row['budget']:5d}, {n:5d} starts: success {r['success_rate']:.1%}, "
                  f"reach and stay {r['reach_and_stay_rate']:.1%}, steps to goal median {r['steps_to_goal_median']:.0f} "
                  f"p95 {r['steps_to_goal_p95']:.0f} max {r['steps_to_goal_max']}, boundary {r['boundary_rate']:.1%}")
    for system, s in result["discounted_nominal_return"].items():
        print(f"{system:19s} reward_scale {s['reward_scale']:4.1f}: nominal discounted return median {s['median']:.0f}, "
              f"p10 {s['p10']:.0f}, min {s['min']:.0f}")
    common.save_json(args.out, result)
    figure(Path(args.figure), args.seed)
    print(f"written {args.out} and {args.figure}")


if __name__ == "__main__":
    main()
