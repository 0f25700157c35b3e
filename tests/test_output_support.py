"""Shared helpers of the output tests (sample results, tiny real PNG files) and their own checks."""

from __future__ import annotations

import copy
import json
import struct
import zlib
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = ("pass", "fail", "inconclusive", "adblock", "minimal")


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"result_{name}.json").read_text(encoding="utf-8"))


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    """A valid PNG of one colour, built by hand so tests need no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def write_screenshots(result: dict[str, Any], out_dir: Path) -> list[str]:
    """Create every screenshot a result names under out_dir; returns the paths written."""
    paths = [s for s in result.get("screenshots") or []]
    paths += [s.get("screenshot") for s in (result.get("flow") or {}).get("steps", []) if s.get("screenshot")]
    for rel in paths:
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(png())
    return paths


def deep_copy(result: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(result)


def test_png_helper_makes_a_valid_png() -> None:
    data = png(2, 2)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    # IHDR declares the size; a CRC mismatch here would make Chromium refuse the image.
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and struct.unpack(">II", data[16:24]) == (2, 2)
    assert struct.unpack(">I", data[16 + length:20 + length])[0] == zlib.crc32(data[12:16 + length])


def test_every_sample_result_loads() -> None:
    for name in SAMPLES:
        assert load(name)["schema"] == "card-audit/result/v1"
