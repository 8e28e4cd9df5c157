"""``loopcap trim``: trim a batch of existing files, one result per file.

A bad file never stops the batch: its result carries the reason and the next
file goes on.  Inputs are never modified; outputs are never overwritten
without ``force``.  With ``--plot`` each input also gets a picture of its
cut (:func:`loopcap.output.save.save_plot`), never written over a file
(a taken name gets ``-2``...), and one that fails is only a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopcap.config import Config, check_normalize_lufs
from loopcap.errors import EXIT_ERROR, EXIT_NO_SOUND, EXIT_OK, ConfigError, LoopcapError
from loopcap.fs import ensure_private_dir
from loopcap.log import logger
from loopcap.naming import trimmed_name
from loopcap.output.export import output_target
from loopcap.output.reading import analyse_file
from loopcap.output.save import SaveFailed, note_paths, save_plot, write_notes
from loopcap.trim import Bounds, TrimParams, ended_otherwise

__all__ = ["TrimResult", "trim_files", "default_output", "cmd_trim"]

NO_SOUND = "no sound found"


@dataclass(frozen=True)
class TrimResult:
    input: Path
    #: Each output and its note's span in the input, in time order (one
    #: unless ``split``); () when the file produced no output.
    outputs: tuple[tuple[Path, Bounds], ...] = ()
    error: str | None = None  # one line: why this file produced no output
    no_sound: bool = False
    truncated: bool = False
    split: bool = False  # one output per note: :attr:`notes` lists them
    #: The picture of the cut (``--plot``); None when not asked for or failed.
    plot: Path | None = None
    want_plot: bool = False  # ``--plot`` was given: the JSON has "plot"

    @property
    def output(self) -> Path | None:
        """The (first) output."""
        return self.outputs[0][0] if self.outputs else None

    @property
    def start_s(self) -> float | None:
        """Where the (first) note starts in the input, in seconds."""
        return self.outputs[0][1].start_s if self.outputs else None

    @property
    def end_s(self) -> float | None:
        """Where the (last) note ends in the input, in seconds."""
        return self.outputs[-1][1].end_s if self.outputs else None

    @property
    def kept_s(self) -> float | None:
        """Seconds from the first note's start to the last one's end."""
        if not self.outputs:
            return None
        first, last = self.outputs[0][1], self.outputs[-1][1]
        return (last.end - first.start) / first.samplerate

    @property
    def notes(self) -> tuple[tuple[Path, Bounds], ...]:
        """With ``split``: each note's output and span; else ()."""
        return self.outputs if self.split else ()

    def as_dict(self) -> dict:
        d: dict[str, object] = {
            "input": str(self.input),
            "output": str(self.output) if self.output else None,
            "start_s": None if self.start_s is None else round(self.start_s, 6),
            "end_s": None if self.end_s is None else round(self.end_s, 6),
            "kept_s": None if self.kept_s is None else round(self.kept_s, 6),
        }
        if self.error:
            d["error"] = self.error
        # Why more (or less) than the note alone was kept: a background it
        # could not be told from, a note cut off by the stop (one line, as
        # on stderr).
        reasons = [b.reason for _, b in self.outputs if b.reason]
        if reasons:
            d["reason"] = reasons[0]
        if self.truncated:
            d["truncated"] = True
        if self.want_plot:
            d["plot"] = str(self.plot) if self.plot else None
        if self.notes:
            d["notes"] = [
                {
                    "output": str(path),
                    "start_s": round(b.start_s, 6),
                    "end_s": round(b.end_s, 6),
                    "kept_s": round(b.kept_s, 6),
                    **({"reason": b.reason} if b.reason else {}),
                }
                for path, b in self.notes
            ]
        return d


def default_output(src: Path, ext: str, out_dir: Path | None) -> Path:
    """``<stem>.trimmed.<ext>`` beside the input, or in ``out_dir``."""
    return (out_dir or src.parent) / trimmed_name(src.stem, ext)


def trim_one(
    src: Path,
    out: Path | None,
    out_dir: Path | None,
    fmt: str | None,
    force: bool,
    params: TrimParams,
    split: bool = False,
    normalize_lufs: float = 0.0,
    plot: bool = False,
    plot_path: Path | None = None,
) -> TrimResult:
    """Trim ``src`` (see :func:`trim_files`); with ``plot``, draw the cut as
    ``plot_path`` or, when None, ``<first output's stem>.png`` beside it."""
    try:
        analysis = analyse_file(src, params, split=split)
    except LoopcapError as exc:
        return TrimResult(src, error=str(exc))
    except OSError as exc:  # anything the checks before reading did not foresee
        return TrimResult(src, error=f"{src}: cannot read it ({exc.strerror or exc})")
    if not analysis.notes:
        why = " in what decodes (the file is cut short)" if analysis.truncated else ""
        return TrimResult(
            src, error=f"{src}: {NO_SOUND}{why}", no_sound=True, truncated=analysis.truncated
        )
    target = output_target(analysis, fmt)
    notes = analysis.notes
    if analysis.truncated:
        # A note running to the end of what decodes ends where the file was
        # cut short, which the truncation line says: not a capture stopped
        # while it played.
        notes = ended_otherwise(notes)
    first = out or default_output(src, target.ext, out_dir)
    outputs = note_paths(first, target.ext, len(notes))
    for dst in outputs:
        if dst.resolve() == src.resolve():
            return TrimResult(
                src,
                error=f"{src}: the output would replace the input; "
                "choose another name with -o or --out-dir",
            )
        if dst.exists() and not force:
            return TrimResult(src, error=f"{dst} already exists; use --force to replace it")
    try:
        write_notes(
            src,
            zip(outputs, notes, strict=True),
            target,
            normalize_lufs=normalize_lufs,
            usable_bytes=analysis.usable_bytes,
            force=force,
        )
    except SaveFailed as exc:
        if isinstance(exc.cause, FileExistsError):
            return TrimResult(src, error=f"{exc.dst} already exists; use --force to replace it")
        if isinstance(exc.cause, (OSError, RuntimeError, ValueError)):
            return TrimResult(src, error=f"{src}: cannot write {exc.dst} ({exc.cause})")
        raise exc.cause from None
    picture = None
    if plot and analysis.meter is not None:
        where, ext = (plot_path, "png") if plot_path is not None else (first, target.ext)
        picture = save_plot(analysis.meter, notes, where.parent, where.name, ext, title=src.name)
    return TrimResult(
        src,
        tuple(zip(outputs, notes, strict=True)),
        truncated=analysis.truncated,
        split=split,
        plot=picture,
        want_plot=plot,
    )


