"""Output folders replaced whole: at no instant does a folder hold files of two runs.

Every command that writes a folder (``fbt run`` in memory and ``--stream``, reports, sweeps and
walk-forward) writes through :func:`output_folder`::

    with output_folder(out, RUN_FOLDER) as folder:   # folder: a new, empty sibling of out
        write every file into folder
    # here out holds exactly the files written above, or (after an error or Ctrl-C) what it held before

**The scheme.** For a target ``/p/DIR`` the files are written into ``/p/DIR.fbt-<pid>-<token>.tmp``
(same parent, so the same file system). When the body finishes, the folder is renamed to
``...new`` (a name that means "a complete set"), then swapped with ``DIR``:

- on Linux, by one ``renameat2(RENAME_EXCHANGE)`` call: the two names trade places atomically, so
  ``DIR`` always exists and holds one whole set; the old set, now under the ``.new`` name, is renamed
  ``.old`` and deleted;
- where the exchange is not available (another OS, a file system that refuses it), by two renames,
  ``DIR -> .old`` then ``.new -> DIR``. Between them ``DIR`` is missing for an instant: a reader
  then finds no folder (an error, never a mix), and a crash there leaves both complete sets beside
  it. :func:`recover` puts the new one back (the old one if no new one is there); every writer calls
  it before writing and :func:`fbt.report.read_output` calls it when the folder is missing.

So a crash (kill, SIGKILL, OOM) at any point leaves at ``DIR`` either the old complete set or the
new complete set, or -- only in the fallback, between its two renames -- a missing ``DIR`` that
:func:`recover` repairs. A leftover ``.tmp`` (a run killed while writing), ``.new`` or ``.old`` is
deleted by the next writer of a folder in that parent (a live one is left alone: each writer holds
an ``flock`` on its own folder, and the swaps in a parent take turns on a lock of the parent). An
interruption (Ctrl-C) before the swap deletes the new folder and leaves ``DIR`` untouched, with a
note on the exception saying so (:func:`interrupted_note`); one arriving during the swap is held
until the swap is done. The files are not ``fsync``-ed: the guarantees hold for a process that dies,
not for a machine that loses power before the page cache is written.

**Files fbt did not write.** A folder is replaced whole, so anything else in it would be deleted:
a target holding an entry that is not one of the writer's own names (``RUN_FOLDER``, ...) is refused
with a :class:`~fbt.core.errors.ConfigError` naming the entries, before anything is written
(:func:`check_folder`). Hidden ``.*.tmp`` leftovers of fbt's earlier per-file writes are fbt's own
and dropped. Files a new set keeps from the old one (a report keeps the run's files, a sweep its
cache) are hard links (a copy where links are not supported), never rewritten in place.

**Readers.** Open the folder once and read its files relative to it (``dir_fd``) to see one run;
reading by path across a swap may open the next run's file. Each swap gives ``DIR`` a new inode.

**Test hook.** ``FBT_TEST_OUTDIR_STOP=STAGE:HOW`` makes the writing process stop at ``STAGE`` (one
of :data:`STAGES`) by ``HOW``: ``kill`` (SIGKILL to itself), ``int`` (SIGINT to itself) or ``exit``
(``os._exit(70)``); ``FBT_TEST_OUTDIR_SWAP=renames`` forces the two-rename swap. Both are read at
each call and are meant for tests only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any, Final

import attrs

from fbt.core.errors import ConfigError

__all__ = [
    "RUN_FOLDER",
    "STAGES",
    "SWEEP_FOLDER",
    "WALK_FORWARD_FOLDER",
    "check_folder",
    "interrupted_note",
    "output_folder",
    "recover",
    "siblings",
]

#: the files of a run's folder: fbt run (in memory or --stream) and its report
RUN_FOLDER: Final = frozenset({"equity.csv", "fills.csv", "trades.csv", "journal.jsonl", "stats.json",
                               "equity.png", "report.html"})
#: the files of a sweep's folder: results, cache, heatmap
SWEEP_FOLDER: Final = frozenset({"sweep.csv", "sweep.jsonl", "heatmap.png"})
#: the files of a walk-forward's folder (and the in-sample runs' cache)
WALK_FORWARD_FOLDER: Final = frozenset({"walk_forward.csv", "oos_equity.csv", "in_sample.csv", "walk_forward.json",
                                        "sweep.jsonl"})

#: where the test hook can stop a writer, in the order they are passed
STAGES: Final = ("staged", "written", "locked", "complete", "swapped-out", "swapped", "retired", "cleaned")

_SUFFIXES = ("tmp", "new", "old")


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + r"\.fbt-(\d+)-([0-9a-f]{8})\.(tmp|new|old)")


def _target(out: str | os.PathLike[str]) -> Path:
    path = Path(out).expanduser().resolve()  # a symlinked folder: its real place is swapped
    if path.parent == path:
        raise ConfigError(f"{out}: cannot write a run's files over the root of the file system; name a folder")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{out}: expected an output folder, got a file")
    return path


def _is_leftover(entry: os.DirEntry[str]) -> bool:
    """A hidden temporary file of fbt's earlier writers (``.equity.csv.tmp``, ``.fills.csv.stream.tmp``)."""
    return entry.name.startswith(".") and ".tmp" in entry.name and entry.is_file(follow_symlinks=False)


