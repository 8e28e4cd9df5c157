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
from loopcap.trim import TrimParams
from loopcap.trimfile import analyse_file, output_format, write_span

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
) -> TrimResult:
    try:
        analysis = analyse_file(src, params)
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
    sf_format, subtype, ext = output_format(analysis, fmt)
    dst = out or default_output(src, ext, out_dir)
    if dst.resolve() == src.resolve():
        return TrimResult(
            src,
            error=f"{src}: the output would replace the input; "
            "choose another name with -o or --out-dir",
        )
    try:
        write_span(
            src,
            dst,
            b.start,
            b.end,
            sf_format,
            subtype,
            force=force,
            usable_bytes=analysis.usable_bytes,
        )
    except FileExistsError:
        return TrimResult(src, error=f"{dst} already exists; use --force to replace it")
    except (OSError, RuntimeError, ValueError) as exc:
        return TrimResult(src, error=f"{src}: cannot write {dst} ({exc})")
    return TrimResult(src, dst, b.start_s, b.end_s, b.kept_s, truncated=analysis.truncated)


def trim_files(
    inputs: list[Path],
    out: Path | None = None,
    out_dir: Path | None = None,
    fmt: str | None = None,
    force: bool = False,
    params: TrimParams | None = None,
) -> Iterator[TrimResult]:
    """Trim each input in turn; yields one result per input, in order."""
    params = params or TrimParams()
    for src in inputs:
        yield trim_one(Path(src), out, out_dir, fmt, force, params)
