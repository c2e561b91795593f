"""Named presets: visual (low / medium / high) and training (quick / standard / thorough)."""
from __future__ import annotations

from typing import Any

#: section -> field -> value, applied over the defaults
VISUAL_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "low": {"visual": {"agents": 3, "trail_max_length": 300, "grid_size": 15, "heatmap_update_freq": 1000}},
    "medium": {"visual": {"agents": 5, "trail_max_length": 600, "grid_size": 21, "heatmap_update_freq": 500}},
    "high": {"visual": {"agents": 10, "trail_max_length": 1000, "grid_size": 31, "heatmap_update_freq": 250}},
}

TRAINING_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "quick": {"training": {"episodes": 100}, "env": {"max_steps_per_episode": 500}},
    "standard": {"training": {"episodes": 500}, "env": {"max_steps_per_episode": 750}},
    "thorough": {"training": {"episodes": 1000}, "env": {"max_steps_per_episode": 1000}, "td3": {"batch_size": 512}},
}
