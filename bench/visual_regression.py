"""Visual regression: the baseline and the optimised variant, same seed, rendered offscreen in one process.

    python bench/visual_regression.py --agents 20 --frames 151 --out bench/results/perf/regression

Both variants run the same world (seed, agents, frames, training on) one after the other in one
Ursina app (one app per process; each world tears its scene down). After the last frame it
records, per variant: the screenshot, every agent's state and height, the trails' stored points,
the HUD's strings and where its two panels are on screen. Then it compares:

- positions (state, height, trail points): max |difference| must be <= 1e-4;
- the screenshot, all of it but two kinds of area: the share of pixels whose largest channel
  difference exceeds PIXEL_LEVELS must be <= PIXEL_SHARE. Not compared: the profiler panel (it
  shows each run's own timings, so two runs of one variant differ there too) and the stats lines
  listed in HUD_VOLATILE (the baseline's HUD asks the critic for Q(s, a) at the post-step state
  every frame, the optimised HUD shows the filter's own Q of that step: a different number);
- the HUD: the stats text line by line; only HUD_VOLATILE lines may differ.

The frame count is chosen so the optimised HUD's cache refreshed every item on the last frame
(frame index a multiple of 30), so both HUDs show the same step. Writes `regression.json`,
`baseline.png`, `optimized.png`, and `diff.png` (differing pixels in red over a dimmed frame,
panels outlined) into --out; exit code 1 if a check fails.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python bench/visual_regression.py`
from bench import common  # noqa: E402

POSITION_TOL = 1e-4
PIXEL_LEVELS = 16  # out of 255
PIXEL_SHARE = 0.001  # of the compared pixels
#: HUD lines whose numbers come from Q(s, a): the baseline's per-frame critic query at the post-step state
HUD_VOLATILE = ("Q(s,a)", "|s|", "<= -Q")  # lines holding Q(s,a) or a value derived from it
VARIANTS = ("baseline", "optimized")


def config(variant: str, agents: int, frames: int, seed: int, extra: dict | None = None):  # noqa: ANN201
    from config.variants import variant_overrides

    # both variants must take the same training steps: the view's background learner is not
    # bit-reproducible, so the comparison runs it inline
    return common.config(variant_overrides(variant), {"visual": {"agents": agents}, "training": {"learner": "inline"},
                                                      "run": {"seed": seed, "frames": frames}}, extra)


def _pixel_box(aspect: float, xs, ys, width: int, height: int) -> tuple[int, int, int, int]:  # noqa: ANN001
    """UI coordinates (y up, 1 unit high) -> pixel box (top, bottom, left, right), a pixel of margin around."""
    x = (np.asarray(xs, dtype=np.float64) / aspect + 0.5) * width
    y = (0.5 - np.asarray(ys, dtype=np.float64)) * height
    return (max(0, int(np.floor(y.min())) - 1), min(height, int(np.ceil(y.max())) + 1),
            max(0, int(np.floor(x.min())) - 1), min(width, int(np.ceil(x.max())) + 1))


def hud_boxes(rs, stats: str, width: int, height: int) -> dict:  # noqa: ANN001 - the RenderSystem
    """Pixel boxes of the HUD's panels (from its layout), and of the stats lines whose numbers may
    differ (HUD_VOLATILE)."""
    from render.layout import TEXT_SCALE

    layout, hud = rs.layout, rs.hud
    a = layout.aspect
    box = {name: _pixel_box(a, r[:2], r[2:], width, height) for name, r in layout.panels.items()}
    x0, y0 = layout.text_origin["stats"]
    left, right = layout.panels["stats"][:2]
    s = TEXT_SCALE
    lines = []
    for i, line in enumerate(stats.split("\n")):
        if any(tag in line for tag in HUD_VOLATILE):
            base = y0 - i * hud.line_h * s
            lines.append(_pixel_box(a, (left, right), (base - 0.35 * s, base + 0.9 * s), width, height))
    return {"stats_panel": box["stats"], "profiler_panel": box["profiler"], "volatile_lines": lines}


def capture(app, variant: str, agents: int, frames: int, seed: int, extra: dict | None) -> dict:  # noqa: ANN001
    from components.agent_table import AgentTable
    from components.view_state import HudText
    from render.screenshot import grab_rgb

    with common.opened(common.offscreen_world(config(variant, agents, frames, seed, extra), app)) as world:
        world.run(frames)
        table = world.resource(AgentTable)
        rs = world.system("RenderSystem")
        image = grab_rgb(app)
        h, w, _ = image.shape
        return {
            "image": image,
            "state": table.state.copy(),
            "height": table.height.copy(),
            "trail_pos": table.trail_pos.copy(),
            "trail_len": table.trail_len.copy(),
            "hud_stats": world.resource(HudText).stats,
            "hud_boxes": hud_boxes(rs, world.resource(HudText).stats, w, h),
            "draw_calls": rs.draw_calls.last if rs.draw_calls is not None else None,
            "frame": world.frame,
        }


def excluded_mask(shape: tuple[int, int], *captures: dict) -> np.ndarray:
    """Pixels not compared: the profiler panel and the HUD_VOLATILE lines of either capture."""
    mask = np.zeros(shape, dtype=bool)
    for cap in captures:
        boxes = cap["hud_boxes"]
        for top, bottom, left, right in [boxes["profiler_panel"], *boxes["volatile_lines"]]:
            mask[top:bottom, left:right] = True
    return mask


def diff_image(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Differing pixels in red (brighter = larger), over a dimmed grey copy of the baseline; excluded areas outlined."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    out = np.repeat((a.mean(axis=-1, keepdims=True) * 0.35).astype(np.uint8), 3, axis=-1)
    hit = d > 0
    out[hit] = 0
    out[hit, 0] = np.clip(96 + d[hit] * 4, 0, 255)
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    out[edge] = (255, 200, 0)
    return out


def compare(base: dict, opt: dict) -> dict:
    """Every check's measured value, its tolerance and whether it holds."""
    a, b = base["image"], opt["image"]
    mask = excluded_mask(a.shape[:2], base, opt)
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=-1)
    outside = ~mask
    n_out = int(outside.sum())
    over = int(np.count_nonzero(d[outside] > PIXEL_LEVELS))
    same_rows = base["state"].shape == opt["state"].shape
    pos_err = float(np.max(np.abs(base["state"] - opt["state"]))) if same_rows else float("inf")
    height_err = float(np.max(np.abs(base["height"] - opt["height"]))) if same_rows else float("inf")
    trail_err = float("inf")
    if same_rows and np.array_equal(base["trail_len"], opt["trail_len"]):
        trail_err = float(np.max(np.abs(base["trail_pos"] - opt["trail_pos"])))
    lines_a, lines_b = base["hud_stats"].split("\n"), opt["hud_stats"].split("\n")
    differing = [(x, y) for x, y in zip(lines_a, lines_b) if x != y]
    unexpected = [pair for pair in differing if not any(tag in pair[0] for tag in HUD_VOLATILE)]
    checks = {
        "positions": {"value": max(pos_err, height_err), "tolerance": POSITION_TOL,
                      "state_max_abs": pos_err, "height_max_abs": height_err},
        "trails": {"value": trail_err, "tolerance": POSITION_TOL},
        "pixels": {"value": over / n_out, "tolerance": PIXEL_SHARE, "levels": PIXEL_LEVELS,
                   "pixels_compared": n_out, "pixels_over": over,
                   "pixels_differing_at_all": int(np.count_nonzero(d[outside])),
                   "max_level_difference": int(d[outside].max()) if n_out else 0,
                   "pixels_differing_in_excluded_areas": int(np.count_nonzero(d[mask])),
                   "pixels_excluded": int(mask.sum())},
        "hud_text": {"value": len(unexpected), "tolerance": 0, "lines": len(lines_a),
                     "line_counts_equal": len(lines_a) == len(lines_b),
                     "differing_lines": [list(p) for p in differing],
                     "unexpected_lines": [list(p) for p in unexpected]},
    }
    for name, check in checks.items():
        check["holds"] = bool(check["value"] <= check["tolerance"])
    checks["hud_text"]["holds"] = checks["hud_text"]["holds"] and checks["hud_text"]["line_counts_equal"]
    return checks


