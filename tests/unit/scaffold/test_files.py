"""The file plan: rendering, insertion at markers, refusal and dry runs."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from kubeweft.scaffold import files
from kubeweft.scaffold.files import Mode, PlannedFile, ScaffoldError

APP = """import kubeweft

# +kubeweft:scaffold:imports

app = kubeweft.App("shop")
# +kubeweft:scaffold:models
"""


def test_lines_go_above_the_marker_once() -> None:
    once = files.insert_at_marker(APP, "+kubeweft:scaffold:models", ["app.add_model(Store)"])
    assert once.splitlines()[-2:] == ["app.add_model(Store)", "# +kubeweft:scaffold:models"]
    twice = files.insert_at_marker(once, "+kubeweft:scaffold:models", ["app.add_model(Store)"])
    assert twice == once


def test_lines_take_the_markers_indentation() -> None:
    source = "def build():\n    # +kubeweft:scaffold:models\n    return app\n"
    got = files.insert_at_marker(source, "+kubeweft:scaffold:models", ["app.add_model(Store)"])
    assert got.splitlines()[1] == "    app.add_model(Store)"


def test_a_missing_marker_is_an_error() -> None:
    with pytest.raises(ScaffoldError, match="scaffold:models"):
        files.insert_at_marker("app = 1\n", "+kubeweft:scaffold:models", ["x"])


IMPORTS = "+kubeweft:scaffold:imports"
STORE = "from shop.api.v1alpha1.store_types import Store"
SHELF = "from shop.api.v1.shelf_types import Shelf"
BOX = "from shop.api.v10.box_types import Box"


def test_imports_form_one_sorted_block_a_blank_line_above_the_marker() -> None:
    once = files.insert_imports(APP, IMPORTS, "shop", [STORE])
    assert once.splitlines()[:5] == ["import kubeweft", "", STORE, "", f"# {IMPORTS}"]
    again = files.insert_imports(once, IMPORTS, "shop", [BOX, SHELF, STORE])
    assert again.splitlines()[:7] == ["import kubeweft", "", SHELF, STORE, BOX, "", f"# {IMPORTS}"]
    assert files.insert_imports(again, IMPORTS, "shop", [BOX]) == again


def test_render_fills_every_placeholder_and_leaves_make_variables() -> None:
    makefile = files.render(
        "init/Makefile.tmpl", name="shop", domain="example.com", kubeweft_requirement="k"
    )
    assert "$(BIN)/kubeweft run shop.app:app --dev-user developer" in makefile
    assert "{{" not in makefile


def test_the_readme_opens_the_dashboard() -> None:
    readme = files.render("init/README.md.tmpl", name="shop", domain="example.com")
    assert "http://localhost:8080/ui" in readme
    assert "--dev-user developer" in readme


def test_render_refuses_a_missing_value() -> None:
    with pytest.raises(ScaffoldError, match="no value for domain"):
        files.render("init/README.md.tmpl", name="shop")


def plan(*paths: str, mode: Mode = Mode.CREATE) -> list[PlannedFile]:
    return [PlannedFile(PurePosixPath(path), f"new {path}\n", mode) for path in paths]


def test_an_existing_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("mine\n")
    with pytest.raises(ScaffoldError, match=r"^b\.txt exists; refusing to overwrite it$"):
        files.apply(tmp_path, plan("a/a.txt", "b.txt"), dry_run=False, echo=print)
    assert (tmp_path / "b.txt").read_text() == "mine\n"
    assert not (tmp_path / "a").exists()


def test_a_dry_run_writes_nothing_and_names_every_file(tmp_path: Path) -> None:
    said: list[str] = []
    files.apply(tmp_path, plan("a/a.txt", "b.txt"), dry_run=True, echo=said.append)
    assert said == ["would write a/a.txt", "would write b.txt"]
    assert list(tmp_path.iterdir()) == []


def test_a_package_init_is_kept_and_a_replacement_changes_the_file(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text('"""mine"""\n')
    (tmp_path / "app.py").write_text("old\n")
    said: list[str] = []
    planned = plan("__init__.py", mode=Mode.KEEP) + plan("app.py", mode=Mode.REPLACE)
    files.apply(tmp_path, planned, dry_run=False, echo=said.append)
    assert said == ["changed app.py"]
    assert (tmp_path / "__init__.py").read_text() == '"""mine"""\n'
    assert (tmp_path / "app.py").read_text() == "new app.py\n"


def test_the_block_below_each_marker_is_uncommented_once() -> None:
    disabled = "a: 1\n# +m\n#- b\n## why\n#c: 2\n\n# note\n# +m\n#d: 3\n# +m\n#e: 5\nf: 6\n"
    enabled = "a: 1\n# +m\n- b\n# why\nc: 2\n\n# note\n# +m\nd: 3\n# +m\n#e: 5\nf: 6\n"
    assert files.uncomment_at_markers(disabled, "+m") == enabled
    assert files.uncomment_at_markers(enabled, "+m") == enabled
