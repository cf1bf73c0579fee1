"""The EMA Workbench adapter (``simulation/ema.py``): uncertainties are the scenario's ``uncertain:``
distributions, levers the what-if page's, outcomes the sweep's names; and every value EMA samples is the
value the model runs with (pinned by an override, never drawn). Skipped without the ``ema`` extra."""

from __future__ import annotations

import math
import pickle
import warnings
from statistics import NormalDist

import numpy as np
import pytest

with warnings.catch_warnings():  # EMA 2.5 warns on import that ipyparallel is missing
    warnings.simplefilter("ignore", UserWarning)
    ema = pytest.importorskip("ema_workbench")

import simulation  # noqa: E402
import simulation.ema as sema  # noqa: E402
from simulation.config import ScenarioError, add_months, load_scenario, pin, with_changes  # noqa: E402
from simulation.config.loader import get_path  # noqa: E402
from simulation.dashboard.levers import BAN_ACTIVE, VALUE_LEVERS  # noqa: E402
from simulation.experiments.runner import prepare  # noqa: E402
from simulation.levers import LEVERS as LEVER_SETTINGS  # noqa: E402
from simulation.sweep.plan import DEFAULT_OUTCOMES  # noqa: E402
from simulation.sweep.task import scalar_outcomes  # noqa: E402

TINY = {"months": 6, "n_adopters": 80}  # about 0.1 s a run
DISTILLATION = "world.distillation_efficacy"  # uncertain in TINY_SC: uniform(0.06, 0.10)
# tiny extends the baseline, which draws from its calibration posterior (held at its mean in EMA); the
# tests' scenario makes four world parameters uncertain again, as the baseline did before its calibration
TINY_SC = with_changes(
    load_scenario("tiny"),
    {
        "posterior": None,
        "uncertain": {
            "world.eci_per_decade_compute": {"dist": "triangular", "low": 4.5, "mode": 6.0, "high": 7.5},
            DISTILLATION: {"dist": "uniform", "low": 0.06, "high": 0.10},
            "world.rl_gain_eci_per_month": {"dist": "uniform", "low": 0.3, "high": 0.7},
            "world.spillover_rate_per_month": {"dist": "uniform", "low": 0.01, "high": 0.03},
        },
    },
)
Point = getattr(ema, "Sample", None) or ema.Scenario  # EMA 3 calls a scenario or policy a Sample


@pytest.fixture(scope="module")
def tiny_model():
    return sema.ema_model(TINY_SC, **TINY)


def uncertainties(model) -> dict[str, tuple[str, float | None, float | None]]:
    out = {}
    for u in model.uncertainties:
        ranged = isinstance(u, ema.RealParameter | ema.IntegerParameter) and not isinstance(
            u, ema.CategoricalParameter
        )
        out[u.name] = (type(u).__name__, *((u.lower_bound, u.upper_bound) if ranged else (None, None)))
    return out


# -- what the model is -------------------------------------------------------------------------------


def test_uncertainties_are_the_scenarios_distributions(tiny_model):
    sc = TINY_SC
    assert sc.uncertain, "the premise: tiny (the baseline) has uncertain parameters"
    expected = {}
    for path, dist in sc.uncertain.items():  # the baseline's are uniform or triangular: their support
        assert dist.dist in ("uniform", "triangular")
        expected[path.replace(".", "__")] = ("RealParameter", dist.low, dist.high)
    assert uncertainties(tiny_model) == expected
    names = {u.name for u in tiny_model.uncertainties}
    assert {sema.paths(tiny_model)[n] for n in names} == set(sc.uncertain)
    assert all(n.isidentifier() for n in sema.paths(tiny_model))


