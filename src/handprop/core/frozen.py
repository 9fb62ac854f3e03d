"""Plain records, as `dataclasses.dataclass` makes them, at a fraction of its cost at start-up.

handprop's records, specs and program are frozen data classes. The standard `dataclasses` module costs
about a sixth of `handprop`'s start-up on the homework (it imports `inspect`, and writes five to seven
methods per class with `exec`); this module writes one method per class (`__init__`) and shares the rest.
Classes decorated here behave as data classes do in everything handprop and its users rely on: the same
`__init__` (defaults, `field(default_factory=...)`, `__post_init__`), `__repr__`, `__eq__`, `__hash__` for
frozen ones, ordering with `order=True`, assignment refused when frozen, `__match_args__`; and
`dataclasses.fields`, `dataclasses.replace`, `dataclasses.asdict` and `dataclasses.is_dataclass` work on
them (the standard module's field descriptions are made the first time one is asked for).

>>> @dataclass(frozen=True)
... class Point:
...     x: float
...     y: float = 0.0
...     tags: list = field(default_factory=list, compare=False)
>>> p = Point(1.5)
>>> p, p == Point(1.5, 0.0, ["a"]), hash(p) == hash(Point(1.5))
(Point(x=1.5, y=0.0, tags=[]), True, True)
>>> replace(p, y=2.0)
Point(x=1.5, y=2.0, tags=[])
>>> p.x = 3
Traceback (most recent call last):
...
handprop.core.frozen.FrozenInstanceError: cannot assign to field 'x'
>>> import dataclasses
>>> [f.name for f in dataclasses.fields(p)], dataclasses.replace(p, x=0.5).x
(['x', 'y', 'tags'], 0.5)
"""

from __future__ import annotations

MISSING = type("_Missing", (), {"__repr__": lambda self: "MISSING"})()
_FIELDS = "__record_fields__"


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (as `dataclasses.FrozenInstanceError`)."""


class Field:
    """One field: its name, type (as annotated), default or default factory, and whether it is shown and
    compared."""

    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare")

    def __init__(self, default=MISSING, default_factory=MISSING, repr=True, compare=True):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name, self.type = None, None
        self.default, self.default_factory, self.repr, self.compare = default, default_factory, repr, compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default=MISSING, default_factory=MISSING, repr: bool = True, compare: bool = True) -> Field:
    """A field with a default factory, or one left out of the repr or of comparisons (as dataclasses.field)."""
    return Field(default, default_factory, repr, compare)


def fields(record) -> tuple[Field, ...]:
    """The record's (or record class's) fields, in order."""
    return getattr(record, _FIELDS)


def replace(record, /, **changes):
    """A copy of `record` with some fields changed (as dataclasses.replace; standard data classes too)."""
    if not hasattr(type(record), _FIELDS):
        import dataclasses

        return dataclasses.replace(record, **changes)
    for f in getattr(record, _FIELDS):
        if f.name not in changes:
            changes[f.name] = getattr(record, f.name)
    return type(record)(**changes)


def dataclass(cls=None, /, *, frozen: bool = False, order: bool = False, eq: bool = True):
    """The decorator: `@dataclass`, `@dataclass(frozen=True)`, `@dataclass(frozen=True, order=True)`."""

    def wrap(cls):
        return _process(cls, frozen, order, eq)

    return wrap if cls is None else wrap(cls)


def _process(cls, frozen: bool, order: bool, eq: bool):
    inherited = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get(_FIELDS, ()):
            inherited[f.name] = f
    own = {}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.replace("typing.", "").startswith("ClassVar"):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name, f.type = name, annotation
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        own[name] = f
    all_fields = tuple({**inherited, **own}.values())
    seen_default = False
    for f in all_fields:
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if seen_default and not has_default:
            raise TypeError(f"non-default argument '{f.name}' follows default argument")
        seen_default = seen_default or has_default
    setattr(cls, _FIELDS, all_fields)
    cls.__init__ = _make_init(cls, all_fields, frozen)
    cls.__match_args__ = tuple(f.name for f in all_fields)
    cls.__dataclass_fields__ = _StandardFields()
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    if eq and "__eq__" not in cls.__dict__:
        cls.__eq__ = _eq
    explicit_hash = cls.__dict__.get("__hash__", MISSING)
    has_explicit_hash = not (explicit_hash is MISSING or (explicit_hash is None and "__eq__" in cls.__dict__))
    if eq and not has_explicit_hash:
        cls.__hash__ = _hash if frozen else None
    if order:
        for name, method in _ORDER.items():
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            setattr(cls, name, method)
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen_setattr, _frozen_delattr
    return cls


def _make_init(cls, all_fields: tuple[Field, ...], frozen: bool):
    """The class's `__init__`, written as source once (as dataclasses does): the one method that cannot be
    shared without costing every record made a loop."""
    names = {"MISSING": MISSING, "__object_setattr": object.__setattr__}
    parameters, lines = ["self"], []
    for k, f in enumerate(all_fields):
        if f.default_factory is not MISSING:
            names[f"_factory{k}"] = f.default_factory
            parameters.append(f"{f.name}=MISSING")
            value = f"_factory{k}() if {f.name} is MISSING else {f.name}"
        else:
            if f.default is not MISSING:
                names[f"_default{k}"] = f.default
                parameters.append(f"{f.name}=_default{k}")
            else:
                parameters.append(f.name)
            value = f.name
        lines.append(f"__object_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        lines.append("self.__post_init__()")
    source = f"def __init__({', '.join(parameters)}):\n    " + ("\n    ".join(lines) or "pass") + "\n"
    exec(source, names)  # noqa: S102 - the source is made here from the class's own field names
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _values(record) -> tuple:
    """The compared fields' values."""
    return tuple(getattr(record, f.name) for f in getattr(record, _FIELDS) if f.compare)


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in getattr(self, _FIELDS) if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self, other):
    if other.__class__ is self.__class__:
        return _values(self) == _values(other)
    return NotImplemented


def _hash(self) -> int:
    return hash(_values(self))


def _compare(operator):
    def method(self, other):
        if other.__class__ is self.__class__:
            return operator(_values(self), _values(other))
        return NotImplemented

    method.__name__ = operator.__name__
    return method


_ORDER = {"__lt__": _compare(tuple.__lt__), "__le__": _compare(tuple.__le__),
          "__gt__": _compare(tuple.__gt__), "__ge__": _compare(tuple.__ge__)}


def _frozen_setattr(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


class _StandardFields:
    """`__dataclass_fields__`: the standard module's descriptions of the fields, made when first asked for, so
    that `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` take these records as their own."""

    def __get__(self, record, owner):
        import dataclasses

        described = {}
        for f in getattr(owner, _FIELDS):
            options = {"repr": f.repr, "compare": f.compare}
            if f.default is not MISSING:
                options["default"] = f.default
            if f.default_factory is not MISSING:
                options["default_factory"] = f.default_factory
            standard = dataclasses.field(**options)
            standard.name, standard.type, standard._field_type = f.name, f.type, dataclasses._FIELD
            described[f.name] = standard
        return described
