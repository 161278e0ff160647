"""The shape the design asks for: services talk only through events, never through imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "scheduling", "notification")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_services_import_only_shared_and_themselves() -> None:
    offences = []
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            for module in imported_modules(path):
                if module.startswith("services.") and not module.startswith(f"services.{service}"):
                    offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == []


def test_shared_imports_no_service() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / "shared").rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("services")
    ]
    assert offences == []


def test_every_module_says_what_it_is_for() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for folder in ("shared", "services", "deploy")
        for path in (ROOT / folder).rglob("*.py")
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) and path.stat().st_size > 0
    ]
    assert missing == []


def _service_modules(*names: str) -> list[Path]:
    return [path for service in SERVICES for name in names for path in (ROOT / "services" / service).glob(name)]


def test_every_service_has_the_same_five_parts() -> None:
    parts = ("app.py", "handlers.py", "service.py", "domain.py", "repository.py")
    missing = [f"{s}/{p}" for s in SERVICES for p in parts if not (ROOT / "services" / s / p).exists()]
    assert missing == []


def test_rules_and_use_cases_do_no_io_of_their_own() -> None:
    """The aggregates import no driver, broker or HTTP client; use cases take ports, not the Runtime."""
    io = ("pymongo", "faststream", "aio_pika", "httpx", "aiosmtplib", "shared.runtime", "shared.storage.mongo")
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _service_modules("domain.py", "service.py")
        for module in imported_modules(path)
        if module.startswith(io)
    ]
    assert offences == []


def test_apis_call_use_cases_not_repositories() -> None:
    offences = []
    for path in _service_modules("api.py", "api/*.py", "open311.py"):
        source = path.read_text(encoding="utf-8")
        offences += [
            f"{path.relative_to(ROOT)} imports {m}" for m in imported_modules(path) if m.endswith("repository")
        ]
        offences += [
            f"{path.relative_to(ROOT)} uses .{w}" for w in (".repository.", ".runtime.", ".db[") if w in source
        ]
    assert offences == []
