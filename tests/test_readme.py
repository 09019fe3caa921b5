"""The README stays true: it lists every table the project writes and every permission its queries use."""

from pathlib import Path

from centra_assets.entities import ALL

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_lists_every_table():
    missing = [t.name for spec in ALL for t in spec.tables if f"`{t.name}`" not in README]
    assert not missing


def test_readme_lists_every_permission_the_queries_use(centra):
    from centra_assets.cli import project_queries

    used = set()
    for _, query, variables in project_queries():
        used.update(centra.post({"query": query, "variables": variables}).json()["extensions"]["permissionsUsed"])
    assert used and not [p for p in sorted(used) if f"`{p}`" not in README]
