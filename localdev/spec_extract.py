"""Make (or check) the pinned extract of the Face REST contract that the emulator serves.

The emulator and its tests must work on a user's clone, where the research folder `../shared/face-api-spec`
does not exist, so the Large Face List part of each version's Swagger file is copied into `localdev/spec/`.
The extract is a pure function of the source files: re-running it against `../shared` must give the same bytes,
which is what `tests/test_spec_extract.py` checks wherever that folder is present.

    python -m localdev.spec_extract                # rewrite localdev/spec/ from ../shared/face-api-spec
    python -m localdev.spec_extract --check        # exit 1 if the extract is stale
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "face-api-spec"
EXTRACT_DIR = Path(__file__).resolve().parent / "spec"
VERSIONS = ("v1.0", "v1.1-preview.1", "v1.2-preview.1", "v1.2")
LARGE_FACE_LIST_PATH_PREFIX = "/largefacelists"

# Top-level keys that describe how every operation is reached (host, auth, media types).
_ENVELOPE_KEYS = (
    "swagger", "info", "schemes", "x-ms-parameterized-host", "consumes", "produces", "security",
    "securityDefinitions",
)
# v1.0 points at a shared parameters file; the extract inlines those refs so it stands alone.
_EXTERNAL_COMMON = "../../../Common/Parameters.json"


def extract_version(version_dir: Path) -> dict[str, Any]:
    """Return the Large Face List subset of one version's Face.json, with every $ref resolvable inside it."""
    spec = json.loads((version_dir / "Face.json").read_text(encoding="utf-8"))
    common_file = version_dir / "Common-Parameters.json"
    common = json.loads(common_file.read_text(encoding="utf-8")) if common_file.exists() else {}

    out: dict[str, Any] = {key: spec[key] for key in _ENVELOPE_KEYS if key in spec}
    for section in ("paths", "x-ms-paths"):
        kept = {p: ops for p, ops in spec.get(section, {}).items() if p.startswith(LARGE_FACE_LIST_PATH_PREFIX)}
        if kept:
            out[section] = kept
    out = _inline_external_refs(out, common, spec)

    parameters: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    pending = list(_refs_in(out))
    while pending:
        ref = pending.pop()
        kind, _, name = ref.removeprefix("#/").partition("/")
        target = parameters if kind == "parameters" else definitions
        if name in target:
            continue
        node = spec[kind][name] if name in spec.get(kind, {}) else common[kind][name]
        target[name] = node
        pending.extend(_refs_in(node))
    out["parameters"] = dict(sorted(parameters.items()))
    out["definitions"] = dict(sorted(definitions.items()))
    return out


def _inline_external_refs(node: Any, common: dict[str, Any], spec: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_EXTERNAL_COMMON + "#/"):
            local = ref.removeprefix(_EXTERNAL_COMMON)
            kind, _, name = local.removeprefix("#/").partition("/")
            if name in spec.get(kind, {}) and spec[kind][name] != common[kind][name]:
                raise ValueError(f"{kind}/{name} exists in both Face.json and the common file with different content")
            return {**node, "$ref": local}
        return {key: _inline_external_refs(value, common, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_external_refs(item, common, spec) for item in node]
    return node


def _refs_in(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                yield value
            else:
                yield from _refs_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs_in(item)


def render(source: Path) -> dict[str, str]:
    """File name → exact text of every file the extract consists of (spec JSON plus the manifest)."""
    files = {f"{v}.json": json.dumps(extract_version(source / v), indent=2, ensure_ascii=False) + "\n" for v in VERSIONS}
    sources = sorted(p for v in VERSIONS for p in (source / v).glob("*.json"))
    manifest = {
        "source": "Azure/azure-rest-api-specs, specification/ai/data-plane/Face (see SOURCES.md)",
        "license": "MIT, Copyright (c) 2017 Microsoft",
        "source_sha256": {str(p.relative_to(source)): _sha256(p.read_bytes()) for p in sources},
        # Lets a clone without the source folder still tell that the extract was not edited by hand.
        "extract_sha256": {name: _sha256(text.encode("utf-8")) for name, text in sorted(files.items())},
    }
    files["manifest.json"] = json.dumps(manifest, indent=2) + "\n"
    return files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the face-api-spec folder")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"no spec folder at {args.source}")
    files = render(args.source)
    stale = [name for name, text in files.items() if _read(EXTRACT_DIR / name) != text]
    if args.check:
        for name in stale:
            print(f"stale: localdev/spec/{name}", file=sys.stderr)
        return 1 if stale else 0
    EXTRACT_DIR.mkdir(exist_ok=True)
    for name in stale:
        (EXTRACT_DIR / name).write_text(files[name], encoding="utf-8")
        print(f"wrote localdev/spec/{name}")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


if __name__ == "__main__":
    sys.exit(main())
