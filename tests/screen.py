"""A picture of an X display: Xvfb's framebuffer file (`Xvfb -fbdir DIR` keeps the screen in
DIR/Xvfb_screen0, in XWD format) converted to PNG with the standard library alone."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def xwd_to_png(xwd: bytes) -> bytes:
    """PNG bytes of a 24/32-bit TrueColor XWD image (what Xvfb writes for `-screen 0 WxHx24`)."""
    fields = struct.unpack(">25I", xwd[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    masks = fields[14:17]
    if bits_per_pixel != 32:
        raise ValueError(f"unsupported XWD: {bits_per_pixel} bits per pixel")
    start = header_size + ncolors * 12
    fmt = "<I" if byte_order == 0 else ">I"
    shifts = [(m & -m).bit_length() - 1 for m in masks]
    rows = bytearray()
    for y in range(height):
        line = xwd[start + y * bytes_per_line: start + y * bytes_per_line + width * 4]
        rows.append(0)
        if byte_order == 0 and masks == (0xFF0000, 0xFF00, 0xFF):  # BGRX: the common case, fast
            px = bytearray(line)
            out = bytearray(width * 3)
            out[0::3], out[1::3], out[2::3] = px[2::4], px[1::4], px[0::4]
            rows += out
        else:
            for x in range(width):
                (v,) = struct.unpack_from(fmt, line, x * 4)
                rows += bytes(((v & m) >> s) & 0xFF for m, s in zip(masks, shifts))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows), 6)) + chunk(b"IEND", b""))


def grab(fbdir: Path, png: Path) -> Path:
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(xwd_to_png((fbdir / "Xvfb_screen0").read_bytes()))
    return png
