"""Agent markers: every agent in one Geom (one draw call), coloured by mode.

Each agent is a small solid from a template (an octahedron for the point mass; a dart pointing
along theta for differential drive, so heading shows), placed by numpy broadcasting at
(x, height + MARKER_LIFT, v). The training agent's solid is larger. The policy cohort's agents are
larger cubes (with a heading: larger darts) with black edges (render.cohort_style): every row has
the same number of vertices (the smaller template is padded with degenerate triangles), the
cohort's rows get their template in one fancy-indexed write, and `CohortOutline` draws the edges
of all of them in one more Geom. Faces carry a fixed shade so the solids read as 3-D without
lights; the shaded colours come from a lookup table per template and mode.

Above MARKER_POINTS_ABOVE agents each marker is one square point of POINT_PX pixels instead (and
the training agent one of TRAINING_POINT_PX in a second Geom): at 10 000 agents the solids'
240 000 vertices cost more to place and to rasterise than the rest of the frame, while a marker
on screen is then only a few pixels wide anyway. Heading is not drawn in that mode; the cohort's
edges still are.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from panda3d.core import Geom, GeomLines, GeomPoints, GeomTriangles, NodePath, OmniBoundingVolume

from components.agent_table import AgentTable
from render.cohort_style import COHORT_SCALE, CUBE, CUBE_EDGES, OUTLINE_PX, OUTLINE_RGBA, is_cohort, solid_edges
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions, rgba8
from systems.trails import MARKER_LIFT

MARKER_RADIUS = 0.10
TRAINING_SCALE = 1.8
MARKER_POINTS_ABOVE = 2000  # agents; more are drawn as points
POINT_PX, TRAINING_POINT_PX = 4.0, 9.0

OCTAHEDRON = (
    np.array([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], dtype=np.float64),
    [(2, 0, 4), (2, 4, 1), (2, 1, 5), (2, 5, 0), (3, 4, 0), (3, 1, 4), (3, 5, 1), (3, 0, 5)],
)
# nose along +X (theta = 0); flat enough to read the heading from above
DART = (
    np.array([(1.9, 0, 0), (-0.9, 0, 1.0), (-0.9, 0, -1.0), (-0.5, 0.55, 0), (-0.5, -0.35, 0)], dtype=np.float64),
    [(0, 3, 1), (0, 2, 3), (0, 1, 4), (0, 4, 2), (1, 3, 2), (1, 2, 4)],
)


def expand_template(points: np.ndarray, faces: list[tuple[int, int, int]], flat: bool = False
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(offsets (3F, 3), shade (3F,)): one vertex per face corner, shaded by the face's direction:
    its centre's direction from the solid's, or with `flat` the triangle's own normal turned
    outwards (so the two triangles of a cube's face share one shade)."""
    offsets = np.array([points[i] for face in faces for i in face], dtype=np.float64)
    shade = []
    for a, b, c in faces:
        normal = (points[a] + points[b] + points[c]) / 3.0  # outward for solids around the origin
        if flat:
            cross = np.cross(points[b] - points[a], points[c] - points[a])
            normal = cross if np.dot(cross, normal) > 0 else -cross
        normal /= np.linalg.norm(normal)
        light = 0.55 + 0.35 * max(normal[1], 0.0) + 0.15 * max(-normal[2], 0.0) + 0.1 * max(normal[0], 0.0)
        shade += [min(light, 1.0)] * 3
    return offsets, np.array(shade)