def trim_files(
    inputs: list[Path],
    out: Path | None = None,
    out_dir: Path | None = None,
    fmt: str | None = None,
    force: bool = False,
    params: TrimParams | None = None,
    split: bool = False,
    normalize_lufs: float = 0.0,
    plot: bool = False,
    plot_path: Path | None = None,
) -> Iterator[TrimResult]:
    """Trim each input in turn; yields one result per input, in order.

    ``split``: one output per note (``<stem>.trimmed-N.<ext>`` when more
    than one).  ``normalize_lufs`` (non-zero): each note brought to that
    loudness.  ``plot``: a picture of each input's cut, ``plot_path`` (one
    input) or ``<output stem>.png`` beside the output (a split: one picture
    ``<stem>.trimmed.png`` showing every note).
    """
    params = params or TrimParams()
    for src in inputs:
        yield trim_one(
            Path(src), out, out_dir, fmt, force, params, split, normalize_lufs, plot, plot_path
        )


# ------------------------------------------------------------ the trim command
# The command line's glue for the batch above (moved from app/cli.py, which
# keeps only the parser and the dispatch).  Its imports sit with it so that it
# was appended in one piece; they belong at the top on the next edit.


def cmd_trim(args: argparse.Namespace, config: Config) -> int:
    """``loopcap trim FILE...``: check the options, trim each file, print one
    line (or JSON object) per output.  Main thread; returns the exit status."""
    plot = getattr(args, "plot", None)
    if plot and not plot.lower().endswith(".png"):
        # ``--plot`` takes an optional value: one that is not a PNG's name
        # is an input that followed it (``loopcap trim --plot note.ogg``).
        args.files.insert(0, plot)
        plot = ""
    if not args.files:
        raise ConfigError("give at least one audio FILE to trim")
    if args.output and len(args.files) > 1:
        raise ConfigError("-o names one output file; with several inputs use --out-dir")
    if plot and len(args.files) > 1:
        raise ConfigError(
            "--plot FILE.png names one picture; with several inputs give --plot alone "
            "(each picture goes beside its output)"
        )
    plot_path = Path(plot).expanduser() if plot else None
    out_dir = Path(args.out_dir).expanduser() if args.out_dir else None
    lufs = config.output.normalize_lufs if args.normalize_lufs is None else args.normalize_lufs
    check_normalize_lufs(lufs, "--normalize-lufs")
    if out_dir is not None:
        if out_dir.exists() and not out_dir.is_dir():
            raise ConfigError(f"--out-dir {out_dir} is a file, not a folder")
        ensure_private_dir(out_dir)
    results = trim_files(
        [Path(f) for f in args.files],
        out=Path(args.output).expanduser() if args.output else None,
        out_dir=out_dir,
        fmt=args.format,
        force=args.force,
        params=config.trim,
        split=args.split,
        normalize_lufs=lufs,
        plot=plot is not None,
        plot_path=plot_path,
    )
    bar = None
    if len(args.files) > 1 and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=len(args.files), unit="file", file=sys.stderr, leave=False)
    failed = no_sound = 0
    for res in results:
        if bar is not None:
            bar.update(1)
        if res.error:
            failed += not res.no_sound
            no_sound += res.no_sound
            (bar.write if bar else lambda m: logger.error(m))(f"loopcap: {res.error}")
        elif res.truncated:
            logger.warning(f"loopcap: {res.input}: the file is truncated; trimmed what decodes")
        if args.json:
            print(json.dumps(res.as_dict()), flush=True)
        elif res.notes:
            for path, b in res.notes:
                print(f"{path}\t{b.start_s:.3f}-{b.end_s:.3f} s ({b.kept_s:.2f} s kept)")
        elif res.output is not None:
            print(
                f"{res.output}\t{res.start_s:.3f}-{res.end_s:.3f} s ({res.kept_s:.2f} s kept)",
                flush=True,
            )
        if res.plot is not None and not args.json:
            print(f"{res.plot}\tpicture of the cut", flush=True)
    if bar is not None:
        bar.close()
    if failed:
        return EXIT_ERROR
    return EXIT_NO_SOUND if no_sound else EXIT_OK
