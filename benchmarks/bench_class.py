"""1,000 answer files against the homework, some with mistakes; time `handprop grade homework FOLDER`.

Run: python benchmarks/bench_class.py   (target: under 10 s)
"""

import random
import tempfile
import time
from pathlib import Path

from handprop import load
from handprop.solver import solve
from handprop.teach.class_report import grade_class
from handprop.teach.grading import questions
from handprop.teach.mistakes import answer_values
from handprop.teach.names import label

STUDENTS = 1000


def main() -> None:
    problem = load("homework")
    values = answer_values(solve(problem))
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as folder:
        for k in range(STUDENTS):
            lines = []
            for q in questions(problem):
                value = values[q]
                if q.kind == "gradient" and rng.random() < 0.1:
                    value = -value  # a sign flipped
                lines.append(f"{label(q, problem)},{value:.4f}")
            Path(folder, f"s{k:04d}.csv").write_text("\n".join(lines) + "\n")
        start = time.perf_counter()
        report = grade_class("homework", folder)
        elapsed = time.perf_counter() - start
    print(f"{len(report.graded)} submissions graded in {elapsed:.2f} s; most common mistake: "
          f"{report.mistakes[0].mistake} ({len(report.mistakes[0].students)} students)")


if __name__ == "__main__":
    main()
