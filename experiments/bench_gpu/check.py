"""The prepared GPU check of issue 15: training throughput in every precision, MFU, the packed heads
ablation and its AUROCs against the CPU's; see README.md beside this file.

    PYTHONPATH=src:/tmp/site python3 experiments/bench_gpu/check.py [--output DIR] [--budget-s 420]

Runs with any python that has torch, Lightning and the carried wheels; finds `src/` itself when
PYTHONPATH does not name it. No CUDA: one line and exit status 2.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from vadlit.tasks.bench.gpu_check import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], default_reference=HERE / "cpu_reference.json"))
