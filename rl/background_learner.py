"""The learners that turn collected transitions into TD3 updates: inline, or on a worker thread.

`TrainingSystem` grants each simulation step its updates (`training.train_steps_per_frame`, the
update-to-data ratio: updates per batch of transitions the step collected) with the step's batch
size, and reads the learner's figures back. Two learners take the grant:

- `InlineLearner` runs the updates there and then, inside the frame (deterministic: the same seed
  gives the same run). On the CPU, TD3 trains the acting networks in place, as it always did.
- `BackgroundLearner` hands them to a worker thread that owns TD3 and trains its own copy of the
  networks, so the frame does not wait for them. torch releases the GIL inside its kernels, and
  with one intra-op thread the worker uses the second core while the main thread simulates and
  renders. Not bit-deterministic: which weights act at which step depends on timing.

The background learner's rules:

- **Never ahead of the data.** It runs an update only against a grant; granted minus done is the
  lag, in updates (shown in the HUD and the progress line, with its time at the learner's rate).
- **Behind by at most `max_lag`.** When a grant would take the lag past the bound, the acting side
  either waits for the learner (`when_behind = "wait"`: the ratio is kept exactly, within the
  bound) or drops the excess and counts it (`"skip"`: the frame never waits; the updates missed
  are shown and saved).
- **Never torn weights.** Every `publish_every` updates (and whenever it has caught up) the worker
  copies its weights into a staging copy under a lock (`WeightPublisher`); the main thread copies
  the staging copy into the acting networks (the ones the CALF filter, the critic surface and the
  evaluation read) under the same lock, between simulation steps (`sync`). The acting networks
  change only there, on the main thread, and always to one whole set of weights.
- **Consistent snapshots.** `paused()` lets the worker finish what was granted, then holds it
  between updates: a checkpoint taken inside holds TD3, the replay buffer and the counters of one
  moment, and a restore inside cannot race an update.
- **Stops cleanly.** `stop()` (the system's teardown, on every way a run ends) wakes the worker
  and joins it; the thread is a daemon, so even a hung torch call cannot keep the process alive.
  An exception in the worker is kept and raised on the main thread at the next grant or sync, as
  `LearnerError`, where the run's fault handling reports it.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import torch

from rl.networks import Networks
from rl.replay import ReplayBuffer
from rl.td3 import TD3

WHEN_BEHIND = ("wait", "skip")
#: how long a wait sleeps before it checks that the worker is still alive (seconds)
_POLL_S = 0.05


class LearnerError(RuntimeError):
    """The background learner's thread failed; the message says how (the cause is chained)."""


class WeightPublisher:
    """Copies the learner's weights into the acting networks through a staging copy (a double buffer).

    `stage` (the learner's side) and `sync` (the acting side) each copy whole lists of tensors
    under one lock, so the acting networks only ever hold a complete set of one moment's weights.
    """

    def __init__(self, sources: list[torch.Tensor], targets: list[torch.Tensor]) -> None:
        if len(sources) != len(targets) or any(s.shape != t.shape for s, t in zip(sources, targets)):
            raise ValueError("the learner's and the acting networks' parameters do not match")
        self.sources = sources
        self.targets = targets
        self._staged = [t.detach().clone() for t in targets]  # on the acting side's device (the CPU)
        self._lock = threading.Lock()
        self._staged_seq = 0  # stagings so far
        self._synced_seq = 0  # the staging the acting networks hold
        self.staged_updates = 0  # the learner's update count when the staging copy was written
        self.synced_updates = 0  # ... of the staging the acting networks hold

    @torch.no_grad()
    def stage(self, updates: int) -> None:
        """The learner's current weights into the staging copy (called between updates)."""
        with self._lock:
            torch._foreach_copy_(self._staged, [s.detach() for s in self.sources])
            self.staged_updates = int(updates)
            self._staged_seq += 1

    @torch.no_grad()
    def sync(self) -> int:
        """The staging copy into the acting networks, if it is newer; returns the updates it adds
        (at least 1 for a new set of weights: `Networks.version` must move)."""
        if self._staged_seq == self._synced_seq:  # a stale read only delays the copy to the next sync
            return 0
        with self._lock:
            torch._foreach_copy_(self.targets, self._staged)
            new = max(1, self.staged_updates - self.synced_updates)
            self.synced_updates = self.staged_updates
            self._synced_seq = self._staged_seq
        return new


