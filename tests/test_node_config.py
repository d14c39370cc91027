"""``p2pfl node --config FILE`` and ``--print-config``: a TOML file of the node's options,
checked key by key, flags over the file; a running node configured by a file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from p2pfl.events import Listening, MetricsServing
from tests.metrics.test_node_metrics import scrape
from tests.net.test_node_processes import P2PFL, NodeProcess


def node(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*P2PFL, "node", *args], capture_output=True, text=True, timeout=120, check=False
    )


def printed(path: Path, *flags: str) -> dict[str, str]:
    proc = node("--config", str(path), "--print-config", *flags)
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(" = ", 1) for line in proc.stdout.splitlines())


def test_the_file_sets_options_and_flags_override_it(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        'rpc = "http://rpc.example:8545"\n'
        'epoch_manager = "0x' + "ab" * 20 + '"\n'
        'bootstrap = ["/ip4/10.0.0.1/tcp/4001/p2p/QmBoot"]\n'
        "metrics_port = 9100\n"
        'data = "mine/train.npz"\n'
        "clip = 4\n"
        "no_challenge = true\n"
        "max_backoff = 3\n"
        "rpc_timeout = 5\n"
    )
    got = printed(cfg, "--metrics-port", "9200", "--bootstrap", "/ip4/10.0.0.2/tcp/1/p2p/QmB")
    assert got["rpc"] == '"http://rpc.example:8545"'
    assert got["metrics_port"] == "9200"  # the flag wins
    assert got["bootstrap"] == '["/ip4/10.0.0.2/tcp/1/p2p/QmB"]'
    assert got["data"] == f'"{tmp_path / "mine/train.npz"}"'  # relative to the file
    assert got["clip"] == "4.0"
    assert got["no_challenge"] == "true"
    assert got["max_backoff"] == "3.0"
    assert got["rpc_timeout"] == "5.0"
    assert "config" not in got
    assert got["data_dir"] == f'"{Path.home() / ".p2pfl"}"'  # ~ expanded


def test_keys_are_the_long_option_names(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text('json = true\nkeystore = "~/ks.json"\n')
    got = printed(cfg)
    assert got["json"] == "true"
    assert got["keystore"] == f'"{Path.home() / "ks.json"}"'
    cfg.write_text("json_events = true\n")
    proc = node("--config", str(cfg))
    assert proc.returncode == 2
    assert "unknown key 'json_events'" in proc.stderr
    assert "print_config" not in got


def test_print_config_reads_back_to_the_same_settings(tmp_path: Path) -> None:
    first = tmp_path / "a.toml"
    first.write_text('rpc = "http://x:1"\nsamples = 300\nalpha = 0.5\n')
    proc = node("--config", str(first), "--print-config")
    second = tmp_path / "b.toml"
    second.write_text(proc.stdout)
    assert node("--config", str(second), "--print-config").stdout == proc.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics_prot = 1", "unknown key 'metrics_prot' (did you mean 'metrics_port'?)"),
        ('metrics_port = "x"', "metrics_port = 'x'"),
        ('metrics_port = "9100"', "metrics_port = '9100': must be an integer"),
        ("metrics_port = 70000", "metrics_port = 70000"),
        ("epochs = 0", "epochs = 0"),
        ("max_backoff = 0.1", "max_backoff = 0.1"),
        ("rpc_timeout = 0", "rpc_timeout = 0"),
        ('gossip_only = "yes"', "gossip_only = 'yes': must be true or false"),
        ("rpc = 5", "rpc = 5: must be a string"),
        ("shard = [1, 2]", "shard takes one value, not a list"),
        ("[rpc]\nurl = 1", "rpc must be a value, not a table"),
        ('password = "hunter2"', "'password' is a secret"),
        ("rpc = ", "is not valid TOML"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text + "\n")
    proc = node("--config", str(cfg), "--print-config")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "hunter2" not in proc.stderr


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    proc = node("--config", str(tmp_path / "none.toml"))
    assert proc.returncode == 2
    assert "cannot read the config file" in proc.stderr


def test_a_node_runs_from_its_file(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text('epoch = 5\nmetrics_port = 0\nlisten = "/ip4/127.0.0.1/tcp/1"\n')
    proc = NodeProcess(tmp_path / "n", "--config", str(cfg))  # its --listen .../tcp/0 wins
    try:
        url = proc.wait_for(lambda e: isinstance(e, MetricsServing), 30).url
        listening = next(e for e in proc.events if isinstance(e, Listening))
        assert not listening.addrs[0].split("/p2p/")[0].endswith("/tcp/1")
        assert scrape(url)[("p2pfl_epoch", ())] == 5
    finally:
        assert proc.stop() == 0
