"""The error codes the code base raises, read from its source (no import of it runs).

A code is a string literal `prefix.name` given where a function or class of domain/, app/,
adapters/ or consumers/ takes one: a parameter named `code` (or ending in `_code`), by
position or by keyword (DomainError("nik", "nik.taken"), error_response(404, "as_of",
"household.not_yet"), Choice(code="sex.invalid")); a parameter named `codes` given a
`{field: [code, ...]}` literal (Invalid, errors_body); marshmallow's ValidationError's
message; and the `error_messages` of a field. A code built at run time (f"{name}.invalid")
is not seen.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "app", "adapters", "consumers")
CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
# Callees from libraries: the parameters (by position) that take a code.
EXTERNAL = {"ValidationError": ["code"]}
# app/messages.py holds the messages of the codes, not raisings of them.
NOT_SCANNED = {"app.messages"}


def _kind(parameter: str) -> str | None:
    if parameter == "code" or parameter.endswith("_code"):
        return "code"
    if parameter in ("codes", "error_messages"):
        return parameter
    return None


class _Source:
    def __init__(self) -> None:
        self.modules: dict[str, ast.Module] = {}
        for package in PACKAGES:
            for path in sorted((ROOT / package).rglob("*.py")):
                name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                if name not in NOT_SCANNED:
                    self.modules[name] = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.defs: dict[tuple[str, str], ast.FunctionDef | ast.ClassDef] = {}
        self.imports: dict[str, dict[str, str | tuple[str, str]]] = {}
        for module, tree in self.modules.items():
            names: dict[str, str | tuple[str, str]] = {}
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.ClassDef):
                    self.defs.setdefault((module, node.name), node)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        whole = f"{node.module}.{alias.name}"
                        names[alias.asname or alias.name] = (
                            whole if whole in self.modules else (node.module, alias.name)
                        )
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        names[alias.asname or alias.name] = alias.name
            self.imports[module] = names

    def parameters(self, module: str, name: str, depth: int = 0) -> list[str] | None:
        """The positional parameters of `name` as module `module` calls it (a class: its
        __init__'s, a base's, or a dataclass's fields), or None when unknown."""
        node = self.defs.get((module, name))
        if node is None:
            target = self.imports.get(module, {}).get(name)
            if isinstance(target, tuple) and target[0] in self.modules and depth < 10:
                return self.parameters(target[0], target[1], depth + 1)
            return EXTERNAL.get(name)
        if isinstance(node, ast.FunctionDef):
            found = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            return found[1:] if found[:1] in (["self"], ["cls"]) else found
        init = next(
            (s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"),
            None,
        )
        if init is not None:
            return [a.arg for a in init.args.args][1:]
        fields = [
            s.target.id
            for s in node.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
        ]
        if fields:
            return fields
        for base in node.bases:
            base_name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
            if base_name and base_name != name and depth < 10:
                found = self.parameters(module, base_name, depth + 1)
                if found is not None:
                    return found
        return None

    def callee(self, module: str, func: ast.expr) -> list[str] | None:
        if isinstance(func, ast.Name):
            return self.parameters(module, func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = func.value.id
            if owner in ("self", "cls"):
                return self.parameters(module, func.attr)
            target = self.imports.get(module, {}).get(owner)
            if isinstance(target, str) and target in self.modules:
                return self.parameters(target, func.attr)
        return None


def _strings(node: ast.expr) -> Iterator[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings(value)
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for element in node.elts:
            yield from _strings(element)


def _given(kind: str, node: ast.expr) -> Iterator[str]:
    if kind == "code":
        yield from _strings(node)
    elif kind == "codes" and isinstance(node, ast.Dict):  # {field: [code, ...]}
        for value in node.values:
            yield from _strings(value)
    elif kind == "error_messages":  # {"invalid": code} or _errors(invalid=code)
        if isinstance(node, ast.Dict):
            for value in node.values:
                yield from _strings(value)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                yield from _strings(keyword.value)


def raised_codes() -> dict[str, set[str]]:
    """Each code raised in the source, with the modules raising it."""
    source = _Source()
    found: dict[str, set[str]] = {}
    for module, tree in source.modules.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            given = [
                (_kind(name), arg)
                for name, arg in zip(
                    source.callee(module, node.func) or [], node.args, strict=False
                )
            ]
            given += [(_kind(k.arg), k.value) for k in node.keywords if k.arg]
            for kind, arg in given:
                if kind is None:
                    continue
                for text in _given(kind, arg):
                    if CODE.match(text):
                        found.setdefault(text, set()).add(module)
    return found
