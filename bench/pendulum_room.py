"""How much room there is above the pendulum's nominal policy: better swing-ups under the same torque bound.

Every controller here acts through the same dynamics (the environment's RK4 step), the same torque
bound, the same reward and episode ends, from the same evaluation starts (`--starts` states from
`--seed`, as the program's evaluation draws them) and within the quick preset's episode budget, and
is judged by rl.evaluation.rollout, the evaluation's own code:

- the nominal policy as configured (energy pumping, a PD law near upright);
- the same nominal law with its five gains (pump gain, hand-over angle and rate, PD gains) tuned on
  other starts (`--tune-seed`): a grid over the first three, then Nelder-Mead over all five;
- receding-horizon MPC (rl.optimal_control.ShootingMPC): cross-entropy search over held-torque
  sequences `--horizon` steps long with the nominal's tabulated cost-to-go as terminal cost, every
  start and sample in one batch, at one or more search sizes (`--mpc SAMPLESxITERATIONS,...`);
- grid dynamic programming (rl.optimal_control.value_iteration) over (theta, omega) with a torque
  level held for `--dp-hold` steps, acted on greedily: a near-optimal controller, and its value at
  the starts an estimate of the optimal mean return, at one or more grid sizes to show convergence.

For each: success (the evaluation's: the goal within the budget), reach-and-stay (running on past
the goal for twice the budget, as bench/pendulum_nominal.py: upright within 0.2 rad from the first
arrival on and in the goal at the end; the MPC and DP controllers hand over to the nominal policy
inside the goal), mean return, its gain over the nominal ((mean - nominal) / |nominal|), median
steps to the goal, the per-start gain's median and IQR, and the wall time. `--calf-runs` adds CALF
runs' final policies (rebuilt from each run's checkpoint and checked against its last evaluation in
eval.csv), judged on the same starts, for comparison.

    python bench/pendulum_room.py            # about 5 minutes on one core: bench/results/pendulum_room.{json,png}
    python bench/pendulum_room.py --quick    # under a minute, smaller searches: bench/results/pendulum_room_quick.*
    python bench/pendulum_room.py --replot   # the table and chart again from the JSON
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: the machine is shared

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import attrs  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/pendulum_room.py`
from bench import common  # noqa: E402
from envs import Outcome, make_environment  # noqa: E402
from rl.evaluation import CallablePolicy, NominalPolicy, evaluation_starts, rollout  # noqa: E402
from rl.optimal_control import (  # noqa: E402
    GreedyPolicy,
    ShootingMPC,
    ShootingParams,
    StateGrid,
    policy_cost_to_go,
    value_iteration,
)

#: "stays upright" after first reaching the goal (rad), as bench/pendulum_nominal.py
UPRIGHT = 0.2
#: the nominal law's gains the tuning searches, all positive (searched in log space)
GAINS = ("energy_gain", "handover_angle", "handover_rate", "pd_kp", "pd_kd")
#: a tuning start that does not reach the goal costs this on top of its return
FAIL_PENALTY = 1e4


def log(msg: str) -> None:
    print(msg, flush=True)


def pendulum(**options: float):  # noqa: ANN201
    """The quick preset's pendulum (its episode budget), controller gains in `options`."""
    overrides: dict = {"env": {"system": "pendulum"}}
    if options:
        overrides["env"]["options"] = {k: float(v) for k, v in options.items()}
    cfg = common.config(overrides, train_preset="quick")
    return make_environment(cfg.env), cfg


def parse_sizes(text: str, sep: str = "x") -> list[tuple[int, int]]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        a, _, b = part.partition(sep)
        if not (a.isdigit() and b.isdigit()):
            raise SystemExit(f"pendulum_room: error: expected sizes like 64{sep}3, got {part!r}")
        out.append((int(a), int(b)))
    return out


# -- measuring one controller ---------------------------------------------------------------------------

