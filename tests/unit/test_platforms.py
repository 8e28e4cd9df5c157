"""The platform layer (loopcap.platforms): what each implementation does that
can be checked on Linux.

* The choice: by ``sys.platform``, by ``LOOPCAP_PLATFORM``, once per process.
* POSIX: ``flock`` between two open file descriptions and two processes;
  modes 0700/0600 whatever the umask; the uid.
* Windows, against a fake ``msvcrt`` (:class:`FakeMsvcrt`): one byte locked
  far past the end, the file position restored, another handle refused until
  the first is closed; nothing pretended with chmod; the account name.
* Free space.

The callers of the layer and the per-user folders: ``test_platform_callers.py``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import loopcap.platforms as platforms
from loopcap.errors import ConfigError
from loopcap.fs import create_locked
from loopcap.platforms import NAMES, Platform, native_name, select
from loopcap.platforms.macos import MacPlatform
from loopcap.platforms.posix import PosixPlatform
from loopcap.platforms.windows import LOCK_OFFSET, WindowsPlatform
from loopcap.writer.recover import recover_dir

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="flock, modes and uids are POSIX")

IMPLEMENTATIONS: list[type] = [PosixPlatform, MacPlatform, WindowsPlatform]


class FakeMsvcrt:
    """The part of ``msvcrt`` the Windows implementation uses, with an
    in-process table of locked bytes: ``(st_dev, st_ino, offset) -> fd``.

    Like ``LockFileEx``, a byte another open handle holds is refused with
    EACCES; a lock dies with its descriptor (found closed, or reopened on
    another file, when next asked).  The same descriptor number locking again
    is taken for a number reused after a close.
    """

    LK_UNLCK, LK_LOCK, LK_NBLCK, LK_RLCK, LK_NBRLCK = 0, 1, 2, 3, 4

    def __init__(self, fail: int | None = None) -> None:
        self.held: dict[tuple[int, int, int], int] = {}
        self.calls: list[tuple[int, int, int, int]] = []  # fd, mode, nbytes, position
        self.fail = fail  # an errno every call fails with

    def _alive(self, fd: int, key: tuple[int, int, int]) -> bool:
        try:
            st = os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == key[:2]

    def locking(self, fd: int, mode: int, nbytes: int, /) -> None:
        st = os.fstat(fd)
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        self.calls.append((fd, mode, nbytes, pos))
        if self.fail is not None:
            raise OSError(self.fail, os.strerror(self.fail))
        keys = [(st.st_dev, st.st_ino, pos + i) for i in range(nbytes)]
        if mode == self.LK_UNLCK:
            for key in keys:
                if self.held.get(key) != fd:
                    raise PermissionError(errno.EACCES, "not locked by this handle")
                del self.held[key]
            return
        for key in keys:
            holder = self.held.get(key)
            if holder is not None and holder != fd and self._alive(holder, key):
                raise PermissionError(errno.EACCES, "Permission denied")
        for key in keys:
            self.held[key] = fd


@pytest.fixture
def fake_msvcrt(monkeypatch) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    return fake


def two_fds(path: Path, flags: int = os.O_RDWR) -> tuple[int, int]:
    """Two open file descriptions of ``path`` (created if missing)."""
    path.touch()
    return os.open(path, flags), os.open(path, flags)


# ------------------------------------------------------------------ the choice


@pytest.mark.parametrize(
    "sys_platform, name",
    [("linux", "linux"), ("darwin", "macos"), ("win32", "windows"),
     ("freebsd14", "linux"), ("cygwin", "linux")],
)  # fmt: skip
def test_the_implementation_follows_sys_platform(sys_platform, name):
    assert native_name(sys_platform) == name
    chosen = select({}, sys_platform)
    assert chosen.name == name
    assert type(chosen) is {"linux": PosixPlatform, "macos": MacPlatform,
                            "windows": WindowsPlatform}[name]  # fmt: skip


@pytest.mark.parametrize("value", ["windows", " Windows ", "MACOS", "linux"])
def test_loopcap_platform_overrides_sys_platform(value):
    for host in ("linux", "darwin", "win32"):
        assert select({"LOOPCAP_PLATFORM": value}, host).name == value.strip().lower()


def test_an_empty_override_is_no_override():
    assert select({"LOOPCAP_PLATFORM": "  "}, "darwin").name == "macos"


def test_an_unknown_override_is_one_clear_config_error():
    with pytest.raises(ConfigError) as err:
        select({"LOOPCAP_PLATFORM": "haiku"}, "linux")
    text = str(err.value)
    assert "LOOPCAP_PLATFORM='haiku'" in text and all(name in text for name in NAMES)
    assert "\n" not in text


def test_the_platform_is_chosen_once_per_process(monkeypatch):
    monkeypatch.setattr(platforms, "_current", None)
    monkeypatch.setenv("LOOPCAP_PLATFORM", "macos")
    first = platforms.current()
    monkeypatch.setenv("LOOPCAP_PLATFORM", "windows")
    assert platforms.current() is first and first.name == "macos"


def test_the_first_choice_is_made_once_even_from_many_threads(monkeypatch):
    monkeypatch.setattr(platforms, "_current", None)
    monkeypatch.setenv("LOOPCAP_PLATFORM", "windows")
    seen: list[Platform] = []
    threads = [threading.Thread(target=lambda: seen.append(platforms.current())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in seen}) == 1


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_every_implementation_keeps_the_contract(cls):
    p: Platform = cls()  # mypy checks the Protocol here
    assert p.name in NAMES
    assert isinstance(p.open_flags, int) and p.open_flags >= 0
    assert signal.SIGINT in p.stop_signals
    # Windows has neither; the common path must not rely on them anywhere.
    assert not {getattr(signal, n, None) for n in ("SIGKILL", "SIGHUP")} & set(p.stop_signals)
    for method in ("try_lock", "restrict", "free_bytes", "user_id", "owns"):
        assert callable(getattr(p, method))


@pytest.mark.skipif(sys.platform == "win32", reason="subprocess needs msvcrt on Windows")
def test_the_layer_imports_where_posix_modules_and_msvcrt_are_missing(tmp_path):
    """Importing loopcap's lower layers, and choosing each implementation, needs
    none of fcntl, termios, pwd, grp, resource or msvcrt."""
    code = textwrap.dedent(
        """
        import sys
        for name in ("fcntl", "termios", "pwd", "grp", "resource", "msvcrt"):
            sys.modules[name] = None
        import loopcap.platforms, loopcap.fs, loopcap.config, loopcap.writer.recover
        import loopcap.writer.rescue, loopcap.app.signals, loopcap.app.logsetup
        for name in loopcap.platforms.NAMES:
            p = loopcap.platforms.select({"LOOPCAP_PLATFORM": name})
            print(p.name, p.open_flags >= 0, len(p.stop_signals))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["linux True 2", "macos True 2", "windows True 2"]


