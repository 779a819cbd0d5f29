from __future__ import annotations

import sys

from mlmodels.people.cli import main

sys.exit(main())
