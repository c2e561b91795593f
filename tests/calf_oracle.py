"""The CALF filter written as a plain per-agent loop, straight from the rule in docs/PROBLEM.md: the test oracle
for the batched kernel in rl.calf (never used by the program)."""
from __future__ import annotations

import math

from components.modes import Mode


def kappa(r: float, coeff: float, kappa_on: str) -> float:
    return coeff * (r * r if kappa_on == "squared_norm" else r)


def filter_one(s, a_actor, q_pair, a_nominal, coin, p_relax, cert, params):
    """One agent's step. cert = (s_cert, a_cert, q_cert, has_cert) or its fields; returns
    (action, mode, new_cert)."""
    s_cert, a_cert, q_cert, has_cert = cert
    q = q_pair[0] if params.certified_value == "q1" else float(min(q_pair[0], q_pair[1]))
    if math.isnan(q_pair[0]) or math.isnan(q_pair[1]):
        q = q_pair[0] if params.certified_value == "q1" else math.nan
    r = math.sqrt(sum(x * x for x in s))
    usable = math.isfinite(q) and all(math.isfinite(x) for x in a_actor)
    if not math.isfinite(q):
        certified = False  # a NaN / inf Q is never certified
    elif not has_cert:
        certified = True
    else:
        low = kappa(r, params.kappa_low_coeff, params.kappa_on)
        up = kappa(r, params.kappa_up_coeff, params.kappa_on)
        if params.decrease == "relative":
            required = params.nu_rate * params.dt * abs(q_cert)
        else:
            required = params.nu_bar
        certified = (q - q_cert >= required) and (low <= -q <= up)
    if not usable:
        mode = Mode.FALLBACK  # a non-finite action or Q: the nominal policy acts
    elif certified:
        mode = Mode.CERTIFIED
    elif coin < p_relax:
        mode = Mode.RELAX
    else:
        mode = Mode.FALLBACK
    action = list(a_nominal) if mode == Mode.FALLBACK else list(a_actor)
    if mode == Mode.CERTIFIED or (mode == Mode.RELAX and params.relax_updates_certificate and math.isfinite(q)):
        new_cert = (list(s), list(a_actor), q, True)
    else:
        new_cert = (s_cert, a_cert, q_cert, has_cert)
    return action, mode, new_cert


def filter_one_with_retry(s, a_noisy, q_noisy, a_clean, q_clean, a_nominal, coin, p_relax, cert, params, explores):
    """One agent's step with calf.noiseless_retry: the noisy proposal first; if it fails and the agent
    explores, its noiseless action is tested against the same certificate; only if both fail does the
    relax coin / the nominal policy decide. q_* are (Q1, Q2) pairs."""
    action, mode, new_cert = filter_one(s, a_noisy, q_noisy, a_nominal, coin, -1.0, cert, params)
    if mode == Mode.CERTIFIED:
        return action, mode, new_cert
    if explores:
        action, mode, new_cert = filter_one(s, a_clean, q_clean, a_nominal, coin, -1.0, cert, params)
        if mode == Mode.CERTIFIED:
            return action, mode, new_cert
    return filter_one(s, a_noisy, q_noisy, a_nominal, coin, p_relax, cert, params)
