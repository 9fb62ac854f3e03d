"""Grade a student's answers: each one correct, carried forward from a wrong answer, or wrong, and why.

An answer is correct when it is within half a unit of its last written digit of the right value (0.53:
within 0.005), or of the value worked out by hand with every intermediate value rounded to the digits
the student wrote (core/rounding.py: a careful calculation that rounds each step). A wrong answer that is
right given the student's own upstream answers follows from them (carry.py). Any other wrong
answer is matched against the common mistakes (mistakes.py): the first that reproduces the number, to
the same precision, is its most likely cause.
"""

from __future__ import annotations

from ..core.frozen import dataclass, replace

from ..core.errors import HandpropError
from .answers import Answer, read_answers, read_answers_file
from .names import Quantity, label
from .carry import StudentWork
from ..render.numbers import DEFAULT_DECIMALS
from .scenarios import scenarios
from .mistakes import ORDER, Candidate, answer_values, differs, local_candidates

MAX_BY_HAND_DECIMALS = 10  # beyond this, rounding each step changes nothing a student could write
STATUSES = ("correct", "carried_forward", "wrong")
_KIND_ORDER = {"value": 0, "loss": 1, "node_gradient": 2, "gradient": 3, "updated": 4, "loss_after": 5}


@dataclass(frozen=True)
class Grade:
    """One answer, graded."""

    answer: Answer
    expected: float  # the right value, at full precision
    tolerance: float  # how far the answer may be from it
    places: int  # the decimals the answer claims (whole numbers: the problem's own precision)
    status: str  # one of STATUSES
    mistake: str | None = None  # for a wrong answer: the key of the mistake that reproduces it
    cause: str | None = None  # what was done, in words
    also: tuple = ()  # other mistakes that give the same number
    follows_from: tuple = ()  # for an answer carried forward: the wrong answers it follows from (labels)
    from_own: float | None = None  # the value that follows from the student's own upstream answers
    by_hand: int | None = None  # correct as worked by hand, rounding every step to this many decimals

    @property
    def label(self) -> str:
        return self.answer.label


@dataclass(frozen=True)
class GradeReport:
    title: str
    problem: str  # the problem file, as named
    answers: str  # the answers file, as named
    grades: tuple  # of Grade, in the order the answers were written
    unanswered: tuple  # labels of the sheet's questions left without an answer
    tolerance: float | None  # the one tolerance given, or None: half a unit of each answer's last digit

    def count(self, status: str) -> int:
        return sum(1 for g in self.grades if g.status == status)

    @property
    def passed(self) -> bool:
        return all(g.status == "correct" for g in self.grades)


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * (1 + 1e-9) + 1e-12


def questions(problem) -> list[Quantity]:
    """What the problem sheet asks: the outputs, the loss, every gradient and every updated parameter.

    >>> from handprop import load
    >>> len(questions(load("homework")))
    37
    """
    program = problem.program
    asked = [Quantity("value", y, k) for k in range(problem.batch_size) for y in program.outputs]
    asked.append(Quantity("loss"))
    asked += [Quantity("gradient", p) for p in program.parameters]
    if problem.optimizer.steps == 1:
        asked += [Quantity("updated", p) for p in program.parameters]
    return asked


class ProblemWork:
    """What grading needs of a problem whatever the answers: its right values, worked by hand at each precision,
    and the mistake scenarios. Made once per problem and shared by every student graded against it (a class)."""

    def __init__(self, problem):
        from ..solver import solve

        self.problem = problem
        self.reference = answer_values(solve(problem))
        self.by_hand: dict = {}  # decimals -> answer values worked by hand
        self.scenarios: dict = {}  # decimals or None -> scenarios


