"""calf.nominal_reach_check: the nominal policy simulated forward decides when it must take over."""
import attrs
import numpy as np
import pytest

from components import AgentTable, Mode
from components.agent_groups import Group
from config import ConfigError, build_config
from envs.base import Environment, Outcome
from envs.registry import make_environment
from rl.calf import CalfParams
from rl.evaluation import FilterPolicy, NominalPolicy, evaluation_starts, rollout
from rl.networks import Networks
from rl.reach_check import REACH_CLEAR, REACH_HANDED_OVER, hand_over, nominal_steps_to_goal
from runtime.build import build_world


def _env(system: str, **env):
    cfg = build_config(overrides={"env": {"system": system, **env}})
    return make_environment(cfg.env)


def _steps_one_at_a_time(env: Environment, state: np.ndarray, budget: int) -> int:
    """The oracle: one agent, one step at a time."""
    s = state[None, :].copy()
    if env.goal_reached(s)[0]:
        return 0
    for t in range(1, budget + 1):
        s = env.rk4_step(s, env.nominal(s))
        if not np.isfinite(s).all():
            return budget + 1
        if env.goal_reached(s)[0]:
            return t
        if env.out_of_bounds(s)[0]:
            return budget + 1
    return budget + 1


@pytest.mark.parametrize("system", ["point_mass", "differential_drive", "pendulum"])
def test_steps_to_goal_equal_a_one_agent_loop(system):
    env = _env(system)
    rng = np.random.default_rng(5)
    states = env.sample_states(rng, 12)
    states[0] = 0.0  # at the goal (every built-in environment's goal is the origin)
    budget = 400
    need = nominal_steps_to_goal(env, states, budget)
    assert need.tolist() == [_steps_one_at_a_time(env, s, budget) for s in states]
    assert need[0] == 0
    assert (need > budget).any() or system != "pendulum"  # some pendulum starts need longer than 4 s


def test_a_state_the_nominal_cannot_recover_in_the_budget_is_out_of_reach():
    env = _env("point_mass")
    far = np.array([[env.cfg.boundary_limit * 0.9, 5.0]])  # near the edge, flying outwards
    assert nominal_steps_to_goal(env, far, 50)[0] == 51
    bad = np.array([[np.nan, 0.0]])
    assert nominal_steps_to_goal(env, bad, 50)[0] == 51


def test_hand_over_exactly_when_the_time_left_no_longer_covers_the_next_period_and_the_margin():
    env = _env("point_mass")
    s = env.sample_states(np.random.default_rng(2), 1)
    need = int(nominal_steps_to_goal(env, s, 1000)[0])
    assert 0 < need <= 1000
    period, margin = 25, 10
    states = np.repeat(s, 3, axis=0)
    left = np.array([need + period + margin, need + period + margin - 1, need + period])
    assert hand_over(env, states, left, period, margin).tolist() == [False, True, True]
    assert hand_over(env, states, left, period).tolist() == [False, False, False]
    assert hand_over(env, states[:0], left[:0], period).shape == (0,)


def test_the_look_ahead_lets_the_actor_drive_for_one_period_first():
    env = _env("point_mass")
    s = env.sample_states(np.random.default_rng(2), 1)
    need = int(nominal_steps_to_goal(env, s, 1000)[0])
    period, margin = 25, 10
    states = np.repeat(s, 2, axis=0)
    left = np.array([need + margin, need + margin - 1])
    # an actor that is the nominal policy: one period of it and then the nominal is the nominal's own path
    assert hand_over(env, states, left, period, margin, env.nominal).tolist() == [False, True]
    # an actor that pushes away from the goal at full thrust costs more than the period it drives
    away = lambda x: np.sign(x[:, :1]) * env.action_high  # noqa: E731
    roomy = np.array([need + period + margin] * 2)
    assert hand_over(env, states, roomy, period, margin).tolist() == [False, False]
    assert hand_over(env, states, roomy, period, margin, away).tolist() == [True, True]
    # a row the actor brings to the goal within the period is not handed over, though the nominal
    # from where it is could not finish inside steps_left - period - margin
    near = np.array([[0.045, -0.03]])  # the nominal policy needs 27 steps from here
    assert 0 < nominal_steps_to_goal(env, near, 100)[0] < 40
    assert hand_over(env, near, np.array([45]), 40, margin).tolist() == [True]
    assert hand_over(env, near, np.array([45]), 40, margin, env.nominal).tolist() == [False]
    # one that leaves the boundary within the period always is
    edge = np.array([[env.cfg.boundary_limit * 0.99, 3.0]])
    assert hand_over(env, edge, np.array([10_000]), period, 0, away).tolist() == [True]


