"""`handprop serve`: start the local page for one problem (serve.app), on this machine only by default."""

from __future__ import annotations

import sys

DEFAULT_PORT = 8765
DEFAULT_TIME_LIMIT = 10.0  # as serve.worker's; repeated so that `handprop --help` imports no server code
DEFAULT_MEMORY_LIMIT = 2048  # MB, as serve.worker's
MIN_MEMORY_LIMIT = 100  # MB: a worker needs about 32 to start
MAX_MEMORY_LIMIT = 1_048_576  # MB: 1 TB


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "serve", help="a local web page: edit a problem, see its solution change as you type",
        description="Start a local web app for one problem: its text in an editor, and beside it the diagram, "
                    "the Result table and the worked solution, worked out again on every edit. It listens on "
                    "127.0.0.1 only unless --host says otherwise, and needs Flask and tomlkit "
                    "(pip install 'handprop[serve]').",
        epilog="example: handprop serve homework")
    parser.add_argument("file", nargs="?", default="homework", metavar="FILE",
                        help="problem file (.toml, .json, .yaml) or an example's name (default: homework); "
                             "Save writes to a file given here")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="P",
                        help=f"port to listen on (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", metavar="H",
                        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for every "
                             "interface)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="also answer requests addressed to this host name or address, such as a name "
                             "this machine has on the network or in a proxy; repeatable (example: --host "
                             "0.0.0.0 --allow-host pc.example.org). Requests to any name the server does "
                             "not know it is reached by are refused")
    parser.add_argument("--open", action="store_true", help="open the page in the web browser")
    parser.add_argument("--verbose", action="store_true", help="log every request on standard error")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="S",
                        help=f"seconds one edit may take before it is stopped (default: {DEFAULT_TIME_LIMIT:g})")
    parser.add_argument("--memory-limit", type=int, default=DEFAULT_MEMORY_LIMIT, metavar="MB",
                        help="megabytes of memory one edit's computation may use before it is stopped "
                             f"(default: {DEFAULT_MEMORY_LIMIT})")


def run(args) -> int:
    from ..core.errors import HandpropError
    from ..problem.files import read_source

    try:  # only to say at once that one is missing
        import flask  # noqa: F401
        import tomlkit  # noqa: F401
    except ImportError:
        raise HandpropError(None, None, "handprop serve needs Flask and tomlkit", "pip install 'handprop[serve]'") from None
    if not 0 <= args.port <= 65535:
        raise HandpropError(None, "--port", f"{args.port} is out of range", "0 to 65535")
    if not 0 < args.time_limit <= 3600:
        raise HandpropError(None, "--time-limit", f"{args.time_limit:g} s", "more than 0 and at most 3600 seconds")
    if not MIN_MEMORY_LIMIT <= args.memory_limit <= MAX_MEMORY_LIMIT:
        raise HandpropError(None, "--memory-limit", f"{args.memory_limit} MB",
                            f"{MIN_MEMORY_LIMIT} to {MAX_MEMORY_LIMIT} megabytes")
    for name in args.allow_host:
        _check_host_name(name)
    label, text, kind, path = read_source(args.file)
    _refuse_data_files(text, kind, label)
    if path is not None and _is_example(path):
        path = None  # the packaged examples are not saved over
    from ..serve.app import create_app
    from ..serve.hosts import served_names

    hosts = served_names(args.host, args.allow_host)
    app = create_app(text, kind=kind, label=label, path=path, hosts=hosts, time_limit=args.time_limit,
                     memory_limit=args.memory_limit)
    server = _listen(args.host, args.port, app)
    if not args.verbose:  # werkzeug logs every request at INFO; its warnings and errors still show
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{server.port}/"
    print(f"handprop serve: {label} at {url} (Ctrl+C stops it)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):  # say which names work, for the others' 403
        shown_names = ", ".join(f"[{n}]" if ":" in n else n for n in sorted(hosts))
        print(f"handprop serve: answering requests to {shown_names} (--allow-host NAME adds one)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
    finally:
        server.server_close()
        app.extensions["handprop.worker"].close()
    return 0


def _listen(host: str, port: int, app):
    """The server, listening; a port in use (or any address it cannot listen on) is one line, exit 2. werkzeug
    says so in two lines of its own on standard error and exits: those are kept back, and said in one."""
    import contextlib
    import io

    from werkzeug.serving import make_server

    from ..core.errors import HandpropError

    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            return make_server(host, port, app, threaded=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    except SystemExit:
        lines = said.getvalue().strip().splitlines()
        reason = lines[0] if lines else "cannot listen"
    if "in use" in reason.lower():
        reason = "the port is in use by another program"
    raise HandpropError(None, "--port", f"cannot listen on {host}:{port}: {reason}", "a free port, or --port 0")


def _check_host_name(name: str) -> None:
    """An --allow-host value: a name or an address, without a port (the Host check ignores ports)."""
    import ipaddress

    from ..core.errors import HandpropError

    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
        return
    except ValueError:
        pass
    if name and all(c.isascii() and (c.isalnum() or c in ".-_") for c in name):
        return
    raise HandpropError(None, "--allow-host", f"'{name[:60]}' is not a host name",
                        "a name or address without a port, such as pc.example.org, 192.168.1.5 or fe80::1")


def _refuse_data_files(text: str, kind: str, label: str) -> None:
    """A problem that reads a data file cannot be served: say so at once, before the server starts.

    A text that does not parse is served all the same, for its error to be mended on the page.
    """
    from ..core.errors import HandpropError
    from ..problem.files import parse_text
    from ..serve.form import refuse_data_file

    try:
        raw = parse_text(text, kind, label)
    except HandpropError:
        return
    refuse_data_file(raw, label)


def _is_example(path) -> bool:
    from ..problem.files import EXAMPLES_DIR

    return path.resolve().parent == EXAMPLES_DIR.resolve()