class _Grader:
    def __init__(self, problem, answers: list[Answer], tolerance: float | None, work: ProblemWork | None = None):
        self.problem = problem
        self.answers = answers
        self.tolerance = tolerance
        self.work = work if work is not None and work.problem is problem else ProblemWork(problem)
        self.reference = self.work.reference
        self.by_hand = self.work.by_hand
        self.scenarios = self.work.scenarios
        self.student = StudentWork(problem, {a.quantity: a.value for a in answers})
        self.tolerances = {a.quantity: self.tolerance_of(a) for a in answers}
        self.status: dict = {}
        self.order = {name: i for i, name in enumerate((*problem.program.data, *problem.program.nodes))}

    def _precision(self, decimals: int) -> int | None:
        return decimals if 1 <= decimals <= MAX_BY_HAND_DECIMALS else None

    def places(self, answer: Answer) -> int:
        """The decimals an answer claims: as written; a whole number (0, 1) is taken as exact, that is, to the
        problem's own precision (0 on a sheet means zero, not anything below 0.5)."""
        if "." in answer.text or "e" in answer.text.lower():
            return answer.decimals
        return max(answer.decimals, self.problem.decimals if self.problem.decimals is not None else DEFAULT_DECIMALS)

    def hand_values(self, decimals: int) -> dict | None:
        places = self._precision(decimals)
        if places is None:
            return None
        if places not in self.by_hand:
            from ..solver import solve

            try:
                self.by_hand[places] = answer_values(solve(self.problem, round_intermediate=places))
            except HandpropError:  # rounded to too few digits, a value leaves its domain (log of 0)
                self.by_hand[places] = {}
        return self.by_hand[places]

    def scenario_list(self, places: int | None) -> list:
        if places not in self.scenarios:
            self.scenarios[places] = scenarios(self.problem, places=places)
        return self.scenarios[places]

    def tolerance_of(self, answer: Answer) -> float:
        return self.tolerance if self.tolerance is not None else 0.5 * 10.0 ** -self.places(answer)

    def sort_key(self, answer: Answer):
        q = answer.quantity
        position = self.order.get(q.name, 0)
        if q.kind == "node_gradient":
            position = -position  # the backward pass runs from the loss back
        return (_KIND_ORDER[q.kind], q.sample, position, q.name)

    def grade_all(self) -> dict:
        grades = {}
        self.matches: dict = {}
        for answer in sorted(self.answers, key=self.sort_key):
            grade = self.grade(answer)
            self.status[answer.quantity] = grade.status
            grades[answer.quantity] = grade
        # The most likely cause of a wrong answer is the mistake that explains most of the sheet's wrong answers:
        # a coincidence (a sign flip that happens to give the same number) yields to a mistake made throughout.
        explained: dict = {}
        for matches in self.matches.values():
            for mistake in {c.mistake for c in matches}:
                explained[mistake] = explained.get(mistake, 0) + 1
        for quantity, matches in self.matches.items():
            ranked = sorted(matches, key=lambda c: (-explained[c.mistake], ORDER[c.mistake]))
            first = ranked[0]
            others = tuple(dict.fromkeys(c.text for c in ranked[1:] if c.text != first.text))
            grades[quantity] = replace(grades[quantity], mistake=first.mistake, cause=first.text, also=others)
        return grades

    def grade(self, answer: Answer) -> Grade:
        q, given = answer.quantity, answer.value
        places = self.places(answer)
        tolerance = self.tolerance_of(answer)
        expected = self.reference[q]
        if _close(given, expected, tolerance):
            return Grade(answer, expected, tolerance, places, "correct")
        hand = self.hand_values(places)
        if hand and q in hand and _close(given, hand[q], tolerance):
            return Grade(answer, expected, tolerance, places, "correct", by_hand=self._precision(places))
        own = self.student.recomputed.get(q)
        if own is not None and _close(given, own, tolerance + self.student.slack(q, self.tolerances)):
            upstream = self.student.upstream_answers(q)
            wrong = [u for u in upstream if self.status.get(u) != "correct"]
            if wrong:
                labels = tuple(label(u, self.problem) for u in wrong)
                return Grade(answer, expected, tolerance, places, "carried_forward", follows_from=labels, from_own=own)
            if upstream:  # right from the student's own (rounded, correct) upstream answers
                return Grade(answer, expected, tolerance, places, "correct", from_own=own)
        matches = self.mistakes(answer, places, expected, tolerance)
        if matches:
            self.matches[q] = matches  # the cause is chosen once the whole sheet is graded
        return Grade(answer, expected, tolerance, places, "wrong")

    def mistakes(self, answer: Answer, places: int, expected: float, tolerance: float) -> list:
        q, given = answer.quantity, answer.value
        student_gradient = None
        if q.kind == "updated":
            student_gradient = self.student.given.get(Quantity("gradient", q.name))
        references = [self.reference]
        hand = self.hand_values(places)
        if hand:
            references.append(hand)
        candidates = []
        for reference in references:
            candidates += local_candidates(q, reference, self.problem, student_gradient=student_gradient)
        rounded = self._precision(places)
        for precision in [None] + ([rounded] if rounded is not None else []):
            candidates += [Candidate(s.values[q], s.mistake, s.text) for s in self.scenario_list(precision)
                           if q in s.values]
        found = [c for c in candidates if differs(c.value, expected, tolerance) and _close(given, c.value, tolerance)]
        found.sort(key=lambda c: ORDER[c.mistake])  # stable: local before recomputed within one mistake
        unique, seen = [], set()
        for c in found:
            if c.text not in seen:
                seen.add(c.text)
                unique.append(c)
        return unique


def grade(problem, answers, *, tolerance: float | None = None, answers_file: str = "<answers>",
          work: ProblemWork | None = None) -> GradeReport:
    """Grade answers (a list of Answer, or the text of an answers file) against the problem. work, the
    ProblemWork(problem) of an earlier call, saves working the problem out again for each student of a class.

    >>> from handprop import load
    >>> report = grade(load("homework"), "out1,0.53\\ndL/dw1,-0.01\\nw1',0.11\\n")
    >>> [(g.label, g.status, g.mistake) for g in report.grades]
    [('out1', 'correct', None), ('dL/dw1', 'wrong', 'sign_flipped'), ("w1'", 'carried_forward', None)]
    """
    if tolerance is not None and not 0 <= tolerance < float("inf"):
        raise HandpropError(None, "--tolerance", f"{tolerance!r} is not a tolerance", "a number of 0 or more")
    if isinstance(answers, str):
        answers = read_answers(answers, problem, file=answers_file)
    grades = _Grader(problem, answers, tolerance, work).grade_all()
    given = {a.quantity for a in answers}
    unanswered = tuple(label(q, problem) for q in questions(problem) if q not in given)
    return GradeReport(problem.title, problem.source, answers_file, tuple(grades[a.quantity] for a in answers),
                       unanswered, tolerance)


def grade_files(problem_file: str, answers_file: str, *, tolerance: float | None = None) -> GradeReport:
    """Load the problem, read the answers file, grade."""
    from ..problem.spec import load

    problem = load(problem_file)
    return grade(problem, read_answers_file(answers_file, problem), tolerance=tolerance, answers_file=answers_file)