def run(agents: int, frames: int, seed: int, out: Path, extra: dict | None = None) -> dict:
    from matplotlib import image as mpimg

    out.mkdir(parents=True, exist_ok=True)
    app = common.offscreen_app()
    caps = {v: capture(app, v, agents, frames, seed, extra) for v in VARIANTS}
    checks = compare(caps["baseline"], caps["optimized"])
    mask = excluded_mask(caps["baseline"]["image"].shape[:2], caps["baseline"], caps["optimized"])
    for v in VARIANTS:
        mpimg.imsave(out / f"{v}.png", caps[v]["image"])
    mpimg.imsave(out / "diff.png", diff_image(caps["baseline"]["image"], caps["optimized"]["image"], mask))
    result = {
        "agents": agents, "frames": frames, "seed": seed, "extra_config": extra or {},
        "rows": int(caps["baseline"]["state"].shape[0]),
        "last_frame_index": caps["baseline"]["frame"] - 1,
        "draw_calls": {v: caps[v]["draw_calls"] for v in VARIANTS},
        "hud_boxes": {v: caps[v]["hud_boxes"] for v in VARIANTS},
        "checks": checks,
        "holds": all(c["holds"] for c in checks.values()),
        "images": {v: f"{v}.png" for v in VARIANTS} | {"diff": "diff.png"},
    }
    common.save_json(out / "regression.json", result, indent=1, keep_nan=True)  # inf where the rows differ
    return result


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__)
    p.add_argument("--agents", type=int, default=20)
    p.add_argument("--frames", type=int, default=151, help="a multiple of 30, plus one (see the module doc)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--start-training-step", type=int, help="TD3 starts after this many steps (default: config's 100)")
    p.add_argument("--out", default=str(common.RESULTS / "perf" / "regression"))
    args = p.parse_args(argv)
    extra = {"td3": {"start_training_step": args.start_training_step}} if args.start_training_step is not None else None
    result = run(args.agents, args.frames, args.seed, Path(args.out), extra)
    for name, check in result["checks"].items():
        print(f"{name:10s} {'ok  ' if check['holds'] else 'FAIL'} value {check['value']:.3g} (tolerance {check['tolerance']})")
    print(f"written {args.out}")
    return 0 if result["holds"] else 1


if __name__ == "__main__":
    sys.exit(main())
