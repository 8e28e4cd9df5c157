"""loopcap: keep the voice notes your computer plays.

Data flows one way: device -> capture -> writer -> (trim) -> saved file; the
command line and the app shell sit on top and nothing in the core imports them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
