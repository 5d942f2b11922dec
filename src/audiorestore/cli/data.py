"""``audiorestore data``: write corpus manifests from local copies (``prepare``) and list the corpora (``list``)."""

from __future__ import annotations

import argparse
import sys

from ..errors import ParameterError
from .common import parse_sets


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("data", help="prepare manifests of standard corpora from a local path (no downloads)",
                       description="Write a JSONL manifest of a corpus already on disk, or list the corpora "
                                   "and the folder layout each one expects.")
    actions = p.add_subparsers(dest="data_command", metavar="ACTION")
    prep = actions.add_parser("prepare", help="scan a corpus folder and write its manifest",
                              description="Scan a local copy of a corpus and write a JSONL manifest "
                                          "(one example per line: split, paths, sample rate, length, metadata).")
    prep.add_argument("--corpus", required=True, metavar="NAME", help="corpus name (see 'audiorestore data list')")
    prep.add_argument("--root", required=True, metavar="PATH", help="folder holding the corpus")
    prep.add_argument("-o", "--output", required=True, metavar="MANIFEST", help="manifest to write (.jsonl)")
    prep.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                      help="corpus option, e.g. --set split=speaker1 (repeatable; see 'data list')")
    prep.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    lst = actions.add_parser("list", help="list the supported corpora, their options and expected layouts")
    lst.add_argument("name", nargs="?", help="show one corpus only")
    p.set_defaults(_data_parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..data.corpora import get_corpus, list_corpora, prepare

    if args.data_command == "prepare":
        if not args.output.endswith(".jsonl"):
            raise ParameterError(f"the manifest should be a .jsonl file, got '{args.output}'")
        result = prepare(args.corpus, args.root, args.output, parse_sets(args.sets))
        if not args.quiet:
            print(result.summary(), file=sys.stderr)
        return 0
    if args.data_command == "list":
        corpora = [get_corpus(args.name)] if args.name else list_corpora()
        for i, c in enumerate(corpora):
            if i:
                print()
            print(f"{c.name}: {c.title}")
            for name, _, default in c.options():
                print(f"  --set {name}={default}")
            for line in c.layout.splitlines():
                print(f"    {line}")
        return 0
    args._data_parser.print_help(sys.stderr)
    return 2
