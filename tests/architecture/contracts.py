"""An import-linter contract of fbt's own: private names stay inside their package.

``from fbt.io.checks import _helper`` inside ``fbt.io`` is fine; the same line in ``fbt.stream`` is
a broken contract, because a name with a leading underscore is not part of any interface another
package may lean on. (import-linter's own ``private_modules`` contract looks at module names only.)

Configured in ``pyproject.toml`` with ``packages = [...]``: a module in one of these packages may not
import an underscore name from a module of another of them.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import grimp
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _package(module: str, packages: list[str]) -> str | None:
    for p in sorted(packages, key=len, reverse=True):
        if module == p or module.startswith(p + "."):
            return p
    return None


def private_imports(module: str, path: Path) -> list[tuple[int, str, str]]:
    """Return ``(line, imported module, name)`` for every underscore name ``module``'s file imports from fbt."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("fbt"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((node.lineno, node.module, alias.name))
    return found


class PrivateNamesContract(Contract):
    """No module of one listed package imports a ``_private`` name from a module of another."""

    type_name = "private_names"
    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        packages = [str(p) for p in self.packages]  # type: ignore[attr-defined]
        broken = []
        for module in sorted(graph.modules):
            mine = _package(module, packages)
            if mine is None:
                continue
            spec = importlib.util.find_spec(module)
            if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
                continue
            for line, imported, name in private_imports(module, Path(spec.origin)):
                theirs = _package(imported, packages)
                if theirs is not None and theirs != mine:
                    broken.append(f"{module}:{line} imports {name} from {imported}")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        from importlinter.application import output

        for line in check.metadata["broken"]:
            output.print_error(line, bold=False)
