"""Counting the GL draw calls of every frame honestly, from Panda3D's PStats "Primitive batches".

PStats levels are only tracked while a PStats client is connected, so a dummy TCP listener in
this process accepts the connection and discards the bytes. The GSG flushes its batch counts at
the end of each frame and the frame loop clears them right after, so they are read from the draw
callback of a tiny texture buffer that renders after the main window.
"""
from __future__ import annotations

import socket
import threading

from panda3d.core import CallbackObject, Camera, NodePath, PStatClient, PStatCollector

BATCH_COLLECTORS = (
    "Primitive batches:Triangles",
    "Primitive batches:Triangle strips",
    "Primitive batches:Triangle fans",
    "Primitive batches:Other",
)


class _Sink:
    """A TCP server that accepts PStats connections and throws their bytes away."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, name="pstats-sink", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    @staticmethod
    def _drain(conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    if not conn.recv(65536):
                        return
                except OSError:
                    return


class DrawCallCounter:
    """After every rendered frame, `last` holds that frame's draw calls; `on_frame(count)` is called."""

    _sink: "_Sink | None" = None

    def __init__(self, base, on_frame=None) -> None:  # noqa: ANN001
        if not PStatClient.isConnected():
            DrawCallCounter._sink = _Sink()  # one per process, like the PStats client
            if not PStatClient.connect("127.0.0.1", DrawCallCounter._sink.port):
                raise RuntimeError("could not connect the PStats client to the in-process sink")
        self._collectors = [PStatCollector(name) for name in BATCH_COLLECTORS]
        self._data = PStatCollector("Data transferred")
        self.last = -1
        self.last_bytes = -1
        self.frames = 0
        self._on_frame = on_frame
        self._buffer = base.win.makeTextureBuffer("draw-call-counter", 4, 4)
        self._buffer.setSort(base.win.getSort() + 10**6)
        region = self._buffer.makeDisplayRegion()
        region.setCamera(NodePath("draw-call-counter").attachNewNode(Camera("draw-call-counter")))
        region.setDrawCallback(CallbackObject.make(self._read))

    def close(self) -> None:
        """Stop counting: remove the counting buffer (the PStats connection stays for a later counter)."""
        if self._buffer is not None:
            self._buffer.getEngine().removeWindow(self._buffer)
            self._buffer = None

    def _read(self, cbdata) -> None:  # noqa: ANN001
        self.last = int(round(sum(c.getLevel() for c in self._collectors)))
        self.last_bytes = int(self._data.getLevel())
        self.frames += 1
        if self._on_frame is not None:
            self._on_frame(self.last)
        cbdata.upcall()
