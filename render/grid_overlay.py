"""The grid overlay on the surface: its lines and a small cross at every node, one GeomLines (one draw call)."""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomLines, NodePath, TransparencyAttrib

from components.critic_surface import CriticSurface
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions, rgba8

LINE_RGBA = (0.08, 0.08, 0.12, 0.55)
NODE_RGBA = (1.0, 1.0, 1.0, 0.9)
LIFT = 0.012  # above the surface, so the lines are not buried in it
NODE_HALF = 0.06  # half-size of a node's cross


class GridOverlay:
    def __init__(self, parent: NodePath, surface: CriticSurface) -> None:
        g = self.size = surface.size
        nodes = g * g
        # vertices: the g*g nodes (for lines), then 4 per node for the crosses
        self.vdata = new_vertex_data("grid-overlay", nodes * 5)
        a, b = surface.grid_points()
        d = NODE_HALF
        pos = positions(self.vdata)
        pos[:nodes, 0], pos[:nodes, 2] = a.ravel(), b.ravel()
        cross = pos[nodes:].reshape(nodes, 4, 3)
        for c, (dx, dz) in enumerate(((-d, -d), (d, d), (-d, d), (d, -d))):
            cross[:, c, 0] = a.ravel() + dx
            cross[:, c, 2] = b.ravel() + dz
        col = colors(self.vdata)
        col[:nodes] = rgba8(LINE_RGBA)
        col[nodes:] = rgba8(NODE_RGBA)
        node = np.arange(nodes).reshape(g, g)
        along_i = np.stack([node[:-1, :].ravel(), node[1:, :].ravel()], axis=1)
        along_j = np.stack([node[:, :-1].ravel(), node[:, 1:].ravel()], axis=1)
        crosses = (nodes + np.arange(nodes)[:, None] * 4 + np.array([0, 1, 2, 3])[None, :]).reshape(-1, 2)
        pairs = np.concatenate([along_i, along_j, crosses]).astype(np.uint32).ravel()
        self.prim = GeomLines(Geom.UH_static)
        self.prim.setIndexType(Geom.NT_uint32)
        indices(self.prim, pairs.size)[:] = pairs
        self.nodepath, self.geom = geom_node(parent, "grid-overlay", self.vdata, self.prim)
        self.nodepath.setTransparency(TransparencyAttrib.M_alpha)
        self.nodepath.setLightOff()
        self.nodepath.setRenderModeThickness(1.0)
        self.version = -1
        self.sync(surface)

    def sync(self, surface: CriticSurface) -> bool:
        if surface.version == self.version:
            return False
        h = surface.heights.ravel() + LIFT
        pos = positions(self.vdata)
        nodes = self.size * self.size
        pos[:nodes, 1] = h
        pos[nodes:, 1] = np.repeat(h, 4)
        self.version = surface.version
        return True

    def set_visible(self, on: bool) -> None:
        self.nodepath.show() if on else self.nodepath.hide()
