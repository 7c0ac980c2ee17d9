"""Which optional packages a module imports that are not installed, and the skip reason naming them.

The root ``conftest.py`` uses this to skip, rather than fail, the doctests of modules that need an
extra (matplotlib, pyarrow, sqlalchemy, dask, backtrader, ib_async, ...) where it is missing.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

__all__ = ["OPTIONAL", "missing_extras", "reason"]

#: Optional top-level packages and what installs them.
OPTIONAL = {
    "matplotlib": "fbt[plot]",
    "pyarrow": "fbt[parquet]",
    "sqlalchemy": "fbt[sql]",
    "dask": "fbt[dask]",
    "distributed": "fbt[dask]",
    "backtrader": "fbt[bench]",
    "ib_async": "fbt[ib]",
    "psycopg": "psycopg[binary]",
    "hypothesis": "hypothesis",
    "grimp": "import-linter",
    "importlinter": "import-linter",
}


def _names(node: ast.AST) -> set[str]:
    """The top-level packages an import statement names (relative imports name none)."""
    if isinstance(node, ast.Import):
        return {alias.name.partition(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return {node.module.partition(".")[0]}
    return set()


@functools.cache
def missing_extras(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The optional packages a module imports that are not installed: (at its top, anywhere).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     module = Path(folder) / "m.py"
    ...     _ = module.write_text("import os\\nimport no_such_extra_xyz\\ndef f():\\n    import matplotlib.pyplot\\n")
    ...     OPTIONAL["no_such_extra_xyz"] = "xyz"
    ...     try:
    ...         top, anywhere = missing_extras(module)
    ...     finally:
    ...         del OPTIONAL["no_such_extra_xyz"]
    >>> top, "no_such_extra_xyz" in anywhere
    (('no_such_extra_xyz',), True)
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return (), ()
    top = set().union(*(_names(node) for node in tree.body))
    anywhere = set().union(*(_names(node) for node in ast.walk(tree)))

    def absent(names: set[str]) -> tuple[str, ...]:
        return tuple(sorted(n for n in names & OPTIONAL.keys() if importlib.util.find_spec(n) is None))

    return absent(top), absent(anywhere)


def reason(names: tuple[str, ...]) -> str:
    """Why a doctest is skipped: the missing packages and how to install them.

    >>> reason(("matplotlib",))
    "needs matplotlib, which is not installed (pip install 'fbt[plot]')"
    """
    install = " ".join(sorted({f"'{OPTIONAL[n]}'" for n in names}))
    return f"needs {', '.join(names)}, which {'is' if len(names) == 1 else 'are'} not installed (pip install {install})"
