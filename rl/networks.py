"""Actor and twin critic networks, and the `Networks` resource every system queries.

The twin critic keeps both critics' weights stacked as (2, fan_in, fan_out) tensors and runs
them as one batched matmul chain: one forward call evaluates Q1 and Q2 for every agent.

Both networks run their layers as plain `addmm`/`baddbmm` calls over cached parameter
references instead of going through nn.Module calls per layer: with 64-unit layers the module
machinery costs more than the arithmetic (measured in bench/td3_update.py).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


#: a residual actor's last layer starts at this fraction of the usual initial scale (bias 0)
RESIDUAL_INIT_SCALE = 0.01


def _uniform_(t: torch.Tensor, fan_in: int) -> None:
    bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init for weights and biases
    nn.init.uniform_(t, -bound, bound)


class Actor(nn.Module):
    """MLP, ReLU hidden layers, tanh output scaled to the action bound.

    `residual=True` (td3.actor_base = "nominal"): the output is a correction to a base action that
    the caller passes in (the nominal policy's), and the action is `clip(base + correction)`. The
    last layer starts at a hundredth of its usual scale and a zero bias, so the first actor acts
    almost exactly like the nominal policy and learning improves on it from there."""

    def __init__(self, state_dim: int, action_dim: int, action_high: np.ndarray, hidden: int = 64, layers: int = 2,
                 residual: bool = False):
        super().__init__()
        dims = [state_dim] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.ReLU()]
        mods += [nn.Linear(dims[-1], action_dim), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        self.register_buffer("scale", torch.as_tensor(np.asarray(action_high, dtype=np.float32)))
        self.state_dim = state_dim
        self.action_dim = action_dim

        # Parameters keep their identity under load_state_dict (it copies in place) and under
        # deepcopy (memoised, so a target network's list points at its own copies).
        self._layers = [(m.weight, m.bias) for m in self.net if isinstance(m, nn.Linear)]
        self.residual = bool(residual)
        if self.residual:
            with torch.no_grad():
                self._layers[-1][0].mul_(RESIDUAL_INIT_SCALE)
                self._layers[-1][1].zero_()

    def forward(self, states: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """The actions at `states`; a residual actor needs the base actions there (`base`)."""
        layers = self._layers
        x = states
        for w, b in layers[:-1]:
            x = F.linear(x, w, b).relu_()
        w, b = layers[-1]
        out = F.linear(x, w, b).tanh_().mul(self.scale)
        if not self.residual:
            return out
        if base is None:
            raise ValueError("a residual actor needs the base actions")
        return torch.maximum(torch.minimum(out + base, self.scale), -self.scale)


class TwinCritic(nn.Module):
    """Two independent MLP critics on concat(s, a), evaluated together."""

    def __init__(self, state_dim: int, action_dim: int, hidden: int = 64, layers: int = 2, value_scale: float = 1.0):
        super().__init__()
        #: Q = value_scale * (the network's output): the layers work in units of value_scale, so a
        #: critic whose values span thousands does not need huge output weights (see td3.value_scale)
        self.value_scale = float(value_scale)
        dims = [state_dim + action_dim] + [hidden] * layers + [1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(dims[:-1], dims[1:]):
            w = torch.empty(2, a, b)
            bias = torch.empty(2, 1, b)
            _uniform_(w, a)
            _uniform_(bias, a)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(bias))
        self.state_dim = state_dim
        self.action_dim = action_dim
        self._layers = list(zip(self.weights, self.biases))

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Returns (2, n): row 0 is Q1, row 1 is Q2."""
        layers = self._layers
        x = torch.cat([states, actions], dim=-1).expand(2, -1, -1)
        for w, b in layers[:-1]:
            x = torch.baddbmm(b, x, w).relu_()
        w, b = layers[-1]
        out = torch.baddbmm(b, x, w).squeeze(-1)
        return out if self.value_scale == 1.0 else out.mul_(self.value_scale)

    def q1(self, states: torch.Tensor, actions: torch.Tensor, frozen: bool = False) -> torch.Tensor:
        """Q1 alone (the actor's objective); runs only the first critic's weights.

        frozen=True detaches the weights: gradients flow to the actions (the actor) but none are
        computed for the critic, which the actor update must not change anyway.
        """
        layers = self._layers
        x = torch.cat([states, actions], dim=-1)
        last = len(layers) - 1
        for i, (w, b) in enumerate(layers):
            w0, b0 = (w[0].detach(), b[0].detach()) if frozen else (w[0], b[0])
            x = torch.addmm(b0, x, w0)
            if i < last:
                x = x.relu_()
        x = x.squeeze(-1)
        return x if self.value_scale == 1.0 else x * self.value_scale


#: rows per block of the inference path: activations of one block (8192 x 64 float32 = 2 MB) stay
#: in cache and reuse the same buffers, so the cost stays linear in N (bench/filter_floor.py)
INFERENCE_CHUNK = 8192
#: `Networks.q(which=...)` -> which critic heads it evaluates
_HEADS = {"q1": (0,), "min": (0, 1), "both": (0, 1)}
#: the certificate's convention (`calf.certified_value`) -> `Networks.q`'s `which`
CERTIFIED_WHICH = {"q1": "q1", "min_twin": "min"}


class Networks:
    """Resource: the actor and critic used for inference by control, surface and HUD.

    `version` goes up whenever training changes the weights, so caches (the critic surface)
    know when they are stale. Inputs and outputs are numpy float64 arrays.

    Inference runs the layers as `addmm` into reused buffers, block by block of INFERENCE_CHUNK
    rows, and evaluates only the critic heads asked for: `q(which="q1")` (the certificate's
    default) never touches Q2's weights. Why not the training path (`TwinCritic.forward`): its
    batched matmul on an expanded input computes both heads and, at 100 000 rows, allocates
    tens of MB per layer every call, which made it superlinear in N.
    """

    def __init__(self, actor: Actor, critic: TwinCritic, base_policy=None) -> None:  # noqa: ANN001
        if actor.residual and base_policy is None:
            raise ValueError("a residual actor needs a base policy (states -> actions)")
        self.actor = actor
        self.critic = critic
        #: numpy states -> actions: what a residual actor corrects (the environment's nominal policy)
        self.base_policy = base_policy if actor.residual else None
        #: the critic the CALF certificate reads (`certificate_q`): this critic, or TD3's slowly moving
        #: target critic (calf.certificate_critic = "target"; set by the learner)
        self.certificate_critic = critic
        self.version = 0
        self._buffers: dict[tuple[int, int], torch.Tensor] = {}

    @staticmethod
    def _t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    def _buffer(self, slot: int, width: int) -> torch.Tensor:
        """A reused (INFERENCE_CHUNK, width) float32 work buffer."""
        key = (slot, width)
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = torch.empty(INFERENCE_CHUNK, width)
        return buf

    def _chain(self, layers: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor, out: torch.Tensor) -> None:
        """out = the MLP `layers` (ReLU between, none after the last) at x, one block at a time."""
        n = x.shape[0]
        last = len(layers) - 1
        for lo in range(0, n, INFERENCE_CHUNK):
            hi = min(n, lo + INFERENCE_CHUNK)
            h = x[lo:hi]
            for i, (w, b) in enumerate(layers):
                if i == last:
                    torch.addmm(b, h, w, out=out[lo:hi])
                else:
                    buf = self._buffer(i, w.shape[1])[: hi - lo]
                    torch.addmm(b, h, w, out=buf)
                    h = buf.relu_()

    @torch.inference_mode()
    def act(self, states: np.ndarray) -> np.ndarray:
        """The actor's action for every row (one forward call)."""
        x = self._t(states)
        layers = [(w.detach().t(), b.detach()) for w, b in self.actor._layers]
        out = torch.empty(x.shape[0], self.actor.action_dim)
        self._chain(layers, x, out)
        out.tanh_().mul_(self.actor.scale)
        a = out.numpy().astype(np.float64)
        if self.base_policy is not None:
            high = self.actor.scale.numpy().astype(np.float64)
            a += self.base_policy(np.asarray(states, dtype=np.float64))
            np.clip(a, -high, high, out=a)
        return a

    @torch.inference_mode()
    def q(self, states: np.ndarray, actions: np.ndarray, which: str = "q1", critic: TwinCritic | None = None) -> np.ndarray:
        """Q for every row (one forward call): which = 'q1' (Q1 alone), 'min' (of the twins) or
        'both' -> (2, n); from `critic` (default: the online critic)."""
        critic = self.critic if critic is None else critic
        heads = _HEADS.get(which)
        if heads is None:
            raise ValueError(f"which must be 'q1', 'min' or 'both', got {which!r}")
        states = np.asarray(states)
        actions = np.asarray(actions)
        n, sd = states.shape
        x = np.empty((n, sd + actions.shape[1]), dtype=np.float32)  # concat(s, a) without torch.cat
        x[:, :sd] = states
        x[:, sd:] = actions
        xt = torch.from_numpy(x)
        out = torch.empty(len(heads), n, 1)
        for k, head in enumerate(heads):
            layers = [(w.detach()[head], b.detach()[head, 0]) for w, b in critic._layers]
            self._chain(layers, xt, out[k])
        q = out[..., 0]
        if critic.value_scale != 1.0:
            q.mul_(critic.value_scale)
        if which == "q1":
            return q[0].numpy().astype(np.float64)
        if which == "min":
            return torch.minimum(q[0], q[1]).numpy().astype(np.float64)
        return q.numpy().astype(np.float64)

    def certificate_q(self, states: np.ndarray, actions: np.ndarray, certified_value: str) -> np.ndarray:
        """The critic value the CALF certificate uses (`calf.certified_value`: 'q1' or 'min_twin', from
        `certificate_critic`), computing only the heads it needs."""
        which = CERTIFIED_WHICH.get(certified_value)
        if which is None:
            raise ValueError(f"certified_value must be 'q1' or 'min_twin', got {certified_value!r}")
        return self.q(states, actions, which=which, critic=self.certificate_critic)


def build_networks(state_dim: int, action_dim: int, action_high: np.ndarray, hidden: int = 64, layers: int = 2,
                   seed: int | None = None, value_scale: float = 1.0, base_policy=None) -> Networks:  # noqa: ANN001
    """The networks; with `base_policy` (numpy states -> actions) the actor is residual to it."""
    if seed is not None:
        torch.manual_seed(seed)
    return Networks(Actor(state_dim, action_dim, action_high, hidden, layers, residual=base_policy is not None),
                    TwinCritic(state_dim, action_dim, hidden, layers, value_scale), base_policy)
