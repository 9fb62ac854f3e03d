"""Write src/handprop/examples/moons.csv: a small, made-up two-moons data set.

Two interleaving half circles, as scikit-learn's make_moons draws them: class 0 on the upper arc
(cos s, sin s), class 1 on the lower arc (1 - cos s, 1/2 - sin s), s evenly spaced over [0, pi], each
point moved by Gaussian noise of standard deviation 0.15 and the rows shuffled. Python's random with a
fixed seed, so running it again writes the same file.

    python tools/make_moons.py            # writes the packaged file
    python tools/make_moons.py out.csv    # or another
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

ROWS = 200  # 100 per class
NOISE = 0.15  # standard deviation of the Gaussian noise on each coordinate
SEED = 7
OUT = Path(__file__).resolve().parent.parent / "src" / "handprop" / "examples" / "moons.csv"


def moons(rows: int = ROWS, noise: float = NOISE, seed: int = SEED) -> list[tuple[float, float, int]]:
    rng = random.Random(seed)
    per_class = rows // 2
    points = []
    for k in range(per_class):
        s = math.pi * k / (per_class - 1)
        points.append((math.cos(s), math.sin(s), 0))
        points.append((1.0 - math.cos(s), 0.5 - math.sin(s), 1))
    points = [(x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise), label) for x1, x2, label in points]
    rng.shuffle(points)
    return points


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else OUT
    lines = ["x1,x2,class"] + [f"{x1:.4f},{x2:.4f},{label}" for x1, x2, label in moons()]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines) - 1} rows to {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
