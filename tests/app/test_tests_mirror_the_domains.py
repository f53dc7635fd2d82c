"""The tests mirror the domains (docs/testing.md): every test module sits in a folder of tests/, no test
module imports another test module or a conftest (fixtures arrive by name; helpers come from
tests/factories.py and tests/support.py), and no two fixtures share a name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent

# Modules that arrived from other branches while the tests moved, not yet moved into a domain folder or
# still importing another test module: each one leaves this list when it is fixed, and nothing joins it.
NOT_YET_MOVED: set[str] = set()
NOT_YET_RENAMED: set[str] = set()


def _test_modules() -> list[Path]:
    return sorted(TESTS.rglob("test_*.py"))


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    return _imports(path.read_text(encoding="utf-8"), path.relative_to(TESTS.parent).parent.parts)


def _imports(source: str, package: tuple[str, ...]) -> list[tuple[int, str]]:
    """Every module a source imports (with its line), relative imports resolved against `package`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append((node.lineno, module))
            # `from tests.notices import test_notices` names the module in the imported names.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _is_test_module_or_conftest(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def test_every_test_module_sits_in_a_domain_folder_that_is_a_package() -> None:
    misplaced = [
        str(p.relative_to(TESTS))
        for p in _test_modules()
        if p.parent == TESTS and str(p.relative_to(TESTS)) not in NOT_YET_MOVED
    ]
    assert misplaced == [], "move these into tests/<domain>/ (or tests/app/ when they span domains)"
    without_init = sorted(
        {str(p.parent.relative_to(TESTS)) for p in _test_modules()}
        - {str(p.parent.relative_to(TESTS)) for p in TESTS.rglob("__init__.py")}
    )
    assert without_init == [], "each test folder needs an __init__.py (module names stay unique)"


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    imports = [
        f"{path.relative_to(TESTS)}:{line} imports {module}"
        for path in _test_modules()
        if str(path.relative_to(TESTS)) not in NOT_YET_MOVED
        for line, module in _imported_modules(path)
        if _is_test_module_or_conftest(module)
    ]
    assert imports == [], "\n".join(imports)


def test_the_import_check_sees_each_way_of_importing_a_test_module() -> None:
    sources = [
        "from tests.notices.test_notices import appointment\n",
        "from tests.notices import test_notices\n",
        "import tests.conftest\n",
        "from .test_objections import file_objection\n",
        "from ..conftest import make_settings\n",
    ]
    for source in sources:
        modules = [module for _, module in _imports(source, ("tests", "notices"))]
        assert any(_is_test_module_or_conftest(m) for m in modules), (source, modules)
    clean = "from tests.factories import appointment\nfrom tests.support import run_jobs\nimport pytest\n"
    assert not any(_is_test_module_or_conftest(m) for _, m in _imports(clean, ("tests", "notices")))


def test_no_two_fixtures_share_a_name() -> None:
    """One name, one meaning: a fixture's name says which district or staff it is."""
    places: dict[str, list[str]] = defaultdict(list)
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
            ):
                places[node.name].append(f"{path.relative_to(TESTS)}:{node.lineno}")
    shared = {name: where for name, where in places.items() if len(where) > 1 and name not in NOT_YET_RENAMED}
    assert shared == {}, shared
