"""`make pages`: compile every folder's templates (functions/*/pages, common's included) into
its `compiled.zip`, which the functions render from. Run it after changing a template or
upgrading Jinja2; a test fails while a zip is behind its templates."""
from __future__ import annotations

import sys

from functions.common import pages


def main() -> int:
    for folder in pages.page_folders():
        target = folder / pages.COMPILED
        pages.compile_folder(folder, target)
        print(f"{target}: {target.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
