"""How the policy cohort looks, so it reads apart from the learners at a glance.

The cohort (components.agent_groups.Group.COHORT) replays the current policy without exploration
noise from the evaluation's starts: it is what the learned policy does. Its agents are drawn as
larger cubes (learners: octahedra; with a heading, larger darts) with black edges, and their
trails dashed; the colours still say each step's CALF mode. Everything stays in the batched
Geoms: the solids in the markers' Geom, the dashes as degenerate index pairs of the trail Geom,
and the edges of every cohort marker in one more GeomLines (one draw call).
"""
from __future__ import annotations

import numpy as np

from components.agent_groups import Group

COHORT = int(Group.COHORT)
COHORT_SCALE = 1.35  # the cohort's solids, relative to a learner's
OUTLINE_RGBA = (0.0, 0.0, 0.0, 1.0)
OUTLINE_PX = 1.6
#: dashes: of every DASH_PERIOD segments of a cohort trail (by ring-buffer slot, so a drawn segment
#: stays drawn as the trail grows: no crawling), the first DASH_ON are drawn
DASH_PERIOD, DASH_ON = 4, 2

CUBE = (
    np.array([(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64) * 0.8,
    # two triangles per face, wound outwards: -x, +x, -y, +y, -z, +z
    [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
     (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)],
)
#: the cube's 12 edges (vertex index pairs): what the outline draws
CUBE_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def is_cohort(table) -> np.ndarray | None:  # noqa: ANN001 - components.agent_table.AgentTable
    """Boolean per row (None when no row is of the cohort, or the table has no group column)."""
    if not table.has_column("group") or table.n == 0:
        return None
    mask = table.group == COHORT
    return mask if mask.any() else None


def dash_gap(slots: np.ndarray) -> np.ndarray:
    """True where the segment starting at ring slot `slots` is a gap of a dashed (cohort) trail."""
    return (np.asarray(slots) % DASH_PERIOD) >= DASH_ON


def solid_edges(faces: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """Every edge of a solid given by triangles (for solids whose triangles are its true faces)."""
    edges = {tuple(sorted((f[i], f[(i + 1) % 3]))) for f in faces for i in range(3)}
    return sorted(edges)
