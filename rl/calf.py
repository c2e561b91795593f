"""The CALF filter as pure array functions over every agent at once (no Python loop over agents).

One step for a batch of agents (the rule: docs/PROBLEM.md; its conventions: docs/CALF.md):

1. `certificate_test`: with no certified triple an action is certified; otherwise it is
   certified iff the critic rose enough since the certificate (`q - q_cert >= required`, i.e. the
   Lyapunov candidate -Q fell by at least `required_decrease`) and `kappa_low(r) <= -q <= kappa_up(r)`.
   The required decrease is relative by default, `nu_rate * dt * |q_cert|`: -Q must shrink at
   least at the exponential rate `nu_rate` (per second of simulated time), whatever the scale of
   the rewards or the discount; `decrease = "absolute"` keeps a fixed `nu_bar` instead.
2. `choose_modes`: certified -> CERTIFIED; else a coin `u ~ U[0, 1)`: `u < p_relax` -> RELAX
   (the actor acts anyway), otherwise FALLBACK (the nominal policy acts: an intervention). A row
   inside a fallback dwell (`advance_dwell`: after a fallback the nominal policy keeps control for
   `dwell_steps` more steps), and a row past its episode's `deadline_steps` (the nominal policy
   finishes every episode that runs that long), falls back whatever the test says; so does a row
   handed to the nominal policy by the reach check (rl.reach_check: a simulated nominal rollout
   would no longer reach the goal in the episode's remaining time).
   `retry_noiseless` (optional): a learner whose noisy proposal failed is tested again with its
   noiseless actor action, which acts if it passes.
3. `filtered_actions`: the nominal action on FALLBACK rows, the actor's everywhere else.
4. `update_certificates`: certified rows (and relax rows, if so configured) store (s, a, q).

A diverging network is no reason to crash or to act wildly: a Q that is NaN or inf is never
certified, and a row whose actor action or Q is not finite (`unusable_rows`) falls back to the
nominal policy whatever the relax coin says.

tests/calf_oracle.py keeps a per-agent loop version of the same rules; the tests compare them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from attrs import define

from components.modes import Mode

CERTIFIED, RELAX, FALLBACK = np.int8(Mode.CERTIFIED), np.int8(Mode.RELAX), np.int8(Mode.FALLBACK)


@define(frozen=True)
class CalfParams:
    """The certificate's constants and conventions (from config.CalfConfig)."""

    nu_bar: float = 0.01  # the absolute decrease ("absolute")
    decrease: str = "relative"  # "relative": q - q_cert >= nu_rate * dt * |q_cert|; "absolute": >= nu_bar
    nu_rate: float = 1.0  # the relative decrease's rate, per second of simulated time
    dt: float = 0.01  # the environment's step, which turns nu_rate into a per-step fraction
    kappa_low_coeff: float = 0.01
    kappa_up_coeff: float = 1000.0
    kappa_on: str = "squared_norm"  # kappa(r) = coeff * r**2 ("squared_norm") or coeff * r ("norm")
    certified_value: str = "q1"  # the critic value certified: Q1 or the min of the twins ("min_twin")
    relax_updates_certificate: bool = False  # does a relax action become the certified triple?
    dwell_steps: int = 0  # after a fallback the nominal policy keeps control this many more steps
    deadline_steps: int = 0  # from this step of an episode on the nominal policy acts (0: never)
    reach_check_steps: int = 0  # every this many steps: can the nominal still finish in time? (0: no check)
    reach_margin_steps: int = 0  # ... with this many steps to spare beyond the next period
    reach_lookahead: str = "both"  # what drives the check's look-ahead: the noiseless filter, the actor, or both

    @classmethod
    def from_config(cls, calf, dt: float) -> "CalfParams":  # noqa: ANN001 - config.CalfConfig
        return cls(nu_bar=calf.nu_bar, decrease=calf.decrease, nu_rate=calf.nu_rate, dt=dt,
                   dwell_steps=dwell_steps(calf.fallback_dwell, dt),
                   deadline_steps=dwell_steps(calf.nominal_after, dt),
                   reach_check_steps=dwell_steps(calf.nominal_reach_check, dt),
                   reach_margin_steps=dwell_steps(calf.nominal_reach_margin, dt),
                   reach_lookahead=calf.nominal_reach_lookahead,
                   kappa_low_coeff=calf.kappa_low_coeff, kappa_up_coeff=calf.kappa_up_coeff,
                   kappa_on=calf.kappa_on, certified_value=calf.certified_value,
                   relax_updates_certificate=calf.relax_updates_certificate)


