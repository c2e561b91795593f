"""A preallocated replay buffer: one packed float32 array, shared with torch without copies.

Each row is `[s, a, r, s', not_done]`. The numpy storage and the torch tensor used for sampling
are the same memory (`torch.from_numpy`), so adding a transition is a numpy row write and a
sample is one `index_select` that yields the whole batch.

Only finite transitions get in: `add` refuses a row holding NaN or inf (and says so), and
`add_batch` drops such rows, so a diverging actor can never poison what TD3 learns from.

Writes, samples and checkpoints hold the buffer's `lock`, so a learner on another thread
(rl.background_learner) never samples a row while it is being written: every sampled row is a
whole transition. Uncontended, the lock costs well under a microsecond per call.
"""
from __future__ import annotations

import threading

import numpy as np
import torch


class ReplayBuffer:
    """Ring buffer of transitions (oldest overwritten once full)."""

    def __init__(self, state_dim: int, action_dim: int, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"replay capacity must be >= 1, got {capacity}")
        self.state_dim = int(state_dim)
        self.action_dim = int(action_dim)
        self.capacity = int(capacity)
        sd, ad = self.state_dim, self.action_dim
        self.width = 2 * sd + ad + 2
        self.data = np.zeros((self.capacity, self.width), dtype=np.float32)
        self.tensor = torch.from_numpy(self.data)  # same memory
        self._staging = np.zeros(self.width, dtype=np.float32)
        # column slices of a row: s | a | r | s' | not_done
        self.s = slice(0, sd)
        self.a = slice(sd, sd + ad)
        self.r = sd + ad
        self.s2 = slice(sd + ad + 1, 2 * sd + ad + 1)
        self.not_done = 2 * sd + ad + 1
        self.head = 0  # next row to write
        self.size = 0
        self.lock = threading.Lock()  # held while rows are written, sampled or copied out

    def __len__(self) -> int:
        return self.size

    def add(self, s: np.ndarray, a: np.ndarray, r: float, s2: np.ndarray, terminated: bool) -> bool:
        """Store one transition; False (and nothing stored) if any of its values is not finite."""
        row = self._staging  # checked before it may overwrite the oldest row of a full buffer
        with np.errstate(over="ignore", invalid="ignore"):  # a value beyond float32 becomes inf: refused below
            row[self.s] = s
            row[self.a] = a
            row[self.r] = r
            row[self.s2] = s2
        if not np.isfinite(row.sum()):
            return False
        row[self.not_done] = 0.0 if terminated else 1.0
        with self.lock:
            self.data[self.head] = row
            self.head = (self.head + 1) % self.capacity
            self.size = min(self.size + 1, self.capacity)
        return True

    def add_batch(self, s: np.ndarray, a: np.ndarray, r: np.ndarray, s2: np.ndarray, terminated: np.ndarray) -> int:
        """Add k transitions at once (rows wrap around the ring); returns how many non-finite rows were dropped."""
        if len(r) == 0:
            return 0
        with np.errstate(over="ignore", invalid="ignore"):  # as stored: beyond float32 is inf
            s, a, s2 = (np.asarray(x, dtype=np.float32).reshape(len(r), -1) for x in (s, a, s2))
            r = np.asarray(r, dtype=np.float32)
        terminated = np.asarray(terminated)
        ok = np.isfinite(s).all(axis=1) & np.isfinite(a).all(axis=1) & np.isfinite(r) & np.isfinite(s2).all(axis=1)
        dropped = int(len(r) - ok.sum())
        if dropped:
            s, a, r, s2, terminated = s[ok], a[ok], r[ok], s2[ok], terminated[ok]
        k = len(r)
        if k == 0:
            return dropped
        if k > self.capacity:  # only the newest fit
            s, a, r, s2, terminated = s[-self.capacity:], a[-self.capacity:], r[-self.capacity:], s2[-self.capacity:], terminated[-self.capacity:]
            k = self.capacity
        not_done = 1.0 - np.asarray(terminated, dtype=np.float32)
        with self.lock:
            rows = (self.head + np.arange(k)) % self.capacity
            block = self.data
            block[rows, self.s] = s
            block[rows, self.a] = a
            block[rows, self.r] = r
            block[rows, self.s2] = s2
            block[rows, self.not_done] = not_done
            self.head = int((self.head + k) % self.capacity)
            self.size = min(self.size + k, self.capacity)
        return dropped

    def sample(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """A (batch_size, width) float32 tensor of uniformly drawn rows (with replacement)."""
        with self.lock:
            if self.size == 0:
                raise ValueError("cannot sample from an empty replay buffer")
            idx = torch.randint(0, self.size, (batch_size,), generator=generator)
            return self.tensor.index_select(0, idx)

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The filled rows as laid out in the ring (so sampling resumes identically) and the head."""
        with self.lock:
            return {"rows": torch.from_numpy(self.data[: self.size].copy()), "head": self.head,
                    "capacity": self.capacity, "width": self.width}

    def load_state_dict(self, state: dict) -> None:
        rows = state["rows"].numpy()
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ValueError(f"replay rows have width {rows.shape[-1]}, expected {self.width}")
        head, capacity, size = state["head"], state["capacity"], len(rows)
        for name, value in (("head", head), ("capacity", capacity)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"damaged: the replay buffer's {name} is {value!r}, not a whole number")
        # rows fill the ring in order: until it is full the head is the row count, then it is inside the ring
        if not (1 <= capacity and size <= capacity and 0 <= head < capacity and (size == capacity or head == size)):
            raise ValueError(f"damaged: the replay buffer's head {head} does not fit its {size} rows "
                             f"of capacity {capacity}")
        with self.lock:
            self.data[:] = 0.0
            if int(state["capacity"]) == self.capacity and size <= self.capacity:
                self.data[:size] = rows
                self.size, self.head = size, head % self.capacity
                return
            # a different capacity: replay the rows oldest first, keeping the newest that fit
            ordered = np.concatenate([rows[head:], rows[:head]]) if size and head < size else rows
            keep = ordered[-self.capacity:]
            self.data[: len(keep)] = keep
            self.size = len(keep)
            self.head = self.size % self.capacity
