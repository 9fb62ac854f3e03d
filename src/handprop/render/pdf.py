"""LaTeX -> PDF with pdflatex, when it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

from ..core.errors import HandpropError

PDFLATEX_SECONDS = 120  # two runs of a long document on a slow machine


def latex_to_pdf(latex: str, *, option: str = "--format pdf") -> bytes:
    """Compile the LaTeX (twice when it has a table of contents, which the second run fills) and return the PDF's
    bytes. A character pdflatex cannot typeset (Chinese, say) is named in the error; option, the command-line
    option that asked for the PDF, is the error's place."""
    source = "--format latex" if option == "--format pdf" else "--latex"  # what writes the LaTeX alone
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        raise HandpropError(None, option, "pdflatex is not installed",
                            "install TeX Live (Debian: apt-get install texlive-latex-base "
                            f"texlive-latex-recommended), or use {source} and compile it elsewhere")
    with tempfile.TemporaryDirectory(prefix="handprop-") as directory:
        source = Path(directory) / "solution.tex"
        source.write_text(latex, encoding="utf-8")
        for _ in range(2 if r"\tableofcontents" in latex else 1):
            try:
                # -no-shell-escape: the document is handprop's own, but its text holds the problem's names
                # and title, and no \write18 in it may run a command, whatever the TeX installation allows.
                done = subprocess.run([pdflatex, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
                                       source.name],
                                      cwd=directory, capture_output=True, timeout=PDFLATEX_SECONDS)
            except subprocess.TimeoutExpired:
                raise HandpropError(None, option, f"pdflatex took over {PDFLATEX_SECONDS} s",
                                    f"a smaller problem, or {source}") from None
            if done.returncode != 0:
                log = (Path(directory) / "solution.log")
                text = log.read_text(errors="replace") if log.exists() else done.stdout.decode(errors="replace")
                first = next((line for line in text.splitlines() if line.startswith("!")), "unknown error")
                unicode = re.search(r"Unicode character .*?\(U\+([0-9A-Fa-f]{4,6})\)", first)
                if unicode:
                    character = chr(int(unicode.group(1), 16))
                    name = unicodedata.name(character, "unnamed")
                    raise HandpropError(None, option, f"pdflatex cannot typeset the character {character} "
                                        f"(U+{ord(character):04X}, {name})",
                                        "a title and names without it, or --format html")
                raise HandpropError(None, option, f"pdflatex failed: {first.lstrip('! ')}",
                                    f"a document pdflatex can compile; {source} writes the source")
        return (Path(directory) / "solution.pdf").read_bytes()