def publish_lists(td3: TD3, acting: Networks) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(the learner's tensors, the acting networks' tensors) that publishing copies: the actor and
    the critic, and the certificate's critic when it is a separate network (TD3's target critic)."""
    sources = [*td3.actor.parameters(), *td3.critic.parameters()]
    targets = [*acting.actor.parameters(), *acting.critic.parameters()]
    if acting.certificate_critic is not acting.critic:
        sources += list(td3.critic_target.parameters())
        targets += list(acting.certificate_critic.parameters())
    return sources, targets


class Learner:
    """The world resource (key `Learner`) that runs TD3's updates: `InlineLearner` or `BackgroundLearner`.

    Shared interface: `step(updates, batch_size)` grants a simulation step's updates, `sync()` brings
    published weights into the acting networks, `paused()` holds the updates for a consistent
    snapshot, `publish_now()` publishes at once (after a restore), `stop()` ends the worker, and
    `granted`, `done`, `skipped`, `lag`, `lag_seconds`, `waited_s`, `batch_size` are its figures."""

    mode = "?"
    td3: TD3
    done: int
    skipped: int
    _reported: tuple[int, int, int, int] = (0, 0, 0, 0)  # (done, skipped, TD3's skipped, restores) reported

    def report(self, stats, counters) -> None:  # noqa: ANN001 - TrainingStats, Counters
        """The updates, skips and faults since the last report into the statistics and the profiler's
        counters, and the lag (main thread; TrainingSystem after every step, a checkpoint after draining)."""
        td3 = self.td3
        now = (self.done, self.skipped, td3.skipped_updates, td3.network_restores)
        seen = self._reported
        if now != seen:
            if now[0] != seen[0]:
                counters.add("train_updates", now[0] - seen[0])
                stats.train_updates += now[0] - seen[0]
            if now[1] != seen[1]:
                stats.updates_skipped += now[1] - seen[1]
            if now[2] != seen[2] or now[3] != seen[3]:
                counters.add("skipped_updates", now[2] - seen[2])
                counters.add("network_restores", now[3] - seen[3])
            self._reported = now
            stats.actor_updates = td3.actor_updates
            stats.critic_loss, stats.actor_loss = td3.critic_loss, td3.actor_loss
        stats.learning_lag = self.lag
        stats.learning_lag_s = self.lag_seconds
        stats.learner_wait_s = self.waited_s
        stats.batch_size = self.batch_size


class InlineLearner(Learner):
    """The updates of a step run at once, on the main thread (the frame waits for them)."""

    mode = "inline"

    def __init__(self, td3: TD3, replay: ReplayBuffer, acting: Networks,
                 publisher: WeightPublisher | None = None) -> None:
        self.td3 = td3
        self.replay = replay
        self.acting = acting
        #: None when TD3 trains the acting networks in place (the CPU); else its weights are
        #: published after every step's updates (a GPU learner's networks live on the GPU)
        self.publisher = publisher
        self.granted = 0
        self.done = 0
        self.skipped = 0
        self.waited_s = 0.0
        self.batch_size = 0

    @property
    def lag(self) -> int:
        return 0

    @property
    def lag_seconds(self) -> float:
        return 0.0

    def step(self, updates: int, batch_size: int) -> None:
        self.batch_size = batch_size
        td3, replay = self.td3, self.replay
        for _ in range(updates):
            td3.update(replay, batch_size)
        self.granted += updates
        self.done += updates
        if self.publisher is not None and updates:
            self.publisher.stage(self.done)
            self.sync()

    def sync(self) -> int:
        if self.publisher is None:
            return 0
        new = self.publisher.sync()
        self.acting.version += new
        return new

    def publish_now(self) -> None:
        """After a restore: the acting networks take the learner's weights at once."""
        if self.publisher is not None:
            self.publisher.stage(self.done)
            self.sync()

    @contextlib.contextmanager
    def paused(self, drain: bool = True) -> Iterator[None]:
        yield

    def stop(self, timeout: float = 10.0) -> None:
        pass

    def check(self) -> None:
        pass


