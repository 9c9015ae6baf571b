"""Build the deployment zip as `azd deploy` and `func azure functionapp publish` do, and list what is inside.

Both walk the project folder and leave out what `.funcignore` matches, with gitignore rules; azd then ships the
zip to Flex Consumption, whose remote build installs `requirements.txt`. Building it here shows, before any
deployment, exactly which files would reach Azure: `make package`.
"""

from __future__ import annotations

import argparse
import os
import zipfile
from pathlib import Path

import pathspec

from .world import REPO_ROOT


def package_files(root: Path) -> list[str]:
    """Every file under `root` that `.funcignore` does not exclude, as sorted POSIX paths relative to it."""
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".funcignore").read_text().splitlines())
    kept = []
    for directory, subdirectories, files in os.walk(root):
        relative = Path(directory).relative_to(root)
        # An excluded folder is not descended into, as with git: nothing inside it can be re-included.
        subdirectories[:] = sorted(d for d in subdirectories
                                   if not spec.match_file(f"{(relative / d).as_posix()}/"))
        kept += [(relative / name).as_posix() for name in files if not spec.match_file((relative / name).as_posix())]
    return sorted(kept)


def build_package(root: Path, output: Path) -> list[str]:
    names = package_files(root)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(root / name, name)
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / ".localdev" / "package.zip")
    args = parser.parse_args(argv)
    names = build_package(REPO_ROOT, args.output)
    print("\n".join(names))
    print(f"{len(names)} files, {args.output.stat().st_size:,} bytes: {args.output}")


if __name__ == "__main__":
    main()
