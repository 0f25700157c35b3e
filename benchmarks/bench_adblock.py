"""Loading the payer's filter lists: building Brave's adblock engine vs loading the cached one.

    python benchmarks/bench_adblock.py               # the installed uBlock Origin lists, best of 3
    python benchmarks/bench_adblock.py --repeat 5 --lists a.txt b.txt

Prints, for the lists: their size; the time to read and hash them; to build the engine from them
(what the first run does); to serialize it; to load the serialized engine (what every later run
does, `audit.blocking.load_engine` from the cache); the ratio load/build; and the cost of one
request decision (`Blocker.decide`, with the filter's text and list) over a set of processor and
tracker URLs. The cache folder is a temporary one: the user's cache is not touched.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit import blocking  # noqa: E402

REQUESTS = [
    ("https://m.stripe.com/6", "https://invoices.example.test/invoice/1001", "fetch"),
    ("https://r.stripe.com/b", "https://js.stripe.com/v3/", "fetch"),
    ("https://api.stripe.com/v1/payment_methods", "https://js.stripe.com/v3/", "fetch"),
    ("https://js.stripe.com/v3/", "https://invoices.example.test/invoice/1001", "script"),
    ("https://www.paypal.com/xoplatform/logger/api/logger", "https://invoices.example.test/", "fetch"),
    ("https://www.google-analytics.com/g/collect?v=2", "https://invoices.example.test/", "ping"),
    ("https://securepubads.g.doubleclick.net/tag/js/gpt.js", "https://news.example/", "script"),
    ("https://cdn.example.test/css/site.css", "https://invoices.example.test/", "stylesheet"),
]


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.disable()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        gc.enable()
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lists", nargs="*", type=Path, help="list files (default: the installed uBlock Origin lists)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = args.lists or blocking.packaged_lists()
    if not paths:
        print("no filter lists: install webext-ublock-origin-chromium or pass --lists", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in paths)
    lines = sum(p.read_bytes().count(b"\n") for p in paths)
    print(f"lists: {len(paths)} files, {size / 1e6:.1f} MB, {lines:,} lines")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache
        read = best(lambda: blocking._read_lists(paths), args.repeat)
        lists = blocking._read_lists(paths)

        def build() -> None:
            blocking._ENGINES.clear()
            for f in Path(cache).rglob("engine-*.dat"):
                f.unlink()
            blocking.load_engine(lists)

        built = best(build, args.repeat)
        engine, _ = blocking.load_engine(lists)
        ser = best(engine.serialize, args.repeat)
        cached = next(Path(cache).rglob("engine-*.dat"))

        def load() -> None:
            blocking._ENGINES.clear()
            _, hit = blocking.load_engine(lists)
            assert hit

        loaded = best(load, args.repeat)
        blocker = blocking.Blocker("lists", [], paths)
        blocker.list_of("")  # the rule → list index, built once per run at the first stop
        n = 200
        per = best(lambda: [blocker.decide(*r) for _ in range(n) for r in REQUESTS], args.repeat) / (n * len(REQUESTS))
        print(f"read and hash the lists:      {read * 1000:8.1f} ms")
        print(f"build the engine (no cache):  {built * 1000:8.1f} ms")
        print(f"serialize it:                 {ser * 1000:8.1f} ms  ({cached.stat().st_size / 1e6:.1f} MB on disk)")
        print(f"load it from the cache:       {loaded * 1000:8.1f} ms")
        print(f"ratio cached load / build:    {loaded / built:8.2f}")
        print(f"one request decision:         {per * 1e6:8.1f} µs")
        for url, source, kind in REQUESTS:
            d = blocker.decide(url, source, kind)
            print(f"  {kind:10} {url[:60]:60} {'-> ' + d.rule + ' (' + d.list + ')' if d else 'allowed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
