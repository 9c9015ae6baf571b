"""python -m localdev.face_emulator --port N --key K --time-scale F [--tls-port M] [--jwks-url URL] ..."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
import time
from pathlib import Path

from aiohttp import web

from localdev.tls import localhost_certificate

from .app import MAX_LINE_BYTES, Emulator
from .model import TrainingVariance
from .service import TIERS, ServiceConfig
from .throttle import RateLimit


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m localdev.face_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="plain HTTP port")
    parser.add_argument("--tls-port", type=int, help="also serve HTTPS on this port, with a localhost certificate")
    parser.add_argument("--tls-dir", type=Path, default=Path(".localdev/tls"),
                        help="where the certificate and its CA are kept (default .localdev/tls)")
    parser.add_argument("--key", required=True, help="the subscription key (Ocp-Apim-Subscription-Key)")
    parser.add_argument("--disable-local-auth", action="store_true", help="refuse keys, as disableLocalAuth does")
    parser.add_argument("--jwks-url", help="the identity endpoint's JWKS, to verify bearer tokens")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="divide every training duration by this (default 1: real durations)")
    parser.add_argument("--tier", choices=sorted(TIERS), default="S0", help="quotas and default rate limit")
    parser.add_argument("--rate-limit", type=RateLimit.parse,
                        help="the resource's limit, every caller together, e.g. 10/s or 20/min (default: the tier's)")
    parser.add_argument("--train-while-training", choices=("conflict", "accept"), default="conflict",
                        help="answer a train call during a training with 409 (default) or with 202")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed for rate-based fault injection")
    variance = parser.add_argument_group("trainings that vary, as a real resource's do (default: none)")
    variance.add_argument("--training-spread", type=float, default=0.0,
                          help="standard deviation of each training's log-normal factor, e.g. 0.1 for about 10%%")
    variance.add_argument("--training-speed", type=float, default=1.0,
                          help="this resource's pace against the documented times, e.g. 1.5: half as long again")
    variance.add_argument("--training-drift", type=float, default=0.0,
                          help="standard deviation of the pace's random walk, one step a training")
    variance.add_argument("--training-seed", type=int, default=0, help="seed of the trainings' durations")
    args = parser.parse_args(argv)
    if args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    try:
        args.training_variance = TrainingVariance(args.training_spread, args.training_speed, args.training_drift,
                                                  args.training_seed)
    except ValueError as error:
        parser.error(str(error))
    return args


async def serve(args: argparse.Namespace) -> None:
    tier = TIERS[args.tier]
    emulator = Emulator(
        key=args.key,
        clock=time.time,
        config=ServiceConfig(time_scale=args.time_scale, tier=tier, train_while_training=args.train_while_training,
                             training_variance=args.training_variance),
        rate_limit=args.rate_limit or RateLimit.parse(tier.rate_limit),
        jwks_url=args.jwks_url,
        fault_seed=args.fault_seed,
    )
    emulator.auth.key_auth_enabled = not args.disable_local_auth
    runner = web.AppRunner(emulator.build(), access_log=None, handle_signals=False,
                           max_line_size=MAX_LINE_BYTES, max_field_size=MAX_LINE_BYTES)
    await runner.setup()
    await web.TCPSite(runner, args.host, args.port).start()
    urls = [f"http://{args.host}:{args.port}"]
    if args.tls_port:
        certificate = localhost_certificate(args.tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        await web.TCPSite(runner, args.host, args.tls_port, ssl_context=context).start()
        urls.append(f"https://localhost:{args.tls_port} (CA: {certificate.ca_file})")
    print(f"Face emulator serving {', '.join(urls)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
