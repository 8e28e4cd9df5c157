"""``loopcap trim``: trim a batch of existing files, one result per file.

A bad file never stops the batch: its result carries the reason and the next
file goes on.  Inputs are never modified; outputs are never overwritten
without ``force``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loopcap.errors import LoopcapError
from loopcap.output.encode import Tags
from loopcap.output.reading import analyse_file, normalize_gain_db, output_target, write_span
from loopcap.trim import Bounds, TrimParams

__all__ = ["TrimResult", "trim_files", "default_output"]

NO_SOUND = "no sound found"


@dataclass(frozen=True)
class TrimResult:
    input: Path
    output: Path | None = None
    start_s: float | None = None
    end_s: float | None = None
    kept_s: float | None = None
    error: str | None = None  # one line: why this file produced no output
    no_sound: bool = False
    truncated: bool = False
    notes: tuple[tuple[Path, Bounds], ...] = ()  # with split: each note's output and span

    def as_dict(self) -> dict:
        d = {
            "input": str(self.input),
            "output": str(self.output) if self.output else None,
            "start_s": None if self.start_s is None else round(self.start_s, 4),
            "end_s": None if self.end_s is None else round(self.end_s, 4),
            "kept_s": None if self.kept_s is None else round(self.kept_s, 4),
        }
        if self.error:
            d["error"] = self.error
        if self.truncated:
            d["truncated"] = True
        if self.notes:
            d["notes"] = [
                {
                    "output": str(path),
                    "start_s": round(b.start_s, 4),
                    "end_s": round(b.end_s, 4),
                    "kept_s": round(b.kept_s, 4),
                }
                for path, b in self.notes
            ]
        return d


def default_output(src: Path, ext: str, out_dir: Path | None) -> Path:
    """``<stem>.trimmed.<ext>`` beside the input, or in ``out_dir``."""
    return (out_dir or src.parent) / f"{src.stem}.trimmed.{ext}"


def trim_one(
    src: Path,
    out: Path | None,
    out_dir: Path | None,
    fmt: str | None,
    force: bool,
    params: TrimParams,
    split: bool = False,
    normalize_lufs: float = 0.0,
) -> TrimResult:
    try:
        analysis = analyse_file(src, params, split=split)
    except LoopcapError as exc:
        return TrimResult(src, error=str(exc))
    except OSError as exc:  # anything the checks before reading did not foresee
        return TrimResult(src, error=f"{src}: cannot read it ({exc.strerror or exc})")
    b = analysis.bounds
    if b is None:
        why = " in what decodes (the file is cut short)" if analysis.truncated else ""
        return TrimResult(
            src, error=f"{src}: {NO_SOUND}{why}", no_sound=True, truncated=analysis.truncated
        )
    target = output_target(analysis, fmt)
    notes = analysis.notes if split else (b,)
    first = out or default_output(src, target.ext, out_dir)
    outputs: list[Path] = []
    for k in range(1, len(notes) + 1):
        dst = first if len(notes) == 1 else first.with_name(_numbered(first.name, target.ext, k))
        if dst.resolve() == src.resolve():
            return TrimResult(
                src,
                error=f"{src}: the output would replace the input; "
                "choose another name with -o or --out-dir",
            )
        if dst.exists() and not force:
            return TrimResult(src, error=f"{dst} already exists; use --force to replace it")
        outputs.append(dst)
    for dst, note in zip(outputs, notes, strict=True):
        try:
            gain = 0.0
            if normalize_lufs:
                gain = normalize_gain_db(
                    src, note.start, note.end, target, normalize_lufs, analysis.usable_bytes
                )
            tags = Tags(dst.stem, None, note.kept_s)
            write_span(
                src,
                dst,
                note.start,
                note.end,
                target,
                force=force,
                tags=tags,
                gain_db=gain,
                usable_bytes=analysis.usable_bytes,
            )
        except FileExistsError:
            return TrimResult(src, error=f"{dst} already exists; use --force to replace it")
        except (OSError, RuntimeError, ValueError) as exc:
            return TrimResult(src, error=f"{src}: cannot write {dst} ({exc})")
    return TrimResult(
        src,
        outputs[0],
        b.start_s,
        b.end_s,
        b.kept_s,
        truncated=analysis.truncated,
        notes=tuple(zip(outputs, notes, strict=True)) if split else (),
    )


def _numbered(name: str, ext: str, k: int) -> str:
    """``x.trimmed.ogg`` -> ``x.trimmed-2.ogg``."""
    base = name[: -len(ext) - 1] if name.endswith("." + ext) else name
    return f"{base}-{k}.{ext}"


def trim_files(
    inputs: list[Path],
    out: Path | None = None,
    out_dir: Path | None = None,
    fmt: str | None = None,
    force: bool = False,
    params: TrimParams | None = None,
    split: bool = False,
    normalize_lufs: float = 0.0,
) -> Iterator[TrimResult]:
    """Trim each input in turn; yields one result per input, in order.

    ``split``: one output per note (``<stem>.trimmed-N.<ext>`` when more
    than one).  ``normalize_lufs`` (non-zero): each note brought to that
    loudness.
    """
    params = params or TrimParams()
    for src in inputs:
        yield trim_one(Path(src), out, out_dir, fmt, force, params, split, normalize_lufs)
