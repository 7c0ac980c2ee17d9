"""One configuration carrier: every run function takes ``(strategy, data, config=None, **overrides)``."""

from __future__ import annotations

import inspect
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fbt
from fbt.journal import fingerprints
from fbt.kernel.config import identity_fields, with_overrides
from fbt.sample.data import sample_dir
from fbt.testing import configs, scenarios


def test_run_functions_share_one_signature() -> None:
    for function, before in ((fbt.run, ["strategy", "data"]), (fbt.run_stream, ["strategy", "source", "out"]),
                             (fbt.sweep, ["strategy", "grid", "data"]),
                             (fbt.walk_forward, ["strategy", "grid", "data"])):
        parameters = list(inspect.signature(function).parameters.values())
        names = [p.name for p in parameters]
        assert names[: len(before) + 1] == [*before, "config"], function.__name__
        assert parameters[len(before)].default is None
        assert parameters[-1].kind is inspect.Parameter.VAR_KEYWORD, function.__name__


@settings(max_examples=30, deadline=None)
@given(scenarios(max_bars=40), configs(), st.sampled_from([0.0, 0.02, -0.01]))
def test_a_config_and_its_overrides_give_the_same_run(scenario, config, risk_free) -> None:  # type: ignore[no-untyped-def]
    data, strategies, _ = scenario
    fields = {a.name: getattr(config, a.name) for a in attrs.fields(fbt.Config)}
    fields["risk_free"] = risk_free
    by_config = fbt.run(strategies, data, attrs.evolve(config, risk_free=risk_free))
    by_overrides = fbt.run(strategies, data, **fields)
    half = fbt.run(strategies, data, fbt.Config(capital=config.capital), **{k: v for k, v in fields.items()
                                                                            if k != "capital"})
    for other in (by_overrides, half):
        assert fingerprints(other) == fingerprints(by_config)
        assert other.stats.to_dict() == by_config.stats.to_dict()


@settings(max_examples=20, deadline=None)
@given(scenarios(max_bars=40), st.floats(-0.05, 0.2, allow_nan=False), st.sampled_from([None, 1, 7, 1000]))
def test_measurement_fields_are_not_part_of_a_runs_identity(scenario, risk_free, every) -> None:  # type: ignore[no-untyped-def]
    data, strategies, config = scenario
    plain = fbt.run(strategies, data, config)
    measured = fbt.run(strategies, data, config, risk_free=risk_free, checkpoint_every=every)
    assert fingerprints(measured) == fingerprints(plain)  # the journal and both fingerprints leave them out
    assert measured.stats["risk_free"] == risk_free
    assert [a.name for a in identity_fields(fbt.Config)] == [
        a.name for a in attrs.fields(fbt.Config) if a.name not in ("risk_free", "checkpoint_every")]


def test_risk_free_moves_the_sharpe_ratio_by_hand() -> None:
    data = fbt.load_dir(sample_dir(), ["SYNA"]).head(200)
    from fbt.sample.strategies import moving_average_crossover

    plain = fbt.run(moving_average_crossover(5, 20), data).stats
    rated = fbt.run(moving_average_crossover(5, 20), data, fbt.Config(risk_free=0.252)).stats
    # 0.252 a year over 252 bars is 0.001 a bar off every return; the standard deviation is unchanged
    assert rated["sharpe_ratio"] == pytest.approx(plain["sharpe_ratio"] - 252 ** 0.5 * 0.001 / (
        plain["annual_volatility"] / 252 ** 0.5), rel=1e-9)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"capitl": 1.0}, "capitl: not a configuration field; expected one of capital"),
    ({"risk_free": float("nan")}, "risk_free: expected a yearly rate"),
    ({"checkpoint_every": 0}, "checkpoint_every: expected a whole number >= 1 or None, got 0"),
    ({"periods": "weekly"}, "periods"),
])
def test_bad_overrides_name_the_argument(overrides: dict[str, object], message: str) -> None:
    data = fbt.load_dir(sample_dir(), ["SYNA"]).head(50)
    from fbt.sample.strategies import moving_average_crossover

    with pytest.raises(fbt.ConfigError, match=message):
        fbt.run(moving_average_crossover(5, 20), data, **overrides)  # type: ignore[arg-type]
    if "periods" not in overrides:
        with pytest.raises(fbt.ConfigError, match=message):
            with_overrides(None, **overrides)


def test_sweep_and_stream_take_a_config(tmp_path: Path) -> None:
    data = fbt.load_dir(sample_dir(), ["SYNA"]).head(300)
    from fbt.sample.strategies import moving_average_crossover

    config = fbt.Config(capital=50_000, execution="next-open", risk_free=0.01)
    frame = fbt.sweep("fbt.sample.strategies:moving_average_crossover", {"short_window": [5], "long_window": [20]},
                      data, config, executor="serial")
    alone = fbt.run(moving_average_crossover(5, 20), data, config).stats
    assert frame.loc[0, "final_equity"] == alone["final_equity"]
    assert frame.loc[0, "sharpe_ratio"] == alone["sharpe_ratio"]
    by_overrides = fbt.sweep("fbt.sample.strategies:moving_average_crossover",
                             {"short_window": [5], "long_window": [20]}, data, executor="serial", capital=50_000,
                             execution="next-open", risk_free=0.01)
    assert by_overrides.equals(frame)
    streamed = fbt.run_stream(moving_average_crossover(5, 20), sample_dir(), tmp_path, config, symbols=["SYNA"],
                              chunk_bars=70)
    whole = fbt.run(moving_average_crossover(5, 20), fbt.load_dir(sample_dir(), ["SYNA"]), config).stats
    assert streamed.statistics["final_equity"] == whole["final_equity"]
    assert streamed.statistics["risk_free"] == 0.01