def test_the_check_and_margin_are_read_from_seconds_and_checked():
    cfg = build_config(overrides={"calf": {"nominal_reach_check": 0.25, "nominal_reach_margin": 0.5}})
    params = CalfParams.from_config(cfg.calf, 0.01)
    assert (params.reach_check_steps, params.reach_margin_steps) == (25, 50)
    with pytest.raises(ConfigError, match="nominal_reach_check"):
        build_config(overrides={"calf": {"nominal_reach_check": -1.0}})


def _world(**calf):
    over = {"visual": {"agents": 12, "cohort": 0}, "run": {"seed": 3}, "training": {"train_steps_per_frame": 1},
            "env": {"max_steps_per_episode": 600},
            "td3": {"batch_size": 16, "start_training_step": 0, "explore": "actor", "exploration_noise": 1.0,
                    "exploration_noise_min": 1.0},
            "calf": {"fallback_dwell": 0.0, "p_relax_init": 1.0, "relax_schedule": "linear", "relax_ramp_end": 1.0,
                     "relax_episode_decay": 1.0, "noiseless_retry": False, "nominal_reach_check": 0.0, **calf}}
    return build_world(build_config(overrides=over))


def _outcomes(w, frames):
    """How the learners' episodes ended over `frames` frames (counts per envs.Outcome)."""
    ended = []
    w.events.subscribe("episodes_ended", lambda rows, outcomes, *_: ended.extend(outcomes.tolist()))
    for _ in range(frames):
        w.step()
    return np.bincount(ended, minlength=len(Outcome))


def test_in_the_frame_handed_over_agents_execute_the_nominal_action_to_the_end_of_their_episode():
    """The actor relaxes on every uncertified step (P_relax 1): only the check brings the nominal in."""
    w = _world(nominal_reach_check=0.05, nominal_reach_margin=0.5)
    table, env = w.resource(AgentTable), w.resource(Environment)
    seen_handed = seen_clear = 0
    for _ in range(300):
        nominal = np.clip(env.nominal(table.state), env.action_low, env.action_high)
        w.step()
        # the check runs before the filter decides, so a row's standing after the frame is the one it
        # acted under (a row whose episode ended this frame is unchecked again, and left out)
        handed, clear = table.reach_state == REACH_HANDED_OVER, table.reach_state == REACH_CLEAR
        assert (table.mode[handed] == Mode.FALLBACK).all()
        np.testing.assert_allclose(table.action[handed], nominal[handed])
        assert (table.mode[clear] != Mode.FALLBACK).all()  # the actor acts wherever the check cleared it
        seen_handed += int(handed.sum())
        seen_clear += int(clear.sum())
    assert seen_handed > 100 and seen_clear > 100
    w.shutdown()


def test_the_check_turns_an_actor_that_leaves_the_boundary_into_one_that_reaches_the_goal():
    """An untrained, heavily exploring actor that always acts mostly leaves the boundary; with the
    check (the nominal needs at most about 5 s of the 6 s budget) the episodes end at the goal. It
    is a check with a margin, not a proof: an episode can still run out of time."""
    without = _world()
    plain = _outcomes(without, 1500)
    without.shutdown()
    checked = _world(nominal_reach_check=0.05, nominal_reach_margin=0.5)
    held = _outcomes(checked, 1500)
    checked.shutdown()
    assert plain[Outcome.BOUNDARY] > 0.5 * plain.sum()
    assert held[Outcome.BOUNDARY] == 0 and held[Outcome.GOAL] >= 0.8 * held.sum() and held.sum() > plain[Outcome.GOAL]


