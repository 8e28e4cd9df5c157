"""COM on the threads that use soundcard's WASAPI backend (Windows only).

Every thread that calls into COM must have initialised it itself ("You need
to initialize the COM library on a thread before you call any of the library
functions", CoInitializeEx's documentation).  soundcard 0.4.6 does so once,
in the thread that imports it (``_COMLibrary.__init__`` in
``mediafoundation.py``: ``CoInitializeEx(NULL, COINIT_MULTITHREADED)``, or
``CoInitialize`` (an STA) on Windows 8, SoundCard PR #89), and never for any
other thread.  loopcap imports soundcard on whichever thread first lists the
devices, and records on its own capture thread:

- with the MTA of Windows 10/11 another thread is an implicit member only
  while some thread keeps the MTA alive, an undocumented convenience;
- with Windows 8's STA it has no COM at all, and WASAPI fails with
  ``0x800401F0`` (CO_E_NOTINITIALIZED), as reported when recording from a
  thread of a frozen app (SoundCard #83, still open; the question "would this
  fix having to initialize COM in a new thread?" went unanswered in PR #89)
  and in PortAudio #250 (a stream opened on another thread than the one
  that initialised).

So each thread that uses soundcard joins the MTA itself, through soundcard's
own cffi bindings (``_ole32.CoInitializeEx``/``CoUninitialize`` are declared
in its ``mediafoundation.py.h``): :func:`join_com` once per thread for the
threads that only list devices, :class:`ComThread` around a stream's life on
the capture thread (opened and closed there, see
:class:`~loopcap.capture.reader.Capture`), balanced as the documentation
asks (S_FALSE included; not after RPC_E_CHANGED_MODE, as soundcard does).

Nothing here runs on Linux or macOS: callers check ``sys.platform == "win32"``.
The logic is tested on Linux with a fake ``_ole32``.
"""

from __future__ import annotations

import threading
from typing import Any

from loopcap.errors import DeviceError

__all__ = ["ComThread", "join_com", "COINIT_MULTITHREADED", "S_FALSE", "RPC_E_CHANGED_MODE"]

COINIT_MULTITHREADED = 0x0
S_OK = 0x0
#: COM was already initialised on this thread, in the same mode.
S_FALSE = 0x1
#: COM was already initialised on this thread in the other mode (an STA made
#: by soundcard on Windows 8, or by another library): usable, never undone.
RPC_E_CHANGED_MODE = 0x80010106

_joined = threading.local()


def _bindings(sc: Any) -> tuple[Any, Any]:
    """soundcard's ``_ole32`` and ``_ffi`` (its WASAPI module's cffi handles)."""
    mf = getattr(sc, "mediafoundation", None)
    ole32, ffi = getattr(mf, "_ole32", None), getattr(mf, "_ffi", None)
    if ole32 is None or ffi is None:
        raise DeviceError("this soundcard has no WASAPI backend: reinstall loopcap")
    return ole32, ffi


class ComThread:
    """COM initialised (MTA) on the calling thread until :meth:`close`.

    Construct and close on the same thread.  ``close`` is idempotent and
    uninitialises only what this object initialised.
    """

    def __init__(self, sc: Any) -> None:
        self._ole32, ffi = _bindings(sc)
        self._thread = threading.get_ident()
        hr = int(self._ole32.CoInitializeEx(ffi.NULL, COINIT_MULTITHREADED)) & 0xFFFFFFFF
        if hr in (S_OK, S_FALSE):
            self._balance = True  # each success, S_FALSE too, needs its CoUninitialize
        elif hr == RPC_E_CHANGED_MODE:
            self._balance = False  # an STA already: COM works, and is not ours to end
        else:
            raise DeviceError(f"Windows audio cannot be used from this thread (COM error {hr:#x})")

    def close(self) -> None:
        if self._balance and threading.get_ident() == self._thread:
            self._balance = False
            self._ole32.CoUninitialize()


def join_com(sc: Any) -> None:
    """Initialise COM once on the calling thread, for as long as it lives
    (the main thread, the controller's worker: they list and find devices).
    Thread-safe; cheap after the first call on a thread."""
    if getattr(_joined, "com", None) is None:
        _joined.com = ComThread(sc)
