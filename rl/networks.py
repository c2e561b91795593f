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


def _uniform_(t: torch.Tensor, fan_in: int) -> None:
    bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default init for weights and biases
    nn.init.uniform_(t, -bound, bound)


class Actor(nn.Module):
    """MLP, ReLU hidden layers, tanh output scaled to the action bound."""

    def __init__(self, state_dim: int, action_dim: int, action_high: np.ndarray, hidden: int = 64, layers: int = 2):
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

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        layers = self._layers
        x = states
        for w, b in layers[:-1]:
            x = F.linear(x, w, b).relu_()
        w, b = layers[-1]
        return F.linear(x, w, b).tanh_().mul(self.scale)


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


class Networks:
    """Resource: the actor and critic used for inference by control, surface and HUD.

    `version` goes up whenever training changes the weights, so caches (the critic surface)
    know when they are stale. Inputs and outputs are numpy float64 arrays.
    """

    def __init__(self, actor: Actor, critic: TwinCritic) -> None:
        self.actor = actor
        self.critic = critic
        self.version = 0

    @staticmethod
    def _t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    @torch.inference_mode()
    def act(self, states: np.ndarray) -> np.ndarray:
        """The actor's action for every row (one forward call)."""
        return self.actor(self._t(states)).numpy().astype(np.float64)

    @torch.inference_mode()
    def q(self, states: np.ndarray, actions: np.ndarray, which: str = "q1") -> np.ndarray:
        """Q for every row (one forward call): which = 'q1', 'min' (of the twins) or 'both' -> (2, n)."""
        both = self.critic(self._t(states), self._t(actions)).numpy().astype(np.float64)
        if which == "q1":
            return both[0]
        if which == "min":
            return both.min(axis=0)
        if which == "both":
            return both
        raise ValueError(f"which must be 'q1', 'min' or 'both', got {which!r}")


def build_networks(state_dim: int, action_dim: int, action_high: np.ndarray, hidden: int = 64, layers: int = 2,
                   seed: int | None = None, value_scale: float = 1.0) -> Networks:
    if seed is not None:
        torch.manual_seed(seed)
    return Networks(Actor(state_dim, action_dim, action_high, hidden, layers),
                    TwinCritic(state_dim, action_dim, hidden, layers, value_scale))