def _padded(offsets: np.ndarray, shade: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A template padded to k vertices with degenerate triangles at the centre (they draw nothing)."""
    pad = k - len(offsets)
    return np.vstack([offsets, np.zeros((pad, 3))]), np.concatenate([shade, np.ones(pad)])


def _rotate(offsets: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Offsets (n, k, 3) turned about the vertical by each row's theta: local +X (the nose) maps to
    world (cos theta, 0, sin theta) (state y is world Z)."""
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    ox, oy, oz = offsets[..., 0], offsets[..., 1], offsets[..., 2]
    out = np.empty(offsets.shape)
    out[..., 0] = c * ox - s * oz
    out[..., 1] = oy
    out[..., 2] = s * ox + c * oz
    return out


class AgentMarkers:
    def __init__(self, parent: NodePath, heading: bool, radius: float = MARKER_RADIUS) -> None:
        learner = DART if heading else OCTAHEDRON
        cohort = DART if heading else CUBE
        lo, lshade = expand_template(*learner)
        co, cshade = expand_template(*cohort, flat=not heading)
        self.k = k = max(len(lo), len(co))
        lo, lshade = _padded(lo, lshade, k)
        co, cshade = _padded(co, cshade, k)
        self.offsets = lo * radius  # (k, 3), relative to the marker's centre: a learner's solid
        self.cohort_offsets = co * radius * COHORT_SCALE  # the policy cohort's solid
        self.shade = lshade
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
        self._groups = np.zeros(0, dtype=np.int8)
        self._training_row = -2
        self._offsets32 = self.offsets.astype(np.float32)
        self._cohort32 = self.cohort_offsets.astype(np.float32)
        # shaded colours per (template, colour index) and vertex: colour indices are the modes, then the
        # certified training agent; the cohort's block follows the learners'
        base = np.vstack([mode_colors8(np.arange(3, dtype=np.int8)), mode_colors8(np.zeros(1, np.int8), np.ones(1, bool))])
        lut = np.empty((2, base.shape[0], k, 4), dtype=np.uint8)
        for t, shade in enumerate((lshade, cshade)):
            lut[t, ..., :3] = np.clip(np.rint(base[:, None, :3].astype(np.float32) * shade[None, :, None]), 0, 255)
        lut[..., 3] = 255
        self._lut = lut.reshape(-1, k, 4)
        self._colours_per_template = base.shape[0]
        self.points = _PointMarkers(parent)
        self.points_mode = False
        self.outline = CohortOutline(parent, cohort, radius * COHORT_SCALE, heading)

    @staticmethod
    def centres(table: AgentTable, surface_coords: Callable) -> np.ndarray:
        """Where each agent's marker is: (X, height + MARKER_LIFT, Z) per row, with (X, Z) the state's
        place on the surface (`Environment.surface_coords`: x and v for the point mass)."""
        out = np.empty((table.n, 3))
        out[:, 0], out[:, 2] = surface_coords(table.state)
        out[:, 1] = table.height + MARKER_LIFT
        return out

    @staticmethod
    def centres_of(table: AgentTable, surface_coords: Callable, row: int) -> np.ndarray:
        """One row's marker centre (3,)."""
        height = float(table.height[row]) if table.has_column("height") else 0.0
        x, z = surface_coords(table.state[row:row + 1])
        return np.array([float(x[0]), height + MARKER_LIFT, float(z[0])])

    def offsets_for(self, table: AgentTable) -> np.ndarray:
        """Template offsets per row (n, k, 3): the cohort's solid for its rows, the training agent
        larger, rotated by theta for differential drive."""
        n = table.n
        out = np.broadcast_to(self.offsets, (n, self.k, 3)).copy()
        cohort = is_cohort(table)
        if cohort is not None:
            out[cohort] = self.cohort_offsets
        if 0 <= table.training_row < n:
            out[table.training_row] *= TRAINING_SCALE
        return _rotate(out, table.state[:, 2]) if self.heading else out

    def sync(self, table: AgentTable, surface_coords: Callable) -> None:
        points = table.n > MARKER_POINTS_ABOVE
        if points != self.points_mode:
            self.points_mode = points
            self.points.set_visible(points)
            self.nodepath.show() if not points else self.nodepath.hide()
            self._modes = np.zeros(0, dtype=np.int8)  # colours again when the solids come back
        centres = self.centres(table, surface_coords)
        cohort = is_cohort(table)
        self.outline.sync(centres, cohort, table.state[:, 2] if self.heading else None)
        if points:
            self.points.sync(table, centres)
            return
        self._sync_solids(table, centres, cohort)

    def _sync_solids(self, table: AgentTable, centres: np.ndarray, cohort: np.ndarray | None) -> None:
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
        centres = centres.astype(np.float32)
        if self.heading:
            pos[:] = centres[:, None, :] + self.offsets_for(table)
        else:
            np.add(centres[:, None, :], self._offsets32[None, :, :], out=pos)
            if cohort is not None:  # a few rows: their own solid
                rows = np.flatnonzero(cohort)
                pos[rows] = centres[rows, None, :] + self._cohort32[None, :, :]
            tr = table.training_row
            if 0 <= tr < n:
                pos[tr] = centres[tr] + self._offsets32 * TRAINING_SCALE
        mode = table.mode
        group = table.group if table.has_column("group") else np.zeros(n, np.int8)
        if (self._modes.shape != mode.shape or self._training_row != table.training_row
                or not np.array_equal(self._modes, mode) or not np.array_equal(self._groups, group)):
            self._write_colors(table, n, cohort)
            self._modes = mode.copy()
            self._groups = group.copy()
            self._training_row = table.training_row

    def _write_colors(self, table: AgentTable, n: int, cohort: np.ndarray | None) -> None:
        index = table.mode.astype(np.intp)
        tr = table.training_row
        if 0 <= tr < n and index[tr] == 0:
            index[tr] = 3  # the certified training agent's own colour
        if cohort is not None:
            index[cohort] += self._colours_per_template  # the cohort template's shading
        np.take(self._lut, index, axis=0, out=colors(self.vdata)[: n * self.k].reshape(n, self.k, 4))


class CohortOutline:
    """The edges of every cohort marker in one GeomLines (one draw call; hidden without a cohort)."""

    def __init__(self, parent: NodePath, template, size: float, heading: bool) -> None:  # noqa: ANN001
        points, faces = template
        edges = CUBE_EDGES if template is CUBE else solid_edges(faces)
        ends = np.array([points[i] for edge in edges for i in edge], dtype=np.float64) * size
        self.ends = ends * 1.01  # just outside the faces, so the edges are not hidden by them
        self.e = len(self.ends)  # vertices per marker (two per edge)
        self.heading = heading
        self.vdata = new_vertex_data("cohort-outline", 0)
        self.prim = GeomLines(Geom.UH_dynamic)
        self.prim.setIndexType(Geom.NT_uint32)
        self.nodepath, self.geom = geom_node(parent, "cohort-outline", self.vdata, self.prim)
        self.nodepath.setRenderModeThickness(OUTLINE_PX)
        self.nodepath.setLightOff()
        self.nodepath.node().setBounds(OmniBoundingVolume())
        self.nodepath.node().setFinal(True)
        self.rows = 0  # cohort markers drawn
        self.nodepath.hide()

    def sync(self, centres: np.ndarray, cohort: np.ndarray | None, theta: np.ndarray | None) -> None:
        if cohort is None:
            if self.rows:
                self.rows = 0
                indices(self.prim, 0)
                self.nodepath.hide()
            return
        rows = np.flatnonzero(cohort)
        m = rows.size
        if self.vdata.getNumRows() < m * self.e:
            self.vdata.setNumRows(max(m * self.e, 2 * self.vdata.getNumRows()))
            colors(self.vdata)[:] = rgba8(OUTLINE_RGBA)
        ends = np.broadcast_to(self.ends, (m, self.e, 3))
        if self.heading:
            ends = _rotate(ends, theta[rows])
        positions(self.vdata)[: m * self.e] = (centres[rows, None, :] + ends).reshape(-1, 3)
        if m != self.rows:
            indices(self.prim, m * self.e)[:] = np.arange(m * self.e, dtype=np.uint32)
            self.rows = m
            self.nodepath.show()


class _PointMarkers:
    """Every agent as a square point (one Geom), the training agent as a larger one (a second Geom)."""

    def __init__(self, parent: NodePath) -> None:
        self.vdata = new_vertex_data("marker-points", 0)
        self.prim = GeomPoints(Geom.UH_dynamic)
        self.nodepath, _ = geom_node(parent, "marker-points", self.vdata, self.prim)
        self.train_vdata = new_vertex_data("training-point", 1)
        train_prim = GeomPoints(Geom.UH_static)
        train_prim.addVertex(0)
        self.train_np, _ = geom_node(parent, "training-point", self.train_vdata, train_prim)
        for np_, px in ((self.nodepath, POINT_PX), (self.train_np, TRAINING_POINT_PX)):
            np_.setRenderModeThickness(px)
            np_.setLightOff()
            np_.node().setBounds(OmniBoundingVolume())
            np_.node().setFinal(True)
        self.n = 0
        self.set_visible(False)

    def set_visible(self, on: bool) -> None:
        for np_ in (self.nodepath, self.train_np):
            np_.show() if on else np_.hide()

    def sync(self, table: AgentTable, centres: np.ndarray) -> None:
        n = table.n
        if self.vdata.getNumRows() < n:
            self.vdata.setNumRows(max(n, 2 * self.vdata.getNumRows()))
        if n != self.n:
            self.prim.clearVertices()
            if n:
                self.prim.addConsecutiveVertices(0, n)
            self.n = n
        positions(self.vdata)[:n] = centres
        rows_training = np.zeros(n, dtype=bool)
        tr = table.training_row
        if 0 <= tr < n:
            rows_training[tr] = True
        colors(self.vdata)[:n] = mode_colors8(table.mode, rows_training)
        if 0 <= tr < n:
            positions(self.train_vdata)[0] = centres[tr]
            colors(self.train_vdata)[0] = mode_colors8(table.mode[tr : tr + 1], np.ones(1, bool))[0]
            self.train_np.show()
        else:
            self.train_np.hide()
