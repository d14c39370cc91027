import numpy as np
import torch

from p2pfl.learn.codec import flatten_state
from p2pfl.learn.mnist import Split, load_mnist
from p2pfl.learn.model import new_model, num_parameters
from p2pfl.learn.train import TrainConfig, evaluate, train_local
from p2pfl.robust.attacks.label_flip import FLIP_MAP


def small_split(n: int = 600) -> tuple[Split, Split]:
    data = load_mnist()
    return (
        Split(data.train.images[:n], data.train.labels[:n]),
        Split(data.test.images[:1000], data.test.labels[:1000]),
    )


def test_model_size_and_seeded_init() -> None:
    a, b, c = new_model(0), new_model(0), new_model(1)
    assert num_parameters(a) == 46_730
    assert np.array_equal(flatten_state(a.state_dict()), flatten_state(b.state_dict()))
    assert not np.array_equal(flatten_state(a.state_dict()), flatten_state(c.state_dict()))


def test_init_does_not_disturb_the_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    new_model(5)
    assert torch.equal(torch.rand(3), expected)


def test_training_is_reproducible_and_learns() -> None:
    train, test = small_split()
    before = new_model(0)
    acc0 = evaluate(before, test)
    m1, m2 = new_model(0), new_model(0)
    train_local(m1, train, TrainConfig(epochs=2), seed=7)
    train_local(m2, train, TrainConfig(epochs=2), seed=7)
    assert np.array_equal(flatten_state(m1.state_dict()), flatten_state(m2.state_dict()))
    assert evaluate(m1, test) > max(acc0 + 0.3, 0.6)


def test_label_flip_poisons_training() -> None:
    train, test = small_split()
    model = new_model(0)
    train_local(model, train, TrainConfig(epochs=2), seed=7, label_map=FLIP_MAP)
    flipped = Split(test.images, FLIP_MAP[test.labels])
    assert evaluate(model, flipped) > evaluate(model, test)
