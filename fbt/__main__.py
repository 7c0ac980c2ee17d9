"""``python -m fbt``: the same program as the ``fbt`` command."""

import sys

from fbt.cli import main

sys.exit(main())
