"""A class roster: one exercise variant per student, drawn from the seed and the student's id alone.

The roster is a CSV with an `id` column; its other columns are kept. Each student's variant is drawn from its
own random.Random, seeded by a SHA-256 of (seed, id): the same roster and seed give the same variants, and a
student added to the roster (or one removed, or the rows reordered) changes nobody else's. The files are named
by id, so an id must be safe as a file name on every system.

DIR/roster.csv maps each student to their files; its columns are `id`, the roster's other columns, then
`variant` (the files' stem), `problem` (the problem file) and `key` (the answer key, HTML), paths relative to
DIR. The class report (`handprop grade DIR SUBMISSIONS`) reads it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from ..core.frozen import dataclass

from ..core.errors import HandpropError

WRITTEN = ("variant", "problem", "key")  # the columns roster.csv adds after the roster's own
UNSAFE = set('/\\<>:"|?*')  # separators, and what Windows refuses in a file name


@dataclass(frozen=True)
class Roster:
    file: str
    columns: tuple  # the roster's columns, `id` first
    rows: tuple  # of dict: column -> text

    @property
    def ids(self) -> tuple:
        return tuple(row["id"] for row in self.rows)


def _unsafe(student: str) -> str | None:
    """Why an id cannot name a file, or None."""
    if student.startswith("."):
        return "starts with a dot"
    if any(c in UNSAFE for c in student):
        return "holds a path separator or a character file names cannot"
    if any(ord(c) < 32 or ord(c) == 127 for c in student):
        return "holds a control character"
    return None


def read_roster(text: str, *, file: str = "<roster>") -> Roster:
    """The roster in a CSV's text: its `id` column checked (present, each id non-empty, unique, safe as a file
    name); the other columns kept, in order.

    >>> read_roster("name,id\\nAda,s1\\nAlan,s2\\n").ids
    ('s1', 's2')
    >>> read_roster("id\\n../x\\n")
    Traceback (most recent call last):
    ...
    handprop.core.errors.HandpropError: <roster>: line 2: id '../x' starts with a dot (ids name the files: letters, digits, - and _)
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise HandpropError(file, None, "the roster is empty", "a CSV with a header row holding `id`, a row per student")
    header = [cell.strip() for cell in header]
    if "id" not in header:
        raise HandpropError(file, "line 1", "no `id` column", "a header row naming an `id` column")
    for name in WRITTEN:
        if name in header:
            raise HandpropError(file, "line 1", f"a column named `{name}`, which roster.csv adds",
                                "rename that column")
    if len(set(header)) != len(header):
        raise HandpropError(file, "line 1", "a column named twice", "each column once")
    columns = ("id",) + tuple(c for c in header if c != "id")
    rows, seen = [], {}
    for line, cells in enumerate(reader, 2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        row = dict(zip(header, (cell.strip() for cell in cells)))
        student = row.get("id", "")
        if not student:
            raise HandpropError(file, f"line {line}", "an empty id", "each student's id")
        why = _unsafe(student)
        if why:
            raise HandpropError(file, f"line {line}", f"id {student!r} {why}",
                                "ids name the files: letters, digits, - and _")
        folded = student.casefold()  # Ada and ada name one file where file names ignore case
        if folded in seen:
            raise HandpropError(file, f"line {line}", f"id {student!r} is already on line {seen[folded]}",
                                "each student once, ids unique (ignoring case)")
        seen[folded] = line
        rows.append({c: row.get(c, "") for c in columns})
    if not rows:
        raise HandpropError(file, None, "the roster is empty", "a row per student under the header")
    return Roster(file, columns, tuple(rows))


def read_roster_file(path: str) -> Roster:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise HandpropError(path, None, f"cannot read: {getattr(exc, 'strerror', None) or exc}",
                            "a CSV roster with an `id` column") from None
    return read_roster(text, file=path)


def student_seed(seed: int, student: str) -> int:
    """The seed of a student's own random stream: a stable hash of (seed, id), the same on every machine.

    >>> student_seed(0, "s1") == student_seed(0, "s1"), student_seed(0, "s1") == student_seed(1, "s1")
    (True, False)
    """
    digest = hashlib.sha256(f"handprop-roster\0{seed}\0{student}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def roster_variants(spec, roster: Roster, *, seed: int = 0) -> list:
    """One variant per student, drawn from the student's own stream; each named by id, its title the id's.

    >>> from handprop import load
    >>> from handprop.teach.exercise import spec_from
    >>> found = roster_variants(spec_from(load("homework")), read_roster("id\\ns1\\n"), seed=3)
    >>> found[0].stem, found[0].problem.title
    ('s1', 'Machine Learning Homework 1, variant for s1')
    """
    from . import exercise, exercise_kinds

    if seed < 0:
        raise HandpropError(None, "--seed", f"{seed} is negative", "a whole number of 0 or more")
    like = spec.title
    if isinstance(spec, exercise_kinds.StackSpec):
        def text_of(rng, title, comment):
            return exercise_kinds.problem_text(spec, exercise_kinds.draw(spec, rng), title, comment)

        def degenerate_of(solution):
            return exercise_kinds.degenerate(solution, spec)
    else:
        def text_of(rng, title, comment):
            return exercise.problem_text(exercise.draw(spec, rng), title, comment)

        def degenerate_of(solution):
            return exercise.degenerate(solution, spec)
    draws = [exercise.Draw(student, f"{like}, variant for {student}",
                           f"The variant for {student} (seed {seed}), drawn by handprop exercise in the style of {like}",
                           random.Random(student_seed(seed, student))) for student in roster.ids]
    exhausted = HandpropError(None, "--like", f"no usable variant in {exercise.MAX_DRAWS:,} draws",
                              "a smaller network, or --inactive any")
    return exercise.drawn_variants(like, seed, len(draws), text_of, degenerate_of, exhausted, draws=draws)


def roster_csv(roster: Roster, variants: list) -> str:
    """DIR/roster.csv: the roster's rows, then each student's variant, problem file and answer key."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(roster.columns + WRITTEN)
    for row, variant in zip(roster.rows, variants):
        stem = variant.stem
        writer.writerow([row[c] for c in roster.columns] + [stem, f"{stem}.toml", f"{stem}-key.html"])
    return out.getvalue()
