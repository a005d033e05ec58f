"""``python -m sgdtune`` runs the ``sgdtune`` command."""

import sys

from ._cli import main

sys.exit(main())