def test_the_evaluation_filter_with_the_check_reaches_the_goal_wherever_the_nominal_does():
    cfg = build_config(overrides={"env": {"max_steps_per_episode": 600},
                                  "calf": {"fallback_dwell": 0.0, "nominal_reach_check": 0.05,
                                           "nominal_reach_margin": 0.5}})
    env = make_environment(cfg.env)
    w = _world(nominal_reach_check=0.05, nominal_reach_margin=0.5)
    nets = w.resource(Networks)
    starts = evaluation_starts(env, 40, 7)
    # the bare actor (judged, never held back) against the filter with the check, from the same starts
    params = CalfParams.from_config(cfg.calf, cfg.env.dt)
    bare = rollout(env, FilterPolicy("actor", env, nets, params, 1.0), starts, 600)
    nominal = rollout(env, NominalPolicy(env), starts, 600)
    unchecked = rollout(env, FilterPolicy("calf", env, nets, attrs.evolve(params, reach_check_steps=0), 0.0),
                        starts, 600)
    checked = rollout(env, FilterPolicy("calf", env, nets, params, 0.0), starts, 600)
    assert nominal.success_rate == 1.0
    assert bare.success_rate < 0.5 and unchecked.success_rate < 1.0
    assert checked.success_rate == 1.0
    w.shutdown()


@pytest.mark.parametrize("dwell", [0.0, 0.2])
def test_the_cohort_and_the_evaluation_filter_hand_over_at_the_same_steps(dwell):
    """The cohort's first episodes start together at frame 0, like an evaluation's rows at step 0, so
    the frame's checks (every period, all agents together) and the evaluation's fall on the same
    steps: same hand-overs, same actions, until the first cohort episode ends."""
    from components.agent_groups import Group

    calf = {"nominal_reach_check": 0.05, "nominal_reach_margin": 0.1, "fallback_dwell": dwell, "p_relax_init": 0.0}
    over = {"visual": {"agents": 2, "cohort": 6}, "run": {"seed": 4}, "env": {"max_steps_per_episode": 380},
            "training": {"train_steps_per_frame": 1}, "td3": {"batch_size": 16, "start_training_step": 0}, "calf": calf}
    cfg = build_config(overrides=over)
    w = build_world(cfg)
    table, env = w.resource(AgentTable), w.resource(Environment)
    cohort = np.flatnonzero(table.group == Group.COHORT)
    policy = FilterPolicy("calf", env, w.resource(Networks), CalfParams.from_config(cfg.calf, cfg.env.dt), 0.0)
    policy.reset(len(cohort))
    compared = 0
    for _ in range(200):
        actions, modes = policy.act(table.state[cohort].copy())
        w.step()
        if (table.episode_step[cohort] == 0).any():  # a cohort episode ended: it respawns elsewhere
            break
        np.testing.assert_allclose(table.action[cohort], actions, rtol=1e-6, atol=1e-9)
        assert table.mode[cohort].tolist() == modes.tolist()
        assert ((table.reach_state[cohort] == REACH_HANDED_OVER) == policy.handed).all()
        compared += 1
    assert compared >= 50 and 0 < policy.handed.sum() < len(cohort)
    w.shutdown()


def _checked_rows_by_frame(w, frames, monkeypatch, churn=None):
    """Run `frames` frames; per frame the entities whose states the check simulated (each call's
    states are matched to the rows they came from before the frame). `churn(w, frame)` may
    despawn/spawn agents before a frame."""
    import systems.control as control

    table = w.resource(AgentTable)
    calls = []
    real = control.hand_over

    def recording(env, states, *args, **kw):  # noqa: ANN001, ANN002, ANN003
        calls.append(np.array(states, copy=True))
        return real(env, states, *args, **kw)

    monkeypatch.setattr(control, "hand_over", recording)
    seen = []
    for frame in range(frames):
        if churn is not None:
            churn(w, frame)
        states, ents = table.state[: table.n].copy(), table.entity[: table.n].copy()
        calls.clear()
        w.step()
        checked = set()
        for call in calls:
            for s in call:
                checked |= {int(e) for e in ents[np.flatnonzero((states == s).all(axis=1))]}
        seen.append(checked)
    return seen


