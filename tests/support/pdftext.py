"""The text each page of a reportlab PDF draws, for tests that check what a printout says.

No PDF library is needed: reportlab writes plain objects with each page's content stream
ASCII85- and Flate-encoded, and draws text with `(...) Tj` string operands. This reads the page
tree in order, decodes each page's content stream and joins its strings (one per line), so a
test can assert that a value is on a given page. Only for the PDFs ketaflow writes itself.
"""

from __future__ import annotations

import base64
import re
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.S)
_STRING = re.compile(rb"\(((?:[^\\()]|\\.)*)\)\s*Tj", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _decode_stream(obj: bytes) -> bytes:
    match = _STREAM.search(obj)
    if match is None:
        return b""
    data = match.group(1)
    head = obj[:match.start()]
    if b"ASCII85Decode" in head:
        data = base64.a85decode(data.strip(), adobe=True)
    if b"FlateDecode" in head:
        data = zlib.decompress(data)
    return data


def _unescape(raw: bytes) -> str:
    def one(m: re.Match[bytes]) -> bytes:
        code = m.group(1)
        if code[:1].isdigit():
            return bytes([int(code, 8)])
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, raw).decode("cp1252")


def page_texts(pdf: bytes) -> list[str]:
    """Each page's drawn strings, in page order, one string per line."""
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(pdf)}
    pages_obj = next(o for o in objects.values() if re.search(rb"/Type\s*/Pages\b", o))
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]",
                                                                  pages_obj, re.S).group(1))]
    texts = []
    for kid in kids:
        contents = re.search(rb"/Contents\s+(\d+) 0 R", objects[kid])
        assert contents is not None, "a page without a content stream"
        stream = _decode_stream(objects[int(contents.group(1))])
        texts.append("\n".join(_unescape(s) for s in _STRING.findall(stream)))
    return texts
