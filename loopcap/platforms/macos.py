"""macOS: the POSIX implementation, with what differs from Linux said here.

macOS has ``flock`` (BSD, per open file description, the same semantics as
Linux), ``O_CLOEXEC`` (since 10.7), SIGINT/SIGTERM and the uid, so
:class:`MacPlatform` only renames :class:`~loopcap.platforms.posix.PosixPlatform`.
What does differ lives elsewhere, and is listed here so it is found:

- the control socket's peer check: ``LOCAL_PEERCRED``/``getpeereid`` instead
  of Linux's ``SO_PEERCRED`` (:mod:`loopcap.app.control`);
- the runtime folder (:func:`loopcap.platforms.paths.runtime_dir`) is
  ``~/Library/Caches/TemporaryItems/loopcap`` (platformdirs) unless
  ``XDG_RUNTIME_DIR`` is set; a Unix socket path there must stay under
  macOS's 104-byte ``sun_path`` (Linux: 108), so a very long home folder
  name could refuse the control socket;
- ``flock`` on an SMB or AFP volume may fail with ENOTSUP: a captures folder
  on such a share cannot take a partial file (reported as a folder loopcap
  cannot write to, as on Linux with an NFS mount without locks).
"""

from __future__ import annotations

from loopcap.platforms.posix import PosixPlatform

__all__ = ["MacPlatform"]


class MacPlatform(PosixPlatform):
    """The macOS implementation of :class:`loopcap.platforms.base.Platform`.

    Stateless; any thread.
    """

    name = "macos"
