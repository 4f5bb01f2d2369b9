"""The functions render their templates compiled (pages/compiled.zip): each zip is the pinned
Jinja2's compilation of its folder's templates, as they are now."""
from __future__ import annotations

import zipfile

from functions.common import pages


def _modules(path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_every_compiled_zip_is_its_folders_templates_as_they_are(tmp_path):
    """`make pages` after changing a template or upgrading Jinja2."""
    for folder in pages.page_folders():
        fresh = tmp_path / f"{folder.parent.name}.zip"
        pages.compile_folder(folder, fresh)
        shipped = folder / pages.COMPILED
        assert shipped.exists(), f"{shipped} is missing: run make pages"
        assert _modules(shipped) == _modules(fresh), f"{shipped} is behind its templates: run make pages"
        assert len(_modules(shipped)) == len(list(folder.glob("*.html")))


def test_a_page_renders_from_its_compiled_zip(tmp_path, monkeypatch):
    """What renders is the compiled form: a folder whose zip says otherwise renders that."""
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "hello.html").write_text("{% extends 'base.html' %}{% block title %}你好{% endblock %}", "utf-8")
    pages.compile_folder(folder, folder / pages.COMPILED)
    (folder / "hello.html").write_text("changed, not compiled", "utf-8")
    assert "<title>你好" in pages.render(folder, "hello.html")
