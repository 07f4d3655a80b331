"""The import-order law of docs/architecture.md: every import in training/, inside functions too, points down.

Each module belongs to a unit: a top-level module (`training/clock.py` is `clock`) or a package
(`training/quizzes/...` is `quizzes`). Units sit in the layers below, lowest first. A domain module may import its
own unit and the units of lower layers, never a unit of its own layer or a higher one. Interface modules (routes,
forms, CLI commands, the app factory and the page helpers of `web.py`) sit on top: they may import any domain unit,
and no domain module may import them. The tests read the source with `ast`, so an import moved into a function, or
behind `if TYPE_CHECKING:`, counts like any other.
"""

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "training"
ARCHITECTURE_DOC = ROOT / "docs" / "architecture.md"

PLATFORM = (
    "client",
    "clock",
    "db",
    "error_pages",
    "errors",
    "events",
    "extensions",
    "form_errors",
    "form_widgets",
    "https_redirect",
    "limits",
    "logs",
    "mail",
    "markdown",
    "paging",
    "paths",
    "security_log",
    "session_end",
    "spreadsheets",
    "staging",
    "syslog",
    "urls",
    "visible_text",
    "zip_writer",
)

# Lowest first. Units in one layer are siblings: they may not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    PLATFORM,
    ("question_types", "jobs"),
    ("audit",),
    ("auth",),
    ("sso", "bearer_tokens"),
    ("content",),
    ("policies", "completions"),
    ("quizzes",),
    ("certificates",),
    ("courses",),
    ("compliance",),
    ("reminders",),
    ("staff",),
    ("scim",),
    ("reports",),
    ("authoring",),
    ("api",),
    ("integrations",),
)

# Whole units that are interface: the app factory, its configuration, the demo data and the shared page helpers.
INTERFACE_UNITS = {
    "__init__",
    "cli",
    "config",
    "demo",
    "demo_bulk",
    "health",
    "models",
    "navigation",
    "serving",
    "token_pages",
    "web",
}
INTERFACE_FILE = re.compile(r"^(routes|forms|cli|\w+_routes|\w+_forms)\.py$")


@dataclass(frozen=True)
class Import:
    source: str  # dotted module that imports
    target: str  # dotted module imported
    where: str  # path:line


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(node: ast.ImportFrom, source: str, is_package: bool) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = source.split(".") if is_package else source.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    if base == "training":
        return [f"training.{alias.name}" for alias in node.names]
    return [base]


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    source = module_name(path, root)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = resolve(node, source, path.name == "__init__.py")
        else:
            continue
        where = f"{path.relative_to(root)}:{node.lineno}"
        found += [Import(source, target, where) for target in targets if target.split(".")[0] == "training"]
    return found


def all_imports() -> list[Import]:
    return [found for path in sorted(PACKAGE.rglob("*.py")) for found in imports_of(path)]


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def is_interface(module: str) -> bool:
    if unit_of(module) in INTERFACE_UNITS:
        return True
    path = PACKAGE.joinpath(*module.split(".")[1:])
    return path.is_dir() is False and bool(INTERFACE_FILE.match(path.name + ".py"))


LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}


def layer_of(unit: str) -> int:
    return LAYER_OF[unit]


def units_on_disk() -> set[str]:
    units = {path.stem for path in PACKAGE.glob("*.py")}
    units |= {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    return units


def violation(found: Import) -> str | None:
    """Why this import breaks the order, or None when it is allowed."""
    source_unit, target_unit = unit_of(found.source), unit_of(found.target)
    if is_interface(found.source):
        return None
    if is_interface(found.target):
        return f"a domain module imports the interface module {found.target}"
    if source_unit == target_unit:
        return None
    if layer_of(target_unit) > layer_of(source_unit):
        return f"{source_unit} imports {target_unit}, which sits in a higher layer"
    if layer_of(target_unit) == layer_of(source_unit) and source_unit not in PLATFORM:
        return f"siblings {source_unit} and {target_unit} share layer {layer_of(source_unit)}"
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of units that reach each other (a cycle when larger than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        on_stack.add(unit)
        for other in sorted(graph.get(unit, ())):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in on_stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == unit:
                    break
            groups.append(group)

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return groups


def domain_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for found in imports:
        if is_interface(found.source) or is_interface(found.target):
            continue
        source_unit, target_unit = unit_of(found.source), unit_of(found.target)
        if source_unit != target_unit:
            graph[source_unit].add(target_unit)
    return graph


def test_every_unit_of_training_has_a_place():
    placed = set(LAYER_OF) | INTERFACE_UNITS
    assert units_on_disk() - placed == set(), "place new modules and packages in LAYERS (and docs/architecture.md)"
    assert placed - units_on_disk() == set(), "LAYERS names a unit that no longer exists"


def test_imports_follow_the_layers():
    broken = [f"{found.where}: {reason}" for found in all_imports() if (reason := violation(found))]
    assert broken == []


def test_no_package_cycles_among_the_domain_units():
    cycles = [sorted(group) for group in strongly_connected(domain_graph(all_imports())) if len(group) > 1]
    assert cycles == []


def test_no_package_cycles_counting_the_routes_too():
    """Interface modules may use any package, but only from the highest package they use: so even with the routes,
    forms and commands counted as part of their packages, no two packages reach each other."""
    graph: dict[str, set[str]] = defaultdict(set)
    for found in all_imports():
        if unit_of(found.source) != unit_of(found.target):
            graph[unit_of(found.source)].add(unit_of(found.target))
    assert [sorted(group) for group in strongly_connected(graph) if len(group) > 1] == []


def test_the_architecture_document_lists_the_same_layers():
    text = ARCHITECTURE_DOC.read_text(encoding="utf-8")
    table = re.search(r"<!-- layers -->\n(.*?)<!-- /layers -->", text, re.S)
    assert table, "docs/architecture.md keeps the layer table between <!-- layers --> markers"
    rows = [row for row in table.group(1).splitlines() if row.startswith("| ") and not row.startswith("| layer")]
    documented = [tuple(sorted(re.findall(r"`([a-z_]+)`", row.split("|")[2]))) for row in rows]
    assert documented == [tuple(sorted(layer)) for layer in reversed(LAYERS)]


# The rule itself, on made-up imports: a test of the test, so that a broken checker cannot pass silently.
@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("training.quizzes.services", "training.content.models", True),
        ("training.content.sync", "training.quizzes.models", False),
        ("training.courses.services", "training.compliance.services", False),
        ("training.policies.services", "training.completions.models", False),
        ("training.courses.quiz_routes", "training.courses.services", True),
        ("training.quizzes.services", "training.courses.quiz_routes", False),
        ("training.compliance.services", "training.web", False),
        ("training.clock", "training.db", True),
        ("training.db", "training.auth.models", False),
    ],
)
def test_the_rule_on_examples(source, target, allowed):
    assert (violation(Import(source, target, "example")) is None) is allowed


def test_cycles_are_found():
    groups = strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})
    assert {"a", "b", "c"} in groups
    assert {"d"} in groups


@pytest.mark.parametrize(
    "source",
    [
        "def later():\n    from training.compliance.services import x\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from training.compliance import services\n",
        "def later():\n    from ..compliance import services\n",
    ],
)
def test_a_hidden_import_counts(tmp_path, source):
    module = tmp_path / "training" / "quizzes" / "services.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    found = [i.target for i in imports_of(module, tmp_path)]
    assert found in (["training.compliance.services"], ["training.compliance"])
    assert violation(Import("training.quizzes.services", "training.compliance.services", "example"))
