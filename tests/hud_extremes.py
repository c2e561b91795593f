"""Every HUD text at its longest: the largest values each field can take (config bounds, counters
of a very long run, numbers at float's extremes, long plugin names), for the width tests
(tests/test_hud_width.py headless, tests/render_scenarios.py rendered at two window sizes)."""
from __future__ import annotations

from components.modes import Mode
from config.schema import MAX_AGENTS
from rl.evaluation import EvalResult
from systems.evaluation import hud_line
from systems.hud_text import fold, inspect_text, learning_text, profiler_text, scale_caption, scale_labels, stats_text, timeline_caption

BIG = -1.2345678e300  # the widest float a %.4f / %.4g / %.2f field prints (a diverged critic)
LONG_SYSTEM = "my_laboratory.environments.cart_pole_on_a_spring:CartPoleOnASpring"
LONG_PLUGIN = "AVeryLongPluginSystemNameThatDoesNotFitTheColumn"


def stats_values(**changes) -> dict:
    values = {
        "system": LONG_SYSTEM, "warp": "auto (1000)", "paused": True,
        "episode": 100_000_001, "episodes_total": 100_000_000, "total_steps": 10**15,
        "visual_agents": MAX_AGENTS, "training_agents": 1, "cohort_agents": MAX_AGENTS,
        "episode_return": BIG, "episode_length": 10_000_000,
        "mean_return_10": BIG, "success_rate": 1.0, "phase": "EXPLORATION", "noise": 100.0,
        "buffer_size": 50_000_000, "critic_loss": BIG, "actor_loss": BIG, "mode": int(Mode.FALLBACK),
        "p_relax": 1.0, "certification_rate": 1.0, "intervention_rate": 1.0, "relax_rate": 1.0,
        "q": BIG, "q_cert": -BIG, "required": -BIG, "all_certification_rate": 1.0, "all_intervention_rate": 1.0,
        "all_relax_rate": 1.0, "all_success_rate": 1.0, "collect": f"{MAX_AGENTS + 1} learning",
        "state_norm": -BIG, "kappa_low": -BIG, "kappa_up": -BIG, "grid_q_range": (BIG, -BIG),
        "grid_refreshes": 10**12,
        **{f"{g}_{k}": 10**15 for g in ("learners", "cohort") for k in ("episodes", "failures", "boundary_exits")},
        "learners_nominal_failures": -BIG, "cohort_nominal_failures": -BIG,
        "faults": {k: 10**12 for k in ("nonfinite_agents", "nonfinite_actions", "rejected_transitions",
                                       "skipped_updates", "network_restores", "nonfinite_values")},
        "learner": "background", "updates_per_step": 1000, "batch_size": 65_536, "learning_lag": 10**15,
        "learning_lag_s": BIG, "updates_skipped_share": 1.0,
    }
    values.update(changes)
    return values


def inspect_values(**changes) -> dict:
    values = {
        "entity": 10**12, "training": False, "follow": True, "group": "cohort",
        "state_names": ("theta", "omega", "x_dot"), "state": [BIG, -BIG, BIG],
        "mode": int(Mode.FALLBACK), "episode_step": 10_000_000, "state_norm": -BIG,
        "q": BIG, "q_cert": BIG, "has_cert": True, "decrease": BIG, "decrease_ok": False, "required": -BIG,
        "kappa_low": -BIG, "kappa_up": -BIG, "neg_q": -BIG, "low_ok": True, "up_ok": False,
        "certified": False, "held": 10**12, "test_passed": True,
    }
    values.update(changes)
    return values


def longest_eval() -> EvalResult:
    return EvalResult(
        episode=100_000_000, total_steps=10**15, collected=10**15, wall_time=1e9, policy="calf", starts=100_000,
        success_rate=1.0, mean_return=BIG, mean_length=1e7, certified_share=1.0, fallback_share=1.0,
        boundary_rate=1.0, timeout_rate=1.0, nominal_success_rate=1.0, nominal_mean_return=-1.0,
        actor_success_rate=1.0, actor_mean_return=BIG)


def texts() -> dict[str, str]:
    """HUD text name -> its longest text (the stats text with a plugin's long line under it)."""
    plugin_line = f"{LONG_PLUGIN}: " + "episodes 100000000, decrease_fraction 0.999999, " * 3
    return {
        "stats": "\n".join([stats_text(stats_values()), *fold([hud_line(longest_eval()), plugin_line])]),
        "scale": scale_caption("min(Q1,Q2)(s, actor(s)) (|Q| below)",
                               "slice theta = -3.14159, omega = -1e+300, x_dot = 0 (the other axes vary)")
        + "\n\n" + scale_labels([BIG, BIG, BIG]),
        "timeline": timeline_caption(f"agent {10**12} (training)"),
        "learning": learning_text({"span": (100_000_000, 100_000_000), "gain_range": 10.0, "success": 1.0,
                                   "nominal": 1.0, "certified": 1.0, "learners": 1.0, "cohort": 1.0,
                                   "gain": BIG}),
        "inspect": inspect_text(inspect_values()),
        "profiler": profiler_text([(LONG_PLUGIN, 99_999.999)] + [(f"System{k}", 12_345.678) for k in range(4)],
                                  99_999.999, True, 1_000_000, 1000.0, 99_999.999),
        "messages": "profile written:\n  " + "p.f1-20261207-101010-frame123456789.json",
    }
