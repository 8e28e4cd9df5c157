"""Allow ``python -m loopcap``."""

import sys

from loopcap.cli import main

sys.exit(main())
