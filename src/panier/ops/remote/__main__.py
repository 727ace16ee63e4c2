"""``python -m panier.ops.remote``: the same as ``panier remote``."""

import sys

from panier.ops.remote.cli import main

sys.exit(main())
