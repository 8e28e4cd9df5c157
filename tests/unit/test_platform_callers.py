"""What goes through the platform layer (loopcap.platforms), and the per-user
folders of all three OSes.

* ``loopcap.fs`` (open flags, locks, private folders), the rescue folders
  (owner check, chmod, the user in the temporary folder's name, free space)
  and the signal forwarding use :func:`loopcap.platforms.current`, whatever
  it is;
* the per-user folders: platformdirs' own Windows and macOS rules, run here,
  give the profile's and the Library's folders (one ``loopcap``, not two).

The implementations themselves are tested in ``test_platforms.py``.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys
import threading
import warnings
from pathlib import Path

import platformdirs
import pytest

import loopcap.platforms as platforms
from loopcap.fs import create_exclusive, create_locked, ensure_private_dir
from loopcap.platforms.posix import PosixPlatform
from loopcap.platforms.windows import WindowsPlatform
from loopcap.writer.rescue import _private_folder, describe, rescue_dirs

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="modes and signals are POSIX")


# ------------------------------------------------------------------ callers


def test_fs_opens_with_the_platforms_flags(tmp_path, monkeypatch, use):
    class Appending(PosixPlatform):
        open_flags = os.O_APPEND  # a flag os.open accepts everywhere, to see it passed

    use(Appending())
    seen: list[int] = []
    real_open = os.open

    def spy(path, flags, mode=0o777):
        seen.append(flags)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spy)
    os.close(create_exclusive(tmp_path / "f"))
    assert seen and seen[0] & os.O_APPEND and seen[0] & os.O_EXCL


def test_create_locked_leaves_nothing_when_the_file_system_has_no_locks(tmp_path, use):
    class NoLocks(PosixPlatform):
        def try_lock(self, fd: int) -> bool:
            raise OSError(errno.ENOLCK, "No locks available")

    use(NoLocks())
    with pytest.raises(OSError):
        create_locked(tmp_path / "x.partial.wav")
    assert list(tmp_path.iterdir()) == []


def test_private_folders_go_through_restrict(tmp_path, use):
    made: list[tuple[Path, bool]] = []

    class Recording(WindowsPlatform):
        def restrict(self, path: Path, is_dir: bool) -> None:
            made.append((path, is_dir))

    use(Recording())
    ensure_private_dir(tmp_path / "a" / "b")
    assert made == [(tmp_path / "a", True), (tmp_path / "a" / "b", True)]


@POSIX_ONLY
def test_rescue_folder_checks_go_through_the_layer(tmp_path, use):
    folder = tmp_path / "rescue"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    use(WindowsPlatform())  # owns it, and pretends nothing with chmod
    assert _private_folder(folder) == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    use(PosixPlatform())
    _private_folder(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_rescue_folders_use_the_platforms_user(monkeypatch, use):
    class Alice(WindowsPlatform):
        def user_id(self) -> str:
            return "alice"

    use(Alice())
    first, second = rescue_dirs()
    assert first == platforms.data_dir() / "rescue"
    assert second == platforms.temp_dir() / "loopcap-rescue-alice"


@pytest.mark.parametrize("free, said", [(0, "No space left on device"), (1 << 40, "System error")])
def test_a_full_disk_is_told_by_the_platforms_free_space(tmp_path, use, free, said):
    class Free(PosixPlatform):
        def free_bytes(self, path: Path) -> int:
            return free

    use(Free())
    assert describe(RuntimeError("System error."), tmp_path) == said


@POSIX_ONLY
def test_forward_signals_forwards_the_platforms_stop_signals(use):
    from loopcap.app.signals import forward_signals

    class Usr1(PosixPlatform):
        stop_signals = (signal.SIGUSR1,)

    use(Usr1())
    got: list[int] = []
    called = threading.Event()
    before = signal.getsignal(signal.SIGUSR1)
    restore = forward_signals(lambda s: (got.append(s), called.set()))
    try:
        signal.raise_signal(signal.SIGUSR1)
        assert called.wait(5.0)
    finally:
        restore()
    assert set(got) == {signal.SIGUSR1}
    assert signal.getsignal(signal.SIGUSR1) == before


# ------------------------------------------------------------------ per-user folders


def test_runtime_folder_is_xdg_runtime_dir_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert platforms.runtime_dir() == tmp_path / "loopcap"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    with warnings.catch_warnings():  # platformdirs warns when /run/user/<uid> is missing
        warnings.simplefilter("ignore")
        assert platforms.runtime_dir() == Path(platformdirs.user_runtime_dir("loopcap", False))


def test_captures_config_and_log_follow_the_users_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_MUSIC_DIR", str(tmp_path / "Music"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if sys.platform == "linux":
        assert platforms.captures_dir() == tmp_path / "Music" / "loopcap"
        assert platforms.config_dir() == tmp_path / "cfg" / "loopcap"
        assert platforms.log_dir() == tmp_path / "state" / "loopcap" / "log"
        assert platforms.data_dir() == tmp_path / "data" / "loopcap"
    from loopcap.config import OutputConfig, default_config_path

    assert OutputConfig().directory == platforms.captures_dir()
    assert default_config_path() == platforms.config_dir() / "config.toml"


WIN_FOLDERS = {
    "CSIDL_LOCAL_APPDATA": r"C:\Users\alice\AppData\Local",
    "CSIDL_APPDATA": r"C:\Users\alice\AppData\Roaming",
    "CSIDL_MYMUSIC": r"C:\Users\alice\Music",
}


def _as(monkeypatch, cls) -> None:
    """Make platformdirs' module functions answer as ``cls`` would (its own
    Windows or macOS rules, run on this machine)."""
    for what in ("music", "config", "log", "data", "runtime"):
        attr = f"user_{what}_dir"
        monkeypatch.setattr(
            platformdirs, attr, lambda *a, _attr=attr, **k: getattr(cls(*a, **k), _attr)
        )


def test_windows_folders_are_the_profiles_without_a_second_loopcap(monkeypatch):
    import platformdirs.windows as win

    monkeypatch.setattr(win, "get_win_folder", WIN_FOLDERS.__getitem__)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    _as(monkeypatch, win.Windows)
    local = r"C:\Users\alice\AppData\Local"
    assert platforms.captures_dir() == Path(r"C:\Users\alice\Music") / "loopcap"
    assert platforms.config_dir() == Path(local) / "loopcap"
    assert platforms.data_dir() == Path(local) / "loopcap"
    assert platforms.log_dir() == Path(local) / "loopcap" / "Logs"
    assert platforms.runtime_dir() == Path(local) / "Temp" / "loopcap"


def test_macos_folders_are_the_librarys(tmp_path, monkeypatch):
    import platformdirs.macos as mac

    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
                 "XDG_MUSIC_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    _as(monkeypatch, mac.MacOS)
    lib = tmp_path / "Library"
    assert platforms.captures_dir() == tmp_path / "Music" / "loopcap"
    assert platforms.config_dir() == lib / "Application Support" / "loopcap"
    assert platforms.data_dir() == lib / "Application Support" / "loopcap"
    assert platforms.log_dir() == lib / "Logs" / "loopcap"
    assert platforms.runtime_dir() == lib / "Caches" / "TemporaryItems" / "loopcap"
