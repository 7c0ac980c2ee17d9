"""A live session on the IB adapter against the fake TWS: fills, the journal, a dropped socket, a restart.

The fake fills every order at once and in full at ``100 + its order id`` (commission 1.0), so each
fill says which order it belongs to. The strategy's orders depend only on the bars and on the
book's fixed sizing, so the session sends exactly the orders of ``fbt run`` on the same bars.
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

pytest.importorskip("ib_async")

import fbt
from fbt.journal import read_journal
from fbt.live import ReplayFeed, run_live_async
from fbt.live.ib import IBAdapter
from fbt.live.messages import OrderIntent
from fbt.sample.data import sample_dir
from fbt.sample.strategies import moving_average_crossover
from tests.live.fake_tws import FakeTWS, Placed, auto_fill

T = TypeVar("T")
BARS = 90
CLIENT = 5


@pytest.fixture(autouse=True)
def _flush_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FBT_LIVE_NO_FSYNC", "1")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("data")
    for symbol in ("SYNA", "SYNB"):
        lines = (pathlib.Path(sample_dir()) / f"{symbol}.csv").read_text().splitlines()
        (folder / f"{symbol}.csv").write_text("\n".join(lines[: BARS + 1]) + "\n")
    return folder


def run(coro: Coroutine[Any, Any, T], limit: float = 60.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, limit))


def price(order: Placed) -> float:
    return 100.0 + order.order_id


STRATEGY = moving_average_crossover(3, 12)


def adapter(tws: FakeTWS) -> IBAdapter:
    return IBAdapter("127.0.0.1", tws.port, CLIENT, timeout=3.0, backoff_initial=0.01, backoff_factor=1.0)


async def session(tws: FakeTWS, data_dir: pathlib.Path, journal: pathlib.Path, said: list[str],
                  ib: IBAdapter | None = None) -> fbt.Result:
    return await run_live_async(STRATEGY, ReplayFeed(data_dir), ib or adapter(tws), journal, fbt.Config(),
                                echo=said.append, stop_on_interrupt=False, wait=5.0)


def backtest_orders(data_dir: pathlib.Path) -> list[tuple[str, str, float]]:
    fills = fbt.run(STRATEGY, fbt.load_dir(data_dir)).run.events
    return [(f.symbol, f.direction.value, f.quantity) for f in fills if isinstance(f, fbt.FillEvent)]


def fills_of(result: fbt.Result) -> list[fbt.FillEvent]:
    return [e for e in result.run.events if isinstance(e, fbt.FillEvent)]


def intents(journal: pathlib.Path) -> list[str]:
    return [n.record for n in read_journal(journal, tolerant=True).notes if '"type":"OrderIntent"' in n.record]


def check_fills(result: fbt.Result, tws: FakeTWS, data_dir: pathlib.Path) -> None:
    fills = fills_of(result)
    assert [(f.symbol, f.direction.value, f.quantity) for f in fills] == backtest_orders(data_dir)
    by_id = {o.order_ref: o for o in tws.orders.values()}
    assert len(by_id) == len(fills)
    assert sorted(f.price for f in fills) == sorted(price(o) for o in tws.orders.values())
    assert all(f.commission == 1.0 and f.exchange == "IB:ISLAND" for f in fills)
    # no order id and no orderRef reached the fake twice
    assert len(tws.order_ids) == len(set(tws.order_ids)) == len(fills)
    assert len(tws.order_refs) == len(set(tws.order_refs)) == len(fills)
    positions = {s: 0.0 for s in result.run.data.symbols}
    for o in tws.orders.values():
        positions[o.symbol] += o.quantity if o.action == "BUY" else -o.quantity
    assert dict(zip(result.run.data.symbols, result.run.final.portfolio.positions, strict=True)) == positions


def test_an_ib_session_fills_every_order_through_the_fake(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    said: list[str] = []

    async def main() -> fbt.Result:
        async with FakeTWS(on_order=auto_fill(price), ids_follow_orders=True, lifetime=60) as tws:
            result = await session(tws, data_dir, journal, said)
            check_fills(result, tws, data_dir)
            assert tws.connections == 1
            return result

    result = run(main())
    assert len(fills_of(result)) >= 4  # the case trades
    assert len(intents(journal)) == len(fills_of(result))
    assert read_journal(journal).events == result.run.events  # every fill journalled before it was booked
    assert not [line for line in said if line.startswith(("waited", "anomaly", "halted"))], said


def test_a_dropped_socket_is_reconnected_and_the_replay_changes_nothing(tmp_path: pathlib.Path,
                                                                       data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    said: list[str] = []

    async def main() -> None:
        script = auto_fill(price, drop_after=frozenset({1}))  # the second order's report and Filled happen unseen
        async with FakeTWS(on_order=script, ids_follow_orders=True, lifetime=60) as tws:
            result = await session(tws, data_dir, journal, said)
            check_fills(result, tws, data_dir)
            assert tws.connections == 2
            assert tws.client_ids == [CLIENT, CLIENT]

    run(main())
    assert any(line.startswith("reconnected after") for line in said), said
    assert not [line for line in said if line.startswith(("anomaly", "halted"))], said
    text = journal.read_text()
    assert '"state":"disconnected"' in text


def test_a_restarted_ib_session_adopts_the_order_the_fake_has(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    journal = tmp_path / "journal.jsonl"
    said: list[str] = []

    async def main() -> None:
        async with FakeTWS(on_order=auto_fill(price), ids_follow_orders=True, lifetime=60) as tws:
            ib = adapter(tws)
            real = ib.submit
            sent: list[OrderIntent] = []

            async def crash_after_the_third(intent: OrderIntent) -> None:
                await real(intent)
                sent.append(intent)
                if len(sent) == 3:
                    raise RuntimeError("killed right after sending")

            ib.submit = crash_after_the_third  # type: ignore[method-assign]
            with pytest.raises(RuntimeError, match="killed"):
                await session(tws, data_dir, journal, said, ib)
            assert len(tws.order_refs) == 3
            result = await session(tws, data_dir, journal, said)
            check_fills(result, tws, data_dir)
            assert tws.order_refs[2] == sent[2].order_ref

    run(main())
    assert [line for line in said if line.startswith("adopted")] == [line for line in said if "adopted" in line]
    assert len([line for line in said if line.startswith("adopted")]) == 1, said
