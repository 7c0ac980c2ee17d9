"""``python -m fbt.cli``: the same program as the ``fbt`` command."""

import sys

from fbt.cli import main

sys.exit(main())