def _foreign(folder: Path, names: Collection[str]) -> list[str]:
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        if (entry.name in names and entry.is_file(follow_symlinks=False)) or _is_leftover(entry):
            continue
        found.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    return sorted(found)


def check_folder(out: str | os.PathLike[str], names: Collection[str]) -> None:
    """Raise :class:`~fbt.core.errors.ConfigError` if ``out`` holds entries other than ``names``.

    A folder fbt writes is replaced whole, so a file it did not write would be deleted with the
    old set; the error names them. A missing or empty folder is fine.

    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "stats.json").write_text("{}"); (folder / "notes.txt").write_text("mine")
    2
    4
    >>> check_folder(folder, RUN_FOLDER)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fbt.core.errors.ConfigError: ...: holds notes.txt, which fbt does not write there...
    """
    target = _target(out)
    foreign = _foreign(target, names)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        one = len(foreign) == 1
        raise ConfigError(
            f"{out}: holds {shown}, which fbt does not write there; fbt replaces an output folder whole and "
            f"would delete {'it' if one else 'them'}: move {'it' if one else 'them'} away or write to another folder"
        )


def siblings(out: str | os.PathLike[str]) -> list[Path]:
    """The staging folders fbt keeps beside ``out`` (``OUT.fbt-<pid>-<token>.tmp|new|old``), by name."""
    target = _target(out)
    pattern = _pattern(target.name)
    try:
        names = os.listdir(target.parent)
    except FileNotFoundError:
        return []
    return sorted(target.parent / n for n in names if pattern.fullmatch(n))


# --------------------------------------------------------------------------------------------------
# Locks: a writer holds one on its own folder; the swaps and clean-ups of one parent take turns