def test_a_population_larger_than_reach_rows_is_checked_in_groups_each_agent_once_per_period(monkeypatch):
    """calf.nominal_reach_rows = 3 with 13 agents (12 and the training agent) and a 5-step period:
    five groups on the five steps of each period, one look-ahead per group, every agent once per period (an agent
    handed over is not checked again until its next episode)."""
    w = _world(nominal_reach_check=0.05, nominal_reach_margin=0.0, nominal_reach_rows=3)
    table = w.resource(AgentTable)
    sizes = np.bincount(table.reach_phase[: table.n], minlength=5)
    assert table.n == 13 and sizes.min() >= 1 and sizes.max() <= 3  # no group above ceil(13 / 5)
    phase_of = {int(e): int(p) for e, p in zip(table.entity[: table.n], table.reach_phase[: table.n])}
    seen = _checked_rows_by_frame(w, 40, monkeypatch)
    handed_since = {}
    for frame, checked in enumerate(seen):
        assert all(phase_of[e] == frame % 5 for e in checked), frame
        for e in checked:
            handed_since.pop(e, None)
    # every agent is checked on its own phase in each period unless the check handed it over
    per_agent = {e: [f for f, c in enumerate(seen) if e in c] for e in phase_of}
    assert all(per_agent[e] and per_agent[e][0] == phase_of[e] for e in phase_of)
    assert all(np.all(np.diff(frames) % 5 == 0) for frames in per_agent.values())
    assert sum(len(c) for c in seen[:5]) == 13  # the first period: everyone, once
    w.shutdown()


def test_the_default_checks_a_small_population_on_one_frame_per_period(monkeypatch):
    w = _world(nominal_reach_check=0.05, nominal_reach_margin=0.0)
    table = w.resource(AgentTable)
    assert not table.reach_phase[: table.n].any()
    seen = _checked_rows_by_frame(w, 10, monkeypatch)
    assert [len(c) for c in seen][:5] == [13, 0, 0, 0, 0] and len(seen[5]) > 0
    assert all(not c for f, c in enumerate(seen) if f % 5)
    w.shutdown()