def test_normal_and_lognormal_are_explored_from_their_1st_to_99th_percentile():
    """Of the distribution as drawn (after truncation): the ends F(low) = 0.01, F(high) = 0.99."""
    sc = load_scenario("training_breakthrough")  # log-normal p10 120, p90 1200, truncated above at 4000
    path = "events.0.set.labs.deepseek.training_efficiency"
    assert sc.uncertain[path].high == 4000
    model = sema.ema_model("training_breakthrough", levers=[], outcomes=["gap_months_true_end"])
    _, low, high = uncertainties(model)[sema.ema_name(path)]
    mu, sigma = math.log(120 * 1200) / 2, math.log(1200 / 120) / (2 * NormalDist().inv_cdf(0.9))
    log_nd = NormalDist(mu, sigma)

    def cdf(x: float) -> float:  # of the truncated log-normal
        return log_nd.cdf(math.log(x)) / log_nd.cdf(math.log(4000))

    assert (cdf(low), cdf(high)) == pytest.approx((0.01, 0.99), abs=1e-9)
    given = {  # a truncation far in a tail does not stretch the range; one at the mean halves it
        "world.rl_gain_eci_per_month": {"dist": "normal", "mean": 0.5, "sd": 0.1, "low": 0, "high": 5},
        "world.spillover_rate_per_month": {
            "dist": "normal",
            "mean": 0.02,
            "sd": 0.005,
            "low": 0.02,
            "high": 1,
        },
        "world.distillation_efficacy": {"dist": "choice", "values": [0.05, 0.1]},
        "policy.ban.active": {"dist": "choice", "values": [False, True]},
        "labs.meta.ban_response": ["close", "stop_open_releases"],
    }
    model = sema.ema_model(TINY_SC, **TINY, levers=[], uncertainties=given, outcomes=["gap_months_true_end"])
    got = uncertainties(model)
    z = NormalDist().inv_cdf(0.99)
    assert got["world__rl_gain_eci_per_month"][1:] == pytest.approx((0.5 - z * 0.1, 0.5 + z * 0.1), rel=1e-5)
    nd = NormalDist(0.02, 0.005)
    low, high = got["world__spillover_rate_per_month"][1:]
    assert ((nd.cdf(low) - 0.5) / 0.5, (nd.cdf(high) - 0.5) / 0.5) == pytest.approx((0.01, 0.99), abs=1e-9)
    assert got["world__distillation_efficacy"][0] == "CategoricalParameter"  # choice weights are not used
    assert got["policy__ban__active"][0] == "BooleanParameter"
    assert got["labs__meta__ban_response"][0] == "CategoricalParameter"


def test_given_uncertainties_are_checked_against_the_schema():
    def build(given):
        return sema.ema_model(
            TINY_SC, **TINY, levers=[], uncertainties=given, outcomes=["gap_months_true_end"]
        )

    with pytest.raises(ValueError, match=r"world.distillation_efficacy: .*schema's bounds \[0, 1\]"):
        build({DISTILLATION: (0.0, 1.5)})
    with pytest.raises(ValueError, match=r"schema's bounds \(0, 1e\+45\]"):  # 0 itself is excluded
        build({"policy.ban.threshold_flop": (0.0, 1e26)})
    with pytest.raises(ValueError, match="not a parameter"):
        build({"world.no_such_thing": (0, 1)})
    with pytest.raises(ValueError, match="'seed' cannot be"):
        build({"seed": (1, 5)})
    with pytest.raises(ValueError, match="low .* must be below high"):
        build({DISTILLATION: (0.1, 0.05)})
    model = build({DISTILLATION: (0.02, 0.15), "labs.deepseek.training_efficiency": (1.0, 8.0)})
    got = uncertainties(model)
    assert got["world__distillation_efficacy"] == ("RealParameter", 0.02, 0.15)  # replaces the scenario's
    assert got["labs__deepseek__training_efficiency"] == ("RealParameter", 1.0, 8.0)
    assert len(got) == len(TINY_SC.uncertain) + 1


