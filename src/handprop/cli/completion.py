"""`handprop completion bash|zsh|fish`: a shell completion script, generated from the command line's own parser,
so that it offers what the parser accepts: the commands, each command's options, the choices of an option (such
as --format's), and the packaged examples' names (with file names) where a problem FILE is read.

The parser is read through argparse's documented objects only where it has them (format_help does not list
them), and through its actions' public attributes (option_strings, choices, nargs, metavar, dest, help).
"""

from __future__ import annotations

import argparse
import re

from ..core.errors import HandpropError

SHELLS = ("bash", "zsh", "fish")
DEFAULT_COMMAND = "solve"  # a first word that is no command is solve's FILE (cli.main)


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "completion", help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for bash, zsh or fish, generated from handprop's own parser: "
                    "commands, their options, the choices of --format and the like, and the examples' names. "
                    "bash: eval \"$(handprop completion bash)\" in ~/.bashrc; zsh: handprop completion zsh > "
                    "\"${fpath[1]}/_handprop\"; fish: handprop completion fish > "
                    "~/.config/fish/completions/handprop.fish.",
        epilog="example: handprop completion bash > ~/.local/share/bash-completion/completions/handprop")
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")


def run(args) -> int:
    import sys

    if args.shell not in SHELLS:
        from ..core.errors import one_of

        raise HandpropError(None, "SHELL", f"unknown shell '{args.shell[:40]}'", one_of(SHELLS, args.shell))
    sys.stdout.write(completion_script(args.whole_parser(), args.shell))
    return 0


# --- what the parser accepts ------------------------------------------------------------------------------------

class _Option:
    def __init__(self, action: argparse.Action):
        self.strings = list(action.option_strings)
        self.takes_value = action.nargs != 0
        self.choices = [str(c) for c in action.choices] if action.choices else []
        self.kind = _value_kind(action) if self.takes_value else None
        self.help = _short_help(action.help)


class _Command:
    def __init__(self, name: str, help: str, parser: argparse.ArgumentParser):
        self.name = name
        self.help = _short_help(help)
        self.options = [_Option(a) for a in parser._actions if a.option_strings]  # argparse has no public list
        positionals = [a for a in parser._actions if not a.option_strings]
        self.words = sorted({str(c) for a in positionals for c in (a.choices or ())})
        kinds = {_value_kind(a) for a in positionals if not a.choices}
        self.examples = "problem" in kinds or "example" in kinds
        self.files = "problem" in kinds or "file" in kinds


def _value_kind(action: argparse.Action) -> str | None:
    """What an option's or argument's value is: a problem (an example or a file), an example, a file, a folder,
    or None (a number, a name: nothing to offer)."""
    if action.choices:
        return "choices"
    name = (action.metavar or action.dest or "").upper()
    if name in ("FILE", "PROBLEM"):
        return "problem"
    if name == "NAME" and action.dest == "name":
        return "example"
    if name in ("OUT", "PLOT", "ANSWERS", "PATH") or name.startswith("OUT"):
        return "file"
    if name == "DIR":
        return "folder"
    return None


def _short_help(text: str | None) -> str:
    """The help's first clause, on one line, without %-escapes: a completion's description."""
    text = " ".join((text or "").replace("%%", "%").split())
    return re.split(r"[;(]| \(", text)[0].strip().rstrip(",.:")[:70]


