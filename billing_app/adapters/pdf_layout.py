"""Font machinery of the invoice PDF renderer (pdf.py): loading, per-document copies,
fast subsetting and embedding, and text clean-up.

Why (measured on the 2-core dev box with fpdf2 2.8.9; figures in docs/pdf.md):

* fpdf2 parses a TrueType font in `add_font()` for every document (12 ms for the two
  pre-subset DejaVu faces, ~22 ms for the full face) and, in `output()`, runs fontTools'
  subsetter and recompiles the glyf table (~16 ms). Here each face is parsed once per
  process (`FontProgram`, with fpdf2's own parser) and each document gets a cheap copy of
  the parsed font with its own subset map (`FontProgram.for_document`).
* At output, `FastFontOutputProducer` embeds a subset made by slicing the raw glyf table:
  glyph ids are kept (unused glyphs become empty entries), so nothing is renumbered or
  recompiled - about 0.3 ms per face instead of ~8 ms. It emits the same PDF objects as
  fpdf2 (Type0 font, CIDFontType2 with W array and CIDToGIDMap, ToUnicode, FontFile2).
* The full fallback face (Greek, Cyrillic, Hebrew, Arabic, ...) is parsed on first need
  and only added to documents that contain such characters.

Relies on fpdf2 internals (TTFFont/SubsetMap slots, OutputProducer._add_fonts): fpdf2 is
pinned, and tests/integration/test_pdf.py checks the embedded fonts with fontTools. Only
glyf-based TrueType faces (the ones shipped in assets/fonts) take the fast path; any other
font in a document makes the producer use fpdf2's own embedding.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from fpdf import FPDF
from fpdf.fonts import PDFFontDescriptor, SubsetMap, TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFExtGState,
    PDFFont,
    PDFFontStream,
    PDFType3Font,
    PDFXObject,
)
from fpdf.pattern import Pattern
from fpdf.syntax import Name, PDFArray, PDFContentStream

__all__ = [
    "FONT_DIR",
    "FastFontOutputProducer",
    "FontProgram",
    "FontSet",
    "clean_text",
    "font_set",
]

FONT_DIR: Final = Path(__file__).resolve().parents[2] / "assets" / "fonts"

REGULAR_FILE: Final = "DejaVuSans-Invoice.ttf"
BOLD_FILE: Final = "DejaVuSans-Bold-Invoice.ttf"
FALLBACK_FILE: Final = "DejaVuSans.ttf"

# Tables a PDF viewer needs from an embedded CIDFontType2 program (ISO 32000-1, 9.9). The
# cmap is not needed: the PDF maps codes to glyph ids itself (CIDToGIDMap).
_KEPT_TABLES: Final = (
    "OS/2",
    "cvt ",
    "fpgm",
    "glyf",
    "head",
    "hhea",
    "hmtx",
    "loca",
    "maxp",
    "name",
    "post",
    "prep",
)

# Composite glyph flags (OpenType glyf table).
_ARG_1_AND_2_ARE_WORDS: Final = 0x0001
_WE_HAVE_A_SCALE: Final = 0x0008
_MORE_COMPONENTS: Final = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE: Final = 0x0040
_WE_HAVE_A_TWO_BY_TWO: Final = 0x0080

_PT_TO_MM: Final = 25.4 / 72


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    words = array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


class FontProgram:
    """One TrueType face, parsed once per process and shared by all documents.

    Holds fpdf2's parsed `TTFFont` (metrics, cmap) as a template and the raw glyf/loca data
    the fast subsetter slices. Immutable after construction, so safe to share between
    threads.
    """

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        self.path = path
        self._tables = self._read_tables(data)
        for tag in ("glyf", "loca", "head", "maxp", "hmtx", "hhea"):
            if tag not in self._tables:
                raise ValueError(f"{path.name} is not a glyf-based TrueType font ({tag} missing).")
        head = self._tables["head"]
        self._long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        self.num_glyphs: int = struct.unpack_from(">H", self._tables["maxp"], 4)[0]
        self._loca = self._read_loca(self._tables["loca"], self._long_loca, self.num_glyphs)
        self._glyf = self._tables["glyf"]
        # post format 3: no glyph names (the PDF never needs them).
        post = self._tables.get("post")
        if post is not None and len(post) >= 32:
            self._tables["post"] = b"\x00\x03\x00\x00" + post[4:32]
        self._static = {
            tag: table
            for tag, table in self._tables.items()
            if tag in _KEPT_TABLES and tag not in {"glyf", "loca", "head"}
        }
        self._static_checksums = {tag: _checksum(table) for tag, table in self._static.items()}
        # fpdf2's own parser gives the metrics and the cmap; from bytes, so no file stays open.
        scratch = FPDF()
        scratch.render_color_fonts = False
        self.template = TTFFont(
            scratch, cast(Path, io.BytesIO(data)), "template", "B" if "Bold" in path.name else ""
        )
        self.codepoints: frozenset[int] = frozenset(self.template.cmap)
        self.widths: dict[int, float] = dict(self.template.cw)
        self.missing_width: float = float(self.template.desc.missing_width)
        self._components: dict[int, tuple[int, ...]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _read_tables(data: bytes) -> dict[str, bytes]:
        (num_tables,) = struct.unpack_from(">H", data, 4)
        tables: dict[str, bytes] = {}
        for index in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
            tables[tag.decode("latin-1")] = data[offset : offset + length]
        return tables

    @staticmethod
    def _read_loca(loca: bytes, long_format: bool, num_glyphs: int) -> list[int]:
        offsets = array(
            "I" if long_format else "H", loca[: (num_glyphs + 1) * (4 if long_format else 2)]
        )
        if sys.byteorder == "little":
            offsets.byteswap()
        if long_format:
            return list(offsets)
        return [offset * 2 for offset in offsets]

    # -- glyphs

    def components(self, gid: int) -> tuple[int, ...]:
        """Glyph ids a composite glyph refers to (empty for simple glyphs)."""
        cached = self._components.get(gid)
        if cached is not None:
            return cached
        start, end = self._loca[gid], self._loca[gid + 1]
        found: list[int] = []
        if end - start >= 10 and struct.unpack_from(">h", self._glyf, start)[0] < 0:
            position = start + 10
            while True:
                flags, component = struct.unpack_from(">HH", self._glyf, position)
                found.append(component)
                position += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
                if flags & _WE_HAVE_A_SCALE:
                    position += 2
                elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
                    position += 4
                elif flags & _WE_HAVE_A_TWO_BY_TWO:
                    position += 8
                if not flags & _MORE_COMPONENTS:
                    break
        result = tuple(found)
        with self._lock:
            self._components[gid] = result
        return result

    def subset(self, glyph_ids: Iterable[int]) -> bytes:
        """A font program with only `glyph_ids` (and their components) drawn.

        Glyph ids are unchanged: the other glyphs are kept as empty entries, so hmtx,
        the PDF's CIDToGIDMap and the widths stay valid without renumbering.
        """
        keep = {0}
        pending = [gid for gid in glyph_ids if 0 <= gid < self.num_glyphs]
        while pending:
            gid = pending.pop()
            if gid in keep:
                continue
            keep.add(gid)
            pending.extend(self.components(gid))
        loca = self._loca
        glyf = self._glyf
        parts: list[bytes] = []
        # New loca: glyph g spans offsets[g]..offsets[g + 1]; unused glyphs are empty.
        offsets = [0] * (self.num_glyphs + 1)
        position = 0
        previous = 0
        for gid in sorted(keep):
            offsets[previous + 1 : gid + 1] = [position] * (gid - previous)
            data = glyf[loca[gid] : loca[gid + 1]]
            pad = -len(data) % 4
            parts.append(data + b"\0" * pad if pad else data)
            position += len(data) + pad
            offsets[gid + 1] = position
            previous = gid + 1
        offsets[previous + 1 :] = [position] * (self.num_glyphs - previous)
        short = position <= 0x1FFFE  # offsets are even (4-byte aligned): /2 fits 16 bits
        new_loca = array("H", [offset >> 1 for offset in offsets]) if short else array("I", offsets)
        if sys.byteorder == "little":
            new_loca.byteswap()
        head = bytearray(self._tables["head"])
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set in _assemble
        struct.pack_into(">h", head, 50, 0 if short else 1)
        tables = dict(self._static)
        tables["glyf"] = b"".join(parts)
        tables["loca"] = new_loca.tobytes()
        tables["head"] = bytes(head)
        return self._assemble(tables)

    def _assemble(self, tables: dict[str, bytes]) -> bytes:
        """An sfnt file from its tables (ISO/IEC 14496-22, 5.7 'The table directory')."""
        tags = sorted(tables)
        count = len(tags)
        power = 1 << (count.bit_length() - 1)
        header = struct.pack(
            ">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, (count - power) * 16
        )
        directory: list[bytes] = []
        bodies: list[bytes] = []
        total = 0
        offset = 12 + 16 * count
        head_offset = 0
        for tag in tags:
            table = tables[tag]
            checksum = self._static_checksums.get(tag)
            if checksum is None or table is not self._static[tag]:
                checksum = _checksum(table)
            total += checksum
            if tag == "head":
                head_offset = offset
            directory.append(
                struct.pack(">4sIII", tag.encode("latin-1"), checksum, offset, len(table))
            )
            pad = -len(table) % 4
            bodies.append(table + b"\0" * pad if pad else table)
            offset += len(table) + pad
        prefix = header + b"".join(directory)
        font = bytearray(prefix + b"".join(bodies))
        # The whole file's checksum is the sum of its 4-byte words: directory + tables.
        adjustment = (0xB1B0AFBA - _checksum(prefix) - total) & 0xFFFFFFFF
        struct.pack_into(">I", font, head_offset + 8, adjustment)
        return bytes(font)

    # -- per document

    def for_document(self, fpdf: FPDF, fontkey: str) -> DocumentFont:
        """A copy of the parsed font for one document: shared metrics, its own subset map."""
        template = self.template
        font: DocumentFont = DocumentFont.__new__(DocumentFont)
        font.program = self
        for slot in TTFFont.__slots__:
            if hasattr(template, slot):
                setattr(font, slot, getattr(template, slot))
        font.i = len(fpdf.fonts) + 1
        font.fontkey = fontkey
        font.biggest_size_pt = 0
        font.missing_glyphs = []
        font.color_font = None
        font._hbfont = None
        desc = template.desc
        font.desc = PDFFontDescriptor(
            ascent=desc.ascent,
            descent=desc.descent,
            cap_height=desc.cap_height,
            flags=desc.flags,
            font_b_box=desc.font_b_box,
            italic_angle=desc.italic_angle,
            stem_v=desc.stem_v,
            missing_width=desc.missing_width,
        )
        font.subset = SubsetMap(font)
        return font


class DocumentFont(TTFFont):
    """fpdf2's parsed font as used by one document, knowing the program it comes from."""

    __slots__ = ("program",)
    program: FontProgram


