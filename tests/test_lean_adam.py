"""LeanAdam's fallback: without torch's private fused-Adam kernel, or with one that changed, TD3's
optimiser runs the stock torch.optim.Adam(fused=True) and gives the same numbers, so torch's
version cap can be lifted without breaking training."""
import numpy as np
import pytest
import torch

from rl import lean_adam
from rl.lean_adam import LeanAdam, checked_kernel, probe
from rl.networks import build_networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3

REAL_KERNEL = torch._fused_adam_


@pytest.fixture(autouse=True)
def fresh_verdicts(monkeypatch):
    """Every test probes the kernel it installs (verdicts are cached per kernel and process)."""
    monkeypatch.setattr(lean_adam, "_VERDICTS", {})


def install(monkeypatch, kernel):
    """What LeanAdam finds as the private kernel (None: nothing by that name). The stock optimiser
    keeps calling torch's own kernel, as it would in a torch release where the private one changed."""
    monkeypatch.setattr(lean_adam, "KERNEL_NAME", "_calf_ecs_test_kernel_")
    if kernel is not None:
        monkeypatch.setattr(torch, "_calf_ecs_test_kernel_", kernel, raising=False)


def run_pair(steps=25, reload_at=None, **lean_kwargs):
    """The same gradients through LeanAdam and through torch.optim.Adam(fused=True)."""
    torch.manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(4))]
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    lean, ref = LeanAdam(ps, 1e-2, **lean_kwargs), torch.optim.Adam(qs, lr=1e-2, fused=True)
    for i in range(steps):
        for p, q in zip(ps, qs):
            g = torch.randn_like(p)
            p.grad, q.grad = g.clone(), g.clone()
        lean.step()
        ref.step()
        if i == reload_at:
            lean.load_state_dict(lean.state_dict())
    return lean, ps, qs


def assert_same(ps, qs):
    for p, q in zip(ps, qs):
        assert torch.equal(p, q)


def test_the_real_kernel_passes_the_probe_and_is_used():
    assert probe(REAL_KERNEL) is None
    lean, ps, qs = run_pair()
    assert lean.fast and lean.kernel is REAL_KERNEL and lean.fallback_reason is None
    assert_same(ps, qs)


def test_without_the_private_kernel_the_stock_step_runs_with_the_same_numbers(monkeypatch):
    install(monkeypatch, None)
    with pytest.warns(RuntimeWarning, match="has no torch._calf_ecs_test_kernel_.*torch.optim.Adam"):
        lean, ps, qs = run_pair(reload_at=7)
    assert not lean.fast and "has no torch._calf_ecs_test_kernel_" in lean.fallback_reason
    assert_same(ps, qs)
    assert float(lean.state_dict()["state"][0]["step"]) == 25.0


def test_a_kernel_whose_signature_changed_is_refused(monkeypatch):
    def new_signature(params, grads, exp_avgs, exp_avg_sqs, state_steps, *, lr, beta1, beta2, eps):
        raise TypeError("_fused_adam_() got an unexpected keyword argument 'weight_decay'")

    install(monkeypatch, new_signature)
    with pytest.warns(RuntimeWarning, match="TypeError"):
        assert checked_kernel() is None
    lean, ps, qs = run_pair()
    assert not lean.fast and "TypeError" in lean.fallback_reason
    assert_same(ps, qs)


def test_a_kernel_that_computes_other_numbers_is_refused(monkeypatch):
    def double_lr(*args, lr, **kw):  # runs, but is not the stock optimiser's update any more
        return REAL_KERNEL(*args, lr=2 * lr, **kw)

    install(monkeypatch, double_lr)
    with pytest.warns(RuntimeWarning, match="other numbers"):
        lean, ps, qs = run_pair()
    assert not lean.fast
    assert_same(ps, qs)


def test_the_verdict_is_reached_once_per_kernel(monkeypatch):
    calls = []

    def counted(*args, **kw):
        calls.append(1)
        return REAL_KERNEL(*args, **kw)

    install(monkeypatch, counted)
    assert checked_kernel() is counted
    probed = len(calls)
    assert probed > 0
    LeanAdam([torch.nn.Parameter(torch.zeros(2))], 1e-3)
    assert len(calls) == probed  # a second optimiser does not probe again


def test_a_kernel_that_starts_failing_mid_run_falls_back_without_losing_a_step():
    def broken(*args, **kw):
        raise RuntimeError("expected all tensors on one device")

    torch.manual_seed(0)
    ps = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(4))]
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    lean, ref = LeanAdam(ps, 1e-2), torch.optim.Adam(qs, lr=1e-2, fused=True)
    for i in range(12):
        if i == 5:
            lean.kernel = broken
        for p, q in zip(ps, qs):
            g = torch.randn_like(p)
            p.grad, q.grad = g.clone(), g.clone()
        if i == 5:
            with pytest.warns(RuntimeWarning, match="during the run"):
                lean.step()
        else:
            lean.step()
        ref.step()
    assert not lean.fast
    assert_same(ps, qs)
    assert float(lean.state_dict()["state"][1]["step"]) == 12.0


def _td3_after_updates(updates=20):
    nets = build_networks(2, 1, np.array([5.0]), seed=1)
    td3 = TD3(nets, action_high=np.array([5.0]), seed=1)
    rb = ReplayBuffer(2, 1, 1000)
    rng = np.random.default_rng(1)
    s = rng.uniform(-2, 2, (500, 2))
    rb.add_batch(s, rng.uniform(-5, 5, (500, 1)), -np.linalg.norm(s, axis=1), s * 0.99, rng.random(500) < 0.05)
    for _ in range(updates):
        td3.update(rb, 64)
    return td3


def test_td3_trains_to_the_same_weights_with_the_fallback(monkeypatch):
    lean = _td3_after_updates()
    assert lean.critic_opt.fast and lean.actor_opt.fast
    install(monkeypatch, None)
    with pytest.warns(RuntimeWarning):
        stock = _td3_after_updates()
    assert not stock.critic_opt.fast and not stock.actor_opt.fast
    for a, b in zip(lean.critic.parameters(), stock.critic.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(lean.actor.parameters(), stock.actor.parameters()):
        assert torch.equal(a, b)
