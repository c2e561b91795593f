"""Panda3D vertex and index arrays written through numpy views (no Python lists of Vec3).

Positions and colours live in separate arrays, so an unchanged colour array is not re-uploaded
(Panda uploads a whole modified array). Views must be taken again every frame: `modifyArray`
is what tells Panda the data changed, and it may hand back a new buffer (copy on write).
"""
from __future__ import annotations

import numpy as np
from panda3d.core import (
    Geom,
    GeomNode,
    GeomPrimitive,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    NodePath,
)

_FORMATS: dict[str, GeomVertexFormat] = {}


def vertex_format(color: str = "uint8") -> GeomVertexFormat:
    """Two arrays: float32 x3 positions, and RGBA colours as uint8 (default) or float32."""
    if color not in _FORMATS:
        pos = GeomVertexArrayFormat()
        pos.addColumn(InternalName.getVertex(), 3, Geom.NT_float32, Geom.C_point)
        col = GeomVertexArrayFormat()
        ctype = Geom.NT_uint8 if color == "uint8" else Geom.NT_float32
        col.addColumn(InternalName.getColor(), 4, ctype, Geom.C_color)
        fmt = GeomVertexFormat()
        fmt.addArray(pos)
        fmt.addArray(col)
        _FORMATS[color] = GeomVertexFormat.registerFormat(fmt)
    return _FORMATS[color]


def new_vertex_data(name: str, rows: int, color: str = "uint8", dynamic: bool = True) -> GeomVertexData:
    vdata = GeomVertexData(name, vertex_format(color), Geom.UH_dynamic if dynamic else Geom.UH_static)
    vdata.setNumRows(int(rows))
    return vdata


def positions(vdata: GeomVertexData) -> np.ndarray:
    """Writable (rows, 3) float32 view of the positions; marks them modified."""
    return np.frombuffer(memoryview(vdata.modifyArray(0)), dtype=np.float32).reshape(-1, 3)


def colors(vdata: GeomVertexData) -> np.ndarray:
    """Writable (rows, 4) view of the colours (uint8 or float32, as the format says); marks them modified."""
    arr = vdata.modifyArray(1)
    dtype = np.uint8 if arr.getArrayFormat().getColumn(0).getNumericType() == Geom.NT_uint8 else np.float32
    return np.frombuffer(memoryview(arr), dtype=dtype).reshape(-1, 4)


def read_positions(vdata: GeomVertexData) -> np.ndarray:
    """A copy of the positions as Panda holds them (for tests and checks)."""
    return np.frombuffer(memoryview(vdata.getArray(0)), dtype=np.float32).reshape(-1, 3).copy()


def read_colors(vdata: GeomVertexData) -> np.ndarray:
    arr = vdata.getArray(1)
    dtype = np.uint8 if arr.getArrayFormat().getColumn(0).getNumericType() == Geom.NT_uint8 else np.float32
    return np.frombuffer(memoryview(arr), dtype=dtype).reshape(-1, 4).copy()


def indices(prim: GeomPrimitive, count: int) -> np.ndarray:
    """Writable uint32 view of a primitive's index array, resized to `count` entries."""
    handle = prim.modifyVertices()
    if handle.getNumRows() != count:
        handle.setNumRows(int(count))
    if count == 0:
        return np.zeros(0, dtype=np.uint32)
    return np.frombuffer(memoryview(handle), dtype=np.uint32)


def read_indices(prim: GeomPrimitive) -> np.ndarray:
    handle = prim.getVertices()
    if handle is None or handle.getNumRows() == 0:
        return np.zeros(0, dtype=np.uint32)
    return np.frombuffer(memoryview(handle), dtype=np.uint32).copy()


def rgba8(rgba: np.ndarray) -> np.ndarray:
    """Float colours in [0, 1] to uint8."""
    return np.clip(np.rint(np.asarray(rgba) * 255.0), 0, 255).astype(np.uint8)


def geom_node(parent: NodePath, name: str, vdata: GeomVertexData, prim: GeomPrimitive) -> tuple[NodePath, Geom]:
    """A GeomNode with one Geom (one draw call) under `parent`."""
    geom = Geom(vdata)
    geom.addPrimitive(prim)
    node = GeomNode(name)
    node.addGeom(geom)
    return parent.attachNewNode(node), geom


def live_geom(nodepath: NodePath, index: int = 0) -> Geom:
    """The Geom actually in the scene graph (after copy-on-write), for reading back in tests."""
    return nodepath.node().getGeom(index)
