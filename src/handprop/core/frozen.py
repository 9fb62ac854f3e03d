"""Plain records, as `dataclasses.dataclass` makes them, at a fraction of its cost at start-up.

handprop's records, specs and program are frozen data classes. The standard `dataclasses` module costs
about a sixth of `handprop`'s start-up on the homework (it imports `inspect`, and writes five to seven
methods per class with `exec`); this module writes none: every method is shared, reading the class's fields.
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
    if "__init__" not in cls.__dict__:  # a class may write its own, as with dataclasses
        cls.__init__ = _make_init(cls, all_fields, frozen)
    cls.__match_args__ = tuple(f.name for f in all_fields)
    cls.__dataclass_fields__ = _StandardFields()
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr
    values = _values_of(all_fields)
    if eq and "__eq__" not in cls.__dict__:
        cls.__eq__ = _comparison(values, tuple.__eq__, "__eq__")
    explicit_hash = cls.__dict__.get("__hash__", MISSING)
    has_explicit_hash = not (explicit_hash is MISSING or (explicit_hash is None and "__eq__" in cls.__dict__))
    if eq and not has_explicit_hash:
        cls.__hash__ = _hasher(all_fields, values) if frozen else None
    if order:
        for name, operator in (("__lt__", tuple.__lt__), ("__le__", tuple.__le__), ("__gt__", tuple.__gt__),
                               ("__ge__", tuple.__ge__)):
            if name in cls.__dict__:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
            setattr(cls, name, _comparison(values, operator, name))
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen_setattr, _frozen_delattr
    return cls


def _make_init(cls, all_fields: tuple[Field, ...], frozen: bool):
    """The class's `__init__`: the arguments bound to the fields by name or position, defaults and default
    factories for the rest, written into the record's __dict__ at once (a frozen record's assignment is refused
    only from outside), then `__post_init__` when the class has one."""
    names = tuple(f.name for f in all_fields)
    count = len(names)
    post_init = hasattr(cls, "__post_init__")
    # The fields from `plain` on all have a plain default: positional arguments that reach it need no more.
    tail = tuple(f.default for f in all_fields)
    plain = count
    while plain and all_fields[plain - 1].default is not MISSING:
        plain -= 1

    def __init__(self, *args, **kwargs):
        if kwargs or not plain <= len(args) <= count:
            self.__dict__.update(_bound(cls, all_fields, args, kwargs))
        elif len(args) == count:  # every field given in order: the common case, one call
            self.__dict__.update(zip(names, args))
        else:
            self.__dict__.update(zip(names, args + tail[len(args):]))
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _bound(cls, all_fields: tuple[Field, ...], args: tuple, kwargs: dict) -> dict:
    """The fields' values from positional and keyword arguments, as a function's parameters bind them."""
    if len(args) > len(all_fields):
        raise TypeError(f"{cls.__name__}() takes {len(all_fields)} arguments but {len(args)} were given")
    values = dict(zip((f.name for f in all_fields), args))
    for name in kwargs:
        if name in values:
            raise TypeError(f"{cls.__name__}() got multiple values for argument '{name}'")
    values.update(kwargs)
    for f in all_fields[len(args):]:
        if f.name in values:
            continue
        if f.default_factory is not MISSING:
            values[f.name] = f.default_factory()
        elif f.default is not MISSING:
            values[f.name] = f.default
        else:
            raise TypeError(f"{cls.__name__}() missing required argument: '{f.name}'")
    if len(values) > len(all_fields):
        unknown = next(name for name in kwargs if name not in {f.name for f in all_fields})
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument '{unknown}'")
    return values


def _values_of(all_fields: tuple[Field, ...]):
    """A function of a record: the tuple of its compared fields' values (operator.attrgetter, in C)."""
    from operator import attrgetter

    compared = [f.name for f in all_fields if f.compare]
    if len(compared) > 1:
        return attrgetter(*compared)
    if compared:
        name = compared[0]
        return lambda record: (record.__dict__[name],)
    return lambda record: ()


def _hasher(all_fields: tuple[Field, ...], values):
    """A frozen record's __hash__: of its compared fields' values as a tuple (one call of Python either way)."""
    compared = [f.name for f in all_fields if f.compare]
    if len(compared) == 1:
        name = compared[0]
        return lambda self: hash((self.__dict__[name],))
    return lambda self: hash(values(self))


def _comparison(values, operator, name: str):
    """A comparison of two records of the same class by their compared fields' values, as tuples compare."""

    def method(self, other):
        if other.__class__ is self.__class__:
            return operator(values(self), values(other))
        return NotImplemented

    method.__name__ = name
    return method


def _repr(self) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in getattr(self, _FIELDS) if f.repr)
    return f"{type(self).__qualname__}({shown})"


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
