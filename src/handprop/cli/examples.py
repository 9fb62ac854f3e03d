"""`handprop examples`: list the packaged examples, print one, or copy one (and its data file) into a folder."""

from __future__ import annotations

import os
import sys

from ..core.errors import HandpropError


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "examples", help="list the packaged examples, or print one",
        description="List the packaged example problems, or print one's file to start your own from.",
        epilog="example: handprop examples homework > my-problem.toml; handprop examples moons --to my-moons")
    parser.add_argument("name", nargs="?", metavar="NAME", help="print this example's problem file")
    parser.add_argument("--to", metavar="DIR", help="copy the example's problem file, and its data file if it "
                                                    "has one, into DIR instead of printing it")


def run(args) -> int:
    from ..core.errors import one_of
    from ..problem.files import example_names, example_path, parse_text

    if args.to and not args.name:
        raise HandpropError(None, "--to", "no example named", "handprop examples NAME --to DIR")
    if args.name:
        try:
            path = example_path(args.name)
        except KeyError:
            raise HandpropError(args.name, None, "no such example", one_of(example_names(), args.name)) from None
        if args.to:
            return _copy_example(path, args.to)
        sys.stdout.write(path.read_text(encoding="utf-8"))
        return 0
    names = example_names()
    width = max(len(n) for n in names)
    for name in names:
        path = example_path(name)
        title = parse_text(path.read_text(encoding="utf-8"), path.suffix.lstrip(".").replace("yml", "yaml"),
                           name).get("title", "")
        print(f"{name.ljust(width)}  {title}")
    return 0


def _copy_example(path, directory: str) -> int:
    """Copy an example and the data file it names (its [data] file) into a folder, made if need be."""
    import shutil

    from ..problem.files import parse_text

    data = parse_text(path.read_text(encoding="utf-8"), path.suffix.lstrip(".").replace("yml", "yaml"), path.name)
    files = [path]
    if isinstance(data.get("data"), dict) and isinstance(data["data"].get("file"), str):
        files.append(path.parent / data["data"]["file"])
    try:
        os.makedirs(directory, exist_ok=True)
        for source in files:
            target = os.path.join(directory, source.name)
            if os.path.exists(target):
                raise HandpropError(target, None, "already exists", "a folder without the example's files")
            shutil.copyfile(source, target)
            print(target)
    except OSError as exc:
        raise HandpropError(directory, None, f"cannot write: {exc.strerror or exc}", "a writable folder") from None
    return 0
