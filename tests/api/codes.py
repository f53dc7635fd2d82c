"""Every error code the source can raise, found by reading it: the `code` of each EngageError class,
each `code="..."` a raise names, and the codes errors.py gives the framework's own errors."""

from __future__ import annotations

import ast
from pathlib import Path

import engage
from engage import errors

SOURCE = Path(engage.__file__).parent


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """Names of EngageError and every class deriving from it, however deep."""
    names = {"EngageError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def raised_codes() -> dict[str, str]:
    """code -> where it is first defined (path:line)."""
    files = sorted(SOURCE.rglob("*.py"))
    trees = [ast.parse(path.read_text(), str(path)) for path in files]
    classes = _error_classes(trees)
    found: dict[str, str] = {}
    for path, tree in zip(files, trees, strict=True):
        where = str(path.relative_to(SOURCE.parent))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "code" for t in item.targets)
                        and isinstance(item.value, ast.Constant)
                    ):
                        found.setdefault(str(item.value.value), f"{where}:{item.lineno}")
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                for keyword in node.keywords:
                    if name in classes and keyword.arg == "code":
                        assert isinstance(keyword.value, ast.Constant), (
                            f"{where}:{node.lineno}: a code is a literal"
                        )
                        found.setdefault(str(keyword.value.value), f"{where}:{node.lineno}")
    for code in [*errors.HTTP_CODES.values(), errors.OTHER_HTTP_CODE, errors.VALIDATION_CODE]:
        found.setdefault(code, "engage/errors.py")
    return found