def _flock(fd: int, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the pid in the name decides what is live
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _open_dir(path: Path) -> int:
    return os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


@contextlib.contextmanager
def _parent_lock(parent: Path) -> Iterator[None]:
    fd = _open_dir(parent)
    try:
        _flock(fd, True)
        yield
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _take(path: Path) -> int | None:
    """Lock a staging folder another writer may hold; its descriptor, or None when it is live."""
    try:
        fd = _open_dir(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        import fcntl  # noqa: F401
    except ImportError:
        match = re.search(r"\.fbt-(\d+)-", path.name)
        if match and _alive(int(match.group(1))):
            os.close(fd)
            return None
        return fd
    if not _flock(fd, False):
        os.close(fd)
        return None
    return fd


# --------------------------------------------------------------------------------------------------
# The swap


def _stop(stage: str) -> None:
    """The test hook (see the module's docstring)."""
    wanted = os.environ.get("FBT_TEST_OUTDIR_STOP", "")
    where, _, how = wanted.partition(":")
    if where != stage:
        return
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "int":
        os.kill(os.getpid(), signal.SIGINT)
    else:
        os._exit(70)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is not available."""
    if os.environ.get("FBT_TEST_OUTDIR_SWAP") == "renames" or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # a C library without it (glibc < 2.28, musl < 1.2.?)
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False  # the kernel or the file system does not exchange
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # a read-only file inside: try once more, making it writable
        def retry(func: Callable[..., Any], name: str, _: object) -> None:
            os.chmod(name, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            func(name)

        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)


def _recover(target: Path, *, mine: Collection[Path] = ()) -> Path | None:
    """:func:`recover` with the parent's lock held; ``mine`` are this writer's own folders (left alone)."""
    pattern = _pattern(target.name)
    found: dict[str, list[tuple[int, Path]]] = {s: [] for s in _SUFFIXES}
    held: list[tuple[Path, int]] = []
    try:
        for name in sorted(os.listdir(target.parent)):
            match = pattern.fullmatch(name)
            path = target.parent / name
            if not match or path in mine:
                continue
            fd = _take(path)
            if fd is None:  # a live writer's
                continue
            held.append((path, fd))
            with contextlib.suppress(OSError):
                found[match.group(3)].append((os.stat(path).st_ctime_ns, path))
        restored = None
        if not os.path.lexists(target):
            # only the two-rename swap leaves no target: its new set if it got that far, else the old
            for suffix in ("new", "old"):
                if found[suffix]:
                    restored = max(found[suffix])[1]
                    os.rename(restored, target)
                    break
        for path, _ in held:
            if path != restored:
                _remove(path)
        return target if restored is not None else None
    finally:
        for _, fd in held:
            os.close(fd)


def recover(out: str | os.PathLike[str]) -> Path | None:
    """Repair ``out`` after a crash and delete the staging folders no live writer holds.

    When ``out`` is missing (a crash between the two renames of the fallback swap), the complete
    new set beside it is renamed into place, or failing that the old set; return ``out`` then, None
    when nothing was put back. Writers call it before writing; readers may call it when the
    folder is missing.
    """
    target = _target(out)
    if not target.parent.is_dir():
        return None
    with _parent_lock(target.parent):
        return _recover(target)


@contextlib.contextmanager
def _held_interrupts() -> Iterator[None]:
    """Hold SIGINT until the block ends (the main thread only), then raise the KeyboardInterrupt it asked for."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *_: asked.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if asked and previous is not signal.SIG_IGN:
        if callable(previous):
            previous(signal.SIGINT, None)
        raise KeyboardInterrupt


def _link_or_copy(name: str, source_fd: int, destination: Path) -> bool:
    """Link ``name`` of the folder open as ``source_fd`` into ``destination``; False when it is not there."""
    try:
        os.link(name, destination / name, src_dir_fd=source_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    except OSError:  # no hard links here: a copy
        try:
            src = os.open(name, os.O_RDONLY, dir_fd=source_fd)
        except FileNotFoundError:
            return False
        with os.fdopen(src, "rb") as fh, open(destination / name, "xb") as dst:
            shutil.copyfileobj(fh, dst, 1 << 20)
    return True


def _keep(target: Path, staging: Path, names: Collection[str]) -> None:
    """Link the old set's ``names`` into the new folder (held by the parent lock, so from one set)."""
    if not names or not target.is_dir():
        return
    fd = _open_dir(target)
    try:
        for name in sorted(names):
            if name not in os.listdir(staging):
                _link_or_copy(name, fd, staging)
    finally:
        os.close(fd)


@attrs.define
class _Staging:
    target: Path
    path: Path
    names: frozenset[str]
    fd: int
    carry: set[str] = attrs.field(factory=set)


_ACTIVE: dict[Path, _Staging] = {}  # the folders this process is writing, by target


def interrupted_note(out: str | os.PathLike[str]) -> str:
    """The line said when a run is interrupted before its files were swapped in.

    >>> interrupted_note("/nonexistent/fbt-out")
    '/nonexistent/fbt-out is unchanged: nothing was written there'
    """
    path = Path(out)
    held = False
    if path.is_dir():
        with os.scandir(path) as entries:
            held = any(entries)
    return f"{out} is unchanged: " + ("it still holds the previous run's files" if held else
                                      "nothing was written there")


@contextlib.contextmanager
def output_folder(out: str | os.PathLike[str], names: Collection[str], *, keep: Collection[str] = (),
                  carry: Collection[str] = ()) -> Iterator[Path]:
    """Yield a new empty folder beside ``out``; when the block ends, make it ``out`` in one swap.

    ``names`` are the files the folder may hold (:func:`check_folder` refuses others). ``keep``
    names files of the current ``out`` linked into the new folder before the block (a report
    keeps the run's files it reads); ``carry`` names files linked from ``out`` at the swap when
    the block did not write them (a sweep's cache, appended in place while it runs). The block
    must not open those links for writing. After an exception (or Ctrl-C) in the block the new
    folder is deleted, ``out`` is untouched and a KeyboardInterrupt gets :func:`interrupted_note`.
    Inside a block for the same ``out`` (in this process) it yields that block's folder and the
    outer block swaps. See the module's docstring for the guarantees.

    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with output_folder(out, {"a.txt"}) as folder:
    ...     _ = (folder / "a.txt").write_text("first")
    >>> with output_folder(out, {"a.txt"}) as folder:
    ...     _ = (folder / "a.txt").write_text("second")
    ...     (out / "a.txt").read_text()   # the old set stays until the new one is complete
    'first'
    >>> (out / "a.txt").read_text(), siblings(out)
    ('second', [])
    """
    target = _target(out)
    allowed = frozenset(names)
    outer = _ACTIVE.get(target)
    if outer is not None:
        outer.carry.update(carry)
        for name in keep:  # already there: the outer block wrote or kept it
            if not (outer.path / name).exists():
                _keep(target, outer.path, {name})
        yield outer.path
        return
    check_folder(out, allowed)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _parent_lock(target.parent):
        _recover(target)
        path = target.parent / f"{target.name}.fbt-{os.getpid()}-{os.urandom(4).hex()}.tmp"
        path.mkdir()
        fd = _open_dir(path)
        _flock(fd, False)
        _keep(target, path, keep)
    staging = _Staging(target=target, path=path, names=allowed, fd=fd, carry=set(carry))
    _ACTIVE[target] = staging
    try:
        _stop("staged")
        try:
            yield path
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                exc.add_note(interrupted_note(out))
            raise
        _stop("written")
        try:
            with _held_interrupts():
                _commit(staging, out)
        except KeyboardInterrupt as exc:  # asked for during the swap, which was let finish
            exc.add_note(f"{out} holds this run's files: they were complete before the interrupt")
            raise
    finally:
        del _ACTIVE[target]
        os.close(staging.fd)
        _remove(staging.path)  # gone after the swap; after an error, the unfinished set


def _commit(staging: _Staging, out: str | os.PathLike[str]) -> None:
    target = staging.target
    complete = staging.path.with_name(staging.path.name[: -len("tmp")] + "new")
    with _parent_lock(target.parent):
        check_folder(out, staging.names)  # a file put there while the run was writing is not deleted
        _stop("locked")
        present = set(os.listdir(staging.path))
        _keep(target, staging.path, {n for n in staging.carry if n not in present})
        os.rename(staging.path, complete)
        staging.path = complete
        _stop("complete")
        _recover(target, mine={complete})
        if not target.exists():
            os.rename(complete, target)
            _stop("swapped")
            return
        retired = complete.with_name(complete.name[: -len("new")] + "old")
        if _exchange(complete, target):
            _stop("swapped")
            os.rename(complete, retired)  # the old set, under the name that says so
            _stop("retired")
        else:
            os.rename(target, retired)
            _stop("swapped-out")
            try:
                os.rename(complete, target)
            except BaseException:
                os.rename(retired, target)  # the old set back where it was
                raise
            _stop("swapped")
        staging.path = retired
        _remove(retired)
        _stop("cleaned")
