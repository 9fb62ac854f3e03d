#!/usr/bin/env python3
"""Build the OpenType MATH font that handprop's HTML pages embed.

The HTML renderer writes its formulas as MathML. Chromium and Firefox only
typeset fractions, stretchy brackets, radicals and large operators well with a
font that has an OpenType MATH table, so the page carries one as a base64 WOFF2
in an @font-face rule. This script makes that font from a font installed by a
Debian package:

* STIX Math (fonts-stix, SIL Open Font License 1.1) when it has a MATH table,
  otherwise Latin Modern Math (fonts-lmodern, GUST Font License);
* subset with fontTools to the characters handprop's math uses, keeping the
  MATH table and every size variant and assembly piece it references, and all
  OpenType layout features (script-size alternates, dotless forms, ...);
* renamed, since the subset is a Modified Version of the font (the licence
  reserves the original name for the unmodified font);
* written as WOFF2 to src/handprop/render/assets/math-font.woff2, with the
  font's licence in math-font-LICENSE.txt next to it.

Run it again whenever the character set changes; the output is reproducible:

    .venv/bin/python tools/build_math_font.py

It needs fontTools and brotli (for WOFF2).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "src" / "handprop" / "render" / "assets"
FONT_OUT = ASSETS / "math-font.woff2"
LICENSE_OUT = ASSETS / "math-font-LICENSE.txt"

# The name the subset carries (name table and CFF); the page's CSS calls it 'handprop-math'.
FAMILY = "Handprop Math"
POSTSCRIPT = "HandpropMath-Regular"


@dataclass(frozen=True)
class Candidate:
    label: str
    font: Path
    package: str  # Debian package that installs the font
    copyright: Path  # that package's machine-readable copyright file
    license_name: str | None  # its License: stanza for the font, None to copy the whole file


CANDIDATES = (
    # Preferred: OFL.
    Candidate("STIX Math", Path("/usr/share/fonts/opentype/stix-word/STIXMath-Regular.otf"),
              "fonts-stix", Path("/usr/share/doc/fonts-stix/copyright"), "SIL-OFL-1.1"),
    Candidate("Latin Modern Math", Path("/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf"),
              "fonts-lmodern", Path("/usr/share/doc/fonts-lmodern/copyright"), None),
)

# Characters kept (inclusive code point ranges). Everything the MATH table and
# the layout features reach from these is kept as well.
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement (includes the middle dot U+00B7)
    (0x00B7, 0x00B7),  # middle dot, \cdot in latex2mathml
    (0x0131, 0x0131),  # dotless i, for accents over i
    (0x0237, 0x0237),  # dotless j
    (0x02C6, 0x02DD),  # spacing accents: \check U+02C7, \breve U+02D8, \dot U+02D9, ...
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x2000, 0x206F),  # General Punctuation: spaces, prime U+2032, ...
    (0x2100, 0x214F),  # Letterlike Symbols
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators: ∂ ∑ − ⋅ ≤ ≥ ∈ √ ...
    (0x2300, 0x23FF),  # Miscellaneous Technical: bracket pieces ⎛⎜⎝ ...
    (0x27C0, 0x27EF),  # Miscellaneous Mathematical Symbols-A
    (0x2980, 0x29FF),  # Miscellaneous Mathematical Symbols-B
    (0x2A00, 0x2AFF),  # Supplemental Mathematical Operators
    (0x1D400, 0x1D7FF),  # Mathematical Alphanumeric Symbols: <mi>x</mi> is drawn as math italic
)


def unicodes() -> list[int]:
    return sorted({cp for low, high in RANGES for cp in range(low, high + 1)})


def choose_font() -> Candidate:
    for candidate in CANDIDATES:
        if not candidate.font.is_file():
            print(f"{candidate.label}: {candidate.font} not found", file=sys.stderr)
            continue
        if "MATH" not in TTFont(candidate.font, lazy=True):
            print(f"{candidate.label}: {candidate.font} has no MATH table", file=sys.stderr)
            continue
        return candidate
    sys.exit("no OpenType MATH font found; install fonts-stix or fonts-lmodern")


def subset_options() -> subset.Options:
    options = subset.Options()
    options.layout_features = ["*"]  # ssty (script-size glyphs), dtls (dotless forms), ... when the font has them
    # MATH is kept and subset like GSUB/GPOS (glyph IDs renumbered, variants closed over);
    # FontForge's build timestamp is of no use in a web font.
    options.drop_tables = [t for t in options.drop_tables if t != "MATH"] + ["FFTM"]
    options.glyph_names = False
    options.notdef_glyph = True
    options.notdef_outline = True
    options.name_IDs = ["*"]  # copyright, trademark and licence fields stay in the font
    options.name_languages = ["*"]
    options.name_legacy = True
    options.recalc_timestamp = False
    options.flavor = "woff2"
    return options


def rename(font: TTFont, source_label: str) -> None:
    """Give the subset its own name; the copyright, trademark and licence records stay."""
    new = {
        1: FAMILY,
        3: f"{POSTSCRIPT}; subset of {source_label}",
        4: f"{FAMILY} Regular",
        6: POSTSCRIPT,
        16: FAMILY,
        17: "Regular",
    }
    name = font["name"]
    for record in list(name.names):
        if record.nameID in (16, 17, 18, 21, 22):
            name.removeNames(nameID=record.nameID)
    for record in name.names:
        if record.nameID in new:
            record.string = new[record.nameID]
    if "CFF " in font:
        cff = font["CFF "].cff
        top = cff.topDictIndex[0]
        cff.fontNames = [POSTSCRIPT]
        top.FamilyName = FAMILY
        top.FullName = f"{FAMILY} Regular"


def version_of(font: TTFont) -> str:
    text = font["name"].getDebugName(5) or f"Version {font['head'].fontRevision:.3f}"
    return text.strip()


def license_text(candidate: Candidate) -> str:
    """The font's licence as the Debian package ships it.

    From a machine-readable copyright file, the upstream files' Copyright field and
    the matching License stanza, unfolded (continuation indent removed, "." lines
    empty); otherwise the whole file as it is.
    """
    raw = candidate.copyright.read_text(encoding="utf-8")
    if candidate.license_name is None:
        return raw.rstrip() + "\n"
    stanzas = [s for s in re.split(r"\n[ \t]*\n", raw) if s.strip()]

    def fields(stanza: str) -> dict[str, str]:
        out: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key is not None:
                out[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                out[key] = value.strip()
        return out

    parsed = [fields(s) for s in stanzas]
    files = next(f for f in parsed if f.get("Files", "").split() == ["*"])
    licence = next(f for f in parsed if "Files" not in f and f.get("License", "").split("\n")[0].strip()
                   == candidate.license_name)
    if files.get("License", "").strip() != candidate.license_name:
        sys.exit(f"{candidate.copyright}: the upstream files are not under {candidate.license_name}")

    def unfold(value: str) -> list[str]:
        lines = value.split("\n")
        body = lines[1:]
        indent = min((len(line) - len(line.lstrip()) for line in body if line.strip() not in ("", ".")), default=0)
        return [lines[0].strip()] + ["" if line.strip() == "." else line[indent:].rstrip() for line in body]

    copyright_lines = unfold(files["Copyright"])
    text = ["Copyright (Debian package's copyright file, upstream files):"]
    text += ["  " + line.strip() for line in copyright_lines if line.strip()]
    text += ["", f"License: {candidate.license_name}", ""]
    text += unfold(licence["License"])[1:]
    return "\n".join(text).strip("\n") + "\n"


def build(out_font: Path, out_license: Path) -> None:
    candidate = choose_font()
    source = TTFont(candidate.font, recalcTimestamp=False)
    version = version_of(source)
    before = candidate.font.stat().st_size
    options = subset_options()

    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes())
    subsetter.subset(source)
    if "MATH" not in source:
        sys.exit("the MATH table was lost in subsetting")
    rename(source, f"{candidate.label} {version}")

    out_font.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_font.with_name(out_font.name + ".tmp")
    subset.save_font(source, str(tmp), options)
    os.replace(tmp, out_font)
    after = out_font.stat().st_size

    name = source["name"]
    copyright_notice = (name.getDebugName(0) or "").strip()
    trademark = (name.getDebugName(7) or "").strip()
    header = [
        f"{out_font.name}: a subset of {candidate.label} ({candidate.font.name}), {version}, "
        f"from the Debian package {candidate.package}, renamed \"{FAMILY}\".",
        "",
        "It keeps the characters handprop's math uses, the MATH table and the glyph variants",
        "and assemblies it references; the outlines are the original font's, unchanged.",
        f"Built by tools/build_math_font.py from {candidate.font}.",
        "",
    ]
    if copyright_notice:
        header += ["Copyright notice in the font:", copyright_notice, ""]
    if trademark:
        header += ["Trademark notice in the font:", trademark, ""]
    for label, name_id in (("Licence description in the font", 13), ("Licence URL in the font", 14)):
        value = (name.getDebugName(name_id) or "").strip()
        if value:
            header += [f"{label}:", value, ""]
    header += [f"Licence, as shipped by the Debian package {candidate.package} in {candidate.copyright}:", "",
               "-" * 78, ""]
    out_license.write_text("\n".join(header) + license_text(candidate), encoding="utf-8")

    print(f"font:    {candidate.label}, {version}, {candidate.font}")
    print(f"glyphs:  {len(source.getGlyphOrder())} kept")
    print(f"before:  {before:>8,} bytes ({candidate.font.suffix[1:]})")
    print(f"after:   {after:>8,} bytes (woff2) -> {out_font}")
    print(f"licence: {out_license}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--font-out", type=Path, default=FONT_OUT, help=f"default {FONT_OUT.relative_to(REPO)}")
    parser.add_argument("--license-out", type=Path, default=LICENSE_OUT,
                        help=f"default {LICENSE_OUT.relative_to(REPO)}")
    args = parser.parse_args(argv)
    build(args.font_out, args.license_out)


if __name__ == "__main__":
    main()
