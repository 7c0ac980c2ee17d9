"""Contracts: the records' checks, the default stock, and the TOML/JSON file with its errors."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbt.core.errors import ConfigError
from fbt.live.contracts import CONTRACT_FIELDS, ContractSpec, check_instruments, default_contract, load_contracts
from fbt.models.instrument import Instrument

TOML = """
[ES]
sec_type = "FUT"
exchange = "CME"
expiry = "202412"
multiplier = 50

[BRK_B]
symbol = "BRK B"
primary_exchange = "NYSE"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_is_the_books_smart_routed_usd_stock() -> None:
    c = default_contract("ORCL")
    assert (c.symbol, c.sec_type, c.exchange, c.currency, c.multiplier, c.expiry) == (
        "ORCL", "STK", "SMART", "USD", 1.0, "")


def test_toml_file(tmp_path: Path) -> None:
    got = load_contracts(write(tmp_path, "c.toml", TOML), ["ES", "BRK_B", "ORCL"])
    assert list(got) == ["ES", "BRK_B", "ORCL"]
    assert got["ES"] == ContractSpec(symbol="ES", sec_type="FUT", exchange="CME", expiry="202412", multiplier=50.0)
    assert got["BRK_B"].symbol == "BRK B" and got["BRK_B"].primary_exchange == "NYSE"
    assert got["ORCL"] == default_contract("ORCL")


def test_json_file_equals_toml(tmp_path: Path) -> None:
    data = {"ES": {"sec_type": "FUT", "exchange": "CME", "expiry": "202412", "multiplier": 50},
            "BRK_B": {"symbol": "BRK B", "primary_exchange": "NYSE"}}
    j = load_contracts(write(tmp_path, "c.json", json.dumps(data)), ["ES", "BRK_B"])
    t = load_contracts(write(tmp_path, "c.toml", TOML), ["ES", "BRK_B"])
    assert j == t


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('[ES]\nsec_type = "FUT"\nexchange = "CME"\n', "ES: expiry: a FUT contract needs an expiry"),
        ('[A]\nexchnage = "NYSE"\n', "A: exchnage: unknown field (did you mean 'exchange'?)"),
        ('[A]\nmultiplier = "50"\n', "A: multiplier: expected a positive finite number, got '50'"),
        ('[A]\nmultiplier = true\n', "A: multiplier: expected a positive finite number, got True"),
        ('[A]\ncurrency = 840\n', "A: currency: expected a three-letter code"),
        ('[A]\nsec_type = "OPTION"\n', "A: sec_type: expected one of STK, FUT"),
        ('[A]\nsec_type = "FUT"\nexpiry = "202413"\n', "A: expiry: expected YYYYMM or YYYYMMDD, got '202413'"),
        ('[A]\nsec_type = "FUT"\nexpiry = "202412ab"\n', "A: expiry: expected YYYYMM or YYYYMMDD"),
        ('[A]\nsec_type = "FUT"\nexpiry = "20241232"\n', "A: expiry: expected YYYYMM or YYYYMMDD"),
        ('[A]\nsec_type = "FUT"\nexpiry = 202412\n', "A: expiry: expected text, got 202412"),
        ('[A]\nexpiry = "202412"\n', "A: expiry: a STK contract has no expiry"),
        ('[A]\nexchange = ""\n', "A: exchange: expected a non-empty text"),
        ('A = 3\n', "A: expected a table of contract fields, got 3"),
    ],
)
def test_bad_fields_name_file_symbol_and_field(tmp_path: Path, table: str, needle: str) -> None:
    path = write(tmp_path, "c.toml", table)
    with pytest.raises(ConfigError) as info:
        load_contracts(path, ["A", "ES"])
    assert str(info.value).startswith(f"{path}: ")
    assert needle in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a valid TOML file"):
        load_contracts(write(tmp_path, "c.toml", "[A\n"), ["A"])
    with pytest.raises(ConfigError, match="not a valid JSON file"):
        load_contracts(write(tmp_path, "c.json", "{"), ["A"])
    with pytest.raises(ConfigError, match=r"expected a table \{SYMBOL"):
        load_contracts(write(tmp_path, "c.json", "[1]"), ["A"])
    with pytest.raises(ConfigError, match=r"ending in \.toml or \.json"):
        load_contracts(write(tmp_path, "c.yaml", ""), ["A"])
    with pytest.raises(ConfigError, match="cannot read the contracts file"):
        load_contracts(tmp_path / "missing.toml", ["A"])


def test_multiplier_must_match_the_instrument(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", TOML)
    assert load_contracts(path, ["ES"], instruments={"ES": Instrument(multiplier=50)})["ES"].multiplier == 50.0
    with pytest.raises(ConfigError, match=r"c.toml: ES: multiplier: the contract says 50, the instrument .* says 20"):
        load_contracts(path, ["ES"], instruments={"ES": Instrument(multiplier=20)})


def test_missing_multiplier_is_taken_from_the_instrument(tmp_path: Path) -> None:
    path = write(tmp_path, "c.toml", '[NQ]\nsec_type = "FUT"\nexchange = "CME"\nexpiry = "20241220"\n')
    assert load_contracts(path, ["NQ"], instruments={"NQ": Instrument(multiplier=20)})["NQ"].multiplier == 20.0


def test_a_multiplied_instrument_without_a_contract_is_refused() -> None:
    with pytest.raises(ConfigError, match="contracts: ES: the instrument's multiplier is 50 but there is no contract"):
        load_contracts(None, ["ES"], instruments={"ES": Instrument(multiplier=50)})
    assert load_contracts(None, ["A"], instruments={"A": Instrument(tick_size=0.01)}) == {"A": default_contract("A")}


def test_check_instruments_ignores_symbols_without_an_instrument() -> None:
    check_instruments({"A": default_contract("A")}, {})
    with pytest.raises(ConfigError):
        check_instruments({"A": default_contract("A")}, {"A": Instrument(multiplier=2)})


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_", min_size=1, max_size=6)
specs = st.builds(
    ContractSpec,
    symbol=names,
    exchange=st.sampled_from(["SMART", "NYSE", "ISLAND"]),
    primary_exchange=st.sampled_from(["", "NYSE", "NASDAQ", "ARCA"]),
    currency=st.sampled_from(["USD", "EUR", "GBP"]),
    multiplier=st.sampled_from([1, 1.0, 100]),
    local_symbol=st.sampled_from(["", "X"]),
) | st.builds(
    ContractSpec, symbol=names, sec_type=st.just("FUT"), exchange=st.sampled_from(["CME", "GLOBEX"]),
    expiry=st.sampled_from(["202403", "20240315", "202512"]), multiplier=st.sampled_from([5, 20, 50.0, 1000]),
    trading_class=st.sampled_from(["", "ES"]),
)


@given(st.dictionaries(names, specs, max_size=5), st.lists(names, max_size=6, unique=True))
def test_any_written_contract_reads_back(specs_by_symbol: dict[str, ContractSpec], symbols: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = {k: attrs.asdict(v) for k, v in specs_by_symbol.items()}
        path = Path(tmp) / "c.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        got = load_contracts(path, symbols)
    assert list(got) == symbols
    for s in symbols:
        assert got[s] == specs_by_symbol.get(s, default_contract(s))
    assert set(attrs.asdict(default_contract("A"))) == set(CONTRACT_FIELDS)
