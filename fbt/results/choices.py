"""Name a run's configuration for people: the choices printed with the statistics and in stats.json."""

from __future__ import annotations

from fbt.kernel.config import Config
from fbt.models.fill import Execution
from fbt.models.registry import describe
from fbt.models.risk import Risk

__all__ = ["choices", "describe_instruments", "describe_risk"]


def choices(config: Config) -> dict[str, str]:
    """Name a configuration's execution, commission, slippage, sizing and risk choices.

    >>> choices(Config())
    {'execution': 'book', 'commission': 'ib-seed', 'slippage': 'none', 'sizing': 'book(100)', 'risk': 'none'}
    """
    sizing = describe(config.sizing) if config.sizing is not None else f"book({config.quantity:g})"
    named = {
        "execution": config.execution.value,
        "commission": describe(config.commission),
        "slippage": describe(config.slippage),
        "sizing": sizing,
        "risk": describe_risk(config.risk, config.execution),
    }
    if config.instruments:
        named["instruments"] = describe_instruments(config)
    return named


def describe_instruments(config: Config) -> str:
    """Name a configuration's instruments: ``ES(multiplier=50, tick=0.25)``, comma-separated.

    >>> from fbt.models.instrument import Instrument
    >>> describe_instruments(Config(instruments={"ES": Instrument(multiplier=50, tick_size=0.25)},
    ...                             execution="next-open"))
    'ES(multiplier=50, tick=0.25)'
    """
    parts = []
    for symbol, i in config.instruments:
        terms = [f"multiplier={i.multiplier:g}"] + ([f"tick={i.tick_size:g}"] if i.tick_size is not None else []) \
            + ([f"margin={i.margin:g}"] if i.margin is not None else [])
        parts.append(f"{symbol}({', '.join(terms)})")
    return ", ".join(parts)


def describe_risk(risk: Risk, execution: Execution) -> str:
    """Name the checks a :class:`~fbt.models.risk.Risk` runs in an execution mode ("none" when none).

    >>> describe_risk(Risk(), Execution.NEXT_OPEN), describe_risk(Risk(allow_short=False), Execution.BOOK)
    ('cash-check', 'long-only')
    """
    parts = []
    if risk.cash_check_on(execution):
        parts.append("cash-check" if risk.margin is None else f"margin({risk.margin:g})")
    if risk.max_position is not None:
        parts.append(f"max-position({risk.max_position:g})")
    if risk.max_leverage is not None:
        parts.append(f"max-leverage({risk.max_leverage:g})")
    if not risk.allow_short:
        parts.append("long-only")
    parts += [f"group({g.name}:{g.limit:g})" for g in risk.groups]
    if risk.volume_limit is not None:
        parts.append(f"volume-limit({risk.volume_limit:g})")
    if risk.fractional:
        parts.append("fractional")
    return ", ".join(parts) or "none"
