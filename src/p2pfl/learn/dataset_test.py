import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.learn.dataset import load_dataset, save_npz
from p2pfl.learn.mnist import MEAN, STD


def sample(n: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.int64)
    return images, labels


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    return np.array([0x803, n, rows, cols], dtype=">u4").tobytes() + images.tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return np.array([0x801, len(labels)], dtype=">u4").tobytes() + labels.astype(np.uint8).tobytes()


def test_npz_round_trip(tmp_path: Path) -> None:
    images, labels = sample()
    path = tmp_path / "train.npz"
    save_npz(path, images, labels)
    data = load_dataset(path)
    assert len(data) == 50
    assert data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.images, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert len(data.head(7)) == 7
    assert data.head(None) is data
    split = data.split()  # normalised as the bundled MNIST
    assert tuple(split.images.shape) == (50, 1, 28, 28)
    assert float(split.images[0, 0, 0, 0]) == pytest.approx((images[0, 0, 0] / 255 - MEAN) / STD)
    assert split.labels.tolist() == labels.tolist()


def test_plain_npz_with_uint8_labels_is_read(tmp_path: Path) -> None:
    images, labels = sample()
    path = tmp_path / "mine.npz"
    np.savez(path, x=images, y=labels.astype(np.uint8))
    assert load_dataset(path).labels.tolist() == labels.tolist()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path: Path, gz: bool) -> None:
    images, labels = sample(30)
    img, lbl = idx_images(images), idx_labels(labels)
    suffix = ".gz" if gz else ""
    (tmp_path / f"mine-images-idx3-ubyte{suffix}").write_bytes(gzip.compress(img) if gz else img)
    (tmp_path / f"mine-labels-idx1-ubyte{suffix}").write_bytes(gzip.compress(lbl) if gz else lbl)
    data = load_dataset(tmp_path)
    np.testing.assert_array_equal(data.images, images)
    assert data.labels.tolist() == labels.tolist()


def bad_npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


IMAGES, LABELS = sample(20)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"y": LABELS}, r"has no array x \(it holds y\)"),
        ({"x": IMAGES}, "has no array y"),
        ({"images": IMAGES}, "has no array x or y"),
        ({"x": IMAGES.astype(np.float32), "y": LABELS}, "x is float32, expected uint8"),
        ({"x": IMAGES.reshape(20, 784), "y": LABELS}, r"shape \(20, 784\), expected \(N, 28, 28\)"),
        ({"x": IMAGES[:, :14, :14], "y": LABELS}, r"shape \(20, 14, 14\), expected \(N, 28, 28\)"),
        ({"x": IMAGES, "y": LABELS.astype(np.float64)}, "y is float64, expected integer labels"),
        ({"x": IMAGES, "y": LABELS.reshape(20, 1)}, r"y has shape \(20, 1\), expected \(N,\)"),
        ({"x": IMAGES, "y": LABELS[:19]}, "x holds 20 images but y holds 19 labels"),
        ({"x": IMAGES, "y": np.full(20, 10)}, r"outside 0\.\.9 \(they run from 10 to 10\)"),
        ({"x": IMAGES, "y": np.full(20, -1)}, r"outside 0\.\.9 \(they run from -1 to -1\)"),
        ({"x": IMAGES[:0], "y": LABELS[:0]}, r"empty \(N = 0\)"),
    ],
)
def test_bad_npz_is_one_clear_error(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    path = bad_npz(tmp_path, **arrays)
    with pytest.raises(ConfigError, match=message) as info:
        load_dataset(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    text = tmp_path / "train.csv"
    text.write_text("1,2,3\n")
    with pytest.raises(ConfigError, match=r"is not an \.npz archive"):
        load_dataset(text)
    npy = tmp_path / "x.npy"
    np.save(npy, IMAGES)
    with pytest.raises(ConfigError, match=r"is not an \.npz archive"):
        load_dataset(npy)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(bad_npz(tmp_path, x=IMAGES, y=LABELS).read_bytes()[:-40])
    with pytest.raises(ConfigError):
        load_dataset(broken)


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([object()] * 3), y=LABELS[:3])
    with pytest.raises(ConfigError, match="cannot read"):
        load_dataset(path)


def test_bad_idx_folders(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no PREFIX-images-idx3-ubyte"):
        load_dataset(tmp_path)
    (tmp_path / "a-images-idx3-ubyte").write_bytes(idx_images(IMAGES))
    with pytest.raises(ConfigError, match="no a-labels-idx1-ubyte"):
        load_dataset(tmp_path)
    (tmp_path / "a-labels-idx1-ubyte").write_bytes(idx_labels(LABELS[:5]))
    with pytest.raises(ConfigError, match="20 images but y holds 5 labels"):
        load_dataset(tmp_path)
    (tmp_path / "a-labels-idx1-ubyte").write_bytes(idx_images(IMAGES))  # wrong magic
    with pytest.raises(ConfigError, match="a-labels-idx1-ubyte: not an IDX1 label file"):
        load_dataset(tmp_path)
    (tmp_path / "a-labels-idx1-ubyte").write_bytes(idx_labels(np.full(20, 12)))
    with pytest.raises(ConfigError, match=r"outside 0\.\.9"):
        load_dataset(tmp_path)
    (tmp_path / "a-images-idx3-ubyte").write_bytes(idx_images(IMAGES)[:-1])
    with pytest.raises(ConfigError, match="a-images-idx3-ubyte: IDX image file has"):
        load_dataset(tmp_path)
    (tmp_path / "b-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(ConfigError, match="holds 2 IDX image files"):
        load_dataset(tmp_path)
    (tmp_path / "a-images-idx3-ubyte").unlink()
    with pytest.raises(ConfigError, match="no b-labels-idx1-ubyte"):
        load_dataset(tmp_path)
    (tmp_path / "b-labels-idx1-ubyte").write_bytes(idx_labels(LABELS))
    with pytest.raises(ConfigError, match="cannot read"):
        load_dataset(tmp_path)


def test_save_npz_refuses_what_load_would(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="x is int64"):
        save_npz(tmp_path / "t.npz", IMAGES.astype(np.int64), LABELS)
    assert not list(tmp_path.iterdir())


def test_a_set_read_again_unchanged_is_not_read_twice(tmp_path: Path) -> None:
    path = tmp_path / "train.npz"
    x = np.zeros((4, 28, 28), dtype=np.uint8)
    np.savez(path, x=x, y=np.arange(4))
    first = load_dataset(path)
    assert load_dataset(path) is first
    assert not first.images.flags.writeable
    np.savez(path, x=x + 1, y=np.arange(4))  # changed on disk: read again
    os.utime(path, ns=(1, 1))
    second = load_dataset(path)
    assert second is not first
    assert int(second.images.max()) == 1
