"""The batched CALF filter: the decision table on hand-built values for both kappa conventions,
and equality with the per-agent loop oracle on random batches."""
import itertools
import zlib

import numpy as np
import pytest

from components.modes import Mode
from rl.calf import (
    CalfParams,
    advance_dwell,
    dwell_steps,
    held_rows,
    certificate_test,
    certified_q,
    choose_modes,
    filtered_actions,
    kappa_bounds,
    reset_certificates,
    unusable_rows,
    update_certificates,
)
from tests.calf_oracle import filter_one

C, R, F = int(Mode.CERTIFIED), int(Mode.RELAX), int(Mode.FALLBACK)


def decide(q, q_cert, has_cert, norm, coin, p, params):
    q, q_cert, norm, coin = (np.asarray(x, dtype=float) for x in (q, q_cert, norm, coin))
    test = certificate_test(q, q_cert, np.asarray(has_cert, dtype=bool), norm, params)
    return choose_modes(test.certified, coin, p), test


@pytest.mark.parametrize("kappa_on", ["squared_norm", "norm"])
def test_decision_table(kappa_on):
    p = CalfParams(kappa_on=kappa_on, decrease="absolute")  # nu_bar 0.01, kappa 0.01 and 1000
    r = 0.5
    low, up = (0.01 * r * r, 1000 * r * r) if kappa_on == "squared_norm" else (0.01 * r, 1000 * r)
    q_ok = -10 * low  # inside the bounds
    rows = [
        # (q, q_cert, has_cert, coin, p_relax) -> mode, why
        ((5.0, np.nan, False, 0.9, 0.0), C),  # first step: no certificate -> certified whatever q is
        ((q_ok, q_ok - 0.02, True, 0.9, 0.0), C),  # rose by 0.02 >= nu_bar, bounds hold
        ((q_ok, q_ok - 0.005, True, 0.3, 0.5), R),  # rose too little; coin 0.3 < 0.5 -> relax
        ((q_ok, q_ok - 0.005, True, 0.7, 0.5), F),  # same, coin 0.7 >= 0.5 -> fallback
        ((q_ok, q_ok + 1.0, True, 0.0, 0.0), F),  # fell; P_relax 0 never relaxes
        ((q_ok, q_ok + 1.0, True, 0.999, 1.0), R),  # P_relax 1 always relaxes
        ((-0.5 * low, -0.5 * low - 1.0, True, 0.9, 0.0), F),  # -q below kappa_low
        ((-2.0 * up, -2.0 * up - 1.0, True, 0.9, 0.0), F),  # -q above kappa_up
        ((-low, -low - 1.0, True, 0.9, 0.0), C),  # -q == kappa_low: the bound is inclusive
        ((-up, -up - 1.0, True, 0.9, 0.0), C),  # -q == kappa_up: inclusive
        ((np.nan, -1.0, True, 0.9, 0.0), F),  # a NaN critic is never certified
    ]
    q, qc, hc, coin, pr = (np.array(v) for v in zip(*(r_[0] for r_ in rows)))
    modes, test = decide(q, qc, hc, np.full(len(rows), r), coin, pr, p)
    assert modes.tolist() == [m for _, m in rows]
    assert np.allclose(test.kappa_low, low) and np.allclose(test.kappa_up, up)


def test_nu_bar_is_inclusive_and_configurable():
    p = CalfParams(nu_bar=0.5, decrease="absolute")
    modes, test = decide([-0.5, -0.5, -0.5], [-1.0, -0.75, -1.25], [True] * 3, [1.0] * 3, [0.9] * 3, 0.0, p)
    assert test.decrease_ok.tolist() == [True, False, True]  # 0.5 >= 0.5, 0.25 < 0.5, 0.75
    assert modes.tolist() == [C, F, C]
    modes, _ = decide([-0.5], [-1.0], [True], [1.0], [0.9], 0.0, CalfParams(nu_bar=0.51, decrease="absolute"))
    assert modes.tolist() == [F]