# ------------------------------------------------------------------ POSIX


@POSIX_ONLY
def test_posix_lock_refuses_a_second_open_file_description_until_the_first_closes(tmp_path):
    p = PosixPlatform()
    a, b = two_fds(tmp_path / "f")
    try:
        assert p.try_lock(a)
        assert not p.try_lock(b)
        assert not p.try_lock(b)  # still refused: nothing changed
    finally:
        os.close(a)
    try:
        assert p.try_lock(b)  # closing the holder dropped its lock
    finally:
        os.close(b)


@POSIX_ONLY
def test_posix_lock_is_seen_by_another_process_and_dies_with_it(tmp_path):
    p = PosixPlatform()
    path = tmp_path / "f"
    probe = (
        "import os, sys\n"
        "from loopcap.platforms.posix import PosixPlatform\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
        "print(PosixPlatform().try_lock(fd))\n"
    )

    def other_process_locks() -> str:
        return subprocess.run(
            [sys.executable, "-c", probe, str(path)],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert p.try_lock(fd)
        assert other_process_locks() == "False"
    finally:
        os.close(fd)
    assert other_process_locks() == "True"


@POSIX_ONLY
def test_posix_open_flags_close_on_exec():
    assert PosixPlatform().open_flags & os.O_CLOEXEC
    assert MacPlatform().open_flags == PosixPlatform().open_flags


@POSIX_ONLY
@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077])
def test_posix_restrict_makes_folders_0700_and_files_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        folder = tmp_path / "d"
        folder.mkdir(mode=0o777)
        file = folder / "f"
        file.touch(mode=0o666)
    finally:
        os.umask(old)
    PosixPlatform().restrict(folder, is_dir=True)
    PosixPlatform().restrict(file, is_dir=False)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


@POSIX_ONLY
def test_posix_user_is_the_uid_and_owns_only_its_own_files(tmp_path):
    p = PosixPlatform()
    assert p.user_id() == str(os.getuid())
    st = os.lstat(tmp_path)
    assert p.owns(st)
    other = list(st)
    other[stat.ST_UID] = os.getuid() + 1
    assert not p.owns(os.stat_result(other))


@POSIX_ONLY
def test_posix_free_space_is_statvfs_available_to_the_user(tmp_path):
    st = os.statvfs(tmp_path)
    free = PosixPlatform().free_bytes(tmp_path)
    # The same f_bavail * f_frsize as os.statvfs gave (other processes write
    # meanwhile: allow 64 MiB).
    assert abs(free - st.f_bavail * st.f_frsize) < 64 << 20
    assert free == pytest.approx(shutil.disk_usage(tmp_path).free, abs=64 << 20)


