"""How many numbers the TD3 networks hold, from the config alone (no torch): for the memory estimate
before a run and the largest checkpoint a run will read."""
from __future__ import annotations


def network_parameters(state_dim: int, action_dim: int, hidden: int, layers: int) -> int:
    """Weights and biases of the actor and both critics (each an MLP of `layers` hidden layers)."""
    def mlp(inputs: int, outputs: int) -> int:
        dims = [inputs] + [hidden] * layers + [outputs]
        return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))

    return mlp(state_dim, action_dim) + 2 * mlp(state_dim + action_dim, 1)
