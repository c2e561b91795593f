"""The networks' inference path (`Networks.act`, `Networks.q`, `certificate_q`) against the
training path's modules, across block boundaries, and computing only the heads asked for."""
import numpy as np
import pytest
import torch

from rl.calf import certified_q
from rl.networks import INFERENCE_CHUNK, build_networks


def module_outputs(nets, s, a):
    with torch.no_grad():
        st, at = torch.tensor(s, dtype=torch.float32), torch.tensor(a, dtype=torch.float32)
        return nets.actor(st).numpy(), nets.critic(st, at).numpy()


@pytest.mark.parametrize("n,value_scale", [(0, 1.0), (1, 1.0), (7, 2000.0), (INFERENCE_CHUNK, 1.0),
                                           (INFERENCE_CHUNK + 1, 1.0), (2 * INFERENCE_CHUNK + 5, 500.0)])
def test_inference_equals_the_modules_at_every_size(n, value_scale):
    rng = np.random.default_rng(n)
    nets = build_networks(3, 2, np.array([1.0, 2.0]), hidden=32, layers=3, seed=1, value_scale=value_scale)
    s, a = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
    actor, both = module_outputs(nets, s, a)
    assert nets.act(s).shape == (n, 2) and nets.act(s).dtype == np.float64
    np.testing.assert_allclose(nets.act(s), actor, atol=1e-6)
    tol = 1e-5 * value_scale  # Q = value_scale * the layers' output, in training and in inference alike
    np.testing.assert_allclose(nets.q(s, a, which="both"), both, atol=tol)
    np.testing.assert_allclose(nets.q(s, a, which="q1"), both[0], atol=tol)
    np.testing.assert_allclose(nets.q(s, a, which="min"), both.min(axis=0), atol=tol)
    for convention in ("q1", "min_twin"):
        np.testing.assert_allclose(nets.certificate_q(s, a, convention), certified_q(both, convention), atol=tol)
    if n and value_scale != 1.0:
        plain = build_networks(3, 2, np.array([1.0, 2.0]), hidden=32, layers=3, seed=1)
        np.testing.assert_allclose(nets.q(s, a, which="both"), value_scale * plain.q(s, a, which="both"), rtol=1e-5)


def test_q1_never_touches_the_second_head_and_min_does():
    nets = build_networks(2, 1, np.array([5.0]), seed=3)
    s, a = np.ones((10, 2)), np.zeros((10, 1))
    with torch.no_grad():
        for w, b in nets.critic._layers:
            w[1].fill_(float("nan"))  # a poisoned Q2
    assert np.isfinite(nets.certificate_q(s, a, "q1")).all()
    assert np.isnan(nets.certificate_q(s, a, "min_twin")).all()


def test_inference_follows_weight_updates_in_place():
    """Training changes the parameters in place; inference must see it with no re-caching."""
    nets = build_networks(2, 1, np.array([5.0]), seed=4)
    s, a = np.full((3, 2), 0.5), np.full((3, 1), 0.2)
    q0, a0 = nets.q(s, a), nets.act(s)
    with torch.no_grad():
        nets.critic._layers[-1][1].add_(1.0)  # Q bias + 1
        nets.actor._layers[-1][1].fill_(50.0)  # saturates tanh
    np.testing.assert_allclose(nets.q(s, a), q0 + 1.0, atol=1e-5)
    assert not np.allclose(nets.act(s), a0) and np.allclose(nets.act(s), 5.0, atol=1e-3)


def test_bad_head_names_are_refused():
    nets = build_networks(2, 1, np.array([5.0]), seed=0)
    with pytest.raises(ValueError, match="which must be"):
        nets.q(np.zeros((1, 2)), np.zeros((1, 1)), which="q2")
    with pytest.raises(ValueError, match="certified_value must be"):
        nets.certificate_q(np.zeros((1, 2)), np.zeros((1, 1)), "max")
