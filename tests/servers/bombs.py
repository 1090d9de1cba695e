"""Compression bombs made at test time: gigabytes of zeros in a few kilobytes, never holding the zeros themselves.

A compressor's output after a full flush does not refer back to earlier data, so one compressed mebibyte of zeros
repeated N times is N mebibytes of zeros. The stream has no end: a decoder that gets that far has failed already.
"""
from __future__ import annotations

import gzip
import zlib

MIB = 1 << 20
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


def bomb(encoding: str, size: int) -> bytes:
    """`size` bytes of zeros (in whole MiB) under `encoding`, e.g. "gzip, gzip": the first coding is applied to
    the zeros, each further one to the result, as the Content-Encoding header lists them."""
    first, *rest = (coding.strip() for coding in encoding.split(","))
    compressor = zlib.compressobj(9, zlib.DEFLATED, _WBITS[first])
    head = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = head + again * (size // MIB - 1)
    for coding in rest:
        body = compress(coding, body)
    return body


def compress(coding: str, data: bytes) -> bytes:
    """`data` as a well-behaved server sends it: gzip, deflate (zlib format) or raw-deflate (no zlib header)."""
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()
