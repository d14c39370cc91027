"""``--config FILE`` and ``--print-config`` for commands with many options.

The file is TOML; its keys are the command's long options with dashes written as
underscores (``epoch_manager = "0x…"``, ``bootstrap = ["/ip4/…/p2p/…"]``,
``metrics_port = 9100``). Each value is checked with the option's own type and range, so
a wrong value names its key; a key that is not an option is refused, with the closest
option suggested. Relative paths are read relative to the file. Flags given on the
command line override the file. Secrets never go in the file: the keystore password
comes from ``--password-env VAR`` or ``--password-file``."""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from p2pfl.errors import ConfigError

SECRET_KEYS = frozenset({"password", "private_key", "key"})
NOT_IN_FILES = frozenset({"config", "print_config"})


def read_config(path: Path) -> dict[str, Any]:
    """The TOML table in ``path``; one :class:`ConfigError` line if unreadable."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def file_key(param: Any) -> str:
    """The key of an option in a config file: its first long name with underscores
    (``--json`` is ``json``, ``--epoch-manager`` is ``epoch_manager``)."""
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0][2:].replace("-", "_") if longs else str(param.name)


def _file_params(ctx: typer.Context) -> dict[str, Any]:
    return {
        file_key(p): p
        for p in ctx.command.params
        if p.name and p.name not in NOT_IN_FILES and getattr(p, "opts", None)
    }


def config_values(ctx: typer.Context, path: Path, raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` checked against the command's options: each value converted by its
    option's type (ranges included), paths made relative to the file's folder."""
    params = _file_params(ctx)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in SECRET_KEYS:
            raise ConfigError(
                f"{path}: {key!r} is a secret and does not belong in a config file: "
                "use password_env (a variable's name) or password_file"
            )
        param = params.get(key)
        if param is None:
            close = difflib.get_close_matches(key, params, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{path}: unknown key {key!r}{hint}")
        if isinstance(value, dict):
            raise ConfigError(f"{path}: {key} must be a value, not a table")
        if param.multiple and not isinstance(value, list):
            value = [value]
        if not param.multiple and isinstance(value, list):
            raise ConfigError(f"{path}: {key} takes one value, not a list")
        try:
            checked = param.process_value(ctx, value)
        except typer.BadParameter as exc:
            raise ConfigError(f"{path}: {key} = {value!r}: {exc.message}") from None
        except Exception as exc:
            raise ConfigError(f"{path}: {key} = {value!r}: {exc}") from None
        raws = value if isinstance(value, list) else [value]
        values = checked if isinstance(checked, list | tuple) else [checked]
        for r, c in zip(raws, values, strict=False):
            wrong = _kind_mismatch(r, c)
            if wrong:
                raise ConfigError(f"{path}: {key} = {r!r}: must be {wrong}")
        out[str(param.name)] = _relative_to(path.parent, checked)
    return out


def _kind_mismatch(raw: Any, checked: Any) -> str | None:
    """TOML values are typed: no string for a number, no number for a string (the
    command line's lenient conversions would hide a mistaken file)."""
    if isinstance(checked, bool):
        return None if isinstance(raw, bool) else "true or false"
    if isinstance(checked, int):
        return None if isinstance(raw, int) and not isinstance(raw, bool) else "an integer"
    if isinstance(checked, float):
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        return None if ok else "a number"
    if isinstance(checked, str | Path):
        return None if isinstance(raw, str) else "a string"
    return None


def _relative_to(folder: Path, value: Any) -> Any:
    if isinstance(value, Path):
        value = value.expanduser()
        return value if value.is_absolute() else folder / value
    return value


def load_config_callback(ctx: typer.Context, value: Path | None) -> Path | None:
    """Typer callback of an eager ``--config`` option: the file's values become the
    command's defaults (so flags still override them)."""
    if value is None or ctx.resilient_parsing:
        return value
    values = config_values(ctx, value, read_config(value))
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


def effective_toml(ctx: typer.Context) -> str:
    """The command's settings as a TOML document that ``--config`` reads back (unset
    options are left out; so are the config options themselves)."""
    lines = []
    for key, param in _file_params(ctx).items():
        value = ctx.params.get(str(param.name))
        if value is None or value == [] or value == ():
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Path):
        value = value.expanduser()
    return json.dumps(str(value))  # a TOML basic string: JSON's escapes are TOML's
