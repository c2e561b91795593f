"""The performance study's two variants: the three view optimisations all off (baseline) or all on.

`--baseline` / `--optimized` on the command line set these flags; the profile's `meta.variant`
names the variant a run's flags amount to ("mixed" when they are neither all off nor all on).
"""
from __future__ import annotations

from typing import Any

#: the `[visual]` feature flags, each switching one optimisation (docs/VIEW.md)
OPTIMISATION_FLAGS = ("use_vectorized_heights", "use_stats_cache", "use_batched_trails")

VARIANTS: dict[str, dict[str, bool]] = {
    "baseline": {flag: False for flag in OPTIMISATION_FLAGS},
    "optimized": {flag: True for flag in OPTIMISATION_FLAGS},
}


def variant_overrides(variant: str) -> dict[str, dict[str, Any]]:
    """Config overrides that select `variant` ('baseline' or 'optimized')."""
    try:
        return {"visual": dict(VARIANTS[variant])}
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}: choose one of {', '.join(VARIANTS)}") from None


def variant_of(visual: Any) -> str:
    """'baseline', 'optimized' or 'mixed', from a VisualConfig's flags."""
    values = {getattr(visual, flag) for flag in OPTIMISATION_FLAGS}
    if values == {False}:
        return "baseline"
    if values == {True}:
        return "optimized"
    return "mixed"