class CertificateTest(NamedTuple):
    """Per-agent results of the certificate test (arrays of length n)."""

    certified: np.ndarray  # bool: the actor's action passes (or there is no certificate yet)
    decrease_ok: np.ndarray  # bool: q - q_cert >= required
    bounds_ok: np.ndarray  # bool: kappa_low <= -q <= kappa_up
    kappa_low: np.ndarray
    kappa_up: np.ndarray
    required: np.ndarray | float  # the decrease each row had to show (NaN where there is no certificate)


def dwell_steps(seconds: float, dt: float) -> int:
    """calf.fallback_dwell (seconds of simulated time) as a whole number of steps."""
    return int(round(seconds / dt))


def held_rows(hold: np.ndarray, episode_step: np.ndarray | int | None = None, deadline: int = 0) -> np.ndarray | None:
    """Rows the nominal policy keeps: inside a fallback dwell, or (`deadline` > 0) at or past step
    `deadline` of their episode (`episode_step` counts from 0); None when there are none."""
    held = hold > 0
    if deadline > 0 and episode_step is not None:
        held |= np.asarray(episode_step) >= deadline
    return held if held.any() else None


def advance_dwell(modes: np.ndarray, hold: np.ndarray, dwell: int, decided: np.ndarray | None = None) -> None:
    """After this step's modes: a row that falls back while free starts a dwell of `dwell` more
    steps; a held row counts one down; a row that did not fall back is free. Rows not `decided`
    by the filter (warm-up) are left free."""
    if dwell <= 0:
        return
    fallback = modes == FALLBACK
    np.copyto(hold, np.where(fallback, np.where(hold > 0, hold - 1, dwell), 0).astype(hold.dtype, copy=False))
    if decided is not None:
        hold[~decided] = 0


def certified_q(q_both: np.ndarray, certified_value: str) -> np.ndarray:
    """The value the certificate uses from the twin critic's (2, n) output."""
    if certified_value == "q1":
        return q_both[0]
    if certified_value == "min_twin":
        return np.minimum(q_both[0], q_both[1])
    raise ValueError(f"certified_value must be 'q1' or 'min_twin', got {certified_value!r}")


def kappa_bounds(state_norm: np.ndarray, params: CalfParams) -> tuple[np.ndarray, np.ndarray]:
    """(kappa_low, kappa_up) at every agent's ||s||, on ||s||^2 or ||s|| by convention."""
    if params.kappa_on == "squared_norm":
        r = np.square(state_norm)
    elif params.kappa_on == "norm":
        r = np.asarray(state_norm, dtype=np.float64)
    else:
        raise ValueError(f"kappa_on must be 'squared_norm' or 'norm', got {params.kappa_on!r}")
    return params.kappa_low_coeff * r, params.kappa_up_coeff * r


def required_decrease(q_cert: np.ndarray, params: CalfParams) -> np.ndarray | float:
    """How much q must rise over q_cert: `nu_rate * dt * |q_cert|` (relative) or `nu_bar` (absolute)."""
    if params.decrease == "relative":
        return (params.nu_rate * params.dt) * np.abs(q_cert)
    if params.decrease == "absolute":
        return params.nu_bar
    raise ValueError(f"decrease must be 'relative' or 'absolute', got {params.decrease!r}")


def certificate_test(q: np.ndarray, q_cert: np.ndarray, has_cert: np.ndarray, state_norm: np.ndarray,
                     params: CalfParams) -> CertificateTest:
    low, up = kappa_bounds(state_norm, params)
    neg_q = -q
    required = required_decrease(q_cert, params)
    with np.errstate(invalid="ignore"):  # q_cert is NaN where there is no certificate
        decrease_ok = (q - q_cert) >= required
    bounds_ok = (low <= neg_q) & (neg_q <= up)
    certified = np.isfinite(q) & (~has_cert | (decrease_ok & bounds_ok))  # a NaN / inf Q is never certified
    return CertificateTest(certified, decrease_ok, bounds_ok, low, up, required)


