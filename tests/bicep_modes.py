"""infra/ rendered in one mode of `vnetEnabled`, for checkov, which reads a ternary as a value it cannot know and
so would pass `publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'` in both modes.

The templates keep to one convention that makes this exact: every value that depends on the mode is written
`vnetEnabled ? <private> : <public>` with each side one literal or one name, and every resource or module that
exists in one mode only is declared `if (vnetEnabled)`. The rendering replaces each by the mode's side, and
refuses a template in which `vnetEnabled` is used any other way. A checkov skip whose reason begins "without a
VNet" holds for the public mode only: the private rendering drops it, so that checkov must pass that check there.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# The whole value of a property, variable or output, and nothing else on the line.
_CHOICE = re.compile(r"(?<=[:=] )vnetEnabled \? ('[^'\n]*'|[\w.]+) : ('[^'\n]*'|[\w.]+)$", re.MULTILINE)
_CONDITION = re.compile(r"\bif \(vnetEnabled\)")
# Declaring the parameter, handing it on to a module or naming it in a description is not a use.
_PASSED_ON = re.compile(r"^\s*(param vnetEnabled bool\b.*|vnetEnabled: vnetEnabled|@description\(.*)$", re.MULTILINE)
PUBLIC_ONLY_SKIP = re.compile(r"^\s*// checkov:skip=[A-Z_0-9]+: without a VNet:.*\n", re.MULTILINE)


class NotRenderable(Exception):
    """A use of `vnetEnabled` outside the convention: the rendering would not be exact."""


def render_text(text: str, vnet_enabled: bool) -> str:
    side = 1 if vnet_enabled else 2
    rendered = _CHOICE.sub(lambda match: match.group(side), text)
    rendered = _CONDITION.sub(f"if ({str(vnet_enabled).lower()})", rendered)
    if vnet_enabled:
        rendered = PUBLIC_ONLY_SKIP.sub("", rendered)
    left = [line.strip() for line in _PASSED_ON.sub("", rendered).splitlines()
            if re.search(r"\bvnetEnabled\b", line.split("//")[0])]
    if left:
        raise NotRenderable(f"vnetEnabled used outside the convention: {left}")
    return rendered


def render(infra: Path, vnet_enabled: bool, into: Path) -> Path:
    """A copy of `infra` in one mode, at `into`."""
    shutil.copytree(infra, into)
    for path in into.rglob("*.bicep"):
        path.write_text(render_text(path.read_text(), vnet_enabled))
    return into
