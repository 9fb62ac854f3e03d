"""`handprop site`: write the page of `handprop serve` as a static site that runs handprop in the browser (site/)."""

from __future__ import annotations

DEFAULT_TIME_LIMIT = 10.0  # seconds, as serve.worker's; repeated so that `handprop --help` imports no site code


def add_parser(commands, *, arguments: bool = True) -> None:
    """The command's parser, its help and example; with arguments, its options too."""
    parser = commands.add_parser(
        "site", help="a static web site of the page: handprop in the browser, nothing to install",
        description="Write the page of `handprop serve` as a static site: a folder any static host serves (a "
                    "repository's pages, a school's web space, python -m http.server). Python runs in the "
                    "visitor's browser (Pyodide), so the page needs no server and nothing installed; Share "
                    "puts a problem into the page's address, to send as a link. Pyodide comes from its CDN, "
                    "or from --pyodide DIR, copied into the site, which then needs no network at all. Needs "
                    "tomlkit installed, to put it in the site (pip install 'handprop[serve]').",
        epilog="example: handprop site -o public --example homework")
    if not arguments:
        return
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder to write the site into: new, empty, or a site handprop built before")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--example", metavar="NAME", help="the example the page opens on (default: homework)")
    source.add_argument("--problem", metavar="FILE", help="a problem file (.toml, .json, .yaml) the page opens on")
    parser.add_argument("--pyodide", metavar="DIR",
                        help="copy this Pyodide (an unpacked npm package pyodide of the pinned version) into the "
                             "site, which then works offline; default: load Pyodide from its CDN")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"seconds one edit may take in the browser before it is stopped "
                             f"(default: {DEFAULT_TIME_LIMIT:g})")


def run(args) -> int:
    from ..core.errors import HandpropError, one_of
    from ..problem.files import EXTENSIONS, example_names, example_path, read_source
    from ..problem.files import parse_text

    if not 0 < args.time_limit <= 3600:
        raise HandpropError(None, "--time-limit", f"{args.time_limit:g} s", "more than 0 and at most 3600 seconds")
    if args.problem is not None:
        label, text, kind, _ = read_source(args.problem)
        label = label.replace("\\", "/").rsplit("/", 1)[-1]  # the site shows the file's name, not this machine's path
    else:
        name = args.example or "homework"
        try:
            path = example_path(name)
        except KeyError:
            raise HandpropError(name, "--example", "no such example", one_of(example_names(), name)) from None
        label, text, kind = name, path.read_text(encoding="utf-8"), EXTENSIONS[path.suffix]  # named as the CLI names it
    try:
        raw = parse_text(text, kind, label)
    except HandpropError:
        raw = {}  # opened all the same, for its error to be mended on the page, as `handprop serve` does
    if isinstance(raw.get("data"), dict) and "file" in raw["data"]:
        raise HandpropError(label, "data.file", "the site's page reads no data files",
                            "a problem with its data inline: x and t; `handprop train` reads data files")
    from ..site import build_site

    written = build_site(args.output, text=text, kind=kind, label=label, pyodide=args.pyodide,
                         time_limit=args.time_limit)
    where = "Pyodide bundled, works offline" if args.pyodide else "Pyodide from its CDN"
    print(f"handprop site: {len(written)} files in {args.output} ({where}); serve the folder with any static "
          f"host, e.g. python -m http.server -d {args.output}")
    return 0
