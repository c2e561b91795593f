"""Is a checkpoint file whole, and are the values in it possible? Generic over its contents.

- **Content hash.** `seal(data)` stores a BLAKE2b digest of everything in the checkpoint (every
  tensor's dtype, shape and bytes, every number, string and key, in order) under `integrity`;
  `verify(data)` recomputes it on load. A flipped byte inside a weight tensor, or anywhere else,
  is refused. Keys added to the checkpoint later are covered without naming them here.
- **Bounded reading.** `check_archive` looks at the zip archive torch writes before any of it is
  unpickled: members must be stored uncompressed (torch never compresses, so a compressed member
  can only be a forgery, and a zip bomb is one) and their total size must be within the bound.
- **Possible values.** `check_values` walks the whole checkpoint beside the checkpoint a freshly
  built world of this run would write (`CheckpointReference`, which runtime.build puts in a world): tensors and numbers must be finite,
  except where a fresh run itself holds NaN ("not yet": the critic loss before training, q_cert
  without a certificate); whole numbers may not be negative where a fresh run's are not (episode
  steps, counters, update counts). A new key gets the same rules from its own fresh value.
  `check_consistency` adds what only holds between values: a certificate has a finite value,
  Adam's step counts are whole and not negative and its second moments not negative, the episode
  step is below the episode length, counters agree with each other.
"""
from __future__ import annotations

import hashlib
import math
import struct
import zipfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np
import torch
from attrs import define

INTEGRITY_KEY = "integrity"
ALGORITHM = "blake2b-256"
#: keys left out of the digest: the digest itself
UNHASHED = (INTEGRITY_KEY,)


class IntegrityError(ValueError):
    """The checkpoint's content is damaged or impossible; the message says what (one line)."""


# -- content hash ----------------------------------------------------------------------------------
def _feed(h: "hashlib._Hash", value: Any) -> None:  # noqa: C901 - one branch per kind of value
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(b"T" + str(t.dtype).encode() + repr(tuple(t.shape)).encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        h.update(b"A" + a.dtype.str.encode() + repr(a.shape).encode())
        h.update(a.tobytes())
    elif isinstance(value, dict):
        h.update(b"D" + struct.pack("<q", len(value)))
        for k, v in value.items():
            _feed(h, k)
            _feed(h, v)
    elif isinstance(value, (list, tuple)):  # torch.load may give back a tuple as a list: the same here
        h.update(b"L" + struct.pack("<q", len(value)))
        for v in value:
            _feed(h, v)
    elif isinstance(value, bool):
        h.update(b"B1" if value else b"B0")
    elif isinstance(value, int):
        text = str(value).encode()
        h.update(b"I" + struct.pack("<q", len(text)) + text)
    elif isinstance(value, float):
        h.update(b"F" + struct.pack("<d", value))
    elif isinstance(value, str):
        text = value.encode("utf-8", "surrogatepass")
        h.update(b"S" + struct.pack("<q", len(text)) + text)
    elif value is None:
        h.update(b"N")
    else:
        text = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}".encode("utf-8", "replace")
        h.update(b"O" + struct.pack("<q", len(text)) + text)


def digest(data: dict[str, Any]) -> str:
    h = hashlib.blake2b(digest_size=32)
    _feed(h, {k: v for k, v in data.items() if k not in UNHASHED})
    return h.hexdigest()


def seal(data: dict[str, Any]) -> dict[str, Any]:
    """Store the content hash in `data` (in place) and return it."""
    data[INTEGRITY_KEY] = {"algorithm": ALGORITHM, "digest": digest(data)}
    return data


def verify(data: dict[str, Any]) -> None:
    stamp = data.get(INTEGRITY_KEY)
    if not isinstance(stamp, dict) or not isinstance(stamp.get("digest"), str):
        raise IntegrityError("it has no content hash (written by an older calf-ecs, or altered), so its "
                             "content cannot be trusted")
    if stamp.get("algorithm") != ALGORITHM:
        raise IntegrityError(f"its content hash is {stamp.get('algorithm')!r}; this program checks {ALGORITHM}")
    if digest(data) != stamp["digest"]:
        raise IntegrityError("damaged: its content does not match its content hash (a changed or corrupted byte)")


# -- bounded reading -------------------------------------------------------------------------------
def check_archive(f: IO[bytes], max_bytes: int) -> None:
    """The file must be a zip archive of stored (uncompressed) members within `max_bytes` in all."""
    try:
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise IntegrityError("truncated or corrupted, cannot be read (not a zip archive)") from None
    finally:
        f.seek(0)
    total = 0
    for m in members:
        if m.compress_type != zipfile.ZIP_STORED:
            raise IntegrityError(f"not a calf-ecs checkpoint (member {m.filename[:60]!r} is compressed)")
        total += m.file_size
    if total > max_bytes:
        raise IntegrityError(f"its contents claim {total / 2**20:.1f} MiB, more than the "
                             f"{max_bytes / 2**20:.1f} MiB a checkpoint of this run can hold")


