"""The pinned spec extract is what the extraction script makes from the research copy of the contract."""

from __future__ import annotations

import hashlib
import json

from localdev.spec_extract import DEFAULT_SOURCE, EXTRACT_DIR, VERSIONS, render


def test_the_extract_is_current() -> None:
    """Against `../shared/face-api-spec` where it exists (CI, developers); else against the recorded hashes."""
    manifest = json.loads((EXTRACT_DIR / "manifest.json").read_text())
    on_disk = {name: (EXTRACT_DIR / name).read_text(encoding="utf-8") for name in manifest["extract_sha256"]}
    if DEFAULT_SOURCE.is_dir():
        assert render(DEFAULT_SOURCE) == {**on_disk, "manifest.json": (EXTRACT_DIR / "manifest.json").read_text()}
    else:
        assert {n: hashlib.sha256(t.encode()).hexdigest() for n, t in on_disk.items()} == manifest["extract_sha256"]


def test_the_extract_holds_every_large_face_list_operation_and_nothing_else() -> None:
    for version in VERSIONS:
        spec = json.loads((EXTRACT_DIR / f"{version}.json").read_text())
        operations = [op for section in ("paths", "x-ms-paths") for ops in spec[section].values() for op in ops.values()]
        assert len(operations) == 13, version
        assert all(path.startswith("/largefacelists") for s in ("paths", "x-ms-paths") for path in spec[s])
        assert "$ref\": \"../" not in json.dumps(spec)  # every reference resolves inside the file
