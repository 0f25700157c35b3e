"""`python -m audit.demo`: serve the demo world for manual browsing until Ctrl-C."""

from __future__ import annotations

import argparse
import shlex
import sys
import threading

from audit.demo.server import DemoWorld


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.demo",
                                     description="Serve the card-audit demo world on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = parser.parse_args(argv)
    with DemoWorld(port=args.port) as world:
        print(f"Demo world on 127.0.0.1:{world.port}", file=sys.stderr)
        for host, address in world.host_map().items():
            print(f"  {host:28} -> {address}")
        flags = [f"--host-resolver-rules={world.resolver_rules()}",
                 f"--ignore-certificate-errors-spki-list={world.spki_sha256}",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--user-data-dir=/tmp/card-audit-demo-profile"]
        print("\nBrowse it with:\n  chromium " + " ".join(shlex.quote(f) for f in flags) + " "
              + world.url("/"))
        print("\nCtrl-C to stop.", file=sys.stderr)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
