"""The HUD's text, built from plain values (so it is tested headless).

Every panel fits the sidebar (render.layout): lines are at most SIDEBAR_COLUMNS characters.
Numbers have fixed widths so the text does not jitter from frame to frame. Legend lines start
with LEGEND_INDENT spaces: the renderer draws each entry's colour swatch there (coloured text
would cost a draw call per colour).
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from components.modes import Mode

#: the widest line any panel may have (the sidebar's width is sized for it)
SIDEBAR_COLUMNS = 46

#: legend entries: (text property name, label); colours are in components.modes
LEGEND = (
    ("certified", "certified (holds)"),
    ("relax", "relax (coin)"),
    ("fallback", "fallback: nominal"),
    ("training", "training (cert.)"),
    ("cohort", "cohort: no noise"),  # the policy cohort: larger boxes with black edges, dashed trails
)
LEGEND_PER_LINE = 2  # entries side by side
LEGEND_COLUMN = 23  # characters per entry (swatch indent + label)
KEYS_HELP = ("P pause  N step  [ ] warp  Tab panels\n"
             "click/C pick agent  X unpick  F follow\n"
             "WASD move  wheel zoom  H surface  G grid\n"
             "+/- agents  F1 profile  F2 F3 profiler  Q quit")

LEGEND_INDENT = 5


def legend_lines() -> list[str]:
    """The legend, LEGEND_PER_LINE entries a line, each after LEGEND_INDENT spaces for its swatch."""
    cells = [(" " * LEGEND_INDENT + label).ljust(LEGEND_COLUMN) for _name, label in LEGEND]
    return ["".join(cells[i : i + LEGEND_PER_LINE]).rstrip() for i in range(0, len(cells), LEGEND_PER_LINE)]


def legend_positions(text: str) -> dict[str, tuple[int, int]]:
    """Legend entry name -> (line, column of its swatch) in `text` (entries not shown are absent)."""
    lines = text.split("\n")
    wanted = legend_lines()
    out = {}
    for k, (name, _label) in enumerate(LEGEND):
        line = wanted[k // LEGEND_PER_LINE]
        if line in lines:
            out[name] = (lines.index(line), (k % LEGEND_PER_LINE) * LEGEND_COLUMN)
    return out


def fold(lines: Sequence[str], width: int = SIDEBAR_COLUMNS, indent: str = "  ") -> list[str]:
    """Every line at most `width` characters: a longer one continues on indented lines (broken at
    spaces where it can, else anywhere), so nothing runs out of the sidebar and nothing is cut off."""
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        out += textwrap.wrap(line, width, initial_indent="", subsequent_indent=lead + indent,
                             break_on_hyphens=False, drop_whitespace=True) or [line[:width]]
    return out


def _num(value: float, fmt: str, width: int = 9) -> str:
    """`value` in `fmt`, right-aligned to `width`; a value too large for that (a diverged critic's
    1e300, say) in the most precise exponent form that fits, so the columns hold at any magnitude."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-".rjust(width)
    text = format(value, fmt)
    if width and len(text) > width:
        sign = "+" if fmt.startswith("+") else ""
        for digits in range(max(width - 6, 1), 0, -1):
            text = format(value, f"{sign}.{digits}g")
            if len(text) <= width:
                break
    return text.rjust(width)


def compact(value: float, fmt: str, width: int) -> str:
    """`value` in `fmt`, or in exponent form when that is wider than `width` (no padding)."""
    return _num(value, fmt, width).strip()


def _count(value: int, width: int = 0, left: bool = False) -> str:
    """A whole number in `width` columns (an exponent form past them: 1.2e+15 steps)."""
    text = str(value)
    if width and len(text) > width:
        text = _num(float(value), ".0f", width).strip()
    return text.ljust(width) if left else text.rjust(width)


def _si(value: int) -> str:
    """A count in at most 5 characters: 999, 1.3k, 999k, 1.3M, 999M, 1.3G, ..."""
    v = float(value)
    for unit in ("", "k", "M", "G", "T", "P"):
        if abs(v) < 999.5 or unit == "P":
            return f"{v:.0f}{unit}" if unit == "" or abs(v) >= 9.95 else f"{v:.1f}{unit}"
        v /= 1000.0
    return str(value)


