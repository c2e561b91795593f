"""Video of the view (`--record out.mp4`): H.264 in MP4 through PyAV, encoded on a worker thread.

The render loop hands over each frame's pixels (a copy, bottom row first as OpenGL reads them)
with the wall-clock time it was rendered at; a worker thread flips, converts and encodes them.
PyAV releases the GIL while libx264 and the colour conversion run, so the loop pays only for the
capture and a queue put. Timestamps are the frames' real times (a variable frame rate, in
milliseconds), so the video plays at the view's own frame rate, whatever it was. The queue is
bounded: if the encoder falls behind, the loop waits instead of dropping frames, so the file
holds every rendered frame. The file is written under a temporary name beside the target and
renamed when it is complete; a failed write is reported, never raised into the frame loop.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

QUEUE_FRAMES = 8  # frames waiting for the encoder at most (8 x 1280 x 720 x 4 bytes = 30 MB)
CRF = 23
PRESET = "veryfast"
TIME_BASE = Fraction(1, 1000)  # timestamps in milliseconds
VIDEO_EXTRA = "pip install -e '.[video]' (PyAV)"


def video_library_error() -> str | None:
    """None if PyAV with an H.264 encoder is importable, else what to do about it."""
    try:
        import av
    except ImportError:
        return f"recording needs PyAV: {VIDEO_EXTRA}"
    if "libx264" not in av.codecs_available:
        return "this PyAV build has no libx264 (H.264) encoder"
    return None


class VideoWriter:
    """Frames (H x W x 4 BGRA uint8, bottom row first) in, an H.264 MP4 out."""

    def __init__(self, path: str | Path, width: int, height: int, *, preset: str = PRESET, crf: int = CRF) -> None:
        import av

        self.path = Path(path)
        # H.264 with 4:2:0 chroma needs even sizes: an odd last row / column is left out
        self.width, self.height = int(width) // 2 * 2, int(height) // 2 * 2
        if self.width < 2 or self.height < 2:
            raise ValueError(f"frame size {width} x {height} is too small to record")
        self.partial = self.path.with_name(f".{self.path.name}.partial")
        self._container = av.open(str(self.partial), mode="w", format="mp4")
        stream = self._container.add_stream("libx264")
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.codec_context.options = {"preset": preset, "crf": str(crf)}
        self._stream = stream
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._start: float | None = None
        self._last_pts = -1
        self.frames_in = 0  # handed to the writer
        self.frames_written = 0  # encoded
        self.wait_seconds = 0.0  # time the loop waited for a free queue slot (the encoder was behind)
        self.error: str | None = None
        self.closed = False
        self.duration_s = 0.0
        self._thread = threading.Thread(target=self._run, name="video-writer", daemon=True)
        self._thread.start()

    # -- the loop's side -----------------------------------------------------------------------
    def add(self, pixels: np.ndarray, when: float | None = None) -> bool:
        """Queue one frame rendered at `when` (perf_counter seconds; now if None). False once the
        writer has failed (the frame is dropped and the error kept in `error`)."""
        if self.error is not None or self.closed:
            return False
        now = time.perf_counter() if when is None else when
        if self._start is None:
            self._start = now
        pts = max(int(round((now - self._start) * 1000.0)), self._last_pts + 1)  # strictly increasing
        self._last_pts = pts
        t0 = time.perf_counter()
        while True:
            try:
                self._queue.put((pts, pixels), timeout=0.5)
                break
            except queue.Full:
                if self.error is not None or not self._thread.is_alive():
                    return False
        self.wait_seconds += time.perf_counter() - t0
        self.frames_in += 1
        return True

    def close(self) -> str | None:
        """Finish the file (flush the encoder, rename into place); returns an error or None."""
        if self.closed:
            return self.error
        self.closed = True
        self._queue.put(None)
        self._thread.join()
        try:
            self._container.close()
        except Exception as exc:  # noqa: BLE001 - the disk filled up while closing, say
            self.error = self.error or f"could not finish {self.path} ({exc})"
        if self.error is None:
            try:
                os.replace(self.partial, self.path)
            except OSError as exc:
                self.error = f"could not move the video into {self.path} ({exc.strerror or exc})"
        if self.error is not None and self.partial.exists():
            self.partial.unlink()
        self.duration_s = (self._last_pts + 1) / 1000.0 if self._last_pts >= 0 else 0.0
        return self.error

    # -- the worker's side ---------------------------------------------------------------------
    def _run(self) -> None:
        import av

        stream, container = self._stream, self._container
        while True:
            item = self._queue.get()
            if item is None:
                break
            if self.error is not None:
                continue  # keep draining so the loop never blocks on a dead writer
            pts, pixels = item
            try:
                top_first = pixels[::-1, : self.width]
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(top_first[: self.height]), format="bgra")
                frame.pts = pts
                frame.time_base = TIME_BASE
                for packet in stream.encode(frame):
                    container.mux(packet)
                self.frames_written += 1
            except Exception as exc:  # noqa: BLE001 - a full disk, say: report, keep the run going
                self.error = f"video not written to {self.path} ({type(exc).__name__}: {exc})"
        if self.error is None:
            try:
                for packet in stream.encode():
                    container.mux(packet)
            except Exception as exc:  # noqa: BLE001
                self.error = f"video not written to {self.path} ({type(exc).__name__}: {exc})"

    @property
    def mean_fps(self) -> float:
        return self.frames_written / self.duration_s if self.duration_s > 0 else 0.0


def probe_video(path: str | Path) -> dict:
    """Decode a video completely: frames, size, codec and duration (for tests and the benchmark)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        frames = 0
        first = last = None
        size = (stream.codec_context.width, stream.codec_context.height)
        for frame in container.decode(video=0):
            if first is None:
                first = frame.to_ndarray(format="rgb24")
            t = float(frame.pts * frame.time_base) if frame.pts is not None else None
            last = t
            frames += 1
    return {"frames": frames, "codec": codec, "width": size[0], "height": size[1], "last_time_s": last,
            "first_frame": first}