def test_levers_are_the_what_if_levers(tiny_model):
    assert set(sema.LEVER_RANGES) == set(VALUE_LEVERS), "every lever of the page needs a range"
    for field, (path, scale) in VALUE_LEVERS.items():  # lowest to highest setting in run.py levers
        settings = [s[path] / scale for lv in LEVER_SETTINGS for s in (lv.low, lv.high) if path in s]
        if field in sema.LOG_LEVERS:
            settings = [math.log10(v) for v in settings]
        assert sema.LEVER_RANGES[field] == (min(settings), max(settings)), field
    sc = TINY_SC
    expected = {
        f + ("_log10" if f in sema.LOG_LEVERS else "")
        for f, (path, _) in VALUE_LEVERS.items()
        if path not in sc.uncertain and not path.startswith("labs.consortium.")
    }
    assert {lv.name for lv in tiny_model.levers} == expected | {"ban"}
    assert "distillation_efficacy" not in expected  # uncertain in the scenario: an uncertainty by default
    levers = {i.name: i for i in sema.inputs(tiny_model) if i.role == "lever"}
    assert (levers["china_capital"].path, levers["china_capital"].low, levers["china_capital"].high) == (
        "blocs.china.capital_multiplier",
        *sema.LEVER_RANGES["china_capital"],
    )
    assert isinstance(tiny_model.levers["ban"], ema.BooleanParameter)
    threshold = levers["ban_threshold_flop_log10"]
    assert threshold.path == "policy.ban.threshold_flop" and threshold.value(26.0) == 1e26

    # asked for by name, a lever takes its parameter from the uncertainties
    model = sema.ema_model(
        TINY_SC, **TINY, levers=["distillation_efficacy"], outcomes=["gap_months_true_end"]
    )
    assert [lv.name for lv in model.levers] == ["distillation_efficacy"]
    assert "world__distillation_efficacy" not in {u.name for u in model.uncertainties}
    # a parameter the user pinned is neither an uncertainty nor, by default, a lever
    fixed = sema.ema_model(
        pin(prepare(TINY_SC, **TINY), {DISTILLATION: 0.08}), outcomes=["gap_months_true_end"]
    )
    assert DISTILLATION not in sema.paths(fixed).values()
    # a lever set by a scenario event sets that event's value; the consortium lever needs a consortium lab
    model = sema.ema_model(
        "export_controls", levers=["china_compute_price"], outcomes=["gap_months_true_end"]
    )
    assert sema.paths(model)["china_compute_price"] == "events.0.set.blocs.china.compute_price_multiplier"
    model = sema.ema_model(
        "sovereign_consortium", levers=["consortium_budget_musd"], outcomes=["hhi_usage_end"]
    )
    budget = sema.inputs(model)[-1]
    assert budget.path == "labs.consortium.subsidy_usd_per_month" and budget.value(100) == 1e8
    with pytest.raises(ValueError, match="no 'consortium' lab"):
        sema.ema_model(TINY_SC, **TINY, levers=["consortium_budget_musd"])
    with pytest.raises(ValueError, match=r"china_capital: .*schema's bounds \[0, 10\]"):
        sema.ema_model(TINY_SC, **TINY, levers={"china_capital": (0.5, 20)})
    with pytest.raises(ValueError, match="unknown lever"):
        sema.ema_model(TINY_SC, **TINY, levers=["interest_rate"])
    with pytest.raises(ValueError, match="cannot be both"):
        sema.ema_model(
            TINY_SC, **TINY, levers=["distillation_efficacy"], uncertainties={DISTILLATION: (0, 0.2)}
        )


