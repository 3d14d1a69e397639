"""README.md's configuration tables are the settings classes, rendered: they cannot drift from the code."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from apps.common.settings import ServiceSettings, env_name
from apps.settings_docs import README, TABLES, begin_marker, end_marker, rewrite, stale_tables

ROOT = README.parent
VARIABLE = re.compile(r"AGENTIC_[A-Z0-9_]*[A-Z0-9]")
ROW = re.compile(r"^\| `(AGENTIC_[A-Z0-9_]+)` \|", re.MULTILINE)


def all_settings_classes() -> set[type[ServiceSettings]]:
    """Every settings class in the repository: each service's ``settings.py`` imported, then every subclass."""
    for path in sorted((ROOT / "apps").glob("*/settings.py")):
        importlib.import_module(f"apps.{path.parent.name}.settings")
    found: set[type[ServiceSettings]] = set()
    pending = [ServiceSettings]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def variables_read() -> set[str]:
    return {env_name(field) for cls in all_settings_classes() for field in cls.model_fields}


def generated_rows(text: str) -> list[str]:
    """The variables the README's generated tables name, one per row."""
    blocks = [text.split(begin_marker(t.key), 1)[1].split(end_marker(t.key), 1)[0] for t in TABLES]
    return [name for block in blocks for name in ROW.findall(block)]


def test_readme_tables_match_the_settings_classes() -> None:
    stale = stale_tables(README.read_text(encoding="utf-8"))
    assert stale == [], f"README.md's configuration tables {stale} differ from the settings classes: run `make docs`"


def test_every_settings_class_has_a_table() -> None:
    assert all_settings_classes() == {table.settings for table in TABLES}


def test_every_field_has_a_docstring() -> None:
    missing = [
        f"{cls.__name__}.{name}"
        for cls in all_settings_classes()
        for name, field in cls.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == [], f"give these fields a docstring (it is the README's description): {missing}"


def test_the_tables_name_every_variable_read_and_nothing_else() -> None:
    rows = set(generated_rows(README.read_text(encoding="utf-8")))
    read = variables_read()
    assert read - rows == set(), "read by a settings class but in no table"
    assert rows - read == set(), "in a table but read by no settings class"


def test_the_docs_name_only_variables_something_reads() -> None:
    cli_reads = {
        name
        for path in (ROOT / "apps" / "cli").rglob("*.py")
        for name in re.findall(r"environ\.get\(\"(AGENTIC_\w+)\"", path.read_text(encoding="utf-8"))
    }
    assert cli_reads >= {"AGENTIC_URL", "AGENTIC_API_KEY"}
    known = variables_read() | cli_reads
    for doc in ("README.md", "SECURITY.md"):
        unknown = sorted(set(VARIABLE.findall((ROOT / doc).read_text(encoding="utf-8"))) - known)
        assert unknown == [], f"{doc} names variables that nothing reads: {unknown}"


def test_a_readme_that_differs_is_caught() -> None:
    text = rewrite(README.read_text(encoding="utf-8"))
    assert stale_tables(text) == []
    old_default = text.replace(
        "| `AGENTIC_STEP_TIMEOUT_SECONDS` | `60` |", "| `AGENTIC_STEP_TIMEOUT_SECONDS` | `30` |", 1
    )
    assert old_default != text
    assert stale_tables(old_default) == ["agent-core"]
    row = next(line for line in text.splitlines() if line.startswith("| `AGENTIC_MAX_REPLICAS`"))
    assert stale_tables(text.replace(row + "\n", "", 1)) == ["mcp-kubernetes"]
    made_up = text.replace(row, row + "\n| `AGENTIC_MADE_UP` | `1` | integer | nothing reads it |", 1)
    assert stale_tables(made_up) == ["mcp-kubernetes"]
    assert rewrite(made_up) == text


def test_a_readme_without_its_markers_is_refused() -> None:
    text = README.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="agent-core settings"):
        rewrite(text.replace(end_marker("agent-core"), "", 1))


def test_make_docs_rewrites_the_readme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps import settings_docs

    fresh = rewrite(README.read_text(encoding="utf-8"))
    copy = tmp_path / "README.md"
    copy.write_text(fresh.replace("| `AGENTIC_MAX_TURNS` | `12` |", "| `AGENTIC_MAX_TURNS` | `8` |", 1))
    monkeypatch.setattr(settings_docs, "README", copy)
    settings_docs.main()
    assert copy.read_text(encoding="utf-8") == fresh
