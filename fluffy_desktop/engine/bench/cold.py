"""A cold start: a fresh process imports, loads the model, opens the album and searches once.

The bench saves its model's weights as a safetensors file with the architecture's config (so
the fresh process loads them through the same local-file path as a user's weights file; for
random weights that file stands in for the real one, which costs the same to read) and runs
`python -m fluffy_desktop.engine.bench.cold HOME CONFIG WEIGHTS ...`, which prints
{"cold_start_s", "rss_mb", "n_vectors"}: seconds from the moment the parent started it to the
first answer, its own peak resident memory, and how many vectors its index held.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from fluffy_desktop.engine.album import Album
from fluffy_desktop.engine.clip import ClipModel, ModelSpec
from fluffy_desktop.engine.home import Home
from fluffy_desktop.engine.memory import peak_rss_mb
from fluffy_desktop.engine.tasks import Progress

SEARCH_K = 20


def save_model(clip: ClipModel, folder: Path) -> tuple[Path, Path]:
    """The model's architecture config (json) and weights (safetensors), written into folder."""
    import open_clip
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config, weights = folder / f"{clip.arch}.json", folder / f"{clip.arch}.safetensors"
    config.write_text(json.dumps(open_clip.get_model_config(clip.arch)))
    state = {key: value.contiguous() for key, value in clip.state.items()}
    save_file(state, str(weights))
    return config, weights


def _index_file(album: Album) -> tuple[int, int, int]:
    stat = (album.home.index_dir / "index.bin").stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def cold_start(album: Album, clip: ClipModel, query: str, progress: Progress) -> dict:
    """cold_start_s and search_rss_mb of a fresh process searching this album's saved index.

    RuntimeError if that process fails, or did not use the saved index as it is (a rebuild
    or a catch-up would time something else than a user's cold start).
    """
    progress("Timing a cold start", 0, 1)
    config, weights = save_model(clip, album.home.root / "bench-model")
    before, expected = _index_file(album), len(album.vector_index())
    command = [sys.executable, "-m", __name__, str(album.home.root), str(config), str(weights)]
    command += ["--identity", clip.identity, "--device", str(clip.device), "--query", query]
    command += ["--started", repr(time.time())]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the cold-start process failed: {done.stderr.strip()[-2000:]}")
    result = json.loads(done.stdout)
    if _index_file(album) != before or result["n_vectors"] != expected:
        raise RuntimeError(
            f"the cold-start process rebuilt or changed the saved index ({result['n_vectors']} "
            f"vectors, expected {expected}): it timed no cold start"
        )
    progress("Timing a cold start", 1, 1)
    return {"cold_start_s": round(result["cold_start_s"], 2), "search_rss_mb": result["rss_mb"]}


def main(argv: list[str] | None = None) -> None:
    """The fresh process: load the weights file, open the album, search once, print JSON."""
    parser = argparse.ArgumentParser(prog="python -m fluffy_desktop.engine.bench.cold")
    parser.add_argument("home", type=Path)
    parser.add_argument("config", type=Path, help="the architecture's open_clip config json")
    parser.add_argument("weights", type=Path, help="the weights (safetensors)")
    parser.add_argument("--identity", required=True, help="the identity the index was made with")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--query", required=True)
    parser.add_argument("--started", type=float, required=True, help="time.time() at launch")
    args = parser.parse_args(argv)
    spec = ModelSpec(str(args.config), None, args.weights, args.device)
    clip = ClipModel.load(spec, Home(args.home).models_dir)
    clip.identity = args.identity  # random weights keep the name that says so
    with Album(args.home, spec, clip=clip) as album:
        album.search(args.query, SEARCH_K)
        seconds = time.time() - args.started
        found = len(album.vector_index())
    doc = {"cold_start_s": seconds, "rss_mb": round(peak_rss_mb(), 1), "n_vectors": found}
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
