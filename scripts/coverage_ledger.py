"""The implementation-coverage ledger: every CRM operation the installed official SDKs can call, and
whether LocalSpot has a route for it. Writes docs/coverage.md (`make coverage`).

Operations are read from the SDKs' own source with `ast` (nothing is imported or called):
- hubspot-api-client (package `hubspot`): each generated `*_with_http_info` method under
  `hubspot/crm/**/api/*.py` calls `self.api_client.call_api("<path>", "<METHOD>", ...)`.
- hubspot-sdk (package `hubspot_sdk`): each method of a sync resource class under
  `hubspot_sdk/resources/crm/` calls `self._get/_post/_put/_patch/_delete/_get_api_list` with the path
  as a string, an f-string or `path_template("<path>", ...)`.
An operation counts as implemented when one of LocalSpot's routes (`localspot.http.routes.routes()`)
answers its HTTP method on its path template, parameter names aside. That is a route check only: how
faithfully each route behaves is docs/behaviour.md's business.

Usage: python scripts/coverage_ledger.py [OUTPUT]   (default: docs/coverage.md)
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from starlette.routing import Mount, Route

from localspot.http.routes import routes

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "docs" / "coverage.md"
SDK_CALLS = {
    "_get": "GET",
    "_post": "POST",
    "_put": "PUT",
    "_patch": "PATCH",
    "_delete": "DELETE",
    "_get_api_list": "GET",
}
PARAMETER = re.compile(r"\{[^}/]*\}")


@dataclass(frozen=True, order=True)
class Operation:
    api: str  # the SDK's grouping: package (hubspot-api-client) or resource module (hubspot-sdk)
    name: str  # `BasicApi.get_by_id`, `BatchResource.upsert`
    method: str
    path: str


@dataclass(frozen=True)
class Sdk:
    title: str
    distribution: str
    operations: list[Operation]


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name} is not installed; run `make` to install the dev dependencies first.")
    return Path(next(iter(spec.submodule_search_locations)))


# --- hubspot-api-client ------------------------------------------------------------------------------


def v12_operations() -> list[Operation]:
    base = package_dir("hubspot")
    found = []
    for module in sorted((base / "crm").rglob("api/*.py")):
        if module.name == "__init__.py":
            continue
        api = ".".join(module.relative_to(base).parent.parent.parts)  # crm/objects/tasks/api/x.py -> crm.objects.tasks
        for cls, function in _methods(module):
            if function.name.endswith("_with_http_info"):
                for method, path in _call_api_targets(function):
                    found.append(
                        Operation(api, f"{cls.name}.{function.name.removesuffix('_with_http_info')}", method, path)
                    )
    return found


def _call_api_targets(function: ast.FunctionDef) -> Iterator[tuple[str, str]]:
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call_api":
            path, method = (_literal(a) for a in node.args[:2])
            if path and method:
                yield method.upper(), path


# --- hubspot-sdk -------------------------------------------------------------------------------------


def sdk_operations() -> list[Operation]:
    base = package_dir("hubspot_sdk") / "resources"
    found = []
    for module in sorted((base / "crm").rglob("*.py")):
        relative = module.relative_to(base)
        api = ".".join(relative.with_suffix("").parts if len(relative.parts) == 2 else relative.parent.parts)
        for cls, function in _methods(module):
            if not cls.name.startswith("Async"):
                found += [Operation(api, f"{cls.name}.{function.name}", m, p) for m, p in _sdk_requests(function)]
    return found


def _sdk_requests(function: ast.FunctionDef) -> Iterator[tuple[str, str]]:
    for node in ast.walk(function):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id == "self" and node.func.attr in SDK_CALLS and node.args):
            continue
        method = SDK_CALLS[node.func.attr]
        for keyword in node.keywords:
            if keyword.arg == "method" and _literal(keyword.value):
                method = _literal(keyword.value).upper()
        path = _path_argument(node.args[0])
        if path:
            yield method, path


def _path_argument(node: ast.expr) -> str | None:
    """A path given as "…", f"…{x}…" or path_template("…", x=…)."""
    if isinstance(node, ast.Call) and node.args:
        return _path_argument(node.args[0])
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{" + ast.unparse(part.value) + "}"
            for part in node.values
        )
    return _literal(node)


# --- shared ------------------------------------------------------------------------------------------


def _methods(module: Path) -> Iterator[tuple[ast.ClassDef, ast.FunctionDef]]:
    tree = ast.parse(module.read_text(), filename=str(module))
    for cls in tree.body:
        if isinstance(cls, ast.ClassDef):
            for function in cls.body:
                if isinstance(function, ast.FunctionDef):
                    yield cls, function


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


# --- LocalSpot's routes ------------------------------------------------------------------------------


def localspot_routes() -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every route: a `{parameter}` matches any one path segment."""
    return [(_pattern(path), methods) for path, methods in _walk(routes(), "")]