def test_conventions_disagree_where_they_should():
    """||s|| = 0.01: kappa_up is 0.1 on ||s||^2 but 10 on ||s||; -q = 0.2 passes only on ||s||."""
    args = ([-0.2], [-1.0], [True], [0.01], [0.9], 0.0)
    assert decide(*args, CalfParams(kappa_on="squared_norm", decrease="absolute"))[0].tolist() == [F]
    assert decide(*args, CalfParams(kappa_on="norm", decrease="absolute"))[0].tolist() == [C]
    low_sq, up_sq = kappa_bounds(np.array([3.0]), CalfParams())
    low_n, up_n = kappa_bounds(np.array([3.0]), CalfParams(kappa_on="norm"))
    assert (low_sq[0], up_sq[0], low_n[0], up_n[0]) == pytest.approx((0.09, 9000.0, 0.03, 3000.0))


def test_relative_decrease_scales_with_the_certified_value():
    """Relative: q must rise by nu_rate * dt * |q_cert| (here 2/s * 0.01 s = 2 % of |q_cert|), so
    the same step is judged alike when every value is 100 times larger (another reward scale)."""
    p = CalfParams(decrease="relative", nu_rate=2.0, dt=0.01, kappa_on="norm", kappa_up_coeff=1e9)
    q_cert = np.array([-100.0, -100.0, -100.0, -1.0])
    q = np.array([-98.0, -98.5, -97.0, -0.985])  # rose by 2 (= 2 % of 100), 1.5, 3 and 0.015 (1.5 % of 1)
    for scale in (1.0, 100.0):
        modes, test = decide(q * scale, q_cert * scale, [True] * 4, [1.0] * 4, [0.9] * 4, 0.0, p)
        assert test.decrease_ok.tolist() == [True, False, True, False]
        assert modes.tolist() == [C, F, C, F]
        assert np.allclose(test.required, 0.02 * np.abs(q_cert * scale))
    # the absolute convention judges by nu_bar whatever the scale: 1.5 passes nu_bar 1, 0.015 does not
    modes, _ = decide(q, q_cert, [True] * 4, [1.0] * 4, [0.9] * 4, 0.0,
                      CalfParams(decrease="absolute", nu_bar=1.0, kappa_on="norm", kappa_up_coeff=1e9))
    assert modes.tolist() == [C, C, C, F]


def test_certified_value_q1_or_min_of_twins():
    both = np.array([[-1.0, -3.0], [-2.0, -2.5]])
    assert certified_q(both, "q1").tolist() == [-1.0, -3.0]
    assert certified_q(both, "min_twin").tolist() == [-2.0, -3.0]
    with pytest.raises(ValueError):
        certified_q(both, "max")


@pytest.mark.parametrize("relax_updates", [False, True])
def test_certificate_update_and_reset(relax_updates):
    n = 3
    s = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    a = np.array([[0.1], [0.2], [0.3]])
    q = np.array([-1.0, -2.0, -3.0])
    s_cert, a_cert = np.zeros((n, 2)), np.zeros((n, 1))
    q_cert, has = np.full(n, np.nan), np.zeros(n, bool)
    modes = np.array([C, R, F], np.int8)
    update_certificates(modes, s, a, q, s_cert, a_cert, q_cert, has, relax_updates)
    assert has.tolist() == [True, relax_updates, False]
    assert q_cert[0] == -1.0 and (s_cert[0] == s[0]).all() and a_cert[0, 0] == 0.1
    assert np.isnan(q_cert[2]) and (s_cert[2] == 0).all()
    assert (q_cert[1] == -2.0) == relax_updates
    acts = filtered_actions(modes, a, np.full((n, 1), 9.0))
    assert acts[:, 0].tolist() == [0.1, 0.2, 9.0]
    reset_certificates(np.array([0, 1]), s_cert, a_cert, q_cert, has)
    assert not has[:2].any() and np.isnan(q_cert[:2]).all() and (s_cert[:2] == 0).all()


@pytest.mark.parametrize("kappa_on,certified_value,relax_updates,decrease",
                         list(itertools.product(["squared_norm", "norm"], ["q1", "min_twin"], [False, True],
                                                ["relative", "absolute"])))
