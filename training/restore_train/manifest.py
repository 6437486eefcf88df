"""A corpus folder's manifest: one JSON line per clip, committed gzipped
(training/data/manifest.jsonl.gz) and read from either form (a working copy such as
training/data/v2-db100 may hold it uncompressed)."""
from __future__ import annotations

import gzip
import json
import pathlib


def manifest_text(folder: pathlib.Path) -> str:
    plain, packed = folder / "manifest.jsonl", folder / "manifest.jsonl.gz"
    if plain.exists():
        return plain.read_text()
    return gzip.decompress(packed.read_bytes()).decode()


def manifest_lines(folder: pathlib.Path) -> list[dict]:
    return [json.loads(l) for l in manifest_text(folder).splitlines() if l.strip()]


def write_manifest_gz(path: pathlib.Path, text: str) -> None:
    """Writes reproducibly (no timestamp in the gzip header), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(text.encode(), mtime=0))
    tmp.replace(path)
