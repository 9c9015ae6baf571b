"""Face calls and detection delay against training duration, for each strategy (virtual time): the trade-off the
poll schedule makes, drawn for docs/performance.md."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from localdev.face_emulator.model import face_count_for  # noqa: E402

from . import virtual  # noqa: E402
from .simulation import Arrival  # noqa: E402

DURATIONS_S = [1.5 * (1200 ** (n / 24)) for n in range(25)]  # 1.5 s to 30 min, log-spaced


def curves() -> dict[str, tuple[list[float], list[float]]]:
    """Per strategy, calls and delay share at each duration; ours three times: a container's first training
    without a size hint and with one, and a later one of the same size (its last duration known)."""
    found: dict[str, tuple[list[float], list[float]]] = {}
    for seconds in DURATIONS_S:
        faces = face_count_for(seconds)
        arrivals = (Arrival(0.0, "plot", faces, "first"), Arrival(7200.0, "plot", faces, "later"))
        for strategy in virtual.STRATEGIES:
            first, later = sorted(virtual.run_trainings(strategy, arrivals), key=lambda r: not r.first)
            names = {"ours": [("ours, first training", first), ("ours, later trainings", later)],
                     "ours_hinted": [("ours, first training, size hinted", first)]}.get(strategy, [(strategy, later)])
            for name, result in names:
                calls, shares = found.setdefault(name, ([], []))
                calls.append(result.calls)
                shares.append(max(result.delay_s / result.duration_s, 1e-3))
    return found


def draw(path: Path) -> None:
    found = curves()
    figure, (calls_axis, delay_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, (calls, shares) in found.items():
        # Ours solid and wide (its later trainings run under the oracle's 2 calls), the others dashed on top.
        style = {"linestyle": "-", "linewidth": 3} if name.startswith("ours") else {"linestyle": "--"}
        calls_axis.plot(DURATIONS_S, calls, label=name, **style)
        delay_axis.plot(DURATIONS_S, shares, label=name, **style)
    calls_axis.set(xscale="log", yscale="log", xlabel="training duration (s)", ylabel="Face calls per training",
                   title="Cost: Face calls")
    delay_axis.set(xscale="log", yscale="log", xlabel="training duration (s)",
                   ylabel="delay to event / duration", title="Staleness: detection delay (0.1% floor = on time)")
    delay_axis.axhline(0.1, color="grey", linewidth=0.8)
    delay_axis.text(DURATIONS_S[-1], 0.11, "10% target", ha="right", color="grey")
    for axis in (calls_axis, delay_axis):
        axis.grid(True, which="both", alpha=0.3)
    calls_axis.legend(fontsize=8)
    figure.suptitle(f"Timer every {virtual.TICK_S:g} s; naive loop every {virtual.NAIVE_INTERVAL_S:g} s; "
                    f"SDK poller every {virtual.SDK_INTERVAL_S:g} s (its default)", fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
