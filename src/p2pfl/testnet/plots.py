"""The testnet's PNG plots: test accuracy per epoch, and Krum scores per operator per
epoch with the flagged ones marked."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from p2pfl.testnet.runner import EpochRow


def plot_accuracy(rows: list[EpochRow], path: Path) -> None:
    pts = [(r.epoch, r.accuracy * 100) for r in rows if r.accuracy is not None]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy of the new model (%)")
    ax.set_title("testnet: accuracy per epoch")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(rows: list[EpochRow], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    names = sorted({n for r in rows for n in r.scores})
    for name in names:
        xs = [r.epoch for r in rows if name in r.scores]
        ys = [max(r.scores[name], 1) for r in rows if name in r.scores]
        line = ax.plot(xs, ys, marker="o", label=name)[0]
        fx = [r.epoch for r in rows if name in r.scores and name in r.flagged]
        fy = [max(r.scores[name], 1) for r in rows if name in r.scores and name in r.flagged]
        ax.scatter(fx, fy, s=160, facecolors="none", edgecolors=line.get_color(), linewidths=2)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("Krum score on sketches (circled: flagged)")
    ax.set_title("testnet: scores and flags per operator (colluders overlap)")
    ax.grid(alpha=0.3)
    if names:
        ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