def learner_lines(v: Mapping[str, Any]) -> list[str]:
    """Who runs TD3's updates, how many per simulation step and of what batch, and (a background
    learner) how far it trails the data: updates granted and not yet done, their time at the
    learner's recent rate, and the share of granted updates it skipped (learner_when_behind = skip)."""
    mode = str(v.get("learner", "inline"))
    lines = [f"learner {mode:<10} {_si(v.get('updates_per_step', 0))}/step  batch {_si(v.get('batch_size', 0))}"]
    if mode == "background":
        share = v.get("updates_skipped_share")
        skipped = "-" if share is None or not math.isfinite(share) else f"{100.0 * share:.0f}%"
        lines.append(f"  {_si(v.get('learning_lag', 0)):>5} updates behind {_num(v.get('learning_lag_s'), '.2f', 6)} s"
                     f"  skipped {skipped}")
    return lines


def _pct(rate: float | None) -> str:
    return _num(math.nan if rate is None else 100.0 * rate, ".1f", 5) + " %"


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")


def faults_line(counts: Mapping[str, int]) -> str:
    """Numerical faults caught so far (components.faults): all zero while nothing diverges."""
    c = {k: int(counts.get(k, 0)) for k in ("nonfinite_agents", "nonfinite_actions", "rejected_transitions",
                                            "skipped_updates", "network_restores", "nonfinite_values")}
    return (f"non-finite  respawned {c['nonfinite_agents']}  fell back {c['nonfinite_actions']}  "
            f"rejected {c['rejected_transitions']}  skipped {c['skipped_updates']}  restored {c['network_restores']}"
            f"  repaired {c['nonfinite_values']}")


def faults_lines(counts: Mapping[str, int]) -> list[str]:
    """faults_line folded to the sidebar's width (a folded line keeps one trailing space when it fits)."""
    parts = faults_line(counts).split("  ")
    lines, line = [], parts[0]
    for part in parts[1:]:
        if len(line) + 2 + len(part) <= SIDEBAR_COLUMNS:
            line += "  " + part
        else:
            lines.append(line + " " if len(line) < SIDEBAR_COLUMNS else line)
            line = " " + part
    return lines + [line]


def kappa_verdict(kappa_low: float, neg_q: float, kappa_up: float) -> str:
    if math.isfinite(kappa_low) and math.isfinite(kappa_up) and math.isfinite(neg_q):
        return "hold" if kappa_low <= neg_q <= kappa_up else "VIOLATED"
    return "-"


def stats_text(v: Mapping[str, Any]) -> str:
    """The main HUD block. `v` holds the values named below (see systems.stats.StatsSystem.values)."""
    mode = Mode(int(v["mode"])).name.lower() if v["mode"] is not None else "-"
    q, q_cert = v["q"], v["q_cert"]
    diff = q - q_cert if math.isfinite(q) and math.isfinite(q_cert) else math.nan
    neg_q = -q if math.isfinite(q) else math.nan
    kl, ku = v["kappa_low"], v["kappa_up"]
    qmin, qmax = v["grid_q_range"]
    head = f"CALF {v['system']}" + ("  [PAUSED]" if v["paused"] else "")
    warp = f"warp {v.get('warp', '1')}"
    head += " " * max(1, SIDEBAR_COLUMNS - len(head) - len(warp)) + warp
    lines = [
        head,
        f"episode {_count(v['episode'], 6)} / {_count(v['episodes_total'], 6, left=True)} steps {_count(v['total_steps'], 10)}",
        f"learners {_count(v['visual_agents'], 6)} + {v['training_agents']} training   "
        f"cohort {_count(v.get('cohort_agents', 0), 5)}",
        f"return  {_num(v['episode_return'], '.2f')}   length {_count(v['episode_length'], 7)}",
        f"mean return (10) {_num(v['mean_return_10'], '.2f')}  success {_pct(v['success_rate'])}",
        f"phase {v['phase']:<11} noise {_num(v['noise'], '.3f', 6)}  buf {_count(v['buffer_size'], 7)}",
        f"loss  critic {_num(v['critic_loss'], '.4g')}   actor {_num(v['actor_loss'], '.4g')}",
        *learner_lines(v),
        *faults_lines(v.get("faults", {})),
        f"training agent: {mode:<9}  P_relax {_num(v['p_relax'], '.5f', 8)}",
        f"certified {_pct(v['certification_rate'])}  intervention {_pct(v['intervention_rate'])}",
        f"relax     {_pct(v['relax_rate'])}  need {_num(v['required'], '.4g', 9)}",
        f"Q(s,a) {_num(q, '.4f')}  q_cert {_num(q_cert, '.4f')}",
        f"diff   {_num(diff, '+.4f')}  |s| {_num(v['state_norm'], '.4f')}",
        f"k_low {_num(kl, '.4f')} <= -Q {_num(neg_q, '.4f')} <= k_up",
        f"      {_num(ku, '.2f')}  {kappa_verdict(kl, neg_q, ku)}",
        f"learners ({v['collect']})  boundary {_count(v.get('learners_boundary_exits', 0), 5)}",
        # td3.explore = "executed" is exploration outside the filter: it is said, not left to the trails
        *(["! noise on executed actions: outside CALF"] if v.get("explore") == "executed" else []),
        f"cert {_pct(v['all_certification_rate'])}  fall {_pct(v['all_intervention_rate'])}  "
        f"relax {_pct(v['all_relax_rate'])}",
        f"  failed {_count(v.get('learners_failures', 0), 7)} of {_count(v.get('learners_episodes', 0), 8)}, "
        f"nominal ~{_num(v.get('learners_nominal_failures'), '.1f', 6)}",
        f"cohort: success {_pct(v.get('cohort_success_rate'))}  certified {_pct(v.get('cohort_certification_rate'))}",
        f"  failed {_count(v.get('cohort_failures', 0), 7)} of {_count(v.get('cohort_episodes', 0), 8)}, "
        f"nominal ~{_num(v.get('cohort_nominal_failures'), '.1f', 6)}",
        f"grid q [{_num(qmin, '.3f')}, {_num(qmax, '.3f')}]  refreshes {_count(v['grid_refreshes'], 5, left=True).rstrip()}",
    ]
    lines += legend_lines()
    lines += KEYS_HELP.split("\n")
    return "\n".join(fold(lines))  # extreme values (a 13-digit step count, say) fold instead of running out


