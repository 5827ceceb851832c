"""Serve the fake OpenAI API for local demos: `python -m tests.fake_openai --port 8765`."""

from __future__ import annotations

import argparse
import time

from .server import FakeOpenAI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI API on loopback for local demos.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default="sk-fake-demo-key", help="the API key clients must send")
    parser.add_argument("--step-seconds", type=float, default=0.5, help="seconds per simulated training step")
    parser.add_argument("--phase-seconds", type=float, default=3.0, help="seconds spent validating files, then queued")
    args = parser.parse_args(argv)
    fake = FakeOpenAI(api_key=args.key, port=args.port, step_seconds=args.step_seconds, phase_seconds=args.phase_seconds).start()
    print(f"Fake OpenAI API on {fake.base_url}\n  export OPENAI_BASE_URL={fake.base_url} OPENAI_API_KEY={args.key}\nCtrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
