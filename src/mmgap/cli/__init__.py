"""The ``mmgap`` command line: parse, call one library function, print (text or --json).

One module per group of commands (``register(sub)`` adds its subparsers, ``cmd_*`` runs
them); :mod:`.common` holds the shared options, output and error handling (DESIGN.md §7).
Bad input exits with code 2 and one line naming the problem; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional


from .. import __version__, distributed
from .common import (EXIT_OK, EXIT_FAILURE, EXIT_USAGE, _Formatter, _fail, _setup_logging)
from . import bench, entropy, estimate, matrix, selfcheck
from .estimate import DEMO_TASK

__all__ = ["main", "build_parser", "DEMO_TASK"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmgap",
        description="Estimate the mutual information I(X;Y) from samples with the MMSE gap "
                    "of one conditional diffusion denoiser (MMG).",
        formatter_class=_Formatter,
        epilog="Examples:\n  mmgap demo\n  mmgap estimate data.npz\n"
               "  mmgap estimate --x feats.npy --y labels.csv --y-cols label --y-discrete\n"
               "  mmgap estimate table.csv --x-cols a,b,c --y-cols d --json\n"
               "  mmgap test data.npz --alpha 0.01\n"
               "  mmgap estimate table.csv --x-cols a --y-cols b --z-cols c,d   # I(X;Y|Z)\n"
               "  mmgap pointwise data.npz --out pmi.csv\n"
               "  mmgap entropy x.npy --json",
    )
    parser.add_argument("--version", action="version", version=f"mmgap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # the order of the commands in --help
    estimate.register(sub)
    matrix.register(sub)
    entropy.register(sub)
    estimate.register_demo(sub)
    bench.register(sub)
    selfcheck.register(sub)
    bench.register_methods(sub)
    return parser


COMMANDS = {"estimate": estimate.cmd_estimate, "matrix": matrix.cmd_matrix,
            "test": estimate.cmd_estimate, "pointwise": estimate.cmd_pointwise,
            "entropy": entropy.cmd_entropy, "demo": estimate.cmd_demo, "bench": bench.cmd_bench,
            "report": bench.cmd_report, "export": bench.cmd_export, "import": bench.cmd_import,
            "tasks": bench.cmd_tasks, "methods": bench.cmd_methods,
            "selfcheck": selfcheck.cmd_selfcheck}
# commands whose MMG fits train data-parallel under torchrun (rank 0 prints and writes)
DATA_PARALLEL = ("estimate", "test", "demo", "pointwise", "entropy")


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _setup_logging(getattr(args, "quiet", False) or not distributed.is_main())
    from ..training import TrainingError

    try:
        if distributed.launched():  # torchrun with several processes: train data-parallel
            if args.command not in DATA_PARALLEL:
                raise ValueError(f"{args.command}: does not train data-parallel; run it without "
                                 f"torchrun (data-parallel: {', '.join(DATA_PARALLEL)})")
            distributed.init(device=getattr(args, "device", "auto"))
        return COMMANDS[args.command](args)
    except BrokenPipeError:  # e.g. `mmgap ... | head -1`: the reader left, nothing to report
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except TrainingError as err:
        return _fail(str(err), EXIT_FAILURE)
    except (ValueError, ImportError, OSError) as err:
        return _fail(str(err).splitlines()[0] if str(err) else type(err).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    finally:
        distributed.cleanup()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
