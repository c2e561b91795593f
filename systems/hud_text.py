"""The HUD's text, built from plain values (so it is tested headless).

Numbers have fixed widths so the text does not jitter from frame to frame. Legend lines start
with LEGEND_INDENT spaces: the renderer draws each entry's colour swatch there (coloured text
would cost a draw call per colour).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from components.modes import Mode

#: legend entries: (text property name, label); colours are in components.modes
LEGEND = (
    ("certified", "certified (actor, certificate holds)"),
    ("relax", "relax (actor, relax coin)"),
    ("fallback", "fallback (nominal policy)"),
    ("training", "training agent, certified"),
)
KEYS_HELP = "P pause  Q/Esc quit  WASD move  scroll zoom  H surface  G grid\n+/- agents  F1 export profile  F2 profiler on/off  F3 reset profiler"


LEGEND_INDENT = 5
TIMELINE_HINT = "timeline (panel behind the surface): q_cert this episode, by mode"


def legend_lines() -> list[str]:
    return [" " * LEGEND_INDENT + label for _name, label in LEGEND]


def _num(value: float, fmt: str, width: int = 9) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-".rjust(width)
    return format(value, fmt).rjust(width)


def _pct(rate: float) -> str:
    return _num(100.0 * rate, ".1f", 5) + " %"


def faults_line(counts: Mapping[str, int]) -> str:
    """Numerical faults caught so far (components.faults): all zero while nothing diverges."""
    c = {k: int(counts.get(k, 0)) for k in ("nonfinite_agents", "nonfinite_actions", "rejected_transitions",
                                            "skipped_updates", "network_restores", "nonfinite_values")}
    return (f"non-finite  respawned {c['nonfinite_agents']}  fell back {c['nonfinite_actions']}  "
            f"rejected {c['rejected_transitions']}  skipped {c['skipped_updates']}  restored {c['network_restores']}"
            f"  repaired {c['nonfinite_values']}")


def stats_text(v: Mapping[str, Any]) -> str:
    """The main HUD block. `v` holds the values named below (see systems.stats.StatsSystem.values)."""
    mode = Mode(int(v["mode"])).name.lower() if v["mode"] is not None else "-"
    q, q_cert = v["q"], v["q_cert"]
    diff = q - q_cert if math.isfinite(q) and math.isfinite(q_cert) else math.nan
    neg_q = -q if math.isfinite(q) else math.nan
    kl, ku = v["kappa_low"], v["kappa_up"]
    if math.isfinite(kl) and math.isfinite(ku) and math.isfinite(neg_q):
        bounds = "hold" if kl <= neg_q <= ku else "VIOLATED"
    else:
        bounds = "-"
    qmin, qmax = v["grid_q_range"]
    lines = [
        f"CALF  {v['system']}" + ("   [PAUSED]" if v["paused"] else ""),
        f"episode {v['episode']:>6} / {v['episodes_total']:<6} total steps {v['total_steps']:>9}",
        f"agents  {v['visual_agents']:>6} visual + {v['training_agents']} training",
        f"return  {_num(v['episode_return'], '.2f')}   length {v['episode_length']:>6}",
        f"mean return (10) {_num(v['mean_return_10'], '.2f')}   success {_pct(v['success_rate'])}",
        f"phase   {v['phase']:<11} noise {_num(v['noise'], '.3f', 6)}   buffer {v['buffer_size']:>7}",
        f"loss    critic {_num(v['critic_loss'], '.4g')}   actor {_num(v['actor_loss'], '.4g')}",
        faults_line(v.get("faults", {})),
        "",
        f"CALF mode {mode:<9}  P_relax {_num(v['p_relax'], '.5f', 8)}",
        f"certified {_pct(v['certification_rate'])}  intervention {_pct(v['intervention_rate'])}  "
        f"relax {_pct(v['relax_rate'])}   (training agent)",
        f"certified {_pct(v['all_certification_rate'])}  intervention {_pct(v['all_intervention_rate'])}  "
        f"relax {_pct(v['all_relax_rate'])}   (all agents; success {_pct(v['all_success_rate'])}, "
        f"learners: {v['collect']})",
        f"Q(s,a) {_num(q, '.4f')}  q_cert {_num(q_cert, '.4f')}  diff {_num(diff, '+.4f')}  "
        f"need {_num(v['required'], '.4g', 7)}",
        f"|s| {_num(v['state_norm'], '.4f')}  k_low {_num(kl, '.4f')} <= -Q {_num(neg_q, '.4f')} <= k_up "
        f"{_num(ku, '.2f')}  {bounds}",
        f"grid q [{_num(qmin, '.3f')}, {_num(qmax, '.3f')}]  refreshes {v['grid_refreshes']}",
        TIMELINE_HINT,
        "",
    ]
    lines += legend_lines()
    lines += ["", KEYS_HELP]
    return "\n".join(lines)


def profiler_text(slowest: Sequence[tuple[str, float]], frame_ms: float, enabled: bool, window: int) -> str:
    """The profiler panel: the five slowest systems by mean time over the window."""
    if not enabled:
        return "profiler off (F2 turns it on)"
    fps = 1000.0 / frame_ms if frame_ms > 0 else 0.0
    lines = [f"slowest systems (mean of {window} frames)"]
    for name, ms in slowest:
        share = 100.0 * ms / frame_ms if frame_ms > 0 else 0.0
        lines.append(f"{name:<18} {ms:7.3f} ms {share:5.1f} %")
    lines.append(f"{'frame':<18} {frame_ms:7.3f} ms {fps:6.1f} FPS")
    return "\n".join(lines)