def inspect_text(v: Mapping[str, Any] | None) -> str:
    """The selected agent's panel: its state, mode, Q, q_cert, the decrease and both kappa bounds,
    and whether each holds. None: the hint how to select one."""
    if v is None:
        return "inspect: click an agent, or C to cycle"
    role = ("training agent" if v["training"] else
            "cohort, no noise" if v.get("group") == "cohort" else "learner")
    head = f"agent {v['entity']} ({role})" + ("  following" if v["follow"] else "")
    names = v["state_names"]
    state = "  ".join(f"{name} {_num(x, '.3f', 7)}" for name, x in zip(names, v["state"]))
    if v["mode"] is None:
        return "\n".join([head, f"state {state}", "no step yet: N steps once while paused"])
    mode = Mode(int(v["mode"])).name.lower()
    lines = [
        head,
        f"state {state}",
        f"mode {mode:<9} step {_count(v['episode_step'], 6)}  |s| {_num(v['state_norm'], '.3f', 7)}",
        f"Q {_num(v['q'], '.4f')}   q_cert {_num(v['q_cert'], '.4f')}",
        f"decrease Q - q_cert {_num(v['decrease'], '+.4f')} >= {_num(v['required'], '.4g', 7)}: "
        f"{_yes(v['decrease_ok'])}",
        f"k_low {_num(v['kappa_low'], '.4f')} <= -Q {_num(v['neg_q'], '.4f')}: {_yes(v['low_ok'])}",
        f"-Q {_num(v['neg_q'], '.4f')} <= k_up {_num(v['kappa_up'], '.2f')}: {_yes(v['up_ok'])}",
    ]
    held = int(v.get("held") or 0)
    reach = v.get("reach_hold") or ""
    if reach:  # the reach check decides this step: the nominal policy acts
        lines += (["certificate: reach check: the nominal", "  policy finishes this episode"] if reach == "handed over"
                  else ["certificate: reach check: the nominal", "  policy acts until the first check"])
    elif held:  # the dwell decides this step, whatever the test says: the nominal policy acts
        passed = v.get("test_passed")
        test = "" if passed is None else f", the test alone {'passes' if passed else 'fails'}"
        lines += ["certificate: held by the dwell",
                  f"  ({held} step{'s' if held != 1 else ''} left{test})"]
    else:
        lines.append(f"certificate: {'holds' if v['certified'] else 'fails'}"
                     + ("" if v["has_cert"] else " (no certificate yet: any action passes)"))
    return "\n".join(fold(lines))


#: the learning-curve panel's legend: (name, what it is); the colours are render.learning_plot's
LEARNING_LEGEND = ("success", "nominal", "certified", "learners", "cohort", "gain")
LEARNING_PLOT_LINES = 5  # the panel's blank lines under its caption, where the plot is drawn


