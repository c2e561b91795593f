"""Actor and twin critic networks, and the `Networks` resource every system queries.

The twin critic keeps both critics' weights stacked as (2, fan_in, fan_out) tensors and runs
them as one batched matmul chain: one forward call evaluates Q1 and Q2 for every agent.
"""
from __future__ import annotations

import math

import numpy as np
import torch
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

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.net(states) * self.scale


class TwinCritic(nn.Module):
    """Two independent MLP critics on concat(s, a), evaluated together."""

    def __init__(self, state_dim: int, action_dim: int, hidden: int = 64, layers: int = 2):
        super().__init__()
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

    def forward(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Returns (2, n): row 0 is Q1, row 1 is Q2."""
        x = torch.cat([states, actions], dim=-1).unsqueeze(0).expand(2, -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)

    def q1(self, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """Q1 alone (the actor's objective); runs only the first critic's weights."""
        x = torch.cat([states, actions], dim=-1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.addmm(b[0], x, w[0])
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)


class Networks:
    """Resource: the actor and critic used for inference by control, surface and HUD.

    `version` goes up whenever training changes the weights, so caches (the critic surface)
    know when they are stale. Inputs and outputs are numpy float64 arrays.
    """

    def __init__(self, actor: Actor, critic: TwinCritic) -> None:
        self.actor = actor
        self.critic = critic
        self.version = 0

    def _t(self, x: np.ndarray) -> torch.Tensor:
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
                   seed: int | None = None) -> Networks:
    if seed is not None:
        torch.manual_seed(seed)
    return Networks(Actor(state_dim, action_dim, action_high, hidden, layers), TwinCritic(state_dim, action_dim, hidden, layers))
