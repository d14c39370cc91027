"""The trainer on an operator's own data (``--data``): a few hundred real MNIST images."""

from pathlib import Path

import numpy as np
import pytest
import torch

from p2pfl.errors import ConfigError
from p2pfl.learn.dataset import save_npz
from p2pfl.learn.mnist import read_split
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.trainer import Trainer, TrainerConfig

OPERATOR = "0x" + "ab" * 20


def test_trainer_trains_on_its_own_data_and_tests_on_mnist(tmp_path: Path) -> None:
    images, labels = read_split("train")
    path = tmp_path / "train.npz"
    save_npz(path, images[1000:1400], labels[1000:1400])
    trainer = Trainer(TrainerConfig(data=path, samples=300, test_samples=500))
    assert len(trainer.shard) == 300  # the file's first 300 samples: --samples caps it
    expected = torch.from_numpy(labels[1000:1300].astype(np.int64))
    assert torch.equal(trainer.shard.labels, expected)
    _, test_labels = read_split("t10k")  # the common yardstick
    assert torch.equal(trainer.test.labels, torch.from_numpy(test_labels[:500].astype(np.int64)))
    base = GlobalModel.genesis(0)
    update = trainer.update(base, OPERATOR, epoch=1, n=4, f=1)
    delta = update.to_float()
    assert np.all(np.isfinite(delta))
    assert np.linalg.norm(delta) > 0
    assert update.within_norm_bound(trainer.cfg.clip)
    # one epoch on 300 images beats the untrained model on the MNIST test images
    assert trainer.accuracy(base.step([update])) > trainer.accuracy(base) + 0.2


@pytest.mark.parametrize(
    "cfg",
    [
        TrainerConfig(data=Path("x.npz"), shards=8),
        TrainerConfig(data=Path("x.npz"), shard=1, shards=2),
        TrainerConfig(data=Path("x.npz"), alpha=0.5),
    ],
)
def test_own_data_refuses_mnist_shard_options(cfg: TrainerConfig) -> None:
    with pytest.raises(ConfigError, match="cannot be combined"):
        cfg.check_options()


def test_check_reads_the_data_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.zeros((3, 28, 28), np.float32), y=np.zeros(3, np.int64))
    with pytest.raises(ConfigError, match="x is float32"):
        TrainerConfig(data=bad).check()
    with pytest.raises(ConfigError, match="x is float32"):
        Trainer(TrainerConfig(data=bad))
