"""Names of the counters that record numerical faults, so every report shows the same set.

A diverging actor or critic (NaN or inf) never stops a run; each place that catches one counts
it in `Counters` under one of these names. The profile JSON (`counters`), run_summary.json
(`numerics`) and the HUD show them.
"""
from __future__ import annotations

from components.resources import Counters

FAULT_COUNTERS = {
    "nonfinite_agents": "agents whose action, new state or reward was not finite: episode ended, respawned",
    "nonfinite_actions": "agent steps where the actor's action or Q was not finite: the filter fell back",
    "rejected_transitions": "training transitions with a non-finite value, kept out of the replay buffer",
    "skipped_updates": "TD3 critic or actor steps skipped because the loss or a gradient was not finite",
    "network_restores": "times a network with non-finite weights was restored from its target network",
    "nonfinite_values": "NaN / inf values found in agent-table columns at a frame boundary or after a plugin, "
                        "and repaired (systems.finite_check)",
}


def register_fault_counters(counters: Counters) -> None:
    """Make every fault counter exist (at 0), so reports list it even when nothing went wrong."""
    for name in FAULT_COUNTERS:
        counters.add(name, 0)


def fault_counts(counters: Counters) -> dict[str, int]:
    return {name: counters.get(name) for name in FAULT_COUNTERS}
