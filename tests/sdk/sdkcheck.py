"""Shared by the SDK scripts in this folder (standard library only).

`Checks` runs named checks in order: the first one that fails prints what
failed and exits non-zero. A check marked with `known_bug` documents a gateway
bug: it is expected to fail (and is reported, not counted); if it passes, the
script fails and asks for the mark to be removed, so a fix is noticed.
"""

import base64
import struct
import sys
import traceback
import zlib


class Checks:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.known = []

    def check(self, title):
        """Decorator: runs the function at once as the check `title`."""

        def run(fn):
            try:
                fn()
            except Exception as error:  # any failure ends the script
                traceback.print_exc()
                print(f"{self.name}: FAILED: {title}: {type(error).__name__}: {error}", file=sys.stderr)
                sys.exit(1)
            self.passed += 1
            print(f"  ok   {title}")
            return fn

        return run

    def known_bug(self, title, bug):
        """Decorator: runs the function at once as a check expected to fail."""

        def run(fn):
            try:
                fn()
            except Exception as error:
                self.known.append(title)
                print(f"  KNOWN GATEWAY BUG  {title}\n       {bug}\n       got {type(error).__name__}: {error}")
                return fn
            print(
                f"{self.name}: `{title}` passed but is marked as a known gateway bug ({bug}): "
                "the bug is fixed, remove the known_bug mark",
                file=sys.stderr,
            )
            sys.exit(1)

        return run

    def done(self):
        line = f"{self.name}: {self.passed} checks passed"
        if self.known:
            line += f", {len(self.known)} known gateway bugs ({'; '.join(self.known)})"
        print(line)


def tiny_png():
    """A valid 1x1 RGBA PNG, base64 (standard alphabet)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00\xff")
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def expect(actual, expected, what):
    assert actual == expected, f"{what}: expected {expected!r}, got {actual!r}"
