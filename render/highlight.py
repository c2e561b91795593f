"""The inspected agent on screen: its whole trail, thick and outlined, drawn over everything, and a pin
above its marker.

Two Geoms share one vertex array (the trail's live points in time order, then the pin's two
ends): a wide dark outline and, over it, the trail in its mode colours, so the highlighted trail
keeps its meaning and stands out from the others and from the surface. Two draw calls whatever
the number of agents; rewritten every frame from the table's ring buffers of one row.
"""
from __future__ import annotations

import numpy as np
from panda3d.core import Geom, GeomLines, NodePath, OmniBoundingVolume

from components.agent_table import AgentTable
from render.palette import mode_colors8
from render.vertex_arrays import colors, geom_node, indices, new_vertex_data, positions, rgba8
from systems.trails import chronological_slots

OUTLINE_RGBA = (0.0, 0.0, 0.0, 1.0)
PIN_RGBA = (1.0, 0.85, 0.1, 1.0)
PIN_HEIGHT = 0.9
TRAIL_THICKNESS, OUTLINE_THICKNESS = 3.0, 7.0


class SelectionHighlight:
    def __init__(self, parent: NodePath, trail_len: int) -> None:
        self.L = int(trail_len)
        self.vdata = new_vertex_data("selection", self.L + 2)
        self.root = parent.attachNewNode("selection-highlight")
        self.outline_prim = GeomLines(Geom.UH_dynamic)
        self.outline_prim.setIndexType(Geom.NT_uint32)
        self.trail_prim = GeomLines(Geom.UH_dynamic)
        self.trail_prim.setIndexType(Geom.NT_uint32)
        self.outline_np, _ = geom_node(self.root, "selection-outline", self.vdata, self.outline_prim)
        self.trail_np, _ = geom_node(self.root, "selection-trail", self.vdata, self.trail_prim)
        self.outline_np.setRenderModeThickness(OUTLINE_THICKNESS)
        self.trail_np.setRenderModeThickness(TRAIL_THICKNESS)
        self.outline_np.setColorScale(0, 0, 0, 1)  # the outline: black, whatever the vertex colours
        for np_, sort in ((self.outline_np, 20), (self.trail_np, 21)):
            np_.setLightOff()
            np_.setDepthTest(False)  # on top of the surface and the other trails
            np_.setDepthWrite(False)
            np_.setBin("fixed", sort)
            np_.node().setBounds(OmniBoundingVolume())
            np_.node().setFinal(True)
        self.root.hide()
        self.points = 0  # trail points drawn (for tests)

    def sync(self, table: AgentTable, row: int, centre: np.ndarray | None) -> None:
        """Draw row `row`'s trail and a pin at `centre`; row < 0 hides the highlight."""
        if row < 0 or row >= table.n or centre is None:
            self.root.hide()
            self.points = 0
            return
        self.root.show()
        L = self.L
        slots, valid = chronological_slots(table.trail_head[row : row + 1], table.trail_len[row : row + 1], L)
        count = int(valid.sum())
        order = slots[0, :count]
        pos = positions(self.vdata)
        col = colors(self.vdata)
        pos[:count] = table.trail_pos[row, order]
        col[:count] = mode_colors8(table.trail_mode[row, order], np.full(count, row == table.training_row))
        pos[L] = centre
        pos[L + 1] = np.asarray(centre) + (0.0, PIN_HEIGHT, 0.0)
        col[L : L + 2] = rgba8(PIN_RGBA)
        seg = np.arange(max(count - 1, 0), dtype=np.uint32)
        pairs = np.concatenate([np.stack([seg, seg + 1], axis=1).ravel(), np.array([L, L + 1], np.uint32)])
        indices(self.outline_prim, pairs.size)[:] = pairs
        indices(self.trail_prim, pairs.size)[:] = pairs
        self.points = count

    def destroy(self) -> None:
        self.root.removeNode()