def retry_noiseless(test: CertificateTest, q: np.ndarray, a_proposal: np.ndarray, rows: np.ndarray,
                    q_clean: np.ndarray, a_clean: np.ndarray, clean: CertificateTest) -> np.ndarray:
    """Merge a second candidate into this step's test, in place: `rows` (learners whose noisy
    proposal failed) were tested again with their noiseless actor action `a_clean` (its value
    `q_clean`, its test `clean`, all of length len(rows)). Where that passes, the noiseless action
    becomes the row's proposal, certified. Returns the rows it certified.

    Exploration noise thus never causes a fallback by itself: a learner falls back only when its
    actor, without noise, would not be certified either."""
    ok = clean.certified
    took = rows[ok]
    if took.size:
        a_proposal[took] = a_clean[ok]
        q[took] = q_clean[ok]
        test.certified[took] = True
        test.decrease_ok[took] = clean.decrease_ok[ok]
        test.bounds_ok[took] = clean.bounds_ok[ok]  # (the required decrease and the kappa bounds are the row's own)
    return took


def unusable_rows(a_actor: np.ndarray, q: np.ndarray) -> np.ndarray | None:
    """Rows whose actor action or Q is NaN or inf; None when every row is finite (the usual case)."""
    if np.isfinite(a_actor.sum()) and np.isfinite(q.sum()):
        return None
    return ~(np.isfinite(a_actor).all(axis=1) & np.isfinite(q))


def choose_modes(certified: np.ndarray, coin: np.ndarray, p_relax: float | np.ndarray,
                 unusable: np.ndarray | None = None, held: np.ndarray | None = None) -> np.ndarray:
    """Mode per agent: CERTIFIED, else RELAX when coin < p_relax, else FALLBACK (int8); `unusable`
    rows (see unusable_rows) and `held` rows (inside a fallback dwell, see held_rows) are FALLBACK."""
    relax = coin < p_relax
    modes = np.where(certified, CERTIFIED, np.where(relax, RELAX, FALLBACK)).astype(np.int8, copy=False)
    if unusable is not None:
        modes[unusable] = FALLBACK
    if held is not None:
        modes[held] = FALLBACK
    return modes


def filtered_actions(modes: np.ndarray, a_actor: np.ndarray, a_nominal: np.ndarray,
                     out: np.ndarray | None = None) -> np.ndarray:
    """The nominal action where the filter fell back, the actor's action elsewhere."""
    fallback = (modes == FALLBACK)[:, None]
    if out is None:
        return np.where(fallback, a_nominal, a_actor)
    np.copyto(out, a_actor)
    np.copyto(out, a_nominal, where=fallback)
    return out


def update_certificates(modes: np.ndarray, states: np.ndarray, a_actor: np.ndarray, q: np.ndarray,
                        s_cert: np.ndarray, a_cert: np.ndarray, q_cert: np.ndarray, has_cert: np.ndarray,
                        relax_updates_certificate: bool) -> np.ndarray:
    """Store (s, a, q) as the certified triple of the rows that took it; returns those rows' mask."""
    take = modes == CERTIFIED
    if relax_updates_certificate:
        take |= (modes == RELAX) & np.isfinite(q)  # a NaN Q never becomes a certificate
    if take.any():
        s_cert[take] = states[take]
        a_cert[take] = a_actor[take]
        q_cert[take] = q[take]
        has_cert[take] = True
    return take


def reset_certificates(rows: np.ndarray, s_cert: np.ndarray, a_cert: np.ndarray, q_cert: np.ndarray,
                       has_cert: np.ndarray, hold: np.ndarray | None = None) -> None:
    """Forget the certified triple (and any fallback dwell) of `rows` (an episode ended for them)."""
    if hold is not None:
        hold[rows] = 0
    has_cert[rows] = False
    q_cert[rows] = np.nan
    s_cert[rows] = 0.0
    a_cert[rows] = 0.0
