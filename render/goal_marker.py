"""The goal marker: a green arrow pointing down at the origin, standing on the surface (one Geom)."""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomTriangles, NodePath

from components.critic_surface import CriticSurface
from render.vertex_arrays import colors, geom_node, new_vertex_data, positions
from systems.height import bilinear
from systems.trails import MARKER_LIFT

GREEN = np.array((0.15, 0.85, 0.25))
SIDES = 8


def arrow_triangles(tip_gap: float = 0.08, head_len: float = 0.35, head_r: float = 0.16, shaft_len: float = 0.6,
                    shaft_r: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (3T, 3), shade (3T,)) of a downward arrow whose tip is `tip_gap` above the origin."""
    ang = np.linspace(0.0, 2 * np.pi, SIDES + 1)
    ring = np.stack([np.cos(ang), np.zeros_like(ang), np.sin(ang)], axis=1)
    tip = np.array([0.0, tip_gap, 0.0])
    base_y = tip_gap + head_len
    top_y = base_y + shaft_len
    tris, shade = [], []
    for k in range(SIDES):
        a, b = ring[k], ring[k + 1]
        light = 0.6 + 0.4 * max(0.0, -0.5 * (a[2] + b[2]) + 0.3 * (a[0] + b[0]))
        light = min(light, 1.0)
        # head cone side and its base cap
        tris += [tip, a * head_r + [0, base_y, 0], b * head_r + [0, base_y, 0]]
        tris += [np.array([0, base_y, 0]), b * head_r + [0, base_y, 0], a * head_r + [0, base_y, 0]]
        # shaft side (two triangles) and its top cap
        lo_a, lo_b = a * shaft_r + [0, base_y, 0], b * shaft_r + [0, base_y, 0]
        hi_a, hi_b = a * shaft_r + [0, top_y, 0], b * shaft_r + [0, top_y, 0]
        tris += [lo_a, hi_a, hi_b, lo_a, hi_b, lo_b]
        tris += [np.array([0, top_y, 0]), hi_a, hi_b]
        shade += [light] * 3 + [0.5] * 3 + [light] * 6 + [1.0] * 3
    return np.array(tris, dtype=np.float64), np.array(shade)


class GoalMarker:
    def __init__(self, parent: NodePath, surface: CriticSurface) -> None:
        verts, shade = arrow_triangles()
        self.vdata = new_vertex_data("goal-marker", len(verts), dynamic=False)
        positions(self.vdata)[:] = verts
        col = colors(self.vdata)
        col[:, :3] = (np.clip(GREEN[None, :] * shade[:, None], 0, 1) * 255).astype(np.uint8)
        col[:, 3] = 255
        self.prim = GeomTriangles(Geom.UH_static)
        self.prim.addConsecutiveVertices(0, len(verts))
        self.nodepath, self.geom = geom_node(parent, "goal-marker", self.vdata, self.prim)
        self.nodepath.setLightOff()
        self.nodepath.setTwoSided(True)
        self.version = -1
        self.sync(surface)

    def sync(self, surface: CriticSurface) -> bool:
        if surface.version == self.version:
            return False
        h = float(bilinear(surface.heights, surface.lo, surface.hi, np.zeros(1), np.zeros(1))[0])
        self.nodepath.setPos(0.0, h + MARKER_LIFT, 0.0)
        self.version = surface.version
        return True
