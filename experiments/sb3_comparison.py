"""CALF, our TD3 and Stable-Baselines3's TD3 on the same dynamics, budget and evaluation starts.

For every environment and seed:
- ours: ordinary headless runs of the program, `--policy calf` and `--policy actor` (our TD3
  without the filter), `--agents 0`, with the setting's training preset;
- SB3: `stable_baselines3.TD3` on the gymnasium bridge (rl/gym_bridge.py: the same RK4 step,
  rewards, episode ends and start distribution) with the same networks (td3.hidden_layers x
  td3.hidden_size ReLU actor and twin critics), the hyper-parameters of config/schema.py's
  TD3Config, and the same budget rule: as many training episodes as the program's run
  (`training.episodes`) of at most `env.max_steps_per_episode` steps, `training.train_steps_per_frame`
  updates per step after `td3.start_training_step` steps. SB3 has no counterpart of our critic's
  output scale (`td3.value_scale`): its critic outputs Q directly.
Then every trained policy is evaluated without noise by rl.evaluation on the same fixed starts
(`--eval-starts`, `--eval-seed`); the nominal policy on the same starts is the reference.

SB3 applies exploration and target-smoothing noise to actions scaled to [-1, 1]; ours are
absolute (action units), so they are divided by the action bound here: exploration per action
component, target smoothing (one number in SB3) by the mean bound, which is exact when all
components share one bound (the point mass, the pendulum) and approximate for the differential
drive (bounds 1 and 2).

    python experiments/sb3_comparison.py                         # train what is missing, then the table
    python experiments/sb3_comparison.py --table-only            # re-read finished runs
    python experiments/sb3_comparison.py --systems pendulum --seeds 4 5 --only ours --policies calf

Runs go to experiments/results/sb3/<system>/<policy>_s<seed>/ (a finished run is not redone);
the table is written to docs/learning_sb3.md and experiments/results/sb3/comparison.json.
Needs the `sb3` extra (`pip install -e ".[sb3]"`).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "experiments" / "results" / "sb3"
TABLE = ROOT / "docs" / "learning_sb3.md"

#: per environment: the training preset and any [env] keys changed from it (why: in the comment)
SETTINGS = {
    "point_mass": {"train_preset": "quick", "env": {}},
    "pendulum": {"train_preset": "quick", "env": {}},
    # in the quick preset's 500 steps the nominal reaches the goal from 14 % of the starts; 750 steps
    # (the standard preset's episode length) gives it room (97 %) at the quick preset's 100 episodes
    "differential_drive": {"train_preset": "quick", "env": {"max_steps_per_episode": 750}},
}
POLICIES = ("calf", "actor", "sb3")
SOURCES = {"eval.csv": "by the run itself at its end (eval.csv)",
           "checkpoint": "from the run's final checkpoint by this script",
           "rollout": "by this script"}
LABELS = {"calf": "CALF (ours)", "actor": "TD3 (ours, `--policy actor`)", "sb3": "TD3 (Stable-Baselines3)",
          "nominal": "nominal policy"}


def app_config(system: str):  # noqa: ANN201
    from config import build_config

    s = SETTINGS[system]
    return build_config(train_preset=s["train_preset"], overrides={"env": {"system": system, **s["env"]},
                                                                   "visual": {"agents": 0}})


def run_dir(system: str, policy: str, seed: int) -> Path:
    return RESULTS / system / f"{policy}_s{seed}"


# -- training -------------------------------------------------------------------------------------------
def train_ours(system: str, policy: str, seed: int) -> None:
    out = run_dir(system, policy, seed)
    if (out / "run_summary.json").exists():
        return
    s = SETTINGS[system]
    cmd = [sys.executable, str(ROOT / "app.py"), "--headless", "--no-progress", "--agents", "0", "--system", system,
           "--train-preset", s["train_preset"], "--policy", policy, "--seed", str(seed), "--out", str(out)]
    if s["env"]:
        out.parent.mkdir(parents=True, exist_ok=True)
        extra = out.parent / f"{system}_env.toml"
        extra.write_text("[env]\n" + "".join(f"{k} = {v!r}\n" for k, v in s["env"].items()))
        cmd += ["--config", str(extra)]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{system} {policy} seed {seed} failed ({res.returncode}): {res.stderr.strip()[-2000:]}")
    print(f"  {system} {policy} s{seed}: {time.perf_counter() - t0:.0f} s; {res.stdout.strip()}", flush=True)


def sb3_hyperparameters(cfg) -> dict:  # noqa: ANN001
    """TD3Config's values in SB3's terms (noise scaled to SB3's [-1, 1] actions)."""
    from envs import make_environment

    t = cfg.td3
    high = make_environment(cfg.env).action_high
    if t.actor_lr != t.critic_lr:
        raise SystemExit("SB3's TD3 has one learning rate; td3.actor_lr and td3.critic_lr differ")
    return {
        "net_arch": [t.hidden_size] * t.hidden_layers, "activation": "ReLU", "learning_rate": t.actor_lr,
        "buffer_size": t.buffer_size, "learning_starts": t.start_training_step, "batch_size": t.batch_size,
        "tau": t.tau, "gamma": t.gamma, "train_freq": 1, "gradient_steps": cfg.training.train_steps_per_frame,
        "policy_delay": t.policy_delay, "exploration_sigma": (t.exploration_noise / high).tolist(),
        "target_policy_noise": t.policy_noise / float(high.mean()),
        "target_noise_clip": t.noise_clip / float(high.mean()),
        "episodes": cfg.training.episodes, "max_steps_per_episode": cfg.env.max_steps_per_episode,
        "torch_threads": t.torch_threads,
    }


def train_sb3(system: str, seed: int) -> None:
    out = run_dir(system, "sb3", seed)
    cfg = app_config(system)
    hp = sb3_hyperparameters(cfg)
    done = out / "sb3_run.json"
    if done.exists() and json.loads(done.read_text()).get("hyperparameters") == hp:
        return
    import torch
    from stable_baselines3 import TD3
    from stable_baselines3.common.callbacks import StopTrainingOnMaxEpisodes
    from stable_baselines3.common.noise import NormalActionNoise

    from rl.gym_bridge import CalfEnv

    torch.set_num_threads(hp["torch_threads"])
    env = CalfEnv(cfg.env)
    model = TD3(
        "MlpPolicy", env, learning_rate=hp["learning_rate"], buffer_size=hp["buffer_size"],
        learning_starts=hp["learning_starts"], batch_size=hp["batch_size"], tau=hp["tau"], gamma=hp["gamma"],
        train_freq=(1, "step"), gradient_steps=hp["gradient_steps"], policy_delay=hp["policy_delay"],
        action_noise=NormalActionNoise(np.zeros(env.env.action_dim), np.array(hp["exploration_sigma"])),
        target_policy_noise=hp["target_policy_noise"], target_noise_clip=hp["target_noise_clip"],
        policy_kwargs={"net_arch": hp["net_arch"], "activation_fn": torch.nn.ReLU}, seed=seed, device="cpu",
        verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=hp["episodes"] * hp["max_steps_per_episode"],
                callback=StopTrainingOnMaxEpisodes(max_episodes=hp["episodes"]))
    seconds = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.zip")
    done.write_text(json.dumps({"system": system, "seed": seed, "total_steps": int(model.num_timesteps),
                                "episodes": hp["episodes"], "seconds": seconds, "hyperparameters": hp}, indent=2) + "\n")
    print(f"  {system} sb3 s{seed}: {model.num_timesteps} steps in {seconds:.0f} s", flush=True)


# -- evaluation -----------------------------------------------------------------------------------------
def evaluate(system: str, policy: str, seed: int, starts_count: int, eval_seed: int) -> dict | None:
    """Success rate and mean return of the trained policy on the fixed starts (None: not trained yet)."""
    from envs import make_environment
    from rl.evaluation import CallablePolicy, evaluation_starts, rollout

    d = run_dir(system, policy, seed)
    cfg = app_config(system)
    env = make_environment(cfg.env)
    starts = evaluation_starts(env, starts_count, eval_seed)
    budget = cfg.env.max_steps_per_episode
    if policy == "sb3":
        if not (d / "sb3_run.json").exists():
            return None
        from stable_baselines3 import TD3

        model = TD3.load(d / "model.zip", device="cpu")
        res = rollout(env, CallablePolicy("sb3", lambda s: model.predict(s, deterministic=True)[0]), starts, budget)
        steps = json.loads((d / "sb3_run.json").read_text())["total_steps"]
        return {"success": res.success_rate, "return": float(res.returns.mean()), "certified": math.nan, "steps": steps,
                "source": "rollout"}
    if not (d / "run_summary.json").exists():
        return None
    summary = json.loads((d / "run_summary.json").read_text())
    row = _last_eval_row(d)
    if row is not None and int(float(row["starts"])) == starts_count:
        return {"success": float(row["success_rate"]), "return": float(row["mean_return"]),
                "certified": float(row.get("certified_share") or "nan"), "steps": summary["total_steps"],
                "source": "eval.csv"}
    res = rollout(env, _policy_from_checkpoint(policy, d, env, cfg), starts, budget)
    return {"success": res.success_rate, "return": float(res.returns.mean()), "certified": res.certified_share,
            "steps": summary["total_steps"], "source": "checkpoint"}


def _last_eval_row(d: Path) -> dict | None:
    path = d / "eval.csv"
    if not path.exists():
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return rows[-1] if rows else None


def _policy_from_checkpoint(policy: str, d: Path, env, cfg):  # noqa: ANN001, ANN202
    """The run's final networks from its checkpoint, as an evaluation policy."""
    import torch

    from rl.evaluation import CallablePolicy
    from rl.learning import networks_for

    ck = torch.load(d / "checkpoint.pt", weights_only=True)
    nets = networks_for(cfg, env)
    nets.actor.load_state_dict(ck["td3"]["actor"])
    nets.critic.load_state_dict(ck["td3"]["critic"])
    if policy == "actor":
        return CallablePolicy("actor", nets.act)
    import rl.evaluation as ev
    from rl.calf import CalfParams

    params = CalfParams.from_config(cfg.calf, cfg.env.dt)
    if hasattr(ev, "FilterPolicy"):
        return ev.FilterPolicy("calf", env, nets, params, p_relax=0.0)
    return CertifiedActor(env, nets, params)


class CertifiedActor:
    """CALF as evaluated (no noise, P_relax = 0: every uncertified step falls back to the nominal policy),
    each row with its own certificate; for checkouts whose rl.evaluation has no filter policy."""

    name = "calf"

    def __init__(self, env, nets, params) -> None:  # noqa: ANN001
        self.env, self.nets, self.params = env, nets, params

    def reset(self, count: int) -> None:
        sd, ad = self.env.state_dim, self.env.action_dim
        self.s_cert, self.a_cert = np.zeros((count, sd)), np.zeros((count, ad))
        self.q_cert, self.has_cert = np.full(count, np.nan), np.zeros(count, dtype=bool)

    def act(self, states: np.ndarray):  # noqa: ANN201
        from rl.calf import (
            certificate_test,
            certified_q,
            choose_modes,
            filtered_actions,
            update_certificates,
        )

        a = self.nets.act(states)
        q = certified_q(self.nets.q(states, a, which="both"), self.params.certified_value)
        test = certificate_test(q, self.q_cert, self.has_cert, self.env.state_norm(states), self.params)
        modes = choose_modes(test.certified, np.ones(len(states)), 0.0, None)
        actions = filtered_actions(modes, a, self.env.nominal(states))
        update_certificates(modes, states, a, q, self.s_cert, self.a_cert, self.q_cert, self.has_cert,
                            self.params.relax_updates_certificate)
        return actions, modes


def nominal(system: str, starts_count: int, eval_seed: int) -> dict:
    from envs import make_environment
    from rl.evaluation import NominalPolicy, evaluation_starts, rollout

    cfg = app_config(system)
    env = make_environment(cfg.env)
    res = rollout(env, NominalPolicy(env), evaluation_starts(env, starts_count, eval_seed), cfg.env.max_steps_per_episode)
    return {"success": res.success_rate, "return": float(res.returns.mean())}


# -- the table ------------------------------------------------------------------------------------------
def _spread(values: list[float], pct: bool) -> str:
    if not values:
        return "-"
    v = np.array(values) * (100.0 if pct else 1.0)
    unit = " %" if pct else ""
    if len(v) == 1:
        return f"{v[0]:.0f}{unit}"
    return f"{v.mean():.0f}{unit} ± {v.std(ddof=1):.0f} ({v.min():.0f} to {v.max():.0f})"


def table(systems: list[str], seeds: list[int], starts_count: int, eval_seed: int) -> None:
    results: dict = {}
    lines = [
        "# CALF, our TD3 and Stable-Baselines3's TD3 on the same dynamics",
        "",
        "Written by `python experiments/sb3_comparison.py` (the command, the settings and how each number is",
        "made are in its module docstring). Each trained policy is evaluated without noise from the same",
        f"{starts_count} fixed starts (seed {eval_seed}) within the setting's episode budget; success is the share",
        "of those episodes that reach the goal. Cells: mean ± standard deviation over the seeds (min to max).",
        "CALF is evaluated as it acts without exploration: its actor where the certificate holds, the nominal",
        "policy on every other step (no relax steps); \"actor certified\" is the share of its evaluation steps",
        "on which the actor acted.",
        "",
        "Settings: the program's defaults (`config/schema.py`), one learner per run (`--agents 0`), so that",
        "SB3's TD3 and ours see the same data; SB3's critic has no output scale (`td3.value_scale`). CALF",
        "with 64 learners: [LEARNING.md](LEARNING.md).",
        "",
    ]
    for system in systems:
        cfg = app_config(system)
        s = SETTINGS[system]
        nom = nominal(system, starts_count, eval_seed)
        per = {p: {} for p in POLICIES}
        for policy in POLICIES:
            found = sorted(int(d.name.split("_s")[-1]) for d in (RESULTS / system).glob(f"{policy}_s*") if d.is_dir())
            for seed in sorted(set(seeds) | set(found)):
                r = evaluate(system, policy, seed, starts_count, eval_seed)
                if r is not None:
                    per[policy][seed] = r
        results[system] = {"nominal": nom, **{p: {str(k): v for k, v in per[p].items()} for p in POLICIES}}
        env_note = ", ".join(f"env.{k} = {v}" for k, v in s["env"].items())
        lines += [f"## {system}", "",
                  f"Budget: training preset `{s['train_preset']}` ({cfg.training.episodes} episodes of at most "
                  f"{cfg.env.max_steps_per_episode} steps{'; ' + env_note if env_note else ''}).", "",
                  "| policy | seeds | success | mean return | actor certified | training steps |",
                  "|---|---|---|---|---|---|"]
        for policy in POLICIES:
            rows = list(per[policy].values())
            cert = [r["certified"] for r in rows if np.isfinite(r.get("certified", math.nan))]
            lines.append(f"| {LABELS[policy]} | {len(rows)} | {_spread([r['success'] for r in rows], True)} | "
                         f"{_spread([r['return'] for r in rows], False)} | {_spread(cert, True)} | "
                         f"{_spread([r['steps'] for r in rows], False)} |")
        lines += [f"| {LABELS['nominal']} | - | {nom['success'] * 100:.0f} % | {nom['return']:.0f} | - | - |", ""]
        for policy in POLICIES:
            if per[policy]:
                detail = ", ".join(f"s{k}: {v['success']:.0%}" for k, v in sorted(per[policy].items()))
                sources = sorted({SOURCES[v["source"]] for v in per[policy].values()})
                lines.append(f"- {LABELS[policy]} per seed: {detail} (evaluated {', '.join(sources)})")
        lines.append("")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "comparison.json").write_text(json.dumps(results, indent=2) + "\n")
    TABLE.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"written {TABLE} and {RESULTS / 'comparison.json'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--systems", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--only", choices=("ours", "sb3"), help="train only these runs")
    p.add_argument("--policies", nargs="+", choices=("calf", "actor"), default=["calf", "actor"],
                   help="which of our policies to train (default both)")
    p.add_argument("--table-only", action="store_true", help="train nothing; evaluate what exists and write the table")
    p.add_argument("--eval-starts", type=int, default=100, help="evaluation starts (the [evaluation] default)")
    p.add_argument("--eval-seed", type=int, default=2026, help="seed of the evaluation starts (the [evaluation] default)")
    args = p.parse_args()
    if not args.table_only:
        for system in args.systems:
            for seed in args.seeds:
                if args.only in (None, "ours"):
                    for policy in args.policies:
                        train_ours(system, policy, seed)
                if args.only in (None, "sb3"):
                    train_sb3(system, seed)
    table(args.systems, args.seeds, args.eval_starts, args.eval_seed)


if __name__ == "__main__":
    main()
