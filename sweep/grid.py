"""A sweep's runs: seeds x policies x config variants, each an ordinary headless app.py command line.

Variants come from `--set section.key=v1,v2,...`: every combination of the listed values is one
variant (a key given one value is the same in every run). Each run gets its own folder,

    OUT/<policy>[_<section.key>=<value>...]/seed<S>/

so the runs of one setting sit side by side and the report can group them.
"""
from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

from attrs import define, field

from config.assignments import split_assignment, split_values
from validation.validators import ConfigError

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@define(frozen=True)
class RunSpec:
    """One run of the sweep."""

    group: str  # the folder of its setting: policy and the variant's values
    seed: int
    folder: Path
    argv: tuple[str, ...] = field(converter=tuple)  # app.py's arguments (without the interpreter and app.py)

    @property
    def name(self) -> str:
        return f"{self.group}/seed{self.seed}"

    def command(self) -> list[str]:
        return [sys.executable, APP, *self.argv]


def parse_seeds(text: str) -> list[int]:
    """'42' | '1,2,5' | '0-9' (inclusive) | a mix: '0-4,10'; each seed once, in order."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise ConfigError(f"--seeds: range {part!r} runs backwards")
            if hi - lo >= 100_000:
                raise ConfigError(f"--seeds: range {part!r} is too long (at most 100000 seeds)")
            new = range(lo, hi + 1)
        elif part.isdigit():
            new = [int(part)]
        else:
            raise ConfigError(f"--seeds: expected seeds like 42, 1,2,3 or 0-9, got {text!r}")
        seeds.extend(s for s in new if s not in seeds)
    if any(s > 2**63 - 1 for s in seeds):
        raise ConfigError("--seeds: a seed must be <= 2**63 - 1")
    return seeds


def parse_variants(items: list[str]) -> dict[str, list[str]]:
    """['calf.nu_bar=1,5', 'env.dt=0.01'] -> {'calf.nu_bar': ['1', '5'], 'env.dt': ['0.01']}."""
    out: dict[str, list[str]] = {}
    for text in items:
        section, key, raw = split_assignment(text)
        values = split_values(raw)
        if any(not v for v in values):
            raise ConfigError(f"--set {text!r}: an empty value in the list")
        if len(set(values)) != len(values):
            raise ConfigError(f"--set {text!r}: a value is listed twice")
        name = f"{section}.{key}"
        if name in out:
            raise ConfigError(f"--set sets {name} twice (list its values once: {name}=a,b)")
        out[name] = values
    return out


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]", "-", text)


def expand(out: Path, seeds: list[int], policies: list[str], variants: dict[str, list[str]],
           base_args: list[str]) -> list[RunSpec]:
    """Every run: policies x variant combinations x seeds (seeds innermost)."""
    names = list(variants)
    swept = [n for n in names if len(variants[n]) > 1]  # keys with one value are the same in every run
    specs = []
    for policy in policies:
        for combo in itertools.product(*(variants[n] for n in names)):
            values = dict(zip(names, combo))
            group = _safe("_".join([policy] + [f"{n}={values[n]}" for n in swept]))
            sets = [a for n in names for a in ("--set", f"{n}={values[n]}")]
            for seed in seeds:
                folder = out / group / f"seed{seed}"
                argv = ["--headless", "--no-progress", *base_args, "--policy", policy, "--seed", str(seed), *sets,
                        "--out", str(folder), "--overwrite"]  # a run left unfinished is started again
                specs.append(RunSpec(group, seed, folder, argv))
    return specs
