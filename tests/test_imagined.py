"""calf.rejected_proposals = "imagine": a proposal the filter rejected is stepped through the model
and stored beside what was executed; nothing imagined is ever executed."""
import numpy as np
import pytest

from components import AgentTable, Mode
from components.agent_groups import Group
from components.resources import Counters
from config import build_config
from envs.base import Environment, Outcome
from envs.registry import make_environment
from rl.imagined import imagined_transitions
from rl.replay import ReplayBuffer
from runtime.build import build_world


def world_with(rejected="imagine", **sections):
    over = {"visual": {"agents": 12, "cohort": 3}, "run": {"seed": 5},
            "training": {"train_steps_per_frame": 1}, "calf": {"rejected_proposals": rejected},
            "td3": {"batch_size": 16, "start_training_step": 0, "explore": "actor", "exploration_noise": 2.0},
            "env": {"max_steps_per_episode": 1000}}
    for k, v in sections.items():
        over.setdefault(k, {}).update(v)
    return build_world(build_config(overrides=over))


def _last(replay: ReplayBuffer, k: int) -> np.ndarray:
    return replay.data[(replay.head - k + np.arange(k)) % replay.capacity]


@pytest.mark.parametrize("system", ["point_mass", "differential_drive", "pendulum"])
def test_an_imagined_step_is_the_step_physics_takes_when_the_proposal_is_executed(system):
    """On rows whose proposal was executed (certified or relax) the imagined transition of that
    proposal must be exactly what PhysicsSystem produced: the oracle is the frame itself."""
    w = world_with(env={"system": system}, calf={"p_relax_init": 0.5})
    table, env = w.resource(AgentTable), w.resource(Environment)
    compared = 0
    for _ in range(30):
        w.step()
        ran = np.flatnonzero((table.mode != Mode.FALLBACK) & (table.outcome == Outcome.RUNNING))
        np.testing.assert_array_equal(table.action[ran], table.proposal[ran])
        s2, r, term = imagined_transitions(env, table.prev_state[ran], table.proposal[ran], env.dt, (Outcome.GOAL,))
        np.testing.assert_allclose(s2, table.next_state[ran], rtol=0, atol=1e-12)
        np.testing.assert_allclose(r, table.reward[ran], rtol=1e-12)
        assert not term.any()
        compared += ran.size
    assert compared > 20
    w.shutdown()


def test_only_the_learners_rejected_proposals_are_stored_and_counted():
    w = world_with()
    table, replay, counters = w.resource(AgentTable), w.resource(ReplayBuffer), w.resource(Counters)
    imagined_steps = 0
    for _ in range(40):
        size, before = len(replay), counters.get("imagined_transitions")
        w.step()
        learner = (table.group == Group.LEARNER) & (table.outcome != Outcome.NONFINITE)
        rejected = np.flatnonzero(learner & (table.mode == Mode.FALLBACK))
        added = counters.get("imagined_transitions") - before
        assert added == rejected.size
        assert len(replay) - size == int(learner.sum()) + rejected.size  # executed, then imagined
        if rejected.size:
            imagined_steps += 1
            rows = _last(replay, rejected.size)
            np.testing.assert_allclose(rows[:, replay.s], table.prev_state[rejected], rtol=1e-6)
            np.testing.assert_allclose(rows[:, replay.a], table.proposal[rejected], rtol=1e-6)
            # the proposal, not the nominal action that was executed
            assert np.abs(table.proposal[rejected] - table.action[rejected]).max() > 1e-3
    assert imagined_steps > 10
    w.shutdown()


def test_the_executed_actions_are_the_same_with_and_without_imagining():
    """Imagining only adds to replay: with no updates the executed trajectories are identical."""
    runs = []
    for rejected in ("ignore", "imagine"):
        w = world_with(rejected, training={"train_steps_per_frame": 0})
        table = w.resource(AgentTable)
        actions = []
        for _ in range(25):
            w.step()
            actions.append(table.action.copy())
        runs.append(np.array(actions))
        w.shutdown()
    np.testing.assert_array_equal(runs[0], runs[1])


def test_by_default_nothing_is_imagined():
    w = world_with("ignore")
    w.run(20)
    assert w.resource(Counters).get("imagined_transitions") == 0
    w.shutdown()


def test_an_imagined_step_into_the_goal_is_terminal_and_one_across_the_boundary_only_if_configured():
    cfg = build_config(overrides={"env": {"system": "point_mass", "boundary_limit": 1.0, "reset_range": 0.5}})
    env = make_environment(cfg.env)
    s = np.array([[0.0, 0.051], [0.99, 5.0], [0.5, 0.0]])  # braking into the goal, leaving, in between
    a = np.array([[-5.0], [5.0], [0.0]])
    assert not env.goal_reached(s).any()
    s2, r, term = imagined_transitions(env, s, a, env.dt, (Outcome.GOAL,))
    assert env.goal_reached(s2)[0] and env.out_of_bounds(s2)[1]
    assert term.tolist() == [True, False, False]
    _, _, term = imagined_transitions(env, s, a, env.dt, (Outcome.GOAL, Outcome.BOUNDARY))
    assert term.tolist() == [True, True, False]
    np.testing.assert_allclose(r, env.reward(s, a) * cfg.env.reward_scale)


def test_a_bad_value_is_refused():
    with pytest.raises(ValueError, match="rejected_proposals"):
        build_config(overrides={"calf": {"rejected_proposals": "dream"}})
