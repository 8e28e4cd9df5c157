"""loopcap: keep the voice notes your computer plays.

Data flows one way: device -> capture -> writer -> (trim) -> saved file; the
command line and the app shell sit on top and nothing in the core imports them.
"""

import os

# numpy's OpenBLAS starts a pool of busy-waiting threads at import, which
# costs ~60 ms of CPU at every start (measured: 0.13 s for `import numpy`,
# 0.07 s without it) and wakes those threads for some calls later on.
# loopcap does nothing that gains from threaded BLAS.  Set before numpy is
# imported (every loopcap command imports this package first); a value the
# user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
__all__ = ["__version__"]