@dataclass(frozen=True, slots=True)
class FontSet:
    """The faces of the renderer: regular and bold subsets, and the full fallback face."""

    regular: FontProgram
    bold: FontProgram

    @property
    def fallback(self) -> FontProgram:
        return _fallback_program()


@functools.cache
def font_set() -> FontSet:
    """The renderer's fonts, parsed on first use and kept for the life of the process."""
    return FontSet(FontProgram(FONT_DIR / REGULAR_FILE), FontProgram(FONT_DIR / BOLD_FILE))


@functools.cache
def _fallback_program() -> FontProgram:
    return FontProgram(FONT_DIR / FALLBACK_FILE)


def release_fonts() -> None:
    """Drop fpdf2's memoised glyph look-ups (after output or a failed render).

    fpdf2 memoises SubsetMap look-ups in a process-wide functools.cache keyed by the map;
    clearing it stops finished documents being kept alive. Concurrent renders simply
    recompute their entries.
    """
    SubsetMap.pick.cache_clear()
    SubsetMap.get_glyph.cache_clear()


# --------------------------------------------------------------------------- embedding


def _subset_tag(font_name: str, glyph_ids: Sequence[int]) -> str:
    """Six upper-case letters naming a subset (ISO 32000-1, 9.6.4), deterministic."""
    digest = hashlib.sha256(font_name.encode() + array("I", glyph_ids).tobytes()).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:6])


