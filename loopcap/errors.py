"""The one exception hierarchy of loopcap.

Foreign errors (soundcard's bare ``AssertionError``/``RuntimeError``,
soundfile's ``LibsndfileError``, ``OSError``) are translated into these at the
edge where they happen; the command line's single error boundary
(:func:`loopcap.app.cli.main`) prints ``str(error)`` as one line and exits with
``error.exit_code``.
"""

__all__ = [
    "LoopcapError",
    "ConfigError",
    "DeviceError",
    "DeviceLostError",
    "OutputError",
    "InputError",
    "NotRunning",
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "EXIT_DEVICE",
    "EXIT_NO_SOUND",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # bad command line or bad configuration
EXIT_DEVICE = 3  # no sound server, no such device, device lost mid-capture
EXIT_NO_SOUND = 4  # the capture or file holds no sound: nothing to trim


class LoopcapError(Exception):
    """Base of every error loopcap reports to its user.

    The message is one plain sentence that says what is wrong and what to do.
    """

    exit_code = EXIT_ERROR


class ConfigError(LoopcapError):
    """A configuration file or value is invalid; the message names the key."""

    exit_code = EXIT_USAGE


class DeviceError(LoopcapError):
    """The sound server or loopback device cannot be used."""

    exit_code = EXIT_DEVICE


class DeviceLostError(DeviceError):
    """The loopback device or the sound server went away during a capture."""


class OutputError(LoopcapError):
    """A capture or output file cannot be written."""


class InputError(LoopcapError):
    """An input file cannot be used (missing, unreadable, empty, not audio)."""


class NotRunning(LoopcapError):
    """No loopcap app is running to take a control command (``loopcap toggle``,
    ``stop``, ``status``, ``quit``): its control socket is absent or refuses."""
