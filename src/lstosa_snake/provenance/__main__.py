"""``python -m lstosa_snake.provenance run|explain ...``: see :mod:`lstosa_snake.provenance.document`."""

import sys

from .document import main

sys.exit(main())