# ------------------------------------------------------------------ Windows (fake msvcrt)


def test_windows_locks_one_byte_far_past_the_end_and_restores_the_position(tmp_path, fake_msvcrt):
    path = tmp_path / "capture.partial.wav"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"RIFF" + bytes(96))
        os.lseek(fd, 37, os.SEEK_SET)
        assert WindowsPlatform().try_lock(fd)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 37  # libsndfile finds the file as it was
        assert os.fstat(fd).st_size == 100  # seeking past the end wrote nothing
    finally:
        os.close(fd)
    assert fake_msvcrt.calls == [(fd, FakeMsvcrt.LK_NBLCK, 1, LOCK_OFFSET)]
    # Mandatory locks stop other handles from reading what they cover: the
    # byte lies past the end of any capture, so the rescue copy and recover
    # (which read through their own handles) are never stopped.
    assert LOCK_OFFSET > 100 and LOCK_OFFSET >= 1 << 40


def test_windows_lock_refuses_another_handle_until_the_first_is_closed(tmp_path, fake_msvcrt):
    p = WindowsPlatform()
    a, b = two_fds(tmp_path / "f")
    try:
        assert p.try_lock(a)
        os.lseek(b, 5, os.SEEK_SET)
        assert not p.try_lock(b)
        assert os.lseek(b, 0, os.SEEK_CUR) == 5  # restored on refusal too
    finally:
        os.close(a)
    try:
        assert p.try_lock(b)
    finally:
        os.close(b)


def test_windows_lock_errors_other_than_held_are_raised_with_the_position_restored(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(sys.modules, "msvcrt", FakeMsvcrt(fail=errno.EINVAL))
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as err:
            WindowsPlatform().try_lock(fd)
        assert err.value.errno == errno.EINVAL
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
    finally:
        os.close(fd)


def test_windows_lock_takes_edeadlock_as_held(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "msvcrt", FakeMsvcrt(fail=errno.EDEADLK))
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        assert not WindowsPlatform().try_lock(fd)
    finally:
        os.close(fd)


def test_windows_lock_keeps_a_live_capture_from_recover(tmp_path, fake_msvcrt, use):
    """fs.create_locked and recover's in-use check, through the Windows lock."""
    use(WindowsPlatform())
    partial = tmp_path / "busy.partial.wav"
    fd = create_locked(partial)
    try:
        assert recover_dir(tmp_path) == []
        assert partial.exists()  # in use: not touched
    finally:
        os.close(fd)
    assert recover_dir(tmp_path) == []  # released: the empty file is dealt with
    assert not partial.exists()
    assert {call[3] for call in fake_msvcrt.calls} == {LOCK_OFFSET}


def test_windows_open_flags():
    flags = WindowsPlatform().open_flags
    if sys.platform == "win32":
        assert flags & os.O_BINARY and flags & os.O_NOINHERIT
    else:  # forced on a POSIX host: Python's own non-inheritable default
        assert flags == 0


def test_windows_stop_signals_are_sigint_and_sigbreak_there():
    sigs = WindowsPlatform().stop_signals
    expected = ("SIGINT", "SIGBREAK") if sys.platform == "win32" else ("SIGINT", "SIGTERM")
    assert sigs == tuple(getattr(signal, n) for n in expected)


def test_windows_restrict_pretends_nothing(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    file = folder / "f"
    file.touch()
    modes = folder.stat().st_mode, file.stat().st_mode
    WindowsPlatform().restrict(folder, is_dir=True)
    WindowsPlatform().restrict(file, is_dir=False)
    assert (folder.stat().st_mode, file.stat().st_mode) == modes


def test_windows_user_is_the_account_name(monkeypatch):
    p = WindowsPlatform()
    monkeypatch.setattr(os, "getlogin", lambda: "alice")
    monkeypatch.setenv("USERNAME", "mallory")  # the environment is not asked first
    assert p.user_id() == "alice"

    def no_login() -> str:
        raise OSError(errno.ENXIO, "no controlling terminal")

    def no_user() -> str:
        raise KeyError("no user")

    monkeypatch.setattr(os, "getlogin", no_login)
    monkeypatch.setattr("getpass.getuser", lambda: "bob")
    assert p.user_id() == "bob"
    monkeypatch.setattr("getpass.getuser", no_user)
    assert p.user_id() == "mallory"
    monkeypatch.delenv("USERNAME")
    assert p.user_id() == "user"


def test_windows_owns_whatever_the_uid(tmp_path):
    other = list(os.lstat(tmp_path))
    other[stat.ST_UID] = 12345
    assert WindowsPlatform().owns(os.stat_result(other))
