"""An operator's own training set (``p2pfl node --data PATH``).

``PATH`` is one of

- an ``.npz`` archive with ``x``, ``uint8`` images ``(N, 28, 28)``, and ``y``, integer
  labels ``(N,)`` in 0..9 (``save_npz`` writes one);
- a folder holding one MNIST IDX pair, ``PREFIX-images-idx3-ubyte`` and
  ``PREFIX-labels-idx1-ubyte`` (either may be gzipped, ``.gz``).

Every problem with the file is one ``ConfigError`` line that names it. The set is held
raw (``uint8`` pixels, ``int64`` labels); ``Dataset.split`` normalises it exactly as the
bundled MNIST is, into the ``Split`` the trainer trains on.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from p2pfl.errors import ConfigError, DataError
from p2pfl.learn.mnist import Split, normalise, parse_idx_images, parse_idx_labels

SIDE = 28  # images are SIDE x SIDE
CLASSES = 10  # labels are 0..CLASSES-1
IMAGES_SUFFIX = "-images-idx3-ubyte"
LABELS_SUFFIX = "-labels-idx1-ubyte"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled training set: ``uint8`` images ``(N, 28, 28)``, ``int64`` labels ``(N,)``."""

    images: NDArray[np.uint8]
    labels: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def head(self, n: int | None) -> Dataset:
        """The first ``n`` samples (all of them when ``n`` is None)."""
        return self if n is None else Dataset(self.images[:n], self.labels[:n])

    def split(self) -> Split:
        """Normalised tensors, as the bundled MNIST's (``p2pfl.learn.mnist.normalise``)."""
        return normalise(self.images, self.labels)


def check_arrays(x: np.ndarray, y: np.ndarray, where: str) -> Dataset:
    """``x`` and ``y`` as a ``Dataset``, or one ``ConfigError`` naming what is wrong."""
    if x.dtype != np.uint8:
        raise ConfigError(f"{where}: x is {x.dtype}, expected uint8 pixels (0..255)")
    n = int(x.shape[0]) if x.ndim else 0
    if x.ndim != 3 or x.shape[1:] != (SIDE, SIDE):
        raise ConfigError(f"{where}: x has shape {tuple(x.shape)}, expected (N, {SIDE}, {SIDE})")
    if y.dtype.kind not in "iu":
        raise ConfigError(f"{where}: y is {y.dtype}, expected integer labels 0..{CLASSES - 1}")
    if y.ndim != 1:
        raise ConfigError(f"{where}: y has shape {tuple(y.shape)}, expected (N,) = ({n},)")
    if y.shape[0] != n:
        raise ConfigError(f"{where}: x holds {n} images but y holds {y.shape[0]} labels")
    if n == 0:
        raise ConfigError(f"{where}: the training set is empty (N = 0)")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= CLASSES:
        raise ConfigError(
            f"{where}: y has labels outside 0..{CLASSES - 1} (they run from {low} to {high})"
        )
    return Dataset(np.ascontiguousarray(x), y.astype(np.int64))


# The last set read, by the file's (or folder's files') path, size and modification time: a
# node checks its set at start and trains on it later; the second read is this lookup.
_last: tuple[tuple[object, ...], Dataset] | None = None


def _fingerprint(path: Path) -> tuple[object, ...]:
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    stats = [(f, f.stat()) for f in files]
    return tuple((str(f.resolve()), st.st_size, st.st_mtime_ns) for f, st in stats)


def load_dataset(path: Path) -> Dataset:
    """Read and check the training set at ``path`` (an ``.npz`` file or an IDX folder).
    Read again unchanged, it is not read twice (its arrays are read-only)."""
    global _last
    try:
        key = _fingerprint(path)
    except OSError:
        key = ()
    if key and _last is not None and _last[0] == key:
        return _last[1]
    data = _read_dataset(path)
    data.images.setflags(write=False)
    data.labels.setflags(write=False)
    if key:
        _last = (key, data)
    return data


def _read_dataset(path: Path) -> Dataset:
    if path.is_dir():
        return _load_idx_folder(path)
    if not path.exists():
        raise ConfigError(f"training data {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise ConfigError(
            f"{path} is not an .npz archive (training data is an .npz file with x and y, "
            "or a folder holding an MNIST IDX pair)"
        )
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ("x", "y") if k not in npz.files]
            if missing:
                found = ", ".join(npz.files) or "nothing"
                raise ConfigError(
                    f"{path} has no array {' or '.join(missing)} (it holds {found}); "
                    f"expected x (uint8, N x {SIDE} x {SIDE}) and y (labels 0..{CLASSES - 1})"
                )
            x, y = npz["x"], npz["y"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"cannot read {path} as an .npz archive: {exc}") from None
    return check_arrays(x, y, str(path))


def _find(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith((suffix, suffix + ".gz")))


def _read(path: Path) -> bytes:
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def _load_idx_folder(folder: Path) -> Dataset:
    images_files = _find(folder, IMAGES_SUFFIX)
    if not images_files:
        raise ConfigError(
            f"{folder} holds no PREFIX{IMAGES_SUFFIX} file: a training-data folder holds "
            "one MNIST IDX pair"
        )
    if len(images_files) > 1:
        names = ", ".join(p.name for p in images_files)
        raise ConfigError(f"{folder} holds {len(images_files)} IDX image files ({names}): keep one")
    images_file = images_files[0]
    prefix = images_file.name.split(IMAGES_SUFFIX)[0]
    name = prefix + LABELS_SUFFIX
    labels_files = [p for p in (folder / name, folder / (name + ".gz")) if p.is_file()]
    if not labels_files:
        raise ConfigError(f"{folder} has {images_file.name} but no {prefix}{LABELS_SUFFIX}")
    labels_file = labels_files[0]
    try:
        x = parse_idx_images(_read(images_file))
    except DataError as exc:
        raise ConfigError(f"{images_file}: {exc}") from None
    try:
        y = parse_idx_labels(_read(labels_file))
    except DataError as exc:
        raise ConfigError(f"{labels_file}: {exc}") from None
    return check_arrays(x, y, f"{folder} ({images_file.name}, {labels_file.name})")


def save_npz(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write a training set that ``load_dataset`` reads back (checked first, written
    compressed, replaced atomically)."""
    data = check_arrays(images, labels, str(path))
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        np.savez_compressed(out, x=data.images, y=data.labels)
    os.replace(tmp, path)
