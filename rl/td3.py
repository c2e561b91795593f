"""TD3: twin critics, target policy smoothing, delayed actor updates, soft target updates.

Written for small networks on a CPU, where per-call overhead dominates: the twin critics are
one fused module (one batched matmul chain for Q1 and Q2), a batch is one `index_select` from
the replay buffer's shared memory, the actor's objective runs Q1 with detached weights (no
wasted critic gradients), Adam runs its fused kernel without the optimiser's per-call overhead
(rl.lean_adam, with the stock optimiser as its fallback), and the soft target update is a
single `torch._foreach_lerp_` over every parameter.

The learner runs on the device its networks live on (`td3.device`: a CUDA GPU for large batches
when there is one): batches are sampled on the CPU (the replay buffer is CPU memory) and moved
over, the smoothing noise is drawn from the CPU generator (so a checkpoint's random state does
not depend on the device), and `state_dict` is always on the CPU. On a GPU the stock fused Adam
step is used (LeanAdam's direct kernel call is checked on the CPU only).

A diverging network never corrupts the weights: a step whose loss or gradients are not finite
is skipped (`skipped_updates`), and so is that round's target update; a network whose weights
are found non-finite (after such a step) is copied back from its target network, or the target
from it (`network_restores`). The finiteness test rides on the loss's one `.item()` call.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

from rl.lean_adam import LeanAdam
from rl.networks import Networks
from rl.replay import ReplayBuffer

#: sets a flag when any tensor of a list holds NaN or inf (one fused kernel); None if torch lacks it
_AMP_CHECK = getattr(torch, "_amp_foreach_non_finite_check_and_unscale_", None)


class TD3:
    """The learner: owns target networks and optimisers; updates the shared `Networks` in place."""

    def __init__(self, networks: Networks, *, action_high: np.ndarray, gamma: float = 0.99, tau: float = 0.005,
                 policy_noise: float = 0.2, noise_clip: float = 0.5, policy_delay: int = 2,
                 actor_lr: float = 3e-4, critic_lr: float = 3e-4, seed: int = 0, bc_weight: float = 0.0) -> None:
        self.nets = networks
        self.actor = networks.actor
        self.critic = networks.critic
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.device = next(self.actor.parameters()).device
        kernel = "auto" if self.device.type == "cpu" else None
        self.actor_opt = LeanAdam(self.actor.parameters(), actor_lr, kernel=kernel)
        self.critic_opt = LeanAdam(self.critic.parameters(), critic_lr, kernel=kernel)
        self.gamma = float(gamma)
        self.tau = float(tau)
        self.policy_noise = float(policy_noise)
        self.noise_clip = float(noise_clip)
        self.policy_delay = int(policy_delay)
        #: TD3+BC's alpha (0: plain TD3): the actor's objective becomes -alpha / mean|Q| * Q(s, pi(s)) +
        #: mean(((pi(s) - a) / bound)^2), which keeps the actor near the actions the data holds (mostly the
        #: nominal policy's while the filter falls back), where the critic knows what it is talking about
        self.bc_weight = float(bc_weight)
        high = torch.as_tensor(np.asarray(action_high, dtype=np.float32), device=self.device)
        self.action_high = high
        self.action_low = -high
        self.generator = torch.Generator().manual_seed(int(seed))  # smoothing noise and replay sampling
        self.updates = 0  # critic updates done
        self.actor_updates = 0
        self.critic_loss = math.nan
        self.actor_loss = math.nan
        self.skipped_updates = 0  # critic or actor steps skipped: non-finite loss or gradients
        self.network_restores = 0  # networks copied back from their twin (online <-> target)
        self._actor_params = list(self.actor.parameters())
        self._critic_params = list(self.critic.parameters())
        self._online = self._actor_params + self._critic_params
        self._target = [p for p in self.actor_target.parameters()] + [p for p in self.critic_target.parameters()]
        self._pairs = ((self.actor, self.actor_target), (self.critic, self.critic_target))
        self._found_inf = torch.zeros(1, device=self.device)
        self._one = torch.ones(1, device=self.device)
        self._on_cpu = self.device.type == "cpu"

    # -- numerical safety --------------------------------------------------------------------------
    def _checked_value(self, loss: torch.Tensor, params: list[torch.Tensor]) -> float:
        """The loss as a float, or NaN when the loss or any gradient is not finite (one sync).

        torch's AMP kernel tests every gradient in one fused call (multiplying them by one, a
        no-op) and sets a flag, read together with the loss."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return loss.item()
        if _AMP_CHECK is None:
            return (loss.detach() + 0.0 * torch.stack(torch._foreach_norm(grads)).sum()).item()
        self._found_inf.zero_()
        _AMP_CHECK(grads, self._found_inf, self._one)
        value, found = torch.stack((loss.detach(), self._found_inf[0])).tolist()
        return math.nan if found else value

    def _skip(self) -> None:
        """A step was skipped; restore any network whose weights are no longer finite."""
        self.skipped_updates += 1
        with torch.no_grad():
            for online, target in self._pairs:
                online_ok = all(bool(torch.isfinite(p).all()) for p in online.parameters())
                target_ok = all(bool(torch.isfinite(p).all()) for p in target.parameters())
                if online_ok == target_ok:
                    continue  # both fine (the batch or the other network was at fault), or nothing to copy from
                src, dst = (target, online) if target_ok else (online, target)
                torch._foreach_copy_(list(dst.parameters()), list(src.parameters()))
                self.network_restores += 1

    # -- one update --------------------------------------------------------------------------------
    def update(self, replay: ReplayBuffer, batch_size: int) -> float:
        """One critic step (and every `policy_delay`-th step an actor step and a target update)."""
        batch = replay.sample(batch_size, self.generator)
        if not self._on_cpu:
            batch = batch.pin_memory().to(self.device, non_blocking=True) if torch.cuda.is_available() \
                else batch.to(self.device)
        return self.update_on_batch(batch, replay)

    def _base(self, states: torch.Tensor) -> torch.Tensor | None:
        """A residual actor's base actions at a batch of states (the nominal policy, in numpy); None otherwise."""
        base = self.nets.base_policy
        if base is None:
            return None
        with torch.no_grad():
            out = torch.from_numpy(np.asarray(base(states.cpu().numpy().astype(np.float64)), dtype=np.float32))
        return out if self._on_cpu else out.to(self.device)

    @torch.no_grad()
    def target(self, r: torch.Tensor, s2: torch.Tensor, not_done: torch.Tensor) -> torch.Tensor:
        """The critic's regression target: r + gamma * not_done * min(Q1', Q2')(s', pi'(s') + clipped noise).

        `not_done` is 0 only for a true terminal (the goal; the boundary too with `boundary_exit =
        "terminal"`); a timeout or, by default, a boundary exit bootstraps from the target critic."""
        noise = torch.randn((len(r), self.action_high.numel()), generator=self.generator)
        if not self._on_cpu:
            noise = noise.to(self.device)
        noise.mul_(self.policy_noise)
        noise.clamp_(-self.noise_clip, self.noise_clip)
        a2 = self.actor_target.forward(s2, self._base(s2)).add_(noise)  # .forward: no module hooks are used
        a2 = torch.clamp(a2, self.action_low, self.action_high)
        q_next = self.critic_target.forward(s2, a2).amin(dim=0)
        return torch.addcmul(r, not_done, q_next, value=self.gamma)

    def update_on_batch(self, batch: torch.Tensor, replay: ReplayBuffer) -> float:
        s = batch[:, replay.s]
        a = batch[:, replay.a]
        r = batch[:, replay.r]
        y = self.target(r, batch[:, replay.s2], batch[:, replay.not_done])
        q = self.critic.forward(s, a)  # (2, batch): Q1 and Q2 in one call
        critic_loss = 2.0 * F.mse_loss(q, y.expand_as(q))  # = MSE(Q1, y) + MSE(Q2, y)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.updates += 1
        self.critic_loss = self._checked_value(critic_loss, self._critic_params)
        if math.isfinite(self.critic_loss):
            self.critic_opt.step()
        else:
            self._skip()
        if self.updates % self.policy_delay == 0:
            pi = self.actor.forward(s, self._base(s))
            q_pi = self.critic.q1(s, pi, frozen=True)
            if self.bc_weight > 0.0:
                lam = self.bc_weight / q_pi.abs().mean().detach().clamp_min(1e-6)
                actor_loss = -lam * q_pi.mean() + ((pi - a) / self.action_high).square().mean()
            else:
                actor_loss = -q_pi.mean()
            self.actor_opt.zero_grad()
            actor_loss.backward()
            self.actor_loss = self._checked_value(actor_loss, self._actor_params)
            if math.isfinite(self.actor_loss):
                self.actor_opt.step()
                self.actor_updates += 1
                with torch.no_grad():
                    torch._foreach_lerp_(self._target, self._online, self.tau)
            else:  # and no target update, which could carry non-finite weights into the targets
                self._skip()
        self.nets.version += 1
        return self.critic_loss

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything a checkpoint needs, on the CPU whatever the device."""
        state = self._state_dict()
        return state if self._on_cpu else _to_cpu(state)

    def _state_dict(self) -> dict:
        return {
            "actor": self.actor.state_dict(),
            "critic": self.critic.state_dict(),
            "actor_target": self.actor_target.state_dict(),
            "critic_target": self.critic_target.state_dict(),
            "actor_opt": self.actor_opt.state_dict(),
            "critic_opt": self.critic_opt.state_dict(),
            "updates": self.updates,
            "actor_updates": self.actor_updates,
            "critic_loss": self.critic_loss,
            "actor_loss": self.actor_loss,
            "generator": self.generator.get_state(),
            "networks_version": self.nets.version,
            "skipped_updates": self.skipped_updates,
            "network_restores": self.network_restores,
        }

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])
        self.actor_target.load_state_dict(state["actor_target"])
        self.critic_target.load_state_dict(state["critic_target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.updates = int(state["updates"])
        self.actor_updates = int(state["actor_updates"])
        self.critic_loss = float(state["critic_loss"])
        self.actor_loss = float(state["actor_loss"])
        self.generator.set_state(state["generator"])
        self.skipped_updates = int(state.get("skipped_updates", 0))
        self.network_restores = int(state.get("network_restores", 0))
        self.nets.version = int(state["networks_version"]) + 1  # caches must refresh


def _to_cpu(value):  # noqa: ANN001, ANN202
    """A (nested) state dict with every tensor copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value
