"""Relax-probability schedules and the CalfState that advances them."""
import math

import numpy as np
import pytest

from config import build_config
from rl.calf_state import CalfState
from rl.relax import ExponentialDecay, LinearRamp, ZeroInGoalRegion, make_schedule


def test_the_default_relaxes_early_and_stops():
    """The default: P_relax falls linearly from 0.3 to 0 over the first 20 000 steps, then never relaxes."""
    sched = make_schedule(build_config().calf)
    assert isinstance(sched, LinearRamp) and sched.value(0) == 0.3 and sched.value(10_000) == pytest.approx(0.15)
    assert sched.value(20_000) == 0.0 and sched.value(10**6) == 0.0


def test_exponential_from_lambda_decays_every_step():
    sched = make_schedule(build_config(overrides={"calf": {"relax_schedule": "exponential", "p_relax_init": 0.99995}}).calf)
    assert isinstance(sched, ExponentialDecay)
    assert sched.value(0) == 0.99995  # the previous default: it starts at lambda_relax
    assert sched.value(1) == pytest.approx(0.99995**2, rel=1e-12)
    assert sched.value(50_000) == pytest.approx(0.99995 ** 50_001, rel=1e-9)
    state = CalfState(sched)
    p = [state.p_relax]
    for _ in range(1000):
        state.advance()
        p.append(state.p_relax)
    ratios = np.array(p[1:]) / np.array(p[:-1])
    assert np.allclose(ratios, 0.99995, rtol=1e-12)


def test_p_relax_zero_stays_zero_and_init_overrides_start():
    assert make_schedule(build_config(overrides={"calf": {"p_relax_init": 0.0}}).calf).value(10) == 0.0
    s = make_schedule(build_config(overrides={"calf": {"p_relax_init": 0.5}}).calf)
    assert s.value(0) == 0.5 and s.value(2) == pytest.approx(0.5 * 0.99995**2)


@pytest.mark.parametrize("start,end", [(1.0, 0.0), (0.1, 0.9)])
def test_linear_ramp_down_and_up(start, end):
    cfg = build_config(overrides={"calf": {"relax_schedule": "linear", "p_relax_init": start,
                                           "relax_ramp_steps": 100, "relax_ramp_end": end}})
    s = make_schedule(cfg.calf)
    assert isinstance(s, LinearRamp)
    assert s.value(0) == start
    assert s.value(50) == pytest.approx((start + end) / 2)
    assert s.value(100) == pytest.approx(end) and s.value(10_000) == pytest.approx(end)
    values = [s.value(k) for k in range(0, 120)]
    assert all((b <= a) if end < start else (b >= a) for a, b in zip(values, values[1:]))


def test_goal_zero_is_zero_inside_the_goal_region_only():
    cfg = build_config(overrides={"calf": {"relax_schedule": "goal_zero", "relax_goal_radius": 0.3,
                                           "p_relax_init": 0.99995}})
    s = make_schedule(cfg.calf)
    assert isinstance(s, ZeroInGoalRegion)
    p = s.per_agent(s.value(10), np.array([0.0, 0.29, 0.3, 2.0]))
    assert p.tolist() == [0.0, 0.0, pytest.approx(0.99995**11), pytest.approx(0.99995**11)]
    # the others apply the same value to every agent
    assert ExponentialDecay(0.7, 0.9).per_agent(0.7, np.zeros(3)) == 0.7


def test_calf_state_round_trip_recomputes_from_the_step_count():
    a = CalfState(ExponentialDecay(0.99995, 0.99995))
    for _ in range(123):
        a.advance()
    b = CalfState(ExponentialDecay(0.99995, 0.99995))
    b.load_state_dict(a.state_dict())
    assert b.relax_steps == 123 and b.p_relax == a.p_relax
    assert math.isclose(b.p_relax, 0.99995**124, rel_tol=1e-9)


def _relax_world(decay: float):
    from components import AgentTable
    from runtime.build import build_world
    over = {"visual": {"agents": 6, "cohort": 0}, "run": {"seed": 5}, "env": {"max_steps_per_episode": 12},
            "td3": {"batch_size": 16, "start_training_step": 0, "explore": "actor"},
            "calf": {"relax_schedule": "linear", "p_relax_init": 1.0, "relax_ramp_end": 1.0,
                     "relax_episode_decay": decay, "fallback_dwell": 0.0, "nominal_reach_check": 0.0}}
    w = build_world(build_config(overrides=over))
    return w, w.resource(AgentTable), w.resource(CalfState)


@pytest.mark.parametrize("decay", [0.0, 0.5, 1.0])
def test_the_episode_decay_multiplies_each_agents_p_relax_by_decay_per_episode_step(decay):
    from components import Mode
    w, table, calf = _relax_world(decay)
    relaxed_late = uncertified_late = 0
    for _ in range(40):
        steps = table.episode_step.copy()
        w.step()
        tr = table.training_row
        # the training agent's coin was compared with P_relax * decay**episode_step
        assert calf.last.p_relax == pytest.approx(1.0 * decay ** int(steps[tr]), abs=1e-12)
        late = steps > 0
        relaxed_late += int(((table.mode == Mode.RELAX) & late).sum())
        uncertified_late += int(((table.mode != Mode.CERTIFIED) & late).sum())
    w.shutdown()
    assert uncertified_late > 0
    if decay == 0.0:  # only an episode's first step may relax
        assert relaxed_late == 0
    if decay == 1.0:  # P_relax 1 and no decay: every uncertified step relaxes
        assert relaxed_late == uncertified_late


def test_the_episode_decay_is_checked():
    from config import ConfigError
    with pytest.raises(ConfigError, match="relax_episode_decay"):
        build_config(overrides={"calf": {"relax_episode_decay": 1.5}})
