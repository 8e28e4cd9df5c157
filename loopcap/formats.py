"""The one table of output formats: every name ``--format`` and ``[output]
format`` accept, and how each is written.

Everything that lists formats derives from :data:`FORMATS`: the command
line's choices (:data:`CAPTURE_FORMATS` for ``record``, all of them for
``trim``), the config's validation, ``doctor``'s check that libsndfile can
write each, and recover's list of the extensions a save makes
(:data:`SAVED_EXTS`).

A capture and a converted file are written slightly differently: a capture
(``record``, the app) is saved with the subtype of :attr:`Format.subtype`
(32-bit float WAV, 24-bit FLAC: nothing of the float capture is lost), while
``loopcap trim`` keeps the input's subtype when the container stays the same
(:attr:`Format.file_subtype` None).  ``voicenote`` is WhatsApp's own format
(Ogg Opus, 16 kHz, mono); its raw capture is kept as FLAC, since a lossy
16 kHz copy would not be the capture.

Pure data; imports nothing of loopcap.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Target",
    "Format",
    "FORMATS",
    "CAPTURE_FORMATS",
    "SAVED_EXTS",
    "VOICENOTE_RATE",
    "capture_target",
    "raw_target",
]

#: WhatsApp stores voice notes as Opus at 16 kHz, mono.
VOICENOTE_RATE = 16000


@dataclass(frozen=True)
class Target:
    """How one file is written: soundfile's (format, subtype), the file
    extension, and a fixed rate/mono where the format demands one."""

    format: str
    subtype: str | None  # None: soundfile's default (or the input's, same format)
    ext: str
    samplerate: int | None = None  # None: keep the input's
    mono: bool = False


@dataclass(frozen=True)
class Format:
    """One row of the table (see the module's docstring)."""

    format: str  # soundfile's major format
    subtype: str  # a capture's subtype
    file_subtype: str | None  # a converted file's; None: the input's if same format
    ext: str
    samplerate: int | None = None  # fixed rate (Hz); None: the capture's
    mono: bool = False
    #: Name of the format the raw (untrimmed) capture is kept in.
    raw: str | None = None  # None: this one
    #: Offered for captures (``record --format``, ``[output] format``).
    capture: bool = True
    #: How the tags of :class:`~loopcap.output.encode.Tags` are stored.
    tags: str = ""

    @property
    def target(self) -> Target:
        """How a capture is saved in this format."""
        return Target(self.format, self.subtype, self.ext, self.samplerate, self.mono)

    @property
    def file_target(self) -> Target:
        """How ``loopcap trim`` converts a file to this format."""
        return Target(self.format, self.file_subtype, self.ext, self.samplerate, self.mono)


#: Format name -> how it is written, in the order help and errors list them.
FORMATS: dict[str, Format] = {
    "wav": Format("WAV", "FLOAT", None, "wav", tags="RIFF INFO chunk"),
    "flac": Format("FLAC", "PCM_24", None, "flac", tags="Vorbis comments"),
    "ogg": Format("OGG", "VORBIS", "VORBIS", "ogg", tags="Vorbis comments"),
    "mp3": Format("MP3", "MPEG_LAYER_III", None, "mp3", tags="ID3"),
    "voicenote": Format(
        "OGG",
        "OPUS",
        "OPUS",
        "ogg",
        samplerate=VOICENOTE_RATE,
        mono=True,
        raw="flac",
        tags="Opus comments",
    ),
    # Only for converting files: a capture in Opus is the voicenote format.
    "opus": Format("OGG", "OPUS", "OPUS", "ogg", capture=False, tags="Opus comments"),
}

#: Names a capture may be saved in.
CAPTURE_FORMATS: tuple[str, ...] = tuple(n for n, f in FORMATS.items() if f.capture)

#: Extensions (with the dot) of every file a save can make.
SAVED_EXTS: tuple[str, ...] = tuple(dict.fromkeys("." + f.ext for f in FORMATS.values()))


def capture_target(name: str) -> Target:
    """How a capture in format ``name`` is saved (KeyError for an unknown name)."""
    return FORMATS[name].target


def raw_target(name: str) -> Target:
    """How the raw capture of a capture in format ``name`` is kept."""
    fmt = FORMATS[name]
    return FORMATS[fmt.raw].target if fmt.raw else fmt.target