class BackgroundLearner(Learner):
    """TD3's updates on a worker thread, granted by the simulation steps (see the module's rules)."""

    mode = "background"

    def __init__(self, td3: TD3, replay: ReplayBuffer, acting: Networks, publisher: WeightPublisher, *,
                 max_lag: int = 64, when_behind: str = "wait", publish_every: int = 2,
                 name: str = "calf-ecs-learner") -> None:
        if when_behind not in WHEN_BEHIND:
            raise ValueError(f"when_behind must be one of {', '.join(WHEN_BEHIND)}, got {when_behind!r}")
        if max_lag < 1 or publish_every < 1:
            raise ValueError("max_lag and publish_every must be >= 1")
        self.td3 = td3
        self.replay = replay
        self.acting = acting
        self.publisher = publisher
        self.max_lag = int(max_lag)
        self.when_behind = when_behind
        self.publish_every = int(publish_every)
        self.name = name
        self._cv = threading.Condition()
        self.granted = 0  # updates the data collected so far allows
        self.done = 0  # updates done
        self.skipped = 0  # granted updates dropped because the learner was too far behind ("skip")
        self.waited_s = 0.0  # how long the acting side waited for the learner, all in all
        self.batch_size = 0  # the batch of the updates granted last
        self.update_s = 0.0  # an update's wall time on the worker (moving average)
        self.error: BaseException | None = None
        self._pauses = 0
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- the acting side (main thread) --------------------------------------------------------
    @property
    def lag(self) -> int:
        """Updates granted and not yet done."""
        return self.granted - self.done

    @property
    def lag_seconds(self) -> float:
        """The lag in the worker's time: how long it needs to catch up at its recent rate."""
        return self.lag * self.update_s

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> None:
        """Raise the worker's failure, if it had one, on the calling (main) thread."""
        if self.error is not None:
            exc = self.error
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise LearnerError(f"the background learner failed: {type(exc).__name__}"
                               + (f": {reason[:200]}" if reason else "")) from exc

    def step(self, updates: int, batch_size: int) -> None:
        """Grant one simulation step's updates; waits (or skips) when the learner is too far behind."""
        self.check()
        if updates <= 0:
            return
        if self._thread is None:
            self._start()
        bound = max(self.max_lag, updates)  # a single step's grant always fits
        with self._cv:
            self.batch_size = int(batch_size)
            over = self.granted - self.done + updates - bound
            if over > 0 and self.when_behind == "skip":
                self.skipped += over
                updates -= over
            elif over > 0:
                if self._pauses:
                    raise RuntimeError("the learner is paused and this grant would take it past its lag bound: "
                                       "waiting for it would never end")
                t0 = time.perf_counter()
                while self.granted - self.done + updates > bound and self.error is None and self.alive:
                    self._cv.wait(_POLL_S)
                self.waited_s += time.perf_counter() - t0
            self.granted += updates
            self._cv.notify_all()
        self.check()

    def sync(self) -> int:
        """Bring the newest published weights into the acting networks (main thread, between steps)."""
        new = self.publisher.sync()
        self.acting.version += new
        return new

    def publish_now(self) -> None:
        """Publish and sync at once (inside `paused()`): after a restore, say."""
        self.publisher.stage(self.done)
        self.sync()

    @contextlib.contextmanager
    def paused(self, drain: bool = True) -> Iterator[None]:
        """The worker idle between updates for the block; first (drain=True) everything granted is done."""
        with self._cv:
            while drain and self.done < self.granted and self.error is None and self.alive:
                self._cv.wait(_POLL_S)
            self._pauses += 1
            while self._busy and self.alive:
                self._cv.wait(_POLL_S)
        try:
            yield
        finally:
            with self._cv:
                self._pauses -= 1
                self._cv.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (idempotent); joins it for at most `timeout` seconds."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the worker ----------------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        td3, replay = self.td3, self.replay
        cv = self._cv
        try:
            while True:
                with cv:
                    while not self._stopping and (self._pauses or self.done >= self.granted):
                        self._cv.wait()
                    if self._stopping:
                        return
                    self._busy = True
                    batch = self.batch_size
                t0 = time.perf_counter()
                td3.update(replay, batch)
                dt = time.perf_counter() - t0
                with cv:
                    self.done += 1
                    done, caught_up = self.done, self.done >= self.granted
                    self.update_s = dt if self.update_s == 0.0 else 0.9 * self.update_s + 0.1 * dt
                if done % self.publish_every == 0 or caught_up:
                    self.publisher.stage(done)
                with cv:
                    self._busy = False
                    cv.notify_all()
        except BaseException as exc:  # noqa: BLE001 - kept, and raised on the main thread
            self.error = exc
        finally:
            with cv:
                self._busy = False
                cv.notify_all()
