"""``python -m konflux_supply`` runs the CLI."""

import sys

from konflux_supply.cli import main

sys.exit(main())
