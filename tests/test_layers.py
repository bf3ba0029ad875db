"""The floors of the house (ARCHITECTURE.md): imports run downwards only, and the rules of
two domains never import each other, directly or through others (``feedback`` never imports
``review``, which builds on it)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "thumbs"

# floor of each top-level module/package of thumbs; a module may import its own floor or lower
FLOORS: dict[str, int] = {
    "kit": 0,
    "config": 0,
    "store": 1,
    # domains
    "auth": 2,
    "responders": 2,
    "assistants": 2,
    "users": 2,
    "conversations": 2,
    "chat": 2,
    "golden": 2,
    "review": 2,
    "feedback": 2,
    "analytics": 2,
    "exports": 2,
    "docs": 2,
    "health": 2,
    # what one server process holds (store, writer, caches), then the doors
    "runtime": 3,
    "web": 4,
    "cli": 5,
    "app": 5,
    "server": 5,
}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "thumbs" or len(parts) < 2:
        return None
    return parts[1]


def _is_door(path: Path) -> bool:
    """A domain's HTTP door (``router.py``, ``*_router.py``): it may use any domain's named
    dependencies, so it takes no part in the loop check between domains' rules."""
    return path.stem == "router" or path.stem.endswith("_router")


def _imports(*, rules_only: bool = False) -> dict[str, set[tuple[str, str]]]:
    """``unit -> {(imported unit, where)}`` for every module under thumbs/ (with
    ``rules_only``, leaving out the domains' routers)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent)
        if "migrations" in rel.parts or (rules_only and _is_door(path)):
            continue
        module = ".".join(rel.with_suffix("").parts)
        unit = _unit(module)
        if unit is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        type_only = {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test).endswith("TYPE_CHECKING")
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in type_only:  # annotations only: no import at run time
                continue
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _unit(name)
                if target is not None and target != unit:
                    found.setdefault(unit, set()).add((target, f"{rel}:{node.lineno}"))
    return found


def test_every_package_has_a_floor() -> None:
    units = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()}
    units = {u for u in units if not u.startswith(("_", ".")) and u != "py"}
    assert units <= set(FLOORS), f"give {sorted(units - set(FLOORS))} a floor in this test"


def test_imports_never_run_up_a_floor() -> None:
    upward = sorted(
        f"{where}: {unit} (floor {FLOORS[unit]}) imports {target} (floor {FLOORS[target]})"
        for unit, targets in _imports().items()
        for target, where in targets
        if FLOORS.get(target, 99) > FLOORS.get(unit, -1)
    )
    assert upward == []


def test_the_rules_of_domains_form_no_loop() -> None:
    graph = {
        unit: {t for t, _ in targets if FLOORS.get(t) == 2}
        for unit, targets in _imports(rules_only=True).items()
        if FLOORS.get(unit) == 2
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, set()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    loops = sorted(u for u in graph if reaches(u, u, set()))
    assert loops == [], f"domains in an import loop: {loops}"


def test_no_test_module_imports_another() -> None:
    """What several test modules share lives in a helper module (``tests/support``, or a
    domain's own ``seed``/``helpers`` module), never in another test module."""
    tests = Path(__file__).parent
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(tests)} imports {name}")
    assert offenders == []