def _widths_array(widths: dict[int, int]) -> str:
    """The W array of a CIDFont: runs of consecutive codes as `c [w1 w2 ...]`."""
    parts: list[str] = []
    run: list[int] = []
    start = previous = -2
    for code in sorted(widths):
        if code != previous + 1 and run:
            parts.append(f"{start} [{' '.join(map(str, run))}]")
            run = []
        if not run:
            start = code
        run.append(widths[code])
        previous = code
    if run:
        parts.append(f"{start} [{' '.join(map(str, run))}]")
    return "[" + " ".join(parts) + "]"


def _to_unicode_cmap(mapping: Sequence[tuple[int, tuple[int, ...]]]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
    ]
    for start in range(0, len(mapping), 100):
        chunk = mapping[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar\n")
        for code, unicodes in chunk:
            text = "".join(chr(u) for u in unicodes).encode("utf-16-be").hex().upper()
            lines.append(f"<{code:04X}> <{text}>\n")
        lines.append("endbfchar\n")
    lines.append("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")
    return "".join(lines).encode("latin-1")


class _FontFileStream(PDFFontStream):
    """FontFile2 compressed at zlib level 1: 3-4x faster than fpdf2's default level 6 and
    only ~6 % larger on a font subset (~0.3 ms saved per face)."""

    _COMPRESSION_LEVEL = 1


class FastFontOutputProducer(OutputProducer):
    """fpdf2's OutputProducer, embedding our fonts with `FontProgram.subset`.

    Produces the same PDF objects as fpdf2 (Type0 font, CIDFontType2 descendant with W
    array and CIDToGIDMap, ToUnicode CMap, FontDescriptor with FontFile2).
    """

    def _add_fonts(
        self,
        image_objects_per_index: dict[int, PDFXObject],
        gfxstate_objs_per_name: dict[str, PDFExtGState],
        pattern_objs_per_name: dict[str, Pattern],
    ) -> dict[int, PDFFont | PDFType3Font]:
        fonts = self.fpdf.fonts
        if not all(isinstance(font, DocumentFont) for font in fonts.values()):
            return super()._add_fonts(
                image_objects_per_index, gfxstate_objs_per_name, pattern_objs_per_name
            )
        objects: dict[int, PDFFont | PDFType3Font] = {}
        for font in sorted(fonts.values(), key=lambda f: f.i):
            assert isinstance(font, DocumentFont)
            objects[font.i] = self._add_fast_font(font)
        return objects

    def _add_fast_font(self, font: DocumentFont) -> PDFFont:
        glyphs = sorted(
            (
                (glyph.glyph_id, code, glyph.glyph_width, glyph.unicode)
                for glyph, code in font.subset.items()
                if glyph is not None
            ),
            key=lambda item: item[1],
        )
        glyph_ids = [gid for gid, _, _, _ in glyphs]
        fontname = f"{_subset_tag(font.name, glyph_ids)}+{font.name}"

        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2",
            base_font=fontname,
            d_w=font.desc.missing_width,
            w=_widths_array({code: width for _, code, width, _ in glyphs}),
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        unicode_map = [
            (code, unicodes)
            for _, code, _, unicodes in glyphs
            if isinstance(unicodes, tuple) and unicodes and 0 not in unicodes
        ]
        to_unicode = PDFContentStream(_to_unicode_cmap(unicode_map), compress=self.fpdf.compress)
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode

        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor

        max_code = max((code for _, code, _, _ in glyphs), default=0)
        cid_to_gid = bytearray(2 * (max_code + 1))
        for gid, code, _, _ in glyphs:
            struct.pack_into(">H", cid_to_gid, 2 * code, gid)
        cid_to_gid_obj = PDFContentStream(bytes(cid_to_gid), compress=True)
        self._add_pdf_obj(cid_to_gid_obj, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid_obj

        font_file = _FontFileStream(font.program.subset(glyph_ids))
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]
        return composite


# --------------------------------------------------------------------------- text

_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_KEPT_FORMAT_CHARS: Final = frozenset("\u00ad\u200b\u200e\u200f\u202f\u2060")


@functools.lru_cache(maxsize=4096)
def clean_text(text: str) -> str:
    """NFC-normalised text without control characters; tabs become spaces.

    Newlines are kept (they separate paragraphs). NFC turns 'e' + combining acute into 'é',
    a glyph the fonts have, instead of relying on mark positioning the renderer lacks.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\t", " "))
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        char
        for char in text
        if char == "\n"
        or char in _KEPT_FORMAT_CHARS
        or unicodedata.category(char) not in _CONTROL_CATEGORIES
    )


def pt_to_mm(points: float) -> float:
    return points * _PT_TO_MM


def iter_runs(text: str, codepoints: frozenset[int]) -> Iterator[tuple[bool, str]]:
    """Split text into (in_primary_font, run) pieces."""
    start = 0
    current = ord(text[0]) in codepoints if text else True
    for index, char in enumerate(text):
        inside = ord(char) in codepoints
        if inside != current:
            yield current, text[start:index]
            start, current = index, inside
    if start < len(text):
        yield current, text[start:]