def reach_and_stay(env, policy, starts: np.ndarray, budget: int) -> np.ndarray:  # noqa: ANN001
    """Run on past the goal for 2 x budget steps: reached within the budget, |theta| < UPRIGHT from the
    first arrival on, and in the goal at the end (per start)."""
    s = starts.copy()
    policy.reset(len(s))
    first = np.full(len(s), -1)
    worst_after = np.zeros(len(s))
    for t in range(2 * budget):
        a, _ = policy.act(s)
        s = env.rk4_step(s, env.clip_actions(a))
        inside = env.goal_reached(s)
        first[(first < 0) & inside] = t
        after = first >= 0
        worst_after[after] = np.maximum(worst_after[after], np.abs(s[after, 0]))
    return (first >= 0) & (first < budget) & (worst_after < UPRIGHT) & env.goal_reached(s)


def measure(env, policy, starts: np.ndarray, budget: int, nominal_returns: np.ndarray | None) -> dict:  # noqa: ANN001
    t0 = time.perf_counter()
    res = rollout(env, policy, starts, budget)
    seconds = time.perf_counter() - t0
    extra = {}
    if isinstance(policy, ShootingMPC):  # its compute cost, from the evaluation rollout alone
        extra = {"plan_seconds": policy.plan_seconds, "replans": policy.plan_calls,
                 "model_state_steps": policy.model_steps,
                 "model_state_steps_per_replan": policy.model_steps / max(policy.plan_calls, 1),
                 "ms_per_replan": 1e3 * policy.plan_seconds / max(policy.plan_calls, 1)}
    stays = reach_and_stay(env, policy, starts, budget)
    row = {"name": policy.name, "success_rate": res.success_rate, "reach_and_stay_rate": float(stays.mean()),
           "mean_return": float(res.returns.mean()), "boundary_rate": res.rate(Outcome.BOUNDARY),
           "steps_to_goal_median": float(np.median(res.lengths[res.outcomes == Outcome.GOAL]))
           if (res.outcomes == Outcome.GOAL).any() else math.nan,
           "rollout_seconds": seconds, **extra,
           "returns": res.returns.tolist(), "lengths": res.lengths.tolist(), "outcomes": res.outcomes.tolist()}
    if nominal_returns is not None:
        row.update(gains(res.returns, nominal_returns))
    return row


def gains(returns: np.ndarray, nominal: np.ndarray) -> dict:
    """The mean's gain over the nominal's, and the per-start gains' spread."""
    per_start = (returns - nominal) / np.abs(nominal)
    q1, med, q3 = np.percentile(per_start, [25, 50, 75])
    return {"return_gain": float((returns.mean() - nominal.mean()) / abs(nominal.mean())),
            "start_gain_median": float(med), "start_gain_q1": float(q1), "start_gain_q3": float(q3),
            "start_gain_min": float(per_start.min()), "start_gain_max": float(per_start.max()),
            "starts_cheaper": float(np.mean(returns > nominal + 1e-9)),
            "starts_dearer": float(np.mean(returns < nominal - 1e-9))}


# -- (a) the nominal law, tuned -------------------------------------------------------------------------

