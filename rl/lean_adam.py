"""LeanAdam: torch's fused Adam kernel called directly, with the stock optimiser as the fallback.

`torch.optim.Adam(fused=True)` spends most of a step on Python bookkeeping when the parameters
are as small as ours; calling its kernel, `torch._fused_adam_`, on the optimiser's own state
tensors gives the same numbers at about a third of the cost. That kernel is private: its
signature has changed between torch releases and may change again. So before using it, a
process checks it once on a scratch problem against the stock optimiser; if the kernel is
missing, raises, or disagrees by a single bit, every LeanAdam runs the stock
`torch.optim.Adam(fused=True)` step instead (same numbers, slower), and one warning says why.
A kernel that starts failing in the middle of a run falls back the same way.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import torch

#: verdict per kernel object seen in this process: None (it matches the stock optimiser) or why not
_VERDICTS: dict[Any, str | None] = {}
#: the private kernel's name in torch (the stock optimiser calls it too)
KERNEL_NAME = "_fused_adam_"


class LeanAdam:
    """torch.optim.Adam (fused kernel) whose step skips the Optimizer's per-call Python overhead.

    After the first regular step has created the state, `step()` calls the same fused kernel
    `torch.optim.Adam(fused=True)` calls, on the optimiser's own state tensors: identical numbers
    (tests/test_lean_adam.py checks it, and the fallback) at about a third of the cost for our six
    small parameters. `state_dict`/`load_state_dict` are the wrapped optimiser's, so checkpoints
    stay standard and load whichever path wrote them.

    `kernel`: "auto" (the private kernel when it checks out in this torch), None (always the stock
    step) or a callable with `torch._fused_adam_`'s signature (used unchecked: the probe's own way in).
    """

    def __init__(self, params, lr: float, *, kernel: str | Callable | None = "auto") -> None:
        self.params = list(params)
        self.opt = torch.optim.Adam(self.params, lr=lr, fused=True)
        self._group: tuple | None = None
        self.kernel = checked_kernel() if kernel == "auto" else kernel
        self.fallback_reason: str | None = None if self.kernel is not None else fallback_reason()

    @property
    def fast(self) -> bool:
        """Whether steps call the kernel directly (False: the stock optimiser's step)."""
        return self.kernel is not None

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _collect(self) -> tuple:
        state = self.opt.state
        g = self.opt.param_groups[0]
        # One tensor holds every parameter's step count (the state keeps 0-d views of it), so
        # advancing them is one add instead of a foreach call over scalar tensors.
        steps = torch.stack([state[p]["step"].reshape(()) for p in self.params]).to(torch.float32)
        for i, p in enumerate(self.params):
            state[p]["step"] = steps[i]
        return (
            [state[p]["exp_avg"] for p in self.params],
            [state[p]["exp_avg_sq"] for p in self.params],
            steps,
            [steps[i] for i in range(len(self.params))],
            dict(lr=g["lr"], beta1=g["betas"][0], beta2=g["betas"][1], weight_decay=g["weight_decay"],
                 eps=g["eps"], amsgrad=False, maximize=False),
        )

    def step(self) -> None:
        if self.kernel is None or self._group is None:
            self.opt.step()
            if self.kernel is not None and all(p in self.opt.state for p in self.params):
                self._group = self._collect()
            return
        exp_avg, exp_avg_sq, steps, step_views, kw = self._group
        with torch.no_grad():
            steps.add_(1.0)
            try:
                self.kernel(self.params, [p.grad for p in self.params], exp_avg, exp_avg_sq, [], step_views, **kw)
            except (TypeError, RuntimeError, ValueError) as exc:  # refused its arguments: nothing was updated
                steps.sub_(1.0)
                self._fall_back(f"torch.{KERNEL_NAME} failed during the run ({type(exc).__name__}: {exc})")
                self.opt.step()

    def _fall_back(self, reason: str) -> None:
        self.kernel, self._group, self.fallback_reason = None, None, reason
        _warn(reason)

    def state_dict(self) -> dict:
        return self.opt.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.opt.load_state_dict(state)
        self._group = None  # the state tensors were replaced


def checked_kernel() -> Callable | None:
    """torch's private fused-Adam kernel if it gives the stock optimiser's numbers, else None
    (checked once per kernel and process; the first refusal is a warning)."""
    fn = getattr(torch, KERNEL_NAME, None)
    key = fn if fn is not None else KERNEL_NAME
    if key not in _VERDICTS:
        _VERDICTS[key] = f"torch {torch.__version__} has no torch.{KERNEL_NAME}" if fn is None else probe(fn)
        if _VERDICTS[key] is not None:
            _warn(_VERDICTS[key])
    return fn if _VERDICTS[key] is None else None


def fallback_reason() -> str | None:
    """Why LeanAdam runs the stock step in this process (None: it calls the kernel directly)."""
    fn = getattr(torch, KERNEL_NAME, None)
    return _VERDICTS.get(fn if fn is not None else KERNEL_NAME)


def probe(fn: Callable, steps: int = 4) -> str | None:
    """None when `fn` used as LeanAdam's kernel reproduces `torch.optim.Adam(fused=True)` bit for bit
    on a small scratch problem (parameters, moments and step counts), else what went wrong."""
    gen = torch.Generator().manual_seed(0)
    shapes = [(4, 3), (4,), (1, 4)]
    start = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(steps)]
    ref = [torch.nn.Parameter(p.clone()) for p in start]
    mine = [torch.nn.Parameter(p.clone()) for p in start]
    stock = torch.optim.Adam(ref, lr=1e-2, fused=True)
    lean = LeanAdam(mine, 1e-2, kernel=fn)
    lean._fall_back = _raise  # noqa: SLF001 - in the probe a failing kernel is the verdict, not a fallback
    try:
        for gs in grads:
            for a, b, g in zip(ref, mine, gs):
                a.grad, b.grad = g.clone(), g.clone()
            stock.step()
            lean.step()
    except _KernelFailed as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - whatever a changed private kernel raises
        return f"torch.{KERNEL_NAME} failed ({type(exc).__name__}: {exc})"
    same = all(torch.equal(a, b) for a, b in zip(ref, mine))
    for a, b in zip(ref, mine):
        sa, sb = stock.state[a], lean.opt.state[b]
        same = same and all(torch.equal(sa[k].float(), sb[k].float()) for k in ("exp_avg", "exp_avg_sq", "step"))
    return None if same else f"torch.{KERNEL_NAME} gives other numbers than torch.optim.Adam(fused=True)"


class _KernelFailed(RuntimeError):
    pass


def _raise(reason: str) -> None:
    raise _KernelFailed(reason)


def _warn(reason: str) -> None:
    warnings.warn(f"LeanAdam: {reason}; TD3 runs torch.optim.Adam(fused=True) instead (the same numbers, "
                  "slower updates)", RuntimeWarning, stacklevel=3)
