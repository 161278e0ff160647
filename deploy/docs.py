"""`python -m deploy.docs [--check]`: the AsyncAPI (events) and OpenAPI (HTTP) documents of every
service, generated from the code into docs/; with --check, fail if the committed ones drifted.

Run with no DOITHOAI_* variables set (the defaults make the documents reproducible).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from services.assignment.app import create_app as assignment_app
from services.intake.app import create_app as intake_app
from services.notification.app import create_app as notification_app
from services.scheduling.app import create_app as scheduling_app
from shared.messaging.consumer import event_catalogue

DOCS = Path(__file__).resolve().parents[1] / "docs"
APPS = {
    "intake": intake_app,
    "assignment": assignment_app,
    "scheduling": scheduling_app,
    "notification": notification_app,
}


def generate() -> dict[Path, str]:
    files = {}
    for name, factory in APPS.items():
        app = factory()
        spec = event_catalogue(app.state.runtime.broker, name)
        files[DOCS / "asyncapi" / f"{name}.json"] = (
            json.dumps(spec, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        )
        files[DOCS / "openapi" / f"{name}.json"] = (
            json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        )
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed documents instead")
    args = parser.parse_args()
    files = generate()
    if args.check:
        drifted = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in drifted:
            print(
                f"{path.relative_to(DOCS.parent)} differs from the code: run `python -m deploy.docs`", file=sys.stderr
            )
        return 1 if drifted else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
