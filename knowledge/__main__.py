"""Entry point for `python -m knowledge`; the commands live in knowledge.cli."""

import sys

from knowledge.cli import main

sys.exit(main())
