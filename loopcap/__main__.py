"""Allow ``python -m loopcap``."""

import sys

from loopcap.app.cli import main

sys.exit(main())
