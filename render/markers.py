"""Agent markers: every agent in one Geom (one draw call), coloured by mode.

Each agent is a small solid from a template (an octahedron for the point mass; a dart pointing
along theta for differential drive, so heading shows), placed by numpy broadcasting at
(x, height + MARKER_LIFT, v). The training agent's solid is larger. Faces carry a fixed shade so
the solids read as 3-D without lights.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from panda3d.core import Geom, GeomTriangles, NodePath, OmniBoundingVolume

from components.agent_table import AgentTable
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, new_vertex_data, positions
from systems.trails import MARKER_LIFT

MARKER_RADIUS = 0.10
TRAINING_SCALE = 1.8

OCTAHEDRON = (
    np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], dtype=np.float64),
    [(2, 0, 4), (2, 4, 1), (2, 1, 5), (2, 5, 0), (3, 4, 0), (3, 1, 4), (3, 5, 1), (3, 0, 5)],
)
# nose along +X (theta = 0); flat enough to read the heading from above
DART = (
    np.array([(1.9, 0, 0), (-0.9, 0, 1.0), (-0.9, 0, -1.0), (-0.5, 0.55, 0), (-0.5, -0.35, 0)], dtype=np.float64),
    [(0, 3, 1), (0, 2, 3), (0, 1, 4), (0, 4, 2), (1, 3, 2), (1, 2, 4)],
)


def expand_template(points: np.ndarray, faces: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (3F, 3), shade (3F,)): one vertex per face corner, shaded by the face's direction."""
    offsets = np.array([points[i] for face in faces for i in face], dtype=np.float64)
    shade = []
    for a, b, c in faces:
        normal = (points[a] + points[b] + points[c]) / 3.0  # outward for solids around the origin
        normal /= np.linalg.norm(normal)
        light = 0.55 + 0.35 * max(normal[1], 0.0) + 0.15 * max(-normal[2], 0.0) + 0.1 * max(normal[0], 0.0)
        shade += [min(light, 1.0)] * 3
    return offsets, np.array(shade)


class AgentMarkers:
    def __init__(self, parent: NodePath, heading: bool, radius: float = MARKER_RADIUS) -> None:
        points, faces = DART if heading else OCTAHEDRON
        offsets, self.shade = expand_template(points, faces)
        self.offsets = offsets * radius  # (k, 3), relative to the marker's centre
        self.k = len(self.offsets)
        self.heading = heading
        self.capacity = 0
        self.n = 0
        self.vdata = new_vertex_data("markers", 0)
        self.prim = GeomTriangles(Geom.UH_dynamic)
        self.nodepath, self.geom = geom_node(parent, "markers", self.vdata, self.prim)
        self.nodepath.setLightOff()
        self.nodepath.setTwoSided(True)
        self.nodepath.node().setBounds(OmniBoundingVolume())
        self.nodepath.node().setFinal(True)
        self._modes = np.zeros(0, dtype=np.int8)
        self._training_row = -2
        self._scale = np.ones(0)

    @staticmethod
    def centres(table: AgentTable, surface_coords: Callable) -> np.ndarray:
        """Where each agent's marker is: (X, height + MARKER_LIFT, Z) per row, with (X, Z) the state's
        place on the surface (`Environment.surface_coords`: x and v for the point mass)."""
        out = np.empty((table.n, 3))
        out[:, 0], out[:, 2] = surface_coords(table.state)
        out[:, 1] = table.height + MARKER_LIFT
        return out

    def offsets_for(self, table: AgentTable) -> np.ndarray:
        """Template offsets per row (n, k, 3): rotated by theta for differential drive, training agent larger."""
        n = table.n
        scale = np.ones(n)
        if table.training_row >= 0:
            scale[table.training_row] = TRAINING_SCALE
        if not self.heading:
            return self.offsets[None, :, :] * scale[:, None, None]
        theta = table.state[:, 2]
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        ox, oy, oz = self.offsets[:, 0][None, :], self.offsets[:, 1][None, :], self.offsets[:, 2][None, :]
        out = np.empty((n, self.k, 3))
        # local +X (the nose) maps to world (cos theta, 0, sin theta): state y is world Z
        out[..., 0] = c * ox - s * oz
        out[..., 1] = oy
        out[..., 2] = s * ox + c * oz
        return out * scale[:, None, None]

    def sync(self, table: AgentTable, surface_coords: Callable) -> None:
        n = table.n
        if n > self.capacity:
            cap = max(16, self.capacity)
            while cap < n:
                cap *= 2
            self.vdata.setNumRows(cap * self.k)
            self.capacity = cap
            self._modes = np.zeros(0, dtype=np.int8)  # force colours
        if n != self.n:
            self.prim.clearVertices()
            if n:
                self.prim.addConsecutiveVertices(0, n * self.k)
            self.n = n
        if n == 0:
            return
        pos = positions(self.vdata)[: n * self.k].reshape(n, self.k, 3)
        pos[:] = self.centres(table, surface_coords)[:, None, :] + self.offsets_for(table)
        mode = table.mode
        if self._modes.shape != mode.shape or self._training_row != table.training_row or not np.array_equal(self._modes, mode):
            self._write_colors(table, n)
            self._modes = mode.copy()
            self._training_row = table.training_row

    def _write_colors(self, table: AgentTable, n: int) -> None:
        rows = np.arange(n)
        base = mode_colors8(table.mode, rows == table.training_row).astype(np.float32)  # (n, 4)
        col = colors(self.vdata)[: n * self.k].reshape(n, self.k, 4)
        shaded = base[:, None, :3] * self.shade[None, :, None]
        col[..., :3] = np.clip(np.rint(shaded), 0, 255).astype(np.uint8)
        col[..., 3] = 255