def size_limit(replay_capacity: int, replay_width: int, parameters: int) -> int:
    """The largest checkpoint a run of this shape writes, doubled, plus room for statistics, config
    and random states: replay rows (float32), and per parameter the weights, the target copy and
    two Adam moments."""
    return 2 * (replay_capacity * replay_width * 4 + parameters * 4 * 4) + 64 * 2**20


# -- possible values -------------------------------------------------------------------------------
def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "the checkpoint"


def _float_array(value: Any) -> np.ndarray | None:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return value
    return None


def check_values(data: Any, reference: Any, path: tuple = ()) -> None:
    """Walk `data` beside `reference` (the same structure from a fresh world; None where it has
    nothing to compare with) and refuse impossible values (see the module's docstring)."""
    stack = [(data, reference, path)]
    while stack:
        value, ref, where = stack.pop()
        if where and where[0] in UNHASHED:
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                stack.append((v, ref.get(k) if isinstance(ref, dict) else None, (*where, k)))
        elif isinstance(value, (list, tuple)):
            same = isinstance(ref, (list, tuple)) and len(ref) == len(value)
            for i, v in enumerate(value):
                stack.append((v, ref[i] if same else None, (*where, i)))
        elif (arr := _float_array(value)) is not None:
            bad = ~np.isfinite(arr)
            if bad.any():
                ref_arr = _float_array(ref)
                allowed = (ref_arr is not None and ref_arr.shape == arr.shape
                           and bool(np.isnan(ref_arr[bad]).all() and np.isnan(arr[bad]).all()))
                if not allowed:
                    raise IntegrityError(f"damaged: {_label(where)} holds NaN or inf")
        elif isinstance(value, float):
            if math.isinf(value) or (math.isnan(value) and not (isinstance(ref, float) and math.isnan(ref))):
                raise IntegrityError(f"damaged: {_label(where)} is {value}")
        elif isinstance(value, int) and not isinstance(value, bool) and value < 0:
            if ref is None or (isinstance(ref, (int, float)) and not isinstance(ref, bool) and ref >= 0):
                raise IntegrityError(f"damaged: {_label(where)} is {value}, it cannot be negative")


@define(frozen=True)
class CheckpointReference:
    """A world's way to build what a checkpoint of its run looks like at the very start.

    Building that takes a scratch world of the same config, which only the layer that assembles
    worlds can make (runtime.build.fresh_reference); it puts this resource in every world it builds,
    and restoring a checkpoint asks for it.
    """

    make: Callable[[Any], dict[str, Any]]  # world -> the fresh checkpoint's contents


def check_consistency(staged: dict[str, Any], cfg) -> None:  # noqa: ANN001
    """Relations between restored values that no single value shows."""
    row = staged["row"]
    if row:
        if bool(row["has_cert"]) and not math.isfinite(float(row["q_cert"])):
            raise IntegrityError("damaged: the training agent holds a certificate without a finite q_cert")
        step = int(row["episode_step"])
        if not 0 <= step < cfg.env.max_steps_per_episode:
            raise IntegrityError(f"damaged: the training agent's episode_step {step} is outside "
                                 f"[0, {cfg.env.max_steps_per_episode})")
    td3 = staged["td3"]
    for name in ("actor_opt", "critic_opt"):
        for state in getattr(td3, name).opt.state.values():
            step = state.get("step")
            if step is not None:
                s = float(step)
                if not (s >= 0 and s == int(s)):
                    raise IntegrityError(f"damaged: an Adam step count of the {name[:-4]} is {s}")
            sq = state.get("exp_avg_sq")
            if isinstance(sq, torch.Tensor) and bool((sq < 0).any()):
                raise IntegrityError(f"damaged: Adam's second moments of the {name[:-4]} hold negative values")
    if td3.actor_updates > td3.updates:
        raise IntegrityError(f"damaged: {td3.actor_updates} actor updates but only {td3.updates} critic updates")
    stats = staged["stats"]
    if stats.successes > stats.episodes or sum(stats.success_flags) > stats.successes:
        raise IntegrityError("damaged: more successes than episodes in the statistics")
    if stats.interventions + stats.relaxes > stats.calf_steps or stats.calf_steps > stats.total_steps:
        raise IntegrityError("damaged: the filter's step counts do not add up in the statistics")
    if not len(stats.returns) == len(stats.lengths) == len(stats.success_flags) <= stats.episodes:
        raise IntegrityError("damaged: the statistics' episode histories differ in length")
    if any(n < 1 for n in stats.lengths):
        raise IntegrityError("damaged: an episode length below 1 in the statistics")
    replay = staged["replay"]
    if not (0 <= replay.size <= replay.capacity and 0 <= replay.head < replay.capacity):
        raise IntegrityError("damaged: the replay buffer's size or head is out of range")
