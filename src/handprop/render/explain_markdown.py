"""A worked solution as GitHub-flavoured Markdown: math in $...$ and $$...$$ (GitHub, Jupyter)."""

from __future__ import annotations

import re

from .document import Chain, Document, Figure, Paragraph, Section, Table, display_width

WIDE = 64  # a chain wider than this many characters, typeset, is set one step per line


def _text(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", text)


def _inline(parts) -> str:
    return "".join(_text(p) if isinstance(p, str) else f"${p.latex}$" for p in parts)


def chain_latex(block: Chain, *, wide: int = WIDE) -> str:
    """The chain as one display: on one line, or aligned one step per line when long."""
    if display_width(" = ".join((block.lhs,) + block.steps)) <= wide:
        return " = ".join((block.lhs,) + block.steps)
    lines = [f"{block.lhs} &= {block.steps[0]}"] + [f"&= {step}" for step in block.steps[1:]]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def _block(block) -> list[str]:
    if isinstance(block, Paragraph):
        return [_inline(block.parts), ""]
    if isinstance(block, Chain):
        anchor = f'<a id="{block.anchor}"></a>\n\n' if block.anchor else ""
        return [f"{anchor}$$\n{chain_latex(block)}\n$$", ""]
    if isinstance(block, Table):
        align = {"l": ":---", "r": "---:"}
        lines = ["| " + " | ".join(_inline(c) for c in block.header) + " |",
                 "|" + "|".join(align[a] for a in block.align) + "|"]
        lines += ["| " + " | ".join(_inline(c) for c in row) + " |" for row in block.rows]
        return lines + [""]
    if isinstance(block, Figure):
        return [block.svg, ""] if block.svg else []
    if isinstance(block, Section):
        return _section(block)
    raise TypeError(type(block))


def _section(section: Section) -> list[str]:
    heading = "#" * section.level + " " + _inline(section.title) + f' <a id="{section.anchor}"></a>'
    lines = [heading, ""]
    for block in section.blocks:
        lines.extend(_block(block))
    return lines


def _contents(sections, depth: int = 0) -> list[str]:
    lines = []
    for section in sections:
        if not section.in_contents:
            continue
        lines.append("  " * depth + f"- [{_inline(section.title)}](#{section.anchor})")
        lines.extend(_contents([b for b in section.blocks if isinstance(b, Section)], depth + 1))
    return lines


def render_markdown_document(document: Document) -> str:
    lines = [f"# {_text(document.title)}", ""]
    for paragraph in document.summary:
        lines.extend(_block(paragraph))
    lines += ["**Contents**", ""] + _contents(document.sections) + [""]
    for section in document.sections:
        lines.extend(_section(section))
    return "\n".join(lines).rstrip() + "\n"
