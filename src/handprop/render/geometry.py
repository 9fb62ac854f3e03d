"""Plane geometry for the diagrams: boxes, circles, segments, and text measured without a font file.

Text widths are estimated from character classes of a sans-serif face at a given size, generously, so
a box computed here holds the text as any of the usual sans-serif fonts draws it.
"""

from __future__ import annotations

import math
from ..core.frozen import dataclass

# Average advance widths, in em, of sans-serif faces (Helvetica, Arial, Liberation Sans, DejaVu Sans),
# rounded up to the widest of them.
_NARROW = set("iljtf.,:;'|!()[] ")
_WIDE = set("mwMW%@")
_CAPITAL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def char_width(char: str) -> float:
    if char in _NARROW:
        return 0.34
    if char in _WIDE:
        return 0.92
    if char in _CAPITAL:
        return 0.72
    if char in "∂∇→−=+·×":
        return 0.66
    return 0.62


def text_width(runs, size: float) -> float:
    """Width of text made of runs (text, scale): scale 0.75 for a subscript."""
    return sum(char_width(c) * size * scale for text, scale in runs for c in text)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @staticmethod
    def around(cx: float, cy: float, width: float, height: float) -> "Box":
        return Box(cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2)

    def grown(self, margin: float) -> "Box":
        return Box(self.x0 - margin, self.y0 - margin, self.x1 + margin, self.y1 + margin)

    def overlaps(self, other: "Box") -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def hits_circle(self, cx: float, cy: float, r: float) -> bool:
        nearest_x = min(max(cx, self.x0), self.x1)
        nearest_y = min(max(cy, self.y0), self.y1)
        return (nearest_x - cx) ** 2 + (nearest_y - cy) ** 2 < r * r

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def distance_to_segment(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def union(boxes) -> Box:
    boxes = list(boxes)
    return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes))


@dataclass(frozen=True)
class OrientedBox:
    """A rectangle centred at (cx, cy), turned by angle (radians) about its centre: a label along an edge."""

    cx: float
    cy: float
    width: float
    height: float
    angle: float = 0.0

    @staticmethod
    def of(box: Box) -> "OrientedBox":
        return OrientedBox((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, box.width, box.height, 0.0)

    def axes(self) -> tuple:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return (c, s), (-s, c)

    def corners(self) -> list[tuple]:
        (ux, uy), (vx, vy) = self.axes()
        hw, hh = self.width / 2, self.height / 2
        return [(self.cx + a * hw * ux + b * hh * vx, self.cy + a * hw * uy + b * hh * vy)
                for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]

    def grown(self, margin: float) -> "OrientedBox":
        return OrientedBox(self.cx, self.cy, self.width + 2 * margin, self.height + 2 * margin, self.angle)

    def local(self, x: float, y: float) -> tuple:
        """A point in the box's own coordinates: along its length, across it."""
        (ux, uy), (vx, vy) = self.axes()
        dx, dy = x - self.cx, y - self.cy
        return dx * ux + dy * uy, dx * vx + dy * vy

    def overlaps(self, other: "OrientedBox | Box") -> bool:
        """Separating-axis test of two rectangles."""
        other = other if isinstance(other, OrientedBox) else OrientedBox.of(other)
        mine, theirs = self.corners(), other.corners()
        for axis in self.axes() + other.axes():
            a = [x * axis[0] + y * axis[1] for x, y in mine]
            b = [x * axis[0] + y * axis[1] for x, y in theirs]
            if max(a) <= min(b) or max(b) <= min(a):
                return False
        return True

    def hits_circle(self, cx: float, cy: float, r: float) -> bool:
        u, v = self.local(cx, cy)
        nearest_u = max(-self.width / 2, min(self.width / 2, u))
        nearest_v = max(-self.height / 2, min(self.height / 2, v))
        return (u - nearest_u) ** 2 + (v - nearest_v) ** 2 < r * r

    def crossed_by(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """Whether the segment passes through the rectangle (Liang-Barsky clipping in its own coordinates)."""
        u0, v0 = self.local(x0, y0)
        u1, v1 = self.local(x1, y1)
        du, dv = u1 - u0, v1 - v0
        low, high = 0.0, 1.0
        for p, q in ((-du, u0 + self.width / 2), (du, self.width / 2 - u0),
                     (-dv, v0 + self.height / 2), (dv, self.height / 2 - v0)):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                low = max(low, t)
            else:
                high = min(high, t)
            if low > high:
                return False
        return True

    @property
    def bounds(self) -> Box:
        xs = [x for x, _ in self.corners()]
        ys = [y for _, y in self.corners()]
        return Box(min(xs), min(ys), max(xs), max(ys))
