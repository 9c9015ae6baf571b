"""Where the CLI finds its storage and the app's queue and table names, first match wins:
1. its options (`--connection-string`, `--account-name`), with the names from the environment;
2. the environment: `AzureWebJobsStorage`, or `AzureWebJobsStorage__queueServiceUri` and `__tableServiceUri`
   (what `azd env get-values` gives after `azd up`);
3. `.localdev/settings.env` in the current folder, written by `make dev` while it runs (a file it left behind
   when killed is recognised by its process being gone, and skipped);
4. `local.settings.json` in the current folder, as Core Tools reads it (`Values`).

So `facetrain status` in a second terminal beside `make dev`, or beside `func start`, needs no set-up.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from orchestrator.settings import DEFAULTS, SettingsError, StorageSettings, storage_settings
from orchestrator.storage_clients import check_readable

NAMES = ("TRAINING_REQUESTS_QUEUE", "TRAINING_EVENTS_QUEUE", "TRAININGS_TABLE")
DEV_SETTINGS = Path(".localdev") / "settings.env"
CORE_TOOLS_SETTINGS = Path("local.settings.json")
DEV_PID = "LOCALDEV_PID"  # make dev's process, written into its settings.env
NO_STORAGE_SETTING = "no AzureWebJobsStorage, nor both AzureWebJobsStorage__queueServiceUri and __tableServiceUri"


class NoStorage(Exception):
    """No source gave storage; the message says what each one lacked."""


class UnreadableStorage(Exception):
    """The first source that gives storage gives a connection string the storage SDK cannot read."""


@dataclass(frozen=True)
class Found:
    source: str  # in words, for `-v`
    storage: StorageSettings
    names: dict[str, str]


def find(connection_string: str | None, account_name: str | None, env: Mapping[str, str], folder: Path) -> Found:
    if connection_string or account_name:
        return _readable(Found("the command line's options", _from_options(connection_string, account_name),
                               _names(env)))
    misses = ["--connection-string or --account-name: not given"]
    for source, values, miss in (("the environment", env, None), *_files(folder)):
        storage = _storage_in(values) if values is not None else None
        if storage is not None:
            return _readable(Found(source, storage, _names(values)))
        misses.append(f"{source}: {miss or NO_STORAGE_SETTING}")
    raise NoStorage("No storage found. Looked at, in order:\n  " + "\n  ".join(misses))


def _readable(found: Found) -> Found:
    """The source found, if the SDK can read its connection string. If not, an error, never the next source:
    that would act on storage the user did not mean."""
    try:
        check_readable(found.storage)
    except ValueError as error:
        raise UnreadableStorage(f"The storage connection string from {found.source} is not one the storage SDK can "
                                f"read ({error}). A shell that sources an unquoted value cuts it at its first ';'.") \
            from None
    return found


def _from_options(connection_string: str | None, account_name: str | None) -> StorageSettings:
    if connection_string:
        return StorageSettings(connection_string, None, None, None)
    return StorageSettings(None, f"https://{account_name}.queue.core.windows.net",
                           f"https://{account_name}.table.core.windows.net", None)


def _storage_in(values: Mapping[str, str]) -> StorageSettings | None:
    try:
        return storage_settings(values)
    except SettingsError:
        return None


def _names(values: Mapping[str, str]) -> dict[str, str]:
    return {name: values.get(name) or DEFAULTS[name] for name in NAMES}


def _files(folder: Path) -> list[tuple[str, dict[str, str] | None, str | None]]:
    """(source, its values or None, why it has none) for each settings file, in order."""
    dev_file, core_tools_file = folder / DEV_SETTINGS, folder / CORE_TOOLS_SETTINGS
    dev = f"{dev_file} (a running `make dev`)"
    core_tools = f"{core_tools_file} (as Core Tools reads it)"
    found: list[tuple[str, dict[str, str] | None, str | None]] = []
    if not dev_file.is_file():
        found.append((dev, None, "not there: is `make dev` running in this folder?"))
    else:
        values = read_env_file(dev_file)
        running = _running(values.get(DEV_PID))
        found.append((dev, values if running else None,
                      None if running else "left by a `make dev` that is no longer running"))
    if not core_tools_file.is_file():
        found.append((core_tools, None, "not there"))
    else:
        try:
            values = json.loads(core_tools_file.read_text()).get("Values") or {}
        except (ValueError, AttributeError) as error:
            found.append((core_tools, None, f"not readable JSON with `Values`: {type(error).__name__}"))
        else:
            found.append((core_tools, {k: str(v) for k, v in values.items()}, None))
    return found


def env_file_text(values: Mapping[str, str]) -> str:
    """KEY='value' lines that bash and POSIX sh both source to exactly these values (`set -a; . FILE; set +a`):
    every value single-quoted, so a connection string's `;` and a schedule's `*` stay text."""
    return "".join(f"{key}={_single_quoted(value)}\n" for key, value in values.items())


def _single_quoted(value: str) -> str:
    """Nothing is special inside single quotes; a quote itself ends them, is escaped, and opens them again."""
    return "'" + value.replace("'", "'\\''") + "'"


def read_env_file(path: Path) -> dict[str, str]:
    """The values of a file `env_file_text` wrote, read as a shell reads its assignments; none from a file with
    an unbalanced quote, which that writer never makes."""
    try:
        words = shlex.split(path.read_text(), comments=True)
    except ValueError:
        return {}
    return dict(word.partition("=")[::2] for word in words if "=" in word)


def _running(pid: str | None) -> bool:
    if not (pid and pid.isdigit()):
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but running
    return True
