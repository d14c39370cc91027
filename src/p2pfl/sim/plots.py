"""PNG plots: accuracy per round for every rule, and Krum scores per client with the flag
threshold (the zk-Krum seed's figure)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from p2pfl.sim.runner import RunResult


def plot_accuracy(runs: list[RunResult], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for run in runs:
        xs = [0] + [r.round for r in run.rounds]
        ys = [run.initial_accuracy * 100] + [r.accuracy * 100 for r in run.rounds]
        ax.plot(xs, ys, marker="o", label=run.rule)
    ax.set_xlabel("round")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scores(run: RunResult, clients: int, path: Path, title: str) -> None:
    """Scores per client per round (log scale), Byzantine in red, flagged circled,
    the flag threshold ``rho * T`` as a line."""
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    byz = set(run.byzantine_clients)
    for r in run.rounds:
        for c in range(clients):
            score = max(float(r.scores[c]), 1.0)
            color = "tab:red" if c in byz else "tab:blue"
            ax.scatter(r.round, score, color=color, s=18, alpha=0.8, zorder=3)
            if c in r.flagged:
                ax.scatter(r.round, score, facecolors="none", edgecolors="black", s=80, zorder=4)
    rounds = [r.round for r in run.rounds]
    ax.plot(rounds, [max(r.threshold, 1.0) for r in run.rounds], "k--", label="flag threshold")
    ax.plot(rounds, [max(r.mean_score, 1.0) for r in run.rounds], ":", color="gray", label="mean")
    ax.scatter([], [], color="tab:blue", s=18, label="honest")
    ax.scatter([], [], color="tab:red", s=18, label="Byzantine")
    ax.scatter([], [], facecolors="none", edgecolors="black", s=80, label="flagged")
    ax.set_yscale("log")
    ax.set_xlabel("round")
    ax.set_ylabel("Krum score on sketches")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
