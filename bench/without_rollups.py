"""thumbs without rollups on the create path, for the "before" of the create benchmark in
bench/analytics.py: the same server as ``thumbs serve`` (one worker, uvloop, httptools),
with the per-batch rollup upsert replaced by nothing. Never for anything but measuring."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from thumbs.store import rollups


def _nothing(conn: Any, rows: Any) -> None:
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    port = ap.parse_args().port
    rollups.created = _nothing  # the writer looks the hook up at every batch
    from thumbs.app import create_app

    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=port,
        log_level="info",
        proxy_headers=True,
        server_header=False,
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


if __name__ == "__main__":
    main()