def test_reach_phases_follow_their_agents_through_despawns_and_spawns(monkeypatch):
    """Rows compacted by a despawn carry their phase; new agents fill the smallest groups; the
    check still only simulates agents on their own phase."""
    w = _world(nominal_reach_check=0.05, nominal_reach_margin=0.0, nominal_reach_rows=3)
    table = w.resource(AgentTable)
    phase_of, sizes_after_spawn, greedy = {}, [], []

    def churn(world, frame):  # noqa: ANN001
        if frame in (3, 11):
            table.despawn_many(table.visual_entities()[-4:])  # the oldest visual agents: rows move
        if frame in (7, 13):  # distinct starts, so that each simulated state names one agent
            sizes = np.bincount(table.reach_phase[: table.n], minlength=5)
            groups = min(5, -(-(table.n + 3) // 3))  # about 3 agents a group, at most one per step
            phases = (np.arange(groups) * 5) // groups
            for _ in range(3):  # the oracle: one agent at a time into the (first) smallest group
                sizes[phases[np.argmin(sizes[phases])]] += 1
            greedy.append(sizes)
            table.spawn(3, values={"state": np.random.default_rng(frame).uniform(-1.0, 1.0, (3, 2))})
            sizes_after_spawn.append(np.bincount(table.reach_phase[: table.n], minlength=5))
        phase_of.update({int(e): int(p) for e, p in zip(table.entity[: table.n], table.reach_phase[: table.n])})
        table.check_consistency()

    seen = _checked_rows_by_frame(w, 30, monkeypatch, churn)
    assert len(phase_of) == 19
    for frame, checked in enumerate(seen):
        assert all(phase_of[e] == frame % 5 for e in checked), frame
    assert [s.sum() for s in sizes_after_spawn] == [12, 11]
    np.testing.assert_array_equal(sizes_after_spawn, greedy)


def test_reach_rows_is_checked():
    with pytest.raises(ConfigError, match="nominal_reach_rows"):
        build_config(overrides={"calf": {"nominal_reach_rows": -1}})
    with pytest.raises(ConfigError, match="nominal_reach_lookahead"):
        build_config(overrides={"calf": {"nominal_reach_lookahead": "oracle"}})


@pytest.mark.parametrize("dwell", [0.0, 0.1])
def test_the_filter_look_ahead_drives_the_period_exactly_as_the_evaluation_filter_executes_it(dwell):
    """calf.nominal_reach_lookahead = "filter": the look-ahead's period (actor where certified, the
    nominal where not, the dwell) is the noiseless filter's own, step for step, so a row the
    evaluation's check cleared arrives where the check simulated it."""
    from rl.reach_check import FilterLookAhead

    cfg = build_config(overrides={"env": {"system": "differential_drive", "max_steps_per_episode": 1000},
                                  "calf": {"fallback_dwell": dwell, "nominal_reach_check": 0.0}})
    w = build_world(build_config(overrides={"env": {"system": "differential_drive"}, "run": {"seed": 5},
                                            "visual": {"agents": 1, "cohort": 0}}))
    env, nets = w.resource(Environment), w.resource(Networks)
    params = CalfParams.from_config(cfg.calf, cfg.env.dt)
    starts = evaluation_starts(env, 30, 3)
    policy = FilterPolicy("calf", env, nets, params, 0.0)
    policy.reset(len(starts))
    executed, modes_seen = starts.copy(), []
    for _ in range(40):  # a while in, so that certificates and dwells are under way
        a, modes = policy.act(executed)
        executed = env.rk4_step(executed, a)
        modes_seen.append(modes)
    look = FilterLookAhead(nets, params, policy.q_cert, policy.has_cert, policy.hold,
                           np.full(len(starts), policy.step), env.state_norm, env.nominal)
    simulated = executed.copy()
    rows = np.arange(len(starts))
    for _ in range(60):
        simulated = env.rk4_step(simulated, look.act(simulated, rows))
        a, modes = policy.act(executed)
        executed = env.rk4_step(executed, a)
        modes_seen.append(modes)
        np.testing.assert_array_equal(simulated, executed)
    seen = np.concatenate(modes_seen)
    assert (seen == Mode.CERTIFIED).any() and (seen == Mode.FALLBACK).any()  # both branches ran
    w.shutdown()


def test_the_filter_look_ahead_holds_a_row_inside_its_dwell_and_past_the_deadline():
    """Hand-built: no certificate yet would certify the actor, but a row inside a dwell and a row
    past the deadline get the nominal action; a free row gets the actor's."""
    from rl.reach_check import FilterLookAhead

    cfg = build_config(overrides={"calf": {"fallback_dwell": 0.05, "nominal_after": 2.0}})
    w = build_world(build_config(overrides={"visual": {"agents": 1, "cohort": 0}}))
    env, nets = w.resource(Environment), w.resource(Networks)
    params = CalfParams.from_config(cfg.calf, cfg.env.dt)
    s = np.array([[0.8, 0.1], [0.8, 0.1], [0.8, 0.1]])
    look = FilterLookAhead(nets, params, np.full(3, np.nan), np.zeros(3, dtype=bool), np.array([0, 3, 0]),
                           np.array([0, 0, params.deadline_steps]), env.state_norm, env.nominal)
    a = look.act(s, np.arange(3))
    np.testing.assert_allclose(a[0], nets.act(s)[0])
    np.testing.assert_allclose(a[1:], env.nominal(s[1:]))
    # the held row counts its dwell down; the row past the deadline falls back while free: a fresh dwell
    assert look.has_cert.tolist() == [True, False, False]
    assert look.hold.tolist() == [0, 2, params.dwell_steps]
    w.shutdown()


def test_both_look_aheads_hand_over_every_row_either_one_would():
    """calf.nominal_reach_lookahead = "both": late under the bare actor's period or the filter's
    (one nominal rollout for the two), the same as the two checks' union."""
    from rl.reach_check import FilterLookAhead

    cfg = build_config(overrides={"env": {"system": "differential_drive"}, "run": {"seed": 2},
                                  "visual": {"agents": 1, "cohort": 0}})
    w = build_world(cfg)
    env, nets = w.resource(Environment), w.resource(Networks)
    params = CalfParams.from_config(cfg.calf, cfg.env.dt)
    starts = evaluation_starts(env, 60, 11)
    need = nominal_steps_to_goal(env, starts, 2000)
    left = need + np.random.default_rng(0).integers(-40, 80, len(starts))  # some starts short of time

    def filt():
        n = len(starts)
        return FilterLookAhead(nets, params, np.full(n, np.nan), np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int32),
                               np.zeros(n, dtype=np.int64), env.state_norm, env.nominal)

    by_actor = hand_over(env, starts, left, 25, 5, nets.act)
    by_filter = hand_over(env, starts, left, 25, 5, filt())
    both = hand_over(env, starts, left, 25, 5, [nets.act, filt()])
    np.testing.assert_array_equal(both, by_actor | by_filter)
    assert both.any() and not both.all() and (by_actor != by_filter).any()
    w.shutdown()
