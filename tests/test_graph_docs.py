"""docs/diagrams.md and docs/diagrams/ are exactly what the tool draws now (no hand edits, no drift)."""

from __future__ import annotations

from deployer.graph import docs


def test_committed_diagrams_match_the_tool():
    files = docs.generate()
    drifted = [rel for rel, text in files.items()
               if not (docs.ROOT / rel).is_file() or (docs.ROOT / rel).read_text(encoding="utf-8") != text]
    assert not drifted, f"out of date: {drifted}; run `python -m deployer.graph.docs` and review the diff"


def test_no_stale_generated_files():
    on_disk = {f"docs/diagrams/{p.name}" for p in (docs.ROOT / "docs" / "diagrams").iterdir()}
    assert on_disk <= set(docs.generate()), on_disk - set(docs.generate())


def test_the_page_shows_every_example_and_every_cloud():
    page = docs.generate()["docs/diagrams.md"]
    for name in ("orders", "images", "iot", "report"):
        assert f"## {name}\n" in page
    for service in ("Lambda", "Cloud Functions 2nd gen", "Azure Functions", "SQLite"):
        assert service in page
    assert page.count("```mermaid") == sum(1 for rel in docs.generate() if rel.endswith(".mmd"))
