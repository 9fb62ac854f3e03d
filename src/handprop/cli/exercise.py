"""`handprop exercise`: draw exercise variants, each with its problem sheet and answer key (teach.exercise)."""

from __future__ import annotations


def add_parser(commands) -> None:
    """The command's parser: its help, example and options."""
    parser = commands.add_parser(
        "exercise", help="draw exercise variants: problem files, problem sheets and answer keys",
        description="Draw random variants of a problem, in its style: weights, biases and inputs on a coarse "
                    "grid, one-hot targets for classification, the same optimizer. For each variant NN, write "
                    "variant-NN.toml (the problem), variant-NN-sheet.md/.html (the problem sheet, with an empty "
                    "Result table) and variant-NN-key.md/.html (the worked solution) into DIR; with --latex, "
                    "variant-NN-sheet.tex and variant-NN-key.tex too (Figure 1 in TikZ), with --pdf, those and "
                    "their PDFs (pdflatex). The same seed gives the same files.",
        epilog="example: handprop exercise --count 5 --seed 7 --inactive some -o variants")
    from ..core.ops import ACTIVATIONS, OPS  # the exercise module (and random) load only when the command runs
    from ..problem.layered import LOSSES

    parser.add_argument("--like", default="homework", metavar="FILE",
                        help="the problem whose style the variants follow: a layered problem file (dense layers or "
                             "layer kinds) or an example (default: homework)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    parser.add_argument("--count", type=int, default=1, metavar="K", help="number of variants (default: 1)")
    parser.add_argument("--layers", metavar="SPEC", help="inputs and units per layer, such as 2-3-2 "
                                                         "(default: as --like)")
    parser.add_argument("--activation", metavar="NAME",
                        help="hidden layers' activation: " + ", ".join(a for a in ACTIVATIONS if not OPS[a].multi_output)
                        + " (default: as --like)")
    parser.add_argument("--loss", metavar="NAME", help="the loss: " + ", ".join(LOSSES) + "; the output layer "
                        "follows it (softmax for cross_entropy, else sigmoid) (default: as --like)")
    parser.add_argument("--decimals", type=int, metavar="D",
                        help="weights and biases on a grid of 10^-D, inputs one digit finer, answers to D + 1 "
                             "decimals (default: 1, as the homework)")
    parser.add_argument("--inactive", metavar="any|some|none",
                        help="ReLU units with h <= 0: any (default), some (at least one), none")
    parser.add_argument("--latex", action="store_true",
                        help="also write each sheet and key as LaTeX (.tex), Figure 1 drawn in TikZ")
    parser.add_argument("--pdf", action="store_true",
                        help="also write each sheet and key as LaTeX and PDF (.tex and .pdf); needs pdflatex")
    parser.add_argument("--roster", metavar="CSV",
                        help="one variant per student of a CSV roster with an id column (other columns kept): "
                             "drawn from --seed and the id alone, its files named by id, and DIR/roster.csv "
                             "mapping each id to its variant, problem file and key (--count is not used)")
    parser.add_argument("--lms", action="append", metavar="NAME",
                        help="also export the variants to a learning-management system: gradescope "
                             "(DIR/gradescope-autograder.zip), moodle, canvas; repeat it or give a comma list")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder to write the variants into (made if missing); files of the same names in it "
                             "are replaced")


def run(args) -> int:
    from ..core.errors import HandpropError
    from ..teach.exercise import spec_from
    from ..teach.exercise_files import write_exercises
    from ..problem.spec import load

    if args.output == "-":  # several files for each variant: there is no one text to write to standard output
        raise HandpropError(None, "-o", "exercise writes several files for each variant, not one text",
                            "a folder to write them into")
    like = load(args.like)
    if like.stack is not None:  # a network of layer kinds: its layers kept, --layers and the like refused
        from ..teach.exercise_kinds import spec_from as stack_spec_from

        spec = stack_spec_from(like, layers=args.layers, activation=args.activation, loss=args.loss,
                               decimals=args.decimals, inactive=args.inactive)
    else:
        spec = spec_from(like, layers=args.layers, activation=args.activation, loss=args.loss,
                         decimals=args.decimals, inactive=args.inactive or "any")
    lms = tuple(dict.fromkeys(name.strip() for given in args.lms or () for name in given.split(",")))
    roster = None
    if args.roster is not None:
        from ..teach.roster import read_roster_file

        roster = read_roster_file(args.roster)
    for path in write_exercises(spec, args.output, seed=args.seed, count=args.count, latex=args.latex,
                                 pdf=args.pdf, roster=roster, lms=lms):
        print(path)
    return 0
