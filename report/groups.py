"""Which runs belong together: runs whose settings are equal except the seed form one group.

By default a group is named by the config keys whose values differ between runs of the same
environment (the seed and output paths excepted), e.g. `training.policy=calf, calf.nu_bar=1.0`: a
key that differs only from one environment to another (an environment's own defaults, such as the
pendulum's dwell, or a budget chosen per task) describes the task, not a setting.
The environment (`env.system`) is the task: within a group, runs are compared per environment,
and aggregates across environments are stratified by it. `--group-by` names the keys instead.
"""
from __future__ import annotations

from collections import defaultdict

from report.load import Run

#: keys that never split groups: the seed, where outputs go, and the environment (the task)
NOT_A_SETTING = {"run.seed", "run.out", "run.resume", "run.profile", "run.tensorboard", "env.system"}
#: how a few keys are shown in group names
SHORT = {"training.policy": "policy"}


def _flat(run: Run) -> dict[str, object]:
    out = {}
    for section, values in run.config.items():
        if isinstance(values, dict):
            for key, value in values.items():
                out[f"{section}.{key}"] = value
        elif section in ("preset", "train_preset"):
            out[section] = values
    return out


def differing_keys(runs: list[Run]) -> list[str]:
    """Config keys whose values are not the same in every run of some one environment (in config order)."""
    flats = [_flat(r) for r in runs]
    keys: list[str] = []
    for f in flats:
        keys.extend(k for k in f if k not in keys)
    by_task: dict[object, list[dict]] = defaultdict(list)
    for f in flats:
        by_task[f.get("env.system")].append(f)
    return [k for k in keys if k not in NOT_A_SETTING
            and any(len({repr(f.get(k)) for f in same}) > 1 for same in by_task.values())]


def _show(key: str, value: object) -> str:
    return f"{SHORT.get(key, key)}={value}"


def label_runs(runs: list[Run], group_by: list[str] | None = None) -> list[str]:
    """Give every run its group label (run.label); returns the group labels in first-seen order.

    The policy always names the group, so a one-group report still says what ran."""
    keys = list(group_by) if group_by else differing_keys(runs)
    if not group_by:  # the policy first, always
        keys = ["training.policy"] + [k for k in keys if k != "training.policy"]
    order: list[str] = []
    for run in runs:
        flat = _flat(run)
        run.label = ", ".join(_show(k, flat.get(k)) for k in keys) or "all runs"
        if run.label not in order:
            order.append(run.label)
    return order


def by_group_and_task(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """label -> environment -> runs (labels and environments in first-seen order)."""
    out: dict[str, dict[str, list[Run]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        out[run.label][run.system].append(run)
    return {k: dict(v) for k, v in out.items()}
