"""TD3 and the replay buffer: the update learns, targets move by tau, the lean Adam equals torch's."""
import copy

import numpy as np
import pytest
import torch

from rl.networks import build_networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3, LeanAdam


def make(seed=0, n=2000, capacity=5000):
    nets = build_networks(2, 1, np.array([5.0]), seed=seed)
    td3 = TD3(nets, action_high=np.array([5.0]), seed=seed)
    rb = ReplayBuffer(2, 1, capacity)
    rng = np.random.default_rng(seed)
    s = rng.uniform(-2, 2, (n, 2))
    a = rng.uniform(-5, 5, (n, 1))
    r = -np.sqrt((s * s).sum(1)) * 10
    rb.add_batch(s, a, r, s + 0.01 * rng.normal(size=s.shape), rng.random(n) < 0.05)
    return nets, td3, rb


def test_critic_loss_falls_on_a_fixed_batch():
    nets, td3, rb = make()
    batch = rb.sample(64, td3.generator)
    first = td3.update_on_batch(batch, rb)
    for _ in range(300):
        last = td3.update_on_batch(batch, rb)
    assert last < 0.2 * first, (first, last)


def test_actor_and_targets_update_every_policy_delay_steps_by_tau():
    nets, td3, rb = make()
    actor0 = [p.detach().clone() for p in td3.actor.parameters()]
    tgt0 = [p.detach().clone() for p in td3.actor_target.parameters()]
    ctgt0 = [p.detach().clone() for p in td3.critic_target.parameters()]
    v0 = nets.version
    td3.update(rb, 64)  # critic only
    assert all(torch.equal(a, b) for a, b in zip(actor0, td3.actor.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(tgt0, td3.actor_target.parameters()))
    td3.update(rb, 64)  # 2nd: actor step, then targets lerp towards the online weights
    assert td3.actor_updates == 1 and nets.version == v0 + 2
    assert not all(torch.equal(a, b) for a, b in zip(actor0, td3.actor.parameters()))
    for old, new, online in zip(tgt0 + ctgt0, list(td3.actor_target.parameters()) + list(td3.critic_target.parameters()),
                                list(td3.actor.parameters()) + list(td3.critic.parameters())):
        torch.testing.assert_close(new, old + 0.005 * (online.detach() - old), rtol=0, atol=1e-7)


def test_lean_adam_equals_torch_fused_adam_also_after_reload():
    torch.manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(2, 3, 4)), torch.nn.Parameter(torch.randn(5))]
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    lean, ref = LeanAdam(ps, 1e-2), torch.optim.Adam(qs, lr=1e-2, fused=True)
    for i in range(30):
        g = [torch.randn_like(p) for p in ps]
        for p, gg in zip(ps, g):
            p.grad = gg.clone()
        for p, gg in zip(qs, g):
            p.grad = gg.clone()
        lean.step()
        ref.step()
        if i == 10:
            lean.load_state_dict(copy.deepcopy(lean.state_dict()))
    for p, q in zip(ps, qs):
        assert torch.equal(p, q)
    assert float(lean.state_dict()["state"][0]["step"]) == 30.0


def test_replay_buffer_wraps_and_samples_packed_rows():
    rb = ReplayBuffer(2, 1, 4)
    for i in range(6):
        rb.add(np.array([i, i]), np.array([10 + i]), float(-i), np.array([i + 1, i + 1]), terminated=(i == 5))
    assert len(rb) == 4 and rb.head == 2
    assert rb.data[:, rb.r].tolist() == [-4.0, -5.0, -2.0, -3.0]
    assert rb.data[1, rb.not_done] == 0.0 and rb.data[0, rb.not_done] == 1.0
    batch = rb.sample(16, torch.Generator().manual_seed(0))
    assert batch.shape == (16, rb.width) and set(batch[:, rb.r].tolist()) <= {-2.0, -3.0, -4.0, -5.0}
    # round trip at the same capacity keeps the ring layout; a smaller capacity keeps the newest
    same = ReplayBuffer(2, 1, 4)
    same.load_state_dict(rb.state_dict())
    assert np.array_equal(same.data, rb.data) and same.head == rb.head
    small = ReplayBuffer(2, 1, 3)
    small.load_state_dict(rb.state_dict())
    assert small.data[:, small.r].tolist() == [-3.0, -4.0, -5.0]
    with pytest.raises(ValueError, match="width"):
        ReplayBuffer(3, 1, 4).load_state_dict(rb.state_dict())


def test_networks_fused_forward_equals_per_critic_layers():
    nets = build_networks(2, 1, np.array([5.0]), seed=3)
    s = np.random.default_rng(0).normal(size=(9, 2))
    a = nets.act(s)
    assert a.shape == (9, 1) and (np.abs(a) <= 5.0).all()
    both = nets.q(s, a, "both")
    with torch.no_grad():
        q1 = nets.critic.q1(torch.as_tensor(s, dtype=torch.float32), torch.as_tensor(a, dtype=torch.float32))
    np.testing.assert_allclose(both[0], q1.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(nets.q(s, a, "min"), both.min(axis=0))
