"""``python -m panier.ops.registry``: the same as ``panier registry``."""

import sys

from panier.ops.registry.cli import main

sys.exit(main())