def _commands(parser: argparse.ArgumentParser) -> tuple[list[_Command], list[_Option]]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    commands = [_Command(name, helps.get(name, ""), sub) for name, sub in subparsers.choices.items()]
    top = [_Option(a) for a in parser._actions if a.option_strings]
    return commands, top


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for the shell, from the parser.

    >>> from handprop.cli import build_parser
    >>> "-F _handprop handprop" in completion_script(build_parser(), "bash")
    True
    """
    from ..problem.files import example_names

    commands, top = _commands(parser)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](commands, top, example_names())


# --- bash -------------------------------------------------------------------------------------------------------

def _bash(commands: list[_Command], top: list[_Option], examples: list[str]) -> str:
    names = " ".join(c.name for c in commands)
    lines = ["# bash completion for handprop, generated by `handprop completion bash`.",
             "# Use: eval \"$(handprop completion bash)\" in ~/.bashrc, or save it as",
             "# ~/.local/share/bash-completion/completions/handprop",
             "_handprop() {",
             '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" i words="" options=""',
             '    (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"',
             f'    local examples="{" ".join(examples)}"',
             "    COMPREPLY=()",
             "    for (( i = 1; i < COMP_CWORD; i++ )); do",
             '        case "${COMP_WORDS[i]}" in',
             f"            {'|'.join(c.name for c in commands)}) cmd=\"${{COMP_WORDS[i]}}\"; break ;;",
             "            -*) ;;",
             f"            *) cmd={DEFAULT_COMMAND}; break ;;",
             "        esac",
             "    done",
             '    case "${cmd:-' + DEFAULT_COMMAND + '}:$prev" in']
    for command in commands:
        for option in command.options:
            if not option.takes_value:
                continue
            pattern = "|".join(f"{command.name}:{s}" for s in option.strings)
            lines.append(f"        {pattern}) {_bash_values(option.kind, option.choices)}; return ;;")
    lines += ["    esac",
              '    if [[ "$cur" == -* ]]; then',
              '        case "${cmd:-' + DEFAULT_COMMAND + '}" in']
    for command in commands:
        strings = [s for o in command.options for s in o.strings]
        if command.name == DEFAULT_COMMAND:
            strings += [s for o in top for s in o.strings if s not in strings]
        lines.append(f'            {command.name}) options="{" ".join(strings)}" ;;')
    lines += ["        esac",
              '        COMPREPLY=( $(compgen -W "$options" -- "$cur") )',
              "        return",
              "    fi",
              '    case "$cmd" in',
              f'        "") words="{names} $examples"; COMPREPLY=( $(compgen -f -- "$cur") ) ;;']
    for command in commands:
        parts = []
        if command.words:
            parts.append(f'words="{" ".join(command.words)}"')
        if command.examples:
            parts.append('words="$words $examples"')
        if command.files:
            parts.append('COMPREPLY=( $(compgen -f -- "$cur") )')
        if parts:
            lines.append(f"        {command.name}) {'; '.join(parts)} ;;")
    lines += ["    esac",
              '    COMPREPLY+=( $(compgen -W "$words" -- "$cur") )',
              "}",
              "complete -o filenames -F _handprop handprop",
              ""]
    return "\n".join(lines)


def _bash_values(kind: str | None, choices: list[str]) -> str:
    if kind == "choices":
        return f'COMPREPLY=( $(compgen -W "{" ".join(choices)}" -- "$cur") )'
    if kind == "problem":
        return 'COMPREPLY=( $(compgen -f -- "$cur") $(compgen -W "$examples" -- "$cur") )'
    if kind == "file":
        return 'COMPREPLY=( $(compgen -f -- "$cur") )'
    if kind == "folder":
        return 'COMPREPLY=( $(compgen -d -- "$cur") )'
    return ":"  # a number or a name: nothing to offer


# --- zsh --------------------------------------------------------------------------------------------------------

def _zsh_quote(text: str) -> str:
    """Text inside a single-quoted _arguments spec or _describe entry: ' closed and reopened, [ ] : escaped."""
    return text.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def _zsh(commands: list[_Command], top: list[_Option], examples: list[str]) -> str:
    lines = ["#compdef handprop",
             "# zsh completion for handprop, generated by `handprop completion zsh`.",
             '# Use: handprop completion zsh > "${fpath[1]}/_handprop", then start a new shell.',
             "",
             f"_handprop_examples=({' '.join(examples)})",
             "",
             "_handprop_problem() {",
             "    _alternative 'examples:example:compadd -a _handprop_examples' 'files:file:_files'",
             "}",
             "",
             "_handprop() {",
             "    local curcontext=\"$curcontext\" state line",
             "    local -a commands",
             "    commands=("]
    for command in commands:
        lines.append(f"        '{_zsh_quote(command.name)}:{_zsh_quote(command.help)}'")
    lines += ["    )",
              "    _arguments -C \\"]
    for option in top:
        lines += [f"        '{s}[{_zsh_quote(option.help)}]' \\" for s in option.strings]
    lines += ["        '1: :->command' \\",
              "        '*:: :->arguments'",
              "    case $state in",
              "        command)",
              "            _describe -t commands 'handprop command' commands",
              "            _handprop_problem",
              "            ;;",
              "        arguments)",
              "            case $words[1] in"]
    for command in commands:
        specs = []
        for option in command.options:
            for string in option.strings:
                spec = f"{string}[{_zsh_quote(option.help)}]"
                if option.takes_value:
                    spec += ":" + _zsh_value(option.kind, option.choices)
                specs.append(f"'{spec}'")
        positional = _zsh_positional(command)
        if positional:
            specs.append(f"'*:{positional}'")
        lines.append(f"                {command.name}) _arguments {' '.join(specs)} ;;")
    lines += ["                *) _handprop_problem ;;",
              "            esac",
              "            ;;",
              "    esac",
              "}",
              "",
              'if [[ "$funcstack[1]" == _handprop ]]; then',
              '    _handprop "$@"',
              "else",
              "    compdef _handprop handprop",
              "fi",
              ""]
    return "\n".join(lines)


