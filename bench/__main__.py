"""python -m bench [name ...]: run benchmarks, print their figures, write bench/results/<name>.json."""

from __future__ import annotations

import importlib
import sys

from bench.common import write_result

BENCHMARKS = ["lookup", "validity", "web", "overlays", "ogc", "public", "zone_import"]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = module.run()
        path = write_result(name, result)
        print(module.report(result))
        print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