def test_the_ban_lever_switches_the_ban_off_and_on():
    model = sema.ema_model("ban", levers=["ban"], outcomes=["gap_months_true_end"])  # bans from 2026-01
    bases = model.function.bases
    off, on = bases[False], bases[True]
    assert not off.policy.ban.active and not any(e.set.get(BAN_ACTIVE) for e in off.events)
    assert [e.at for e in on.events if e.set.get(BAN_ACTIVE) is True] == ["2026-01"]  # its own start
    # the lever left out: the scenario as it is, its calibration posterior held at its mean
    assert bases[None] == with_changes(prepare("ban"), {"posterior": None})
    tiny = sema.ema_model(TINY_SC, **TINY, levers=["ban"], outcomes=["gap_months_true_end"]).function.bases
    start = TINY_SC.start
    assert [e.at for e in tiny[True].events] == [add_months(start, 5)]  # 12 months in, at most the last
    with pytest.raises(ValueError, match="outside the run"):
        sema.ema_model(TINY_SC, **TINY, levers=["ban"], ban_from="2031-01")


def test_outcomes_are_the_sweeps_outcome_names(tiny_model):
    scalars = [o.name for o in tiny_model.outcomes if isinstance(o, ema.ScalarOutcome)]
    series = [o.name for o in tiny_model.outcomes if isinstance(o, ema.TimeSeriesOutcome)]
    assert sorted(scalars + series) == sorted(DEFAULT_OUTCOMES)  # the sweep's defaults
    stats = ("_end", "_mean", "_min", "_max")  # a metric with a statistic is a scalar, a bare one a series
    assert all(n.endswith(stats) for n in scalars) and series and not any(n.endswith(stats) for n in series)
    model = sema.ema_model(TINY_SC, **TINY, outcomes=["gap_months_benchmark_mean", "open_share_usage"])
    assert [(type(o).__name__, o.name) for o in model.outcomes] == [
        ("ScalarOutcome", "gap_months_benchmark_mean"),
        ("TimeSeriesOutcome", "open_share_usage"),
    ]
    with pytest.raises(ScenarioError, match="did you mean 'gap_months_true_mean'"):
        sema.ema_model(TINY_SC, **TINY, outcomes=["gap_months_tru_mean"])
    assert type(tiny_model).__name__ == "Model"
    replicated = sema.ema_model(TINY_SC, **TINY, replicates=3, outcomes=["gap_months_true_end"])
    assert isinstance(replicated, ema.ReplicatorModel) and replicated.replications == [
        {"replicate": r} for r in range(3)
    ]


# -- what the model runs -----------------------------------------------------------------------------


def test_every_sampled_value_is_the_value_the_model_runs_with(tiny_model, monkeypatch):
    """The bug this prevents: a model wrapped the documented way used a drawn value, not the sampled one."""
    seen = []
    real = sema.run_replicate
    monkeypatch.setattr(sema, "run_replicate", lambda spec: seen.append(spec) or real(spec))
    np.random.seed(3)  # EMA 2 samples from numpy's global generator
    experiments, outcomes = ema.perform_experiments(tiny_model, scenarios=4, policies=2)  # serial
    assert len(experiments) == len(seen) == 8
    assert experiments["ban"].astype(bool).nunique() == 2  # a Latin hypercube of 2 policies: off and on
    tiny = TINY_SC
    prepared = prepare(TINY_SC, **TINY)
    inputs = [i for i in sema.inputs(tiny_model) if i.name != "ban"]
    for k, spec in enumerate(seen):
        row, ran = experiments.iloc[k], spec.scenario
        dump = ran.model_dump()
        overrides = {}
        for inp in inputs:
            sampled = float(row[inp.name])
            expected = 10.0**sampled if inp.log10 else sampled
            assert get_path(dump, inp.path) == expected, (k, inp.name)  # exactly the sampled value
            overrides[inp.path] = expected
        assert ran.uncertain == {} and set(ran.pinned) == set(tiny.uncertain)  # nothing left to draw
        assert spec.spawn_key == (0,) and spec.seed_entropy == tiny.seed  # common seeds: replicate 0's
        banned = [e.at for e in ran.events if e.set.get(BAN_ACTIVE) is True]
        assert banned == ([add_months(tiny.start, 5)] if bool(row["ban"]) else [])

        # the same run, made without the adapter, gives exactly the same outcomes
        base = prepared
        if bool(row["ban"]):
            base = with_changes(
                prepared, {"events": [{"at": add_months(tiny.start, 5), "set": {BAN_ACTIVE: True}}]}
            )
        res = simulation.run(base, replicates=1, seed=tiny.seed, overrides=overrides)
        assert res.draws.drop(columns=["replicate", "model_seed"]).empty  # nothing drawn
        scalars = [o.name for o in tiny_model.outcomes if isinstance(o, ema.ScalarOutcome)]
        for name, value in scalar_outcomes(res.model, scalars).items():
            assert outcomes[name][k] == value, (k, name)
        assert np.array_equal(outcomes["gap_months_true"][k], res.model["gap_months_true"].to_numpy(float))


