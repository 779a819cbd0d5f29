from __future__ import annotations

import os
import sys

# Before numpy loads: multi-threaded OpenBLAS thrashes when the two cores are shared.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from mlmodels.training.cli import main

sys.exit(main())
