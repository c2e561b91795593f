"""The critic surface as one triangle mesh: G x G vertices with per-vertex banded colours, alpha 0.6.

The index array is built once; on a refresh of the CriticSurface only the heights (the Y
column) and the colours are written, through numpy views.
"""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomTriangles, NodePath, TransparencyAttrib

from components.critic_surface import CriticSurface
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions


def grid_triangles(size: int) -> np.ndarray:
    """Two triangles per cell of a size x size vertex grid (vertex [i, j] is i * size + j)."""
    i, j = np.meshgrid(np.arange(size - 1), np.arange(size - 1), indexing="ij")
    v00 = (i * size + j).ravel()
    v10 = v00 + size
    v01 = v00 + 1
    v11 = v10 + 1
    return np.stack([v00, v10, v11, v00, v11, v01], axis=1).astype(np.uint32).ravel()


class SurfaceMesh:
    def __init__(self, parent: NodePath, surface: CriticSurface) -> None:
        g = surface.size
        self.size = g
        self.vdata = new_vertex_data("critic-surface", g * g, color="float32")
        a, b = surface.grid_points()
        pos = positions(self.vdata)
        pos[:, 0] = a.ravel()
        pos[:, 2] = b.ravel()
        self.prim = GeomTriangles(Geom.UH_static)
        self.prim.setIndexType(Geom.NT_uint32)
        tris = grid_triangles(g)
        indices(self.prim, tris.size)[:] = tris
        self.nodepath, self.geom = geom_node(parent, "critic-surface", self.vdata, self.prim)
        self.nodepath.setTransparency(TransparencyAttrib.M_alpha)
        self.nodepath.setTwoSided(True)
        self.nodepath.setDepthWrite(False)  # see the agents and trails through it
        self.nodepath.setLightOff()
        self.version = -1
        self.sync(surface)

    def sync(self, surface: CriticSurface) -> bool:
        """Write heights and colours if the surface was refreshed; True if it wrote."""
        if surface.version == self.version:
            return False
        positions(self.vdata)[:, 1] = surface.heights.ravel()
        colors(self.vdata)[:] = surface.colors.reshape(-1, 4)
        self.version = surface.version
        return True

    def set_visible(self, on: bool) -> None:
        self.nodepath.show() if on else self.nodepath.hide()
