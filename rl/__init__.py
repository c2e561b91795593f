"""The learning core (torch): networks, TD3, the batched CALF filter, replay, checkpoints."""