def test_batched_filter_equals_per_agent_loop(kappa_on, certified_value, relax_updates, decrease):
    params = CalfParams(kappa_on=kappa_on, certified_value=certified_value, relax_updates_certificate=relax_updates,
                        decrease=decrease, nu_rate=1.5, dt=0.01)
    rng = np.random.default_rng(zlib.crc32(f"{kappa_on}{certified_value}{relax_updates}{decrease}".encode()))
    for n in (1, 7, 500):
        s = rng.uniform(-3, 3, (n, 2))
        s[: n // 10] *= 1e-3  # near the goal: tiny kappa bounds
        a_actor = rng.uniform(-5, 5, (n, 1))
        a_nom = rng.uniform(-5, 5, (n, 1))
        q_both = rng.uniform(-30, 1, (2, n))
        q_cert = rng.uniform(-30, 1, n)
        has = rng.random(n) < 0.7
        q_cert[~has] = np.nan
        close = rng.random(n) < 0.2  # some exactly at the required decrease
        q = certified_q(q_both, certified_value)
        if decrease == "absolute":
            q_cert[close & has] = q[close & has] - params.nu_bar
        else:  # q - q_cert = 0.015 |q_cert| with q_cert < 0: q_cert = q / 0.985 (up to rounding)
            q_cert[close & has] = q[close & has] / (1.0 - params.nu_rate * params.dt)
        s_cert = rng.normal(size=(n, 2))
        a_cert = rng.normal(size=(n, 1))
        coin = rng.random(n)
        p = rng.random(n)
        if n == 500:  # a diverging network: NaN / inf actions and critic values on some rows
            a_actor[rng.random(n) < 0.03] = np.nan
            a_actor[rng.random(n) < 0.03] = np.inf
            hit = np.flatnonzero(rng.random(n) < 0.05)
            q_both[rng.integers(0, 2, hit.size), hit] = np.nan
            q = certified_q(q_both, certified_value)
        # batched
        bs, ba, bq, bh = s_cert.copy(), a_cert.copy(), q_cert.copy(), has.copy()
        test = certificate_test(q, bq, bh, np.sqrt((s * s).sum(1)), params)
        modes = choose_modes(test.certified, coin, p, unusable_rows(a_actor, q))
        acts = filtered_actions(modes, a_actor, a_nom)
        update_certificates(modes, s, a_actor, q, bs, ba, bq, bh, relax_updates)
        # loop oracle
        for i in range(n):
            cert = (list(s_cert[i]), list(a_cert[i]), q_cert[i], bool(has[i]))
            act, mode, new = filter_one(s[i], a_actor[i], q_both[:, i], a_nom[i], coin[i], p[i], cert, params)
            assert modes[i] == mode, (i, n)
            assert np.array_equal(acts[i], act, equal_nan=True)
            assert bh[i] == new[3]
            assert bs[i].tolist() == list(new[0]) and ba[i].tolist() == list(new[1])
            assert (np.isnan(bq[i]) and np.isnan(new[2])) or bq[i] == new[2]
        assert {C, R, F} <= set(modes.tolist()) or n < 100


def test_the_fallback_dwell_keeps_the_nominal_in_control_for_its_steps():
    """A row that falls back while free is held for `dwell` more steps: FALLBACK even where the
    certificate passes and where the relax coin would let the actor act; then it is free again."""
    dwell = dwell_steps(0.03, 0.01)
    assert dwell == 3
    hold = np.zeros(3, dtype=np.int32)
    certified = np.array([False, True, False])
    coin, p_relax = np.zeros(3), np.array([0.0, 0.0, 1.0])  # row 2 would relax
    history = []
    for step in range(6):
        modes = choose_modes(certified, coin, p_relax, None, held_rows(hold))
        advance_dwell(modes, hold, dwell)
        history.append((modes.tolist(), hold.tolist()))
        certified = np.array([True, True, False])  # from step 1 on the test passes for row 0
    # row 0: falls back at step 0 (held 3 more steps), then certified; row 1 never falls back; row 2 relaxes
    assert [m[0] for m, _ in history] == [F, F, F, F, C, C]
    assert [h[0] for _, h in history] == [3, 2, 1, 0, 0, 0]
    assert all(m[1] == C for m, _ in history) and all(m[2] == R for m, _ in history)
    assert held_rows(np.zeros(4, np.int32)) is None
    # rows the filter did not decide (warm-up) stay free; no dwell means nothing is ever held
    hold = np.zeros(2, dtype=np.int32)
    advance_dwell(np.array([F, F], np.int8), hold, 5, decided=np.array([True, False]))
    assert hold.tolist() == [5, 0]
    advance_dwell(np.array([F, F], np.int8), hold, 0)
    assert hold.tolist() == [5, 0]
