"""A checkpoint is whole and possible, or it is refused in one line and changes nothing
(rl.checkpoint_integrity): a content hash over everything in it, checked on load; every value
checked against what a fresh run holds; relations between values checked. Generic: a key added
to the checkpoint is covered without being named anywhere."""
from __future__ import annotations

import copy
import struct
import zipfile

import pytest
import torch

import rl.checkpoint as ck
from config import build_config
from rl.checkpoint import CheckpointError, capture, read_checkpoint, restore, save_checkpoint
from rl.checkpoint_integrity import digest, seal
from runtime.build import build_world
from tests.test_faults_in_files import same, snapshot

OVER = {"visual": {"agents": 2}, "env": {"max_steps_per_episode": 30}, "td3": {"start_training_step": 10,
        "batch_size": 8}, "run": {"seed": 5}}


def world():
    return build_world(build_config(overrides=OVER))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    w = world()
    w.run(45)  # training has started, an episode has ended, the training agent holds a certificate
    path = save_checkpoint(w, tmp_path_factory.mktemp("ckpt") / "checkpoint.pt")
    w.shutdown()
    return path


def _members(path):
    with zipfile.ZipFile(path) as z:
        out = []
        for info in z.infolist():
            with open(path, "rb") as f:
                f.seek(info.header_offset + 26)
                name_len, extra_len = struct.unpack("<HH", f.read(4))
            out.append((info.filename, info.header_offset + 30 + name_len + extra_len, info.file_size))
        return out


def test_a_flipped_byte_never_changes_what_loads_without_being_refused(saved, tmp_path):
    """In a tensor's data every flip is refused; in the pickled values a flip is refused unless it
    changed nothing that loads (a memo number, say): what loads is always what was saved."""
    raw = saved.read_bytes()
    reference = digest(read_checkpoint(saved))
    refused = loaded_same = 0
    for name, start, size in _members(saved):
        if "/data/" in name:  # tensor storage
            offsets = sorted({start, start + size // 2, start + size - 1})
        elif name.endswith("data.pkl"):
            offsets = range(start, start + size, max(1, size // 150))
        else:
            continue  # torch's own version stamps and ids: not content
        for offset in offsets:
            damaged = bytearray(raw)
            damaged[offset] ^= 0x10
            path = tmp_path / "flipped.pt"
            path.write_bytes(bytes(damaged))
            try:
                data = read_checkpoint(path)
            except CheckpointError as exc:
                assert str(exc).startswith(f"checkpoint {path}: ") and "\n" not in str(exc)
                refused += 1
                continue
            assert "/data/" not in name, f"a flip in {name} at {offset - start} loaded"
            assert digest(data) == reference  # the same content
            loaded_same += 1
    assert refused > 100


def test_a_checkpoint_without_a_content_hash_is_refused(saved, tmp_path):
    data = read_checkpoint(saved)
    data.pop("integrity")
    torch.save(data, tmp_path / "nohash.pt")
    with pytest.raises(CheckpointError, match="no content hash"):
        read_checkpoint(tmp_path / "nohash.pt")


def _resealed(data, change):
    d = copy.deepcopy(data)
    d.pop("integrity")
    change(d)
    return seal(d)  # a consistent hash: the values themselves must be caught


IMPOSSIBLE = {
    "negative episode step": lambda d: d["training_agent"].__setitem__("episode_step", -3),
    "episode step past the episode length": lambda d: d["training_agent"].__setitem__("episode_step", 30),
    "a certificate with a NaN q_cert": lambda d: (d["training_agent"].__setitem__("has_cert", True),
                                                 d["training_agent"].__setitem__("q_cert", float("nan"))),
    "NaN episode return": lambda d: d["training_agent"].__setitem__("episode_return", float("nan")),
    "inf in the certified state": lambda d: d["training_agent"].__setitem__("s_cert", [float("inf"), 0.0]),
    "negative Adam step count": lambda d: d["td3"]["actor_opt"]["state"][0].__setitem__("step", torch.tensor(-4.0)),
    "fractional Adam step count": lambda d: d["td3"]["critic_opt"]["state"][1].__setitem__("step", torch.tensor(2.5)),
    "negative Adam second moment": lambda d: d["td3"]["critic_opt"]["state"][0]["exp_avg_sq"].fill_(-1.0),
    "more actor than critic updates": lambda d: d["td3"].__setitem__("actor_updates", d["td3"]["updates"] + 1),
    "inf critic loss": lambda d: d["td3"].__setitem__("critic_loss", float("inf")),
    "negative replay head": lambda d: d["replay"].__setitem__("head", -1),
    "replay head past its rows": lambda d: d["replay"].__setitem__("head", len(d["replay"]["rows"]) + 5),
    "replay head far out of range": lambda d: d["replay"].__setitem__("head", 10**12),
    "replay head not a whole number": lambda d: d["replay"].__setitem__("head", 1.5),
    "replay capacity zero": lambda d: d["replay"].__setitem__("capacity", 0),
    "more successes than episodes": lambda d: d["stats"].__setitem__("successes", d["stats"]["episodes"] + 1),
    "histories of different lengths": lambda d: d["stats"]["lengths"].append(5),
    "a NaN return in the history": lambda d: d["stats"]["returns"].__setitem__(0, float("nan")),
    "NaN P_relax": lambda d: d["calf"].__setitem__("p_relax", float("nan")),
    "a negative random-state word": lambda d: d["rng"]["numpy"]["spawn"]["state"].__setitem__("inc", -7),
    "a NaN in a key added later": lambda d: d.__setitem__("evaluation", {"returns": torch.tensor([1.0, float("nan")])}),
    "a negative count in a key added later": lambda d: d.__setitem__("evaluation", {"episodes": -2}),
}


@pytest.mark.parametrize("damage", list(IMPOSSIBLE))
def test_impossible_values_are_refused_and_change_nothing(saved, damage):
    data = _resealed(read_checkpoint(saved), IMPOSSIBLE[damage])
    dst = world()
    dst.run(12)
    before = snapshot(dst)
    with pytest.raises(CheckpointError, match=f"checkpoint {saved}: ") as exc:
        restore(dst, data, saved)
    assert "\n" not in str(exc.value)
    same(before, snapshot(dst))
    dst.step()
    dst.shutdown()


def test_a_good_checkpoint_restores_and_nan_is_allowed_where_a_fresh_run_has_it(saved, tmp_path, monkeypatch):
    data = read_checkpoint(saved)
    fresh = world()
    restore(fresh, data, saved)  # q_cert NaN (no certificate) or finite, losses finite: all possible
    fresh.run(3)
    fresh.shutdown()
    # a key a later version adds is hashed and checked like the rest, with its fresh value as reference
    real = capture
    monkeypatch.setattr(ck, "capture", lambda w: {**real(w), "evaluation": {"best": float("nan"), "runs": 0}})
    w = world()
    w.run(5)
    path = save_checkpoint(w, tmp_path / "new.pt")
    restore(world(), read_checkpoint(path), path)  # NaN where a fresh run has NaN: fine
    bad = _resealed(read_checkpoint(path), lambda d: d["evaluation"].__setitem__("runs", -1))
    with pytest.raises(CheckpointError, match="evaluation.runs is -1"):
        restore(world(), bad, path)
    w.shutdown()
