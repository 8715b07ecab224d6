"""``python -m irpipe``: the same command line as ``irpipe``."""

from __future__ import annotations

import sys

from irpipe.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