def _share(rate: float | None) -> str:
    """A share as 'NN%' (no space: the legend's cells are tight), '-' for none."""
    if rate is None or not math.isfinite(rate):
        return "-"
    return compact(100.0 * rate, ".0f", 4) + "%"


def gain_label(gain: float | None) -> str:
    """The return gain over the nominal in words that say which way is better."""
    if gain is None or not math.isfinite(gain):
        return "return -"
    size = ">999" if abs(gain) >= 9.995 else f"{abs(gain) * 100.0:.0f}"  # the cell holds 3 digits
    if size == "0":
        return "return level"
    return f"return {size}% {'worse' if gain < 0 else 'better'}"


def learning_text(v: Mapping[str, Any] | None) -> str:
    """The learning-curve panel: a caption, LEARNING_PLOT_LINES blank lines for the plot, and its
    legend (LEGEND_INDENT spaces before each entry for its swatch). `v`: span (first, last episode)
    or None, gain_range (the gain plot's half height), and the latest values: success, nominal,
    certified (of the last evaluation), learners, cohort (certified shares of the last training
    episode), gain."""
    v = v or {}
    span = v.get("span")
    if span is None:
        caption = "learning: no episode finished yet"
    else:
        caption = f"learning, episodes {span[0]}-{span[1]}; gain ±{compact(100 * v.get('gain_range', 1.0), '.0f', 4)}%"
    labels = {
        "success": f"eval success {_share(v.get('success'))}",
        "nominal": f"nominal succ {_share(v.get('nominal'))}",
        "certified": f"eval cert. {_share(v.get('certified'))}",
        "learners": f"learners cert {_share(v.get('learners'))}",
        "cohort": f"cohort cert {_share(v.get('cohort'))}",
        "gain": gain_label(v.get("gain")),
    }
    cells = [(" " * LEGEND_INDENT + labels[name]).ljust(LEGEND_COLUMN) for name in LEARNING_LEGEND]
    legend = ["".join(cells[i : i + 2]).rstrip() for i in range(0, len(cells), 2)]
    return "\n".join(fold([caption]) + [""] * LEARNING_PLOT_LINES + legend)


def learning_legend_positions(text: str) -> dict[str, tuple[int, int]]:
    """Learning legend entry -> (line, column of its swatch) in the panel's text."""
    lines = text.split("\n")
    first = len(lines) - (len(LEARNING_LEGEND) + 1) // 2
    return {name: (first + k // 2, (k % 2) * LEGEND_COLUMN) for k, name in enumerate(LEARNING_LEGEND)}


def scale_caption(quantity: str, slice_name: str | None) -> str:
    """Above the colour bar: what the surface shows (the bar goes on the empty line after it)."""
    lines = [f"surface {quantity}"]
    if slice_name:
        lines.append(slice_name)
    return "\n".join(fold(lines))


def scale_labels(values: Sequence[float], width: int = SIDEBAR_COLUMNS) -> str:
    """Three numbers under the colour bar: its low end, middle and high end."""
    lo, mid, hi = (_num(x, ".3g", 0) for x in values)
    gap = max(1, (width - len(lo) - len(mid) - len(hi)) // 2)
    line = lo + " " * gap + mid
    return line + " " * max(1, width - len(line) - len(hi)) + hi


def timeline_caption(whose: str) -> str:
    return "\n".join(fold([f"q_cert this episode: {whose}"]))


def profiler_text(slowest: Sequence[tuple[str, float]], frame_ms: float, enabled: bool, window: int,
                  steps_per_frame: float = 1.0, step_ms: float = 0.0) -> str:
    """The profiler panel: the five slowest systems by mean time per frame over the window, then the
    frame and, with several simulation steps per frame, the simulation's time per step."""
    if not enabled:
        return "profiler off (F2 turns it on)"
    fps = 1000.0 / frame_ms if frame_ms > 0 else 0.0
    lines = [f"slowest systems (mean of {window} frames)"]
    for name, ms in slowest:
        share = 100.0 * ms / frame_ms if frame_ms > 0 else 0.0
        lines.append(f"{name:<18} {_num(ms, '.3f', 8)} ms {share:5.1f} %")
    lines.append(f"{'simulation step':<18} {_num(step_ms, '.3f', 8)} ms x{steps_per_frame:.4g}/frame")
    lines.append(f"{'frame':<18} {_num(frame_ms, '.3f', 8)} ms {_num(fps, '.1f', 6)} FPS")
    return "\n".join(fold(lines))  # a plugin's long name folds
