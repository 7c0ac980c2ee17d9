"""The shape of the ``fbt`` program: shared options declared once, converters that name the option,
one default output folder, one-line registration of a command, and a start-up that loads no pandas."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbt.cli import app, options
from fbt.cli.app import build_parser, main
from fbt.core.errors import ConfigError
from fbt.sample.data import sample_dir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "moving_average_crossover.py") + ":moving_average_crossover"


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def fresh_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)


# Start-up: what `import fbt` and `fbt --help` load


def loaded_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    return set(fresh_python(probe).stdout.split())


def test_import_fbt_loads_neither_pandas_nor_numpy_nor_the_package() -> None:
    loaded = loaded_after("import fbt")
    assert "pandas" not in loaded and "numpy" not in loaded
    assert {m for m in loaded if m.startswith("fbt")} == {"fbt", "fbt.version"}


def test_a_name_of_the_facade_loads_its_module_on_first_use() -> None:
    loaded = loaded_after("import fbt\nfbt.Config")
    assert "fbt.kernel.config" in loaded and "fbt.research.sweep" not in loaded


def test_fbt_help_imports_no_pandas() -> None:
    loaded = loaded_after("from fbt.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert "pandas" not in loaded and "numpy" not in loaded
    assert "fbt.cli.run" in loaded  # the program was built (every command registered), not skipped


def test_python_m_fbt_help_imports_no_pandas_by_importtime() -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "fbt", "--help"], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0 and "walk-forward" in proc.stdout
    imported = {line.rpartition("|")[2].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "fbt.cli.app" in imported
    assert not {m for m in imported if m.split(".")[0] in ("pandas", "numpy")}


# The program: every command, shared options declared once


def test_every_command_is_there_in_order() -> None:
    assert list(subcommands(build_parser())) == [
        "run", "demo", "diff", "debug", "check-lookahead", "sweep", "walk-forward", "ingest", "report", "live",
    ]


#: options of one name that are different options on purpose: debug's --start is a bar to walk from,
#: sweep's --report draws a heatmap, ingest's and live's --symbols pick files to ingest or symbols to trade
DIFFERENT_ON_PURPOSE = {"-h", "--help", "--start", "--report", "--symbols"}


def test_an_option_shared_by_several_commands_is_one_declaration() -> None:
    seen: dict[str, dict[str, argparse.Action]] = {}
    for name, sub in subcommands(build_parser()).items():
        for action in sub._actions:
            for option in action.option_strings:
                seen.setdefault(option, {})[name] = action
    shared = {o: by for o, by in seen.items() if len(by) > 1}
    assert {"--data", "--capital", "--periods", "--risk-free", "--param", "--out", "--quiet", "--commission",
            "--workers"} <= set(shared)
    for option, by in shared.items():
        if option in DIFFERENT_ON_PURPOSE:
            continue
        assert len({id(a) for a in by.values()}) == 1, (option, sorted(by))
    starts = {id(a) for c, a in seen["--start"].items() if c != "debug"}
    assert len(starts) == 1  # every command but debug shares the data range


def test_one_default_output_folder() -> None:
    defaults = {name: sub.get_default("out") for name, sub in subcommands(build_parser()).items()
                if any("--out" in a.option_strings for a in sub._actions)}
    assert set(defaults) == {"run", "demo", "sweep", "walk-forward", "live"}
    assert set(defaults.values()) == {options.DEFAULT_OUT} == {"fbt-out"}


@pytest.mark.parametrize("command", ["run", "debug", "check-lookahead", "sweep", "walk-forward"])
def test_periods_auto_is_read_by_every_command_that_takes_periods(command: str) -> None:
    extra = ["--in-sample", "10", "--out-of-sample", "5"] if command == "walk-forward" else []
    args = build_parser().parse_args([command, EXAMPLE, "--periods", "auto", *extra])
    assert args.periods == "auto"
    assert build_parser().parse_args([command, EXAMPLE, "--periods", "52", *extra]).periods == 52.0


def test_check_lookahead_and_debug_run_with_periods_auto(capsys: pytest.CaptureFixture[str]) -> None:
    base = [EXAMPLE, "--data", str(sample_dir()), "--periods", "auto", "--param", "short_window=5",
            "--param", "long_window=20"]
    assert main(["check-lookahead", *base, "--max-prefixes", "3", "--exhaustive-up-to", "0"]) == 0
    assert "\nPASS: on each of" in capsys.readouterr().out
    assert main(["debug", *base, "--limit", "1"]) == 0
    assert "fbt debug:" in capsys.readouterr().out


@pytest.mark.parametrize(("command", "args", "expected"), [
    ("sweep", ["--capital", "lots"], "--capital: expected a positive number, got 'lots'"),
    ("sweep", ["--workers", "two"], "--workers: expected a whole number >= 1, got 'two'"),
    ("sweep", ["--periods", "often"], "--periods: expected a number of bars per year or auto, got 'often'"),
    ("debug", ["--limit", "-1"], "--limit: expected a whole number >= 0, got '-1'"),
    ("debug", ["--param", "nothing"], "--param: expected NAME=VALUE, got 'nothing'"),
    ("check-lookahead", ["--capital", "0"], "--capital: expected a positive finite number, got '0'"),
    ("run", ["--chunk-bars", "0"], "--chunk-bars: expected a whole number >= 1, got '0'"),
    ("run", ["--risk-free", "lots"], "--risk-free: expected a yearly rate like 0.02 or 2%, got 'lots'"),
    ("run", ["--margin", "x"], "--margin: expected a positive number, got 'x'"),
    ("walk-forward", ["--in-sample", "0", "--out-of-sample", "5"], "--in-sample: expected a whole number >= 1"),
])
def test_a_bad_value_is_one_line_naming_the_option(command: str, args: list[str], expected: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, EXAMPLE, "--data", str(sample_dir()), *args]) == 2
    err = capsys.readouterr().err
    assert err == f"fbt: error: {err.removeprefix('fbt: error: ')}" and err.count("\n") == 1
    assert expected in err


# Converters: their invariants


finite_positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


@given(finite_positive)
def test_positive_reads_back_every_positive_finite_number(x: float) -> None:
    assert options.positive("--x")(repr(x)) == x


@given(st.one_of(st.floats(max_value=0.0), st.just(float("inf")), st.just(float("nan")),
                 st.text(alphabet="abc-%", min_size=1)))
def test_positive_refuses_the_rest_naming_the_option(value: float | str) -> None:
    with pytest.raises(ConfigError, match=r"^--opt: expected a positive"):
        options.positive("--opt")(str(value))


@given(st.integers(-10**6, 10**6), st.integers(-5, 5))
def test_whole_keeps_exactly_the_numbers_at_or_above_the_minimum(n: int, minimum: int) -> None:
    convert = options.whole("--n", minimum)
    if n >= minimum:
        assert convert(str(n)) == n
    else:
        with pytest.raises(ConfigError, match=rf"^--n: expected a whole number >= {minimum}, got '{n}'$"):
            convert(str(n))


@given(finite_positive)
def test_periods_is_a_positive_number_or_auto(x: float) -> None:
    assert options.parse_periods(repr(x)) == x
    assert options.parse_periods(" AUTO ") == "auto"


@given(st.floats(-1e6, 1e6, allow_nan=False))
def test_risk_free_in_percent_is_the_fraction_over_100(rate: float) -> None:
    assert options.parse_risk_free(f"{rate!r}%") == pytest.approx(rate / 100, rel=1e-15, abs=0)
    assert options.parse_risk_free(repr(rate)) == rate


@given(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), st.integers(-10**9, 10**9))
def test_param_splits_at_the_first_equals_sign(name: str, value: int) -> None:
    assert options.parse_param(f"{name}={value}") == (name, value)
    assert options.parse_param(f"{name}=a=b") == (name, "a=b")


def test_the_names_spelled_for_the_help_are_the_libraries() -> None:
    from fbt.audit import lookahead
    from fbt.cli import audit
    from fbt.models import registry
    from fbt.models.fill import Execution

    assert tuple(e.value for e in Execution) == options.EXECUTIONS
    assert tuple(registry.COMMISSIONS) == options.COMMISSION_NAMES
    assert tuple(registry.SLIPPAGES) == options.SLIPPAGE_NAMES
    assert tuple(registry.SIZINGS) == options.SIZING_NAMES
    assert (audit.EXHAUSTIVE_UP_TO, audit.MAX_PREFIXES) == (lookahead.EXHAUSTIVE_UP_TO, lookahead.MAX_PREFIXES)


# Registration: a command module is one line of COMMANDS


def test_a_command_module_is_registered_by_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "hello_command.py").write_text(textwrap.dedent("""
        def register(subparsers, parents):
            p = subparsers.add_parser("hello", help="say hello", parents=[parents.capital, parents.out])
            p.set_defaults(func=lambda args: print(f"hello {args.capital} {args.out}") or 0)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(app, "COMMANDS", (*app.COMMANDS, "hello_command"))
    assert main(["hello", "--capital", "5"]) == 0
    assert capsys.readouterr().out == "hello 5.0 fbt-out\n"
    assert main(["hello", "--capital", "-5"]) == 2
    assert "--capital: expected a positive finite number" in capsys.readouterr().err
