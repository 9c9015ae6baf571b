"""Throughput of the Face emulator for training-status GETs, the call a poller makes most.

    python -m localdev.bench_emulator [--seconds 10] [--concurrency 32]

Starts the emulator alone (rate limit lifted), trains one list, then has `--concurrency` keep-alive clients in
one asyncio process read its training status for `--seconds`, over HTTP and then over HTTPS. The client shares
the machine with the server, so the figure is a floor for the server, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import ssl
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from .world import LocalWorld


async def hammer(url: str, headers: dict[str, str], seconds: float, concurrency: int,
                 ssl_context: ssl.SSLContext | bool) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ssl_context)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        async def client() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return len(latencies), latencies, failures


def report(label: str, count: int, latencies: list[float], failures: int, seconds: float) -> None:
    quantiles = statistics.quantiles(latencies, n=100)
    print(f"{label:6} {count / seconds:9.0f} requests/s   p50 {quantiles[49] * 1000:6.2f} ms   "
          f"p99 {quantiles[98] * 1000:6.2f} ms   non-200: {failures}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev.bench_emulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as state, LocalWorld(Path(state), time_scale=1000.0,
                                                            face_options=["--rate-limit", "10000000/s"]) as world:
        world.start(azurite=False, identity=False)
        key = {"Ocp-Apim-Subscription-Key": world.face_key}

        async def run() -> None:
            async with aiohttp.ClientSession(headers=key) as session:
                base = f"{world.face_http_endpoint}/face/v1.2/largefacelists/bench"
                (await session.put(base, json={"name": "bench"})).raise_for_status()
                await session.post(f"{world.emulator_control}/largefacelists/bench/faces", json={"count": 1000})
                (await session.post(f"{base}/train")).raise_for_status()
            print(f"Face emulator throughput, GET .../largefacelists/{{id}}/training, {args.concurrency} keep-alive "
                  f"clients, {args.seconds:.0f} s each; {platform.processor() or platform.machine()}, "
                  f"Python {platform.python_version()}")
            tls = ssl.create_default_context(cafile=str(world.certificate.ca_file))
            for label, endpoint, context in (("http", world.face_http_endpoint, False),
                                             ("https", world.face_endpoint, tls)):
                url = f"{endpoint}/face/v1.2/largefacelists/bench/training"
                count, latencies, failures = await hammer(url, key, args.seconds, args.concurrency, context)
                report(label, count, latencies, failures, args.seconds)

        asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