def test_the_sampled_value_is_used_and_runs_are_reproducible():
    outcomes = ["gap_months_true_end", "gap_months_true_mean"]  # distillation acts after the first
    model = sema.ema_model(TINY_SC, months=12, n_adopters=80, levers=[], outcomes=outcomes)  # releases
    fixed = {"world__eci_per_decade_compute": 6.0, "world__rl_gain_eci_per_month": 0.5}
    fixed["world__spillover_rate_per_month"] = 0.02
    values = [{"world__distillation_efficacy": d, **fixed} for d in (0.06, 0.10)]
    low, high = (Point(f"d{i}", **v) for i, v in enumerate(values))
    _, out = ema.perform_experiments(model, scenarios=[low, high])
    gap = out["gap_months_true_end"]
    assert gap[1] < gap[0]  # more distillation, a smaller gap: the value is used
    _, again = ema.perform_experiments(model, scenarios=[high])  # alone, after another order
    assert (
        again["gap_months_true_end"][0] == gap[1]
        and again["gap_months_true_mean"][0] == out["gap_months_true_mean"][1]
    )
    # without common seeds each experiment has its own seeds, still a function of its values
    own = sema.ema_model(TINY_SC, months=12, n_adopters=80, levers=[], outcomes=outcomes, common_seeds=False)
    f = own.function
    keys = [f.seed_key(0, f.overrides(**v)[1], None) for v in values]
    assert keys[0] != keys[1] and keys[1] == f.seed_key(0, f.overrides(**values[1])[1], None)
    _, first = ema.perform_experiments(own, scenarios=[low, high])
    _, second = ema.perform_experiments(own, scenarios=[high])
    assert second["gap_months_true_end"][0] == first["gap_months_true_end"][1]


def test_replicates_are_the_runs_replicates_and_the_function_pickles():
    model = sema.ema_model(
        TINY_SC, **TINY, replicates=2, levers=[], outcomes=["gap_months_true_mean", "gap_months_true"]
    )
    values = {"world__eci_per_decade_compute": 7.0, "world__rl_gain_eci_per_month": 0.4}
    values |= {"world__spillover_rate_per_month": 0.015, "world__distillation_efficacy": 0.07}
    _, out = ema.perform_experiments(model, scenarios=[Point("a", **values)])
    overrides = {sema.paths(model)[k]: v for k, v in values.items()}
    res = simulation.run(prepare(TINY_SC, **TINY), replicates=2, seed=TINY_SC.seed, overrides=overrides)
    per_replicate = res.model.groupby("replicate")["gap_months_true"]
    assert out["gap_months_true_mean"][0] == pytest.approx(per_replicate.mean().mean(), rel=1e-12)
    monthly = res.model.pivot(index="tick", columns="replicate", values="gap_months_true").mean(axis=1)
    assert np.allclose(out["gap_months_true"][0], monthly.to_numpy(), rtol=1e-12)
    copy = pickle.loads(pickle.dumps(model.function))  # EMA's worker processes get a pickled copy
    a, b = copy(replicate=1, **values), model.function(replicate=1, **values)
    assert a["gap_months_true_mean"] == b["gap_months_true_mean"]
    assert np.array_equal(a["gap_months_true"], b["gap_months_true"])