def tune_nominal(env, starts: np.ndarray, budget: int, quick: bool) -> dict:  # noqa: ANN001
    """Gains minimising the mean episode cost (+ FAIL_PENALTY per miss) from `starts`."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        raise SystemExit("pendulum_room: error: the gain tuning needs scipy (pip install -e \".[bench]\"; "
                         "the test extra brings it with rliable too)") from None

    defaults = np.array([getattr(env.options, k) for k in GAINS])
    evaluations = 0

    def objective(log_gains: np.ndarray) -> float:
        nonlocal evaluations
        gains_ = np.exp(log_gains)
        if gains_[1] > math.pi:  # the hand-over angle is at most pi
            return 1e12
        evaluations += 1
        tuned, _ = pendulum(**dict(zip(GAINS, gains_)))
        res = rollout(env, CallablePolicy("tuned", tuned.nominal), starts, budget)
        return float(np.mean(-res.returns + FAIL_PENALTY * (res.outcomes != Outcome.GOAL)))

    t0 = time.perf_counter()
    default_cost = objective(np.log(defaults))
    pumps, angles, rates = ((2.0, 8.0), (0.5,), (2.0,)) if quick else \
        ((1.0, 2.0, 4.0, 8.0, 16.0, 32.0), (0.3, 0.5, 0.8), (1.0, 2.0, 4.0))
    best = (default_cost, np.log(defaults))
    for k in pumps:
        for ha in angles:
            for hr in rates:
                z = np.log(np.array([k, ha, hr, defaults[3], defaults[4]]))
                c = objective(z)
                if c < best[0]:
                    best = (c, z)
    log(f"  grid: {evaluations} settings, best cost {best[0]:.1f} (default {default_cost:.1f}), "
        f"{time.perf_counter() - t0:.1f} s")
    res = minimize(objective, best[1], method="Nelder-Mead",
                   options={"maxfev": 30 if quick else 300, "xatol": 1e-3, "fatol": 0.05})
    z, cost = (res.x, float(res.fun)) if res.fun < best[0] else (best[1], best[0])
    tuned = dict(zip(GAINS, map(float, np.exp(z))))
    log(f"  Nelder-Mead: {res.nfev} evaluations, cost {cost:.1f}; {evaluations} in all, "
        f"{time.perf_counter() - t0:.1f} s")
    return {"gains": tuned, "defaults": dict(zip(GAINS, map(float, defaults))), "tune_cost": cost,
            "default_tune_cost": default_cost, "evaluations": evaluations, "seconds": time.perf_counter() - t0}


# -- the run ------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    env, cfg = pendulum()
    budget = cfg.env.max_steps_per_episode
    starts = evaluation_starts(env, args.starts, args.seed)
    tune_starts = evaluation_starts(env, args.tune_starts, args.tune_seed)
    log(f"pendulum, torque bound {env.options.torque_bound}, dt {env.dt}, budget {budget} steps, "
        f"{len(starts)} starts (seed {args.seed})")
    out: dict = {"starts": len(starts), "seed": args.seed, "budget": budget, "torque_bound": env.options.torque_bound,
                 "quick": args.quick, "controllers": []}
    nominal = measure(env, NominalPolicy(env), starts, budget, None)
    nominal.update(gains(np.array(nominal["returns"]), np.array(nominal["returns"])))
    nom_returns = np.array(nominal["returns"])
    out["controllers"].append(nominal)
    log(f"nominal: mean return {nominal['mean_return']:.1f}, success {nominal['success_rate']:.0%}")

    log(f"(a) tuning the nominal's gains on {len(tune_starts)} other starts (seed {args.tune_seed})")
    tuning = tune_nominal(env, tune_starts, budget, args.quick)
    out["tuning"] = tuning
    tuned_env, _ = pendulum(**tuning["gains"])
    row = measure(env, CallablePolicy("nominal, gains tuned", tuned_env.nominal), starts, budget, nom_returns)
    row["gains"] = tuning["gains"]
    row["tune_gain"] = (tuning["default_tune_cost"] - tuning["tune_cost"]) / tuning["default_tune_cost"]
    out["controllers"].append(row)
    log(f"  gains {', '.join(f'{k} {v:.3g}' for k, v in tuning['gains'].items())}: "
        f"gain {row['tune_gain']:+.2%} on the tuning starts, {row['return_gain']:+.2%} on the evaluation starts")

    nt, nw = args.terminal_grid
    log(f"(b) MPC: terminal cost = the nominal's cost-to-go on a {nt}x{nw} grid")
    grid = StateGrid(env, (nt, nw))
    terminal = policy_cost_to_go(env, grid, max_steps=4 * budget)
    out["terminal_grid"] = {"shape": [nt, nw], **terminal.info}
    log(f"  tabulated in {terminal.info['seconds']:.1f} s ({terminal.info['unfinished']} nodes unfinished)")
    for samples, iterations in args.mpc:
        params = ShootingParams(horizon=args.horizon, hold=args.hold, samples=samples, iterations=iterations,
                                elites=max(2, min(8, samples // 4)))
        policy = ShootingMPC(env, params, terminal=terminal,
                             name=f"MPC H{args.horizon} K{samples} x{iterations}")
        row = measure(env, policy, starts, budget, nom_returns)
        row["params"] = attrs.asdict(params)
        row["seconds_per_episode_step"] = row["rollout_seconds"] / budget
        out["controllers"].append(row)
        log(f"  {policy.name}: gain {row['return_gain']:+.2%}, success {row['success_rate']:.0%}, "
            f"{row['rollout_seconds']:.1f} s ({row['replans']} replans, {row['ms_per_replan']:.0f} ms and "
            f"{row['model_state_steps_per_replan'] / 1e6:.2f} M model state-steps each)")

    levels = np.linspace(-env.options.torque_bound, env.options.torque_bound, args.dp_levels)
    log(f"(c) grid dynamic programming: {args.dp_levels} torque levels held {args.dp_hold} steps")
    for nt, nw in args.dp_grids:
        value = value_iteration(env, StateGrid(env, (nt, nw)), levels, hold=args.dp_hold)
        policy = GreedyPolicy(env, value, levels, hold=args.dp_hold, name=f"DP {nt}x{nw}, greedy")
        row = measure(env, policy, starts, budget, nom_returns)
        estimate = -value(starts)
        row.update({"grid": [nt, nw], "value_iteration": value.info, "optimum_estimate_mean_return": float(estimate.mean()),
                    "optimum_estimate_gain": float((estimate.mean() - nom_returns.mean()) / abs(nom_returns.mean()))})
        out["controllers"].append(row)
        log(f"  {policy.name}: {value.info['sweeps']} sweeps in {value.info['seconds']:.1f} s; gain "
            f"{row['return_gain']:+.2%}, success {row['success_rate']:.0%} ({row['rollout_seconds']:.1f} s); "
            f"its value at the starts estimates the optimum at {row['optimum_estimate_gain']:+.2%}")

    if args.calf_runs:
        import torch

        torch.set_num_threads(1)
        log(f"CALF: {len(args.calf_runs)} runs' final policies from their checkpoints")
        out["calf"] = calf_rows(args.calf_runs, env, starts, budget, nom_returns)
    return out


def calf_rows(run_dirs: list[str], env, starts: np.ndarray, budget: int, nominal_returns: np.ndarray) -> list[dict]:  # noqa: ANN001
    """CALF runs' final policies (each run's checkpoint, as evaluated: the filter with P_relax 0) on the same
    starts, per start. Each run must have been evaluated on these starts (its eval.csv's nominal mean is
    this one's) and the rebuilt policy must reproduce its last evaluation's mean return."""
    from config.loader import load_config
    from config.schema import critic_value_scale
    from rl.calf import CalfParams
    from rl.checkpoint import read_checkpoint
    from rl.evaluation import FilterPolicy
    from rl.networks import build_networks
    from runfiles.eval_log import FILENAME, read_eval_csv

    rows = []
    for d in map(Path, run_dirs):
        for name in (FILENAME, "checkpoint.pt", "config.toml"):
            if not (d / name).is_file():
                raise SystemExit(f"pendulum_room: error: {d / name} does not exist (a finished run has it)")
        last = read_eval_csv(d / FILENAME)[-1]
        ref = float(last["nominal_mean_return"])
        if int(float(last["starts"])) != len(starts) or abs(ref - nominal_returns.mean()) > 0.01 + 1e-6 * abs(ref):  # eval.csv rounds
            raise SystemExit(f"pendulum_room: error: {d} was evaluated on other starts (nominal mean {ref:.2f} over "
                             f"{last['starts']}; here {nominal_returns.mean():.2f} over {len(starts)})")
        cfg = load_config(d / "config.toml")
        if cfg.env.system != "pendulum" or cfg.env.max_steps_per_episode != budget:
            raise SystemExit(f"pendulum_room: error: {d} is not a pendulum run with {budget}-step episodes")
        data = read_checkpoint(d / "checkpoint.pt")
        nets = build_networks(env.state_dim, env.action_dim, env.action_high, cfg.td3.hidden_size,
                              cfg.td3.hidden_layers, value_scale=critic_value_scale(cfg))
        nets.actor.load_state_dict(data["td3"]["actor"])
        nets.critic.load_state_dict(data["td3"]["critic"])
        policy = FilterPolicy(f"CALF ({d.name})", env, nets, CalfParams.from_config(cfg.calf, cfg.env.dt), 0.0)
        row = measure(env, policy, starts, budget, nominal_returns)
        if abs(row["mean_return"] - float(last["mean_return"])) > 1e-3 * abs(row["mean_return"]):
            raise SystemExit(f"pendulum_room: error: {d}: its checkpoint gives mean return {row['mean_return']:.2f}, "
                             f"its last evaluation {float(last['mean_return']):.2f}: not the same policy")
        row.update({"run": str(d), "episode": int(float(last["episode"])), "certified_share": float(last["certified_share"])})
        rows.append(row)
        log(f"  {policy.name}: gain {row['return_gain']:+.2%}, success {row['success_rate']:.0%}, "
            f"certified {row['certified_share']:.0%}")
    return rows


# -- report -------------------------------------------------------------------------------------------------

def table(result: dict) -> str:
    head = ("| controller | success | reach and stay | mean return | return gain | median steps to goal | "
            "per-start gain: median [IQR] | cheaper / dearer starts | wall s |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]

    def line(r: dict) -> str:
        return (f"| {r['name']} | {r['success_rate']:.0%} | {r['reach_and_stay_rate']:.0%} | {r['mean_return']:.0f} | "
                f"{r['return_gain']:+.2%} | {r['steps_to_goal_median']:.0f} | {r['start_gain_median']:+.2%} "
                f"[{r['start_gain_q1']:+.2%}, {r['start_gain_q3']:+.2%}] | {r['starts_cheaper']:.0%} / "
                f"{r['starts_dearer']:.0%} | {r['rollout_seconds']:.1f} |")

    lines += [line(r) for r in result["controllers"]]
    for r in result["controllers"]:
        if "optimum_estimate_gain" in r:
            lines.append(f"| {r['name'].split(',')[0]}: value at the starts (optimum estimate) | | | "
                         f"{r['optimum_estimate_mean_return']:.0f} | {r['optimum_estimate_gain']:+.2%} | | | | |")
    lines += [line(r) for r in result.get("calf", [])]
    return "\n".join(lines)


def figure(result: dict, path: Path, starts: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["controllers"]
    nominal = np.array(rows[0]["returns"])
    others = rows[1:]
    calf = result.get("calf", [])

    def per_start(r: dict) -> np.ndarray:
        return 100 * (np.array(r["returns"]) - nominal) / np.abs(nominal)

    boxes = [per_start(r) for r in others]
    labels = [r["name"].replace(", ", "\n") for r in others]
    means = [[100 * r["return_gain"]] for r in others]
    if calf:
        boxes.append(np.concatenate([per_start(c) for c in calf]))
        labels.append(f"CALF\n{len(calf)} runs' final\npolicies (pooled)")
        means.append([100 * c["return_gain"] for c in calf])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(15, 5.6), gridspec_kw={"width_ratios": [1.5, 1]})
    pos = np.arange(len(boxes))
    ax.boxplot(boxes, positions=pos, widths=0.5, whis=(5, 95), showfliers=True,
               flierprops={"markersize": 3, "alpha": 0.5})
    for x, m in zip(pos, means):
        ax.plot(np.full(len(m), x), m, "D", color="tab:red", ms=6, label="gain of the mean return" if x == 0 else None)
        labels[x] += f"\nmean {m[0]:+.1f}%" if len(m) == 1 else f"\nmeans {min(m):+.1f} to {max(m):+.1f}%"
    estimates = [(x, 100 * r["optimum_estimate_gain"]) for x, r in enumerate(others) if "optimum_estimate_gain" in r]
    for i, (x, g) in enumerate(estimates):
        ax.plot(x, g, "_", color="tab:purple", ms=22, mew=2,
                label="DP value at the starts (optimum estimate)" if i == 0 else None)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(pos, labels, fontsize=7.5)
    ax.set_ylabel("return gain over the nominal (%; symmetric log beyond +-5)")
    ax.set_yscale("symlog", linthresh=5, linscale=2)
    ax.set_title(f"room above the nominal, {len(nominal)} evaluation starts (seed {result['seed']}): per-start gains, "
                 f"box IQR, whiskers 5-95 %", fontsize=9)
    ax.legend(fontsize=8, loc="lower left")
    best = max(others, key=lambda r: r["return_gain"])
    saved = np.array(best["returns"]) - nominal  # in return units: how the mean's gain is made up
    hanging = np.abs(starts[:, 0]) > np.pi / 2
    for sel, colour, label in ((hanging, "tab:blue", "start below horizontal"), (~hanging, "tab:green", "start above")):
        bx.scatter(starts[sel, 0], saved[sel], s=16, color=colour, label=f"{best['name']}: {label}")
    if calf:
        lost = np.mean([np.array(c["returns"]) for c in calf], axis=0) - nominal
        bx.scatter(starts[:, 0], lost, s=12, marker="x", color="tab:orange", label="CALF, mean over its runs")
    bx.axhline(0, color="k", lw=0.8)
    bx.axhline(saved.mean(), color="tab:red", ls="--", lw=1,
               label=f"{best['name']}: mean {saved.mean():+.0f} (nominal's mean return {nominal.mean():.0f})")
    bx.set_xlabel("start theta (rad; 0 = upright, +-pi = hanging)")
    bx.set_ylabel("return minus the nominal's, per start")
    bx.set_xlim(-np.pi, np.pi)
    bx.set_title("where the room is (in return units)", fontsize=9)
    bx.legend(fontsize=7.5)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--quick", action="store_true", help="small searches and grids: under a minute")
    p.add_argument("--starts", type=int, default=100, help="evaluation starts (the [evaluation] default)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the evaluation starts (the [evaluation] default)")
    p.add_argument("--tune-starts", type=int, default=None, help="starts the gains are tuned on (200; quick 50)")
    p.add_argument("--tune-seed", type=int, default=7, help="their seed (not the evaluation's)")
    p.add_argument("--mpc", default=None, help="MPC search sizes SAMPLESxITERATIONS,... (32x3,64x3,256x4; quick 16x2)")
    p.add_argument("--horizon", type=int, default=50, help="MPC horizon in steps (default 50 = 0.5 s)")
    p.add_argument("--hold", type=int, default=5, help="MPC: steps each planned torque is held, and replans (5)")
    p.add_argument("--terminal-grid", default=None, help="MPC terminal-cost grid THETAxOMEGA (512x401; quick 256x161)")
    p.add_argument("--dp-grids", default=None, help="DP grids THETAxOMEGA,... (256x161,512x401,1024x801; quick 128x81)")
    p.add_argument("--dp-hold", type=int, default=5, help="DP: steps each torque level is held (5)")
    p.add_argument("--dp-levels", type=int, default=13, help="DP: torque levels across the bound (13)")
    p.add_argument("--calf-runs", nargs="*", default=[], metavar="RUN_DIR", help="finished CALF pendulum runs to compare (their checkpoint, config and eval.csv)")
    p.add_argument("--replot", action="store_true", help="only the table and chart again, from the JSON written before")
    p.add_argument("--out", default=None, help="JSON (bench/results/pendulum_room[_quick].json)")
    p.add_argument("--figure", default=None, help="chart (bench/results/pendulum_room[_quick].png)")
    args = p.parse_args(argv)
    q = args.quick
    args.tune_starts = args.tune_starts or (50 if q else 200)
    args.mpc = parse_sizes(args.mpc or ("16x2" if q else "32x3,64x3,256x4"))
    args.terminal_grid = parse_sizes(args.terminal_grid or ("256x161" if q else "512x401"))[0]
    args.dp_grids = parse_sizes(args.dp_grids or ("128x81" if q else "256x161,512x401,1024x801"))
    stem = "pendulum_room_quick" if q else "pendulum_room"
    out = Path(args.out or common.RESULTS / f"{stem}.json")
    fig = Path(args.figure or common.RESULTS / f"{stem}.png")
    if args.replot:
        if not out.is_file():
            raise SystemExit(f"pendulum_room: error: {out} does not exist: run without --replot first")
        result = json.loads(out.read_text())
    else:
        t0 = time.perf_counter()
        result = run(args)
        result["seconds"] = time.perf_counter() - t0
        common.save_json(out, result, indent=1, keep_nan=True)  # --replot reads it back
    print()
    print(table(result))
    env, _ = pendulum()
    figure(result, fig, evaluation_starts(env, result["starts"], result["seed"]))
    print(f"\n{result['seconds']:.0f} s in all; written {out} and {fig}" if not args.replot else f"\nredrawn {fig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
