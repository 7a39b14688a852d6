"""Build the pre-subset fonts the invoice PDF renderer embeds (an offline build step).

    .venv/bin/python scripts/subset_fonts.py [--source-dir /usr/share/fonts/truetype/dejavu]

Reads DejaVu Sans (Debian package fonts-dejavu-core) and writes into assets/fonts/:

* DejaVuSans-Invoice.ttf, DejaVuSans-Bold-Invoice.ttf: the Latin, Latin Extended,
  punctuation, currency and a few symbol blocks only, without hinting instructions and
  OpenType layout tables (the renderer does no shaping). Small, so loading them is cheap.
* DejaVuSans.ttf: the full regular face, copied unchanged. The renderer only loads it as a
  fallback when a document contains a character the subsets do not have (Greek, Cyrillic,
  Hebrew, Arabic, ...).

The outputs are committed; the app never reads system fonts at run time. Re-run this after
changing UNICODE_RANGES and commit the result. Needs fontTools (a dependency of fpdf2).
The DejaVu licence (assets/fonts/LICENSE) allows modified copies under names without
"Bitstream", "Vera", "Arev" or "Tavmjong Bah"; DejaVu Sans is such a name.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "assets" / "fonts"

# Keep in step with billing_app/adapters/pdf.py: characters outside these ranges make the
# renderer load the full fallback face.
UNICODE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x0180, 0x024F),  # Latin Extended-B
    (0x02B0, 0x02FF),  # Spacing Modifier Letters
    (0x0300, 0x036F),  # Combining Diacritical Marks
    (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese, Welsh, ...)
    (0x2000, 0x206F),  # General Punctuation (dashes, quotes, narrow no-break space, ...)
    (0x20A0, 0x20CF),  # Currency Symbols
    (0x2100, 0x214F),  # Letterlike Symbols (numero sign, trade mark, ...)
    (0x2190, 0x21FF),  # Arrows
    (0x2212, 0x2212),  # minus sign (Babel uses it in some locales)
    (0x2215, 0x2215),  # division slash
    (0x221E, 0x221E),  # infinity
    (0x2248, 0x2248),  # almost equal to
    (0x2260, 0x2265),  # not equal, less/greater or equal
    (0x25A0, 0x25FF),  # Geometric Shapes (bullets, squares)
    (0x2713, 0x2714),  # check marks
    (0xFB00, 0xFB06),  # Latin ligatures (text pasted from PDFs)
    (0xFFFD, 0xFFFD),  # replacement character, printed for characters no font has
)

FACES = {
    "DejaVuSans.ttf": "DejaVuSans-Invoice.ttf",
    "DejaVuSans-Bold.ttf": "DejaVuSans-Bold-Invoice.ttf",
}
FALLBACK = "DejaVuSans.ttf"


def unicodes() -> list[int]:
    return [code for start, end in UNICODE_RANGES for code in range(start, end + 1)]


def subset_face(source: Path, target: Path) -> None:
    options = subset.Options()
    options.hinting = False  # drops fpgm/prep/cvt and glyph instructions: smaller, simpler
    options.layout_features = []  # no GSUB/GPOS: the renderer does not shape text
    options.drop_tables += ["GDEF", "GSUB", "GPOS", "kern", "gasp", "hdmx", "FFTM", "MATH"]
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.glyph_names = False  # post table format 3
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep copyright and licence notices
    options.name_languages = [0x409]
    options.prune_unicode_ranges = True
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes())
    subsetter.subset(font)
    font.save(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path("/usr/share/fonts/truetype/dejavu"))
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for source_name, target_name in FACES.items():
        target = OUT_DIR / target_name
        subset_face(args.source_dir / source_name, target)
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size:,} bytes")
    fallback = OUT_DIR / FALLBACK
    shutil.copyfile(args.source_dir / FALLBACK, fallback)
    print(f"{fallback.relative_to(ROOT)}: {fallback.stat().st_size:,} bytes (full fallback)")
    for path in sorted(OUT_DIR.glob("*.ttf")):
        print(f"  sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")


if __name__ == "__main__":
    main()
