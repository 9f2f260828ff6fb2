#!/usr/bin/env python3
"""Prints how much a PNG screenshot shows: its size, the number of distinct
colours and the share of pixels that are not (near) white. Standard library
only: the PNG is decoded here (8-bit RGB or RGBA, non-interlaced, the five
filters), which is what Chromium writes.

Usage: png_content.py FILE.png [MIN_COLOURS MIN_INK_PERCENT]
With the thresholds, exits 1 if the picture has fewer colours or less ink."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError(f'{path}: not a PNG file')
    pos, idat, width = 8, b'', 0
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f'{path}: depth {depth}, colour type {ctype}, interlace {interlace}: '
                                 'expected 8-bit RGB or RGBA, not interlaced')
            bpp = 3 if ctype == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:  # the common filters without a loop over bytes in Python
            line = bytearray((u + v) & 255 for u, v in zip(line, prev))
            f = 0
        for i in range(stride if f else 0):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def main():
    path = sys.argv[1]
    width, height, bpp, rows = decode(path)
    colours, ink = set(), 0
    for line in rows:
        for x in range(0, len(line), bpp):
            px = line[x:x + 3]
            colours.add(px)
            if min(px) < 235:
                ink += 1
    share = 100.0 * ink / (width * height)
    print(f'{path}: {width}x{height}, {len(colours)} colours, {share:.2f}% of pixels not white')
    if len(sys.argv) > 3 and (len(colours) < int(sys.argv[2]) or share < float(sys.argv[3])):
        print(f'expected at least {sys.argv[2]} colours and {sys.argv[3]}% not white')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