def _zsh_value(kind: str | None, choices: list[str]) -> str:
    if kind == "choices":
        return "value:(" + " ".join(_zsh_quote(c) for c in choices) + ")"
    if kind == "problem":
        return "problem:_handprop_problem"
    if kind == "file":
        return "file:_files"
    if kind == "folder":
        return "folder:_files -/"
    return "value: "


def _zsh_positional(command: _Command) -> str:
    if command.words:
        return "word:(" + " ".join(_zsh_quote(w) for w in command.words) + ")"
    if command.examples and command.files:
        return "problem:_handprop_problem"
    if command.examples:
        return "example:compadd -a _handprop_examples"
    if command.files:
        return "file:_files"
    return ""


# --- fish -------------------------------------------------------------------------------------------------------

def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(commands: list[_Command], top: list[_Option], examples: list[str]) -> str:
    names = " ".join(c.name for c in commands)
    others = " ".join(c.name for c in commands if c.name != DEFAULT_COMMAND)
    lines = ["# fish completion for handprop, generated by `handprop completion fish`.",
             "# Use: handprop completion fish > ~/.config/fish/completions/handprop.fish",
             "complete -c handprop -f"]
    listed = _fish_quote(" ".join(examples))
    for option in top:
        lines.append("complete -c handprop -n __fish_use_subcommand " + _fish_option(option, listed))
    for command in commands:
        lines.append(f"complete -c handprop -n '__fish_use_subcommand' -a {command.name} -d "
                     f"{_fish_quote(command.help)}")
    lines.append("complete -c handprop -n '__fish_use_subcommand' -F -a " + listed + " -d example")
    for command in commands:
        # solve is also meant when the first word is a file: its options apply unless another command is named
        condition = (f"'not __fish_seen_subcommand_from {others}'" if command.name == DEFAULT_COMMAND
                     else f"'__fish_seen_subcommand_from {command.name}'")
        for option in command.options:
            lines.append(f"complete -c handprop -n {condition} {_fish_option(option, listed)}")
        if command.name == DEFAULT_COMMAND:
            condition = f"'__fish_seen_subcommand_from {command.name}'"
        if command.words:
            lines.append(f"complete -c handprop -n {condition} -a {_fish_quote(' '.join(command.words))}")
        if command.examples:
            lines.append(f"complete -c handprop -n {condition} -a {listed} -d example")
        if command.files:
            lines.append(f"complete -c handprop -n {condition} -F")
    lines.append(f"# commands: {names}")
    return "\n".join(lines) + "\n"


def _fish_option(option: _Option, examples: str) -> str:
    parts = []
    for string in option.strings:
        parts.append(f"-l {string[2:]}" if string.startswith("--") else f"-s {string[1:]}")
    if option.takes_value:
        if option.kind == "choices":
            parts.append("-x -a " + _fish_quote(" ".join(option.choices)))
        elif option.kind == "problem":
            parts.append("-r -F -a " + examples)
        elif option.kind in ("file", "folder"):
            parts.append("-r -F")
        else:
            parts.append("-x")
    parts.append("-d " + _fish_quote(option.help))
    return " ".join(parts)