def _walk(entries: list, prefix: str) -> Iterator[tuple[str, frozenset[str]]]:
    for entry in entries:
        if isinstance(entry, Mount):
            yield from _walk(entry.routes, prefix + entry.path)
        elif isinstance(entry, Route):
            yield prefix + entry.path, frozenset(entry.methods or ())


def _pattern(template: str) -> re.Pattern[str]:
    pieces = PARAMETER.split(template)
    parameters = PARAMETER.findall(template)
    regex = re.escape(pieces[0])
    for parameter, piece in zip(parameters, pieces[1:], strict=True):
        regex += (".+" if parameter.endswith(":path}") else "[^/]+") + re.escape(piece)
    return re.compile(regex + "$")


def implemented(operation: Operation, table: list[tuple[re.Pattern[str], frozenset[str]]]) -> bool:
    return any(operation.method in methods and pattern.match(operation.path) for pattern, methods in table)


# --- the ledger --------------------------------------------------------------------------------------


def ledger() -> str:
    table = localspot_routes()
    sdks = [
        Sdk("hubspot-api-client", "hubspot-api-client", v12_operations()),
        Sdk("hubspot-sdk", "hubspot-sdk", sdk_operations()),
    ]
    lines = [
        "# Implementation coverage",
        "",
        "Generated by `make coverage` (`scripts/coverage_ledger.py`) from the installed SDKs; do not edit by hand.",
        "Each row is a CRM operation an official SDK can call; **yes** means LocalSpot has a route answering",
        "its method and path (how faithfully it behaves is [behaviour.md](behaviour.md)'s subject).",
        "",
        "| SDK | version | operations | implemented |",
        "|---|---|---|---|",
    ]
    for sdk in sdks:
        done = sum(implemented(op, table) for op in sdk.operations)
        lines.append(f"| {sdk.title} | {version(sdk.distribution)} | {len(sdk.operations)} | {done} |")
    for sdk in sdks:
        lines += _sdk_section(sdk, table)
    return "\n".join(lines) + "\n"


def _sdk_section(sdk: Sdk, table: list[tuple[re.Pattern[str], frozenset[str]]]) -> list[str]:
    by_api: dict[str, list[Operation]] = defaultdict(list)
    for op in sorted(set(sdk.operations)):
        by_api[op.api].append(op)
    lines = [
        "",
        f"## {sdk.title} {version(sdk.distribution)}",
        "",
        "| API | operations | implemented |",
        "|---|---|---|",
    ]
    for api, ops in by_api.items():
        lines.append(f"| `{api}` | {len(ops)} | {sum(implemented(op, table) for op in ops)} |")
    lines += ["", "| API | operation | method and path | implemented |", "|---|---|---|---|"]
    for api, ops in by_api.items():
        for op in ops:
            mark = "**yes**" if implemented(op, table) else "no"
            lines.append(f"| `{api}` | `{op.name}` | `{op.method} {op.path}` | {mark} |")
    return lines


def main(argv: list[str]) -> None:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.write_text(ledger())
    print(f"wrote {output}")


if __name__ == "__main__":
    main(sys.argv)
