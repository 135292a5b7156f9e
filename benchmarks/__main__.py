"""``python -m benchmarks`` lists the benchmarks; run one with ``python -m benchmarks.<name> --help``.

Figures, machine and reproducing commands live in BENCHMARKS.md.
"""

import pkgutil
import sys
from pathlib import Path


def main() -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    print("benchmarks (run: .venv/bin/python -m benchmarks.<name> --help):")
    for name in names:
        print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
