"""`fluffy`: the command line, a thin layer over the Album facade."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from fluffy_desktop import __version__

if TYPE_CHECKING:  # the engine is imported only by the commands that need it
    from fluffy_desktop.engine.tagging import HeldAlbum

EXIT_OK, EXIT_USER = 0, 2  # a bug ends in Python's own exit code 1, with its traceback
log = logging.getLogger(__name__)


class UsageError(Exception):
    """A command line that argparse cannot read; the message is one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error raised as one line instead of printed as usage text."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message} (see `{self.prog} --help`)")


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", type=Path, help="where Fluffy keeps its files (FLUFFY_HOME)")
    parser.add_argument("--model", help="open_clip architecture or config .json (FLUFFY_MODEL)")
    parser.add_argument("--pretrained", help="open_clip pretrained tag (FLUFFY_PRETRAINED)")
    parser.add_argument("--weights", type=Path, help="local weights file (FLUFFY_WEIGHTS)")
    parser.add_argument(
        "--device", choices=["auto", "cpu", "cuda", "mps"], help="compute device (FLUFFY_DEVICE)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fluffy", description="An offline photo album that learns your things.")
    parser.add_argument("--version", action="version", version=f"fluffy {__version__}")
    _global_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("gui", help="the desktop app (what plain `fluffy` starts)")

    index = commands.add_parser("index", help="add folders and index them, or re-scan all")
    index.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    index.add_argument("--json", action="store_true")

    search = commands.add_parser("search", help="free-text search; concept names are understood")
    search.add_argument("query")
    search.add_argument("-k", type=int, default=20, help="how many results (default 20)")
    search.add_argument("--json", action="store_true")

    locate = commands.add_parser("locate", help="where a concept is in a photo (its mask)")
    locate.add_argument("query")
    locate.add_argument("photo", type=Path)
    locate.add_argument("--mask", type=Path, metavar="OUT.png", help="write the mask as a PNG")
    locate.add_argument("--json", action="store_true")

    learn = commands.add_parser("learn", help="learn a personal concept from a few photos")
    learn.add_argument("name")
    learn.add_argument("--kind", required=True, help="what kind of thing it is, e.g. cat")
    learn.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    learn.add_argument("--negative", nargs="+", type=Path, default=[], metavar="PHOTO")
    learn.add_argument("--json", action="store_true")

    _concepts_parser(commands)
    _tagging_parsers(commands)
    _tags_parser(commands)

    inverter = commands.add_parser("inverter", help="the f_θ set encoder of this model")
    inverter_commands = inverter.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = inverter_commands.add_parser("train", help="train f_θ and save it in the home")
    train.add_argument("--images", type=Path, help="folder of class-named subfolders")
    train.add_argument("--steps", type=int, default=2000)
    train.add_argument("--width", type=int, default=1024)
    train.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="what is in the library")
    status.add_argument("--json", action="store_true")
    _proof_parsers(commands)
    return parser


def _proof_parsers(commands) -> None:
    evaluate = commands.add_parser("eval", help="the PerVL retrieval protocol")
    benchmarks = evaluate.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    pervl = benchmarks.add_parser("pervl", help="DeepFashion2 or YouTube-VOS split of PerVL")
    pervl.add_argument("--data", type=Path, required=True, help="the prepared benchmark folder")
    pervl.add_argument("--captions", type=Path, required=True, help="the captions CSV")
    pervl.add_argument("--coarse", type=Path, help="coarse names CSV (DeepFashion2)")
    pervl.add_argument("--shots", type=int, default=5)
    pervl.add_argument("--seed", type=int, default=5)
    pervl.add_argument("--masks", type=Path, help="<gallery image>.png masks: also score locate")
    pervl.add_argument("--json", action="store_true")
    world = benchmarks.add_parser("world", help="the semantic test world and its small CLIP")
    world.add_argument(
        "action",
        nargs="?",
        choices=["train", "inverter"],
        help="train: the world model; inverter: f_θ for it, on world photos (saved in the home)",
    )
    world.add_argument("--seed", type=int, default=0)
    world.add_argument("--steps", type=int, help="training steps (train and inverter)")
    world.add_argument("--out", type=Path, help="where train writes the model (default: home)")
    world.add_argument("--batch", type=int, help="train: photos per step (default 128)")
    world.add_argument(
        "--naming",
        type=float,
        help="train: the naming loss's weight beside the CLIP loss (default 1; 0: captions only)",
    )
    world.add_argument(
        "--instances",
        type=float,
        help="train: the instance loss's weight (default 0: not in the recipe; 1 was tried)",
    )
    world.add_argument(
        "--named",
        type=int,
        help="train: photos of named things per batch, captioned by name (default 0)",
    )
    world.add_argument(
        "--positions",
        choices=["learnable", "sin_cos_2d"],
        help="train: the vision tower's position embeddings (default sin_cos_2d)",
    )
    world.add_argument(
        "--patch-dropout",
        type=float,
        help="train: share of patches dropped from each training photo (default 0.5)",
    )
    world.add_argument("--ablations", action="store_true", help="stage-2 variants, one table")
    world.add_argument(
        "--ceiling",
        action="store_true",
        help="how far one word fitted with the truth, and the photos themselves, can go",
    )
    world.add_argument("--json", action="store_true")

    bench = commands.add_parser("bench", help="the speed suite")
    bench.add_argument(
        "--random-weights",
        action="store_true",
        help="time the ViT-B-32 architecture with random weights (no download)",
    )
    bench.add_argument("--photos", type=int, default=200)
    bench.add_argument("--vectors", type=int, default=100_000)
    bench.add_argument("--json", action="store_true")


def _concepts_parser(commands) -> None:
    concepts = commands.add_parser("concepts", help="list, show, remove, export, import")
    actions = concepts.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list").add_argument("--json", action="store_true")
    for name in ("show", "rm", "photos"):
        action = actions.add_parser(name)
        action.add_argument("name")
        action.add_argument("--json", action="store_true")
    relearn = actions.add_parser("relearn", help="learn concepts again for the model in use")
    relearn.add_argument("names", nargs="*", metavar="NAME", help="concepts (default: all)")
    relearn.add_argument("--json", action="store_true")
    rename = actions.add_parser("rename")
    rename.add_argument("name")
    rename.add_argument("new_name")
    rename.add_argument("--json", action="store_true")
    export = actions.add_parser("export")
    export.add_argument("name")
    export.add_argument("file", type=Path)
    export.add_argument("--json", action="store_true")
    imported = actions.add_parser("import")
    imported.add_argument("file", type=Path)
    imported.add_argument("--name", help="import under another name")
    imported.add_argument("--json", action="store_true")


def _tagging_parsers(commands) -> None:
    review = commands.add_parser("review", help="the photos to ask about next for a concept")
    review.add_argument("name")
    review.add_argument("-n", type=int, default=10, help="how many photos (default 10)")
    review.add_argument("--json", action="store_true")
    for verb, meaning in (("confirm", "these photos are the concept"), ("reject", "they are not")):
        answer = commands.add_parser(verb, help=meaning)
        answer.add_argument("name")
        answer.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
        answer.add_argument("--json", action="store_true")


def _tags_parser(commands) -> None:
    tags = commands.add_parser("tags", help="take concepts elsewhere (XMP sidecar keywords)")
    actions = tags.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write <photo>.xmp keywords beside each photo")
    export.add_argument("names", nargs="*", metavar="NAME", help="concepts (default: all)")
    export.add_argument("--dry-run", action="store_true", help="say what would be written")
    export.add_argument("--json", action="store_true")


def _open_album(args: argparse.Namespace):
    from fluffy_desktop.engine.album import Album
    from fluffy_desktop.engine.clip import ModelSpec

    named = {"arch": args.model, "pretrained": args.pretrained, "weights": args.weights}
    spec = ModelSpec.from_env(**named) if any(v is not None for v in named.values()) else None
    return Album(args.home, spec, device=args.device)


def _emit(args: argparse.Namespace, document: object, human: Callable[[], None]) -> None:
    """Exactly one JSON document on stdout with --json, else the human form."""
    if getattr(args, "json", False):
        print(json.dumps(document))
    else:
        human()


def _cmd_index(album, args) -> None:
    from fluffy_desktop.terminal import TerminalProgress

    with TerminalProgress() as progress:
        report = album.index(args.paths, progress=progress)
    doc = report.to_json()

    def human() -> None:
        if not args.paths and not album.folders():
            print("no library folders yet: add one with `fluffy index FOLDER`")
            return
        print(
            f"{doc['total']} photos: {doc['added']} added, {doc['updated']} updated, "
            f"{doc['removed']} removed, {doc['unchanged']} unchanged, "
            f"{len(doc['failed'])} unreadable ({doc['seconds']:.1f} s)"
        )
        if report.reembedded:
            print(f"re-embedded {report.reembedded} photos for the current model")
        if report.regions:
            print(
                f"looked closer at {report.regions} photos, for small things "
                f"({report.regions_seconds:.1f} s)"
            )
        for failure in doc["failed"]:
            print(f"  skipped {failure['path']}: {failure['error']}")

    _emit(args, doc, human)


def _cmd_search(album, args) -> None:
    hits = album.search(args.query, args.k)
    doc = {"query": args.query, "results": [hit.to_json() for hit in hits]}
    if hits.notice:
        print(f"fluffy: {hits.notice}; run `fluffy index` to re-embed the rest", file=sys.stderr)

    def human() -> None:
        if not hits and not hits.notice:
            print("no photos indexed yet: run `fluffy index FOLDER`")
        for hit in hits:
            print(f"{hit.score:6.3f}  {hit.path}")

    _emit(args, doc, human)


def _cmd_locate(album, args) -> None:
    from fluffy_desktop.engine.errors import FluffyError
    from fluffy_desktop.engine.home import atomic_write_bytes
    from fluffy_desktop.engine.localise import combined

    if args.mask is not None and not args.mask.parent.is_dir():
        raise FluffyError(f"cannot write {args.mask}: no folder {args.mask.parent}")
    located = album.locate(args.query, args.photo)
    union = combined(located)
    doc = {"query": args.query, "photo": str(args.photo), **union.to_json()}
    if len(located) > 1:
        doc["targets"] = [{"target": where.target, **where.to_json()} for where in located]
    if args.mask is not None:
        atomic_write_bytes(args.mask, union.mask_png())

    def human() -> None:
        for where in located:
            if where.found:
                print(f"{where.target}: found in {where.box}, {where.area:.1%} of the photo")
            else:
                print(f"{where.target}: not found in {args.photo}")

    _emit(args, doc, human)


def _cmd_learn(album, args) -> None:
    from fluffy_desktop.terminal import TerminalProgress

    with TerminalProgress() as progress:
        report = album.learn(args.name, args.kind, args.photos, args.negative, progress=progress)
    doc = report.to_json()
    if report.warning:
        print(f"fluffy: note: {report.warning}", file=sys.stderr)

    def human() -> None:
        print(
            f"learned {doc['name']!r} ({doc['kind']}) from {doc['photos']} photos "
            f"in {doc['seconds']:.1f} s, starting from the {report.start}; "
            f'try: fluffy search "{doc["name"]} on the sofa"'
        )

    _emit(args, doc, human)


def _concepts_list(album, args) -> None:
    infos = [concept.to_info() for concept in album.concepts.list()]

    def human() -> None:
        if not infos:
            print("no concepts yet: fluffy learn NAME --kind WORD PHOTO...")
        for info in infos:
            count = f"{info['photos']} photos"
            print(f"{info['name']:<20} {info['kind']:<16} {count:<10} {info['created']}")

    _emit(args, infos, human)


def _concepts_show(album, args) -> None:
    concept = album.concepts.get(args.name)
    doc = {
        **concept.to_info(),
        "model": concept.model,
        "photo_paths": [ref["path"] for ref in concept.photos],
        "confirmed": [ref["path"] for ref in concept.confirmed],
        "negatives": [ref["path"] for ref in concept.negatives],
        "threshold": concept.threshold,
        "held": _held_doc(concept.held),
        "settings": concept.settings,
    }
    _emit(args, doc, lambda: print(_concept_text(doc)))


def _held_doc(held: HeldAlbum | None) -> dict | None:
    """The album the last answers held (engine/tagging.py, HeldAlbum), for `concepts show`."""
    if held is None:
        return None
    return {"photos": len(held.ids), "stay": round(held.stay, 6), "join": round(held.join, 6)}


def _concept_text(doc: dict) -> str:
    """`concepts show` for a person: what the concept is, its threshold, what it learned from."""
    lines = [
        f"{doc['name']} ({doc['kind']}), learned {doc['created']} for {doc['model']}",
        f"threshold {doc['threshold']:.3f}" if doc["threshold"] is not None else "no threshold yet",
    ]
    if held := doc["held"]:
        lines.append(
            f"answers move the album only clearly: its {held['photos']} photos before the last "
            f"re-tune stay down to {held['stay']:.3f}, others join at {held['join']:.3f}"
        )
    for key, title in (
        ("photo_paths", "examples"),
        ("confirmed", "said yes"),
        ("negatives", "said no"),
    ):
        paths = doc[key]
        lines.append(f"{title} ({len(paths)})" + (":" if paths else ""))
        lines += [f"  {path}" for path in paths]
    settings = doc["settings"]
    if "loss_first" in settings:
        lines.append(
            f"tuned in {settings['steps']} steps, loss {settings['loss_first']:.3f} → "
            f"{settings['loss_last']:.3f}"
        )
    return "\n".join(lines)


def _concepts_rm(album, args) -> None:
    album.concepts.remove(args.name)
    _emit(args, {"removed": args.name}, lambda: print(f"removed {args.name!r}"))


def _concepts_rename(album, args) -> None:
    album.concepts.rename(args.name, args.new_name)
    doc = {"renamed": args.name, "to": args.new_name}
    _emit(args, doc, lambda: print(f"renamed {args.name!r} to {args.new_name!r}"))


def _concepts_export(album, args) -> None:
    album.concepts.export(args.name, args.file)
    doc = {"exported": args.name, "file": str(args.file)}
    _emit(args, doc, lambda: print(f"exported {args.name!r} to {args.file}"))


def _concepts_import(album, args) -> None:
    concept = album.concepts.import_(args.file, album.clip().identity, args.name)
    _emit(args, concept.to_info(), lambda: print(f"imported {concept.name!r} ({concept.kind})"))


def _concepts_photos(album, args) -> None:
    concept, members = album.concept_photos(args.name)
    doc = {
        "name": concept.name,
        "threshold": round(concept.threshold, 6),
        "photos": [member.to_json() for member in members],
    }

    def human() -> None:
        print(f"{concept.name} · {len(members)} photos (threshold {concept.threshold:.3f})")
        for member in members:
            print(f"{member.score:.3f}  {member.state:<9}  {member.path}")

    _emit(args, doc, human)


def _concepts_relearn(album, args) -> None:
    from fluffy_desktop.terminal import TerminalProgress

    with TerminalProgress() as progress:
        reports = album.relearn(args.names, progress)

    def human() -> None:
        if not reports:
            print("no concepts yet: fluffy learn NAME --kind WORD PHOTO...")
        for report in reports:
            print(report.summary())

    _emit(args, [report.to_json() for report in reports], human)


def _cmd_review(album, args) -> None:
    candidates = album.review(args.name, args.n)
    doc = {
        "name": album.concepts.get(args.name).name,
        "photos": [{"path": str(m.path), "score": round(m.score, 6)} for m in candidates],
    }
    _emit(args, doc, lambda: [print(f"{m.score:.3f}  {m.path}") for m in candidates])


def _answer(album, args, yes: bool) -> None:
    from fluffy_desktop.terminal import TerminalProgress

    with TerminalProgress() as progress:
        doc = album.answer(args.name, args.photos, yes, progress)
    verb = "confirmed" if yes else "rejected"
    _emit(args, doc, lambda: print(f"{doc['name']}: {doc[verb]} {verb}, {doc['photos']} photos"))


def _cmd_tags(album, args) -> None:
    doc = album.export_tags(args.names, args.dry_run).to_json()

    def human() -> None:
        verb = "would write" if args.dry_run else "wrote"
        print(f"{verb} {doc['written']} new and {doc['merged']} merged sidecars (.xmp)")
        for skipped in doc["skipped"]:
            print(f"skipped {skipped['path']}: {skipped['error']}")

    _emit(args, doc, human)


def _cmd_concepts(album, args) -> None:
    CONCEPT_ACTIONS[args.action](album, args)


def _cmd_inverter(album, args) -> None:
    from fluffy_desktop.terminal import TerminalProgress

    with TerminalProgress() as progress:
        stats = album.train_inverter(args.images, args.steps, args.width, progress)
    _emit(args, stats, lambda: print(json.dumps(stats, indent=2)))


def _cmd_status(album, args) -> None:
    doc = album.status()

    def human() -> None:
        print(f"home      {doc['home']}")
        print(f"folders   {', '.join(doc['folders']) or '(none: fluffy index FOLDER)'}")
        print(f"photos    {_photos_line(doc)}, {doc['failed']} unreadable")
        for failure in doc["unreadable"]:
            print(f"          skipped {failure['path']}: {failure['error']}")
        print(f"concepts  {_concepts_line(doc)}")
        model = doc["model"]
        source = model["weights"] or f"hub tag {model['pretrained']}"
        print(f"model     {model['arch']} ({source})")
        print(f"log       {doc['log']}")

    _emit(args, doc, human)


def _photos_line(doc: dict) -> str:
    """'172 indexed', or how many of them are embedded with the model in use."""
    embedded, photos = doc["embedded"], doc["photos"]
    if embedded is None:
        return f"{photos} indexed (the model in use is not on this computer)"
    if embedded < photos:
        return (
            f"{embedded} of {photos} embedded with the model in use "
            "(run `fluffy index` to re-embed the rest)"
        )
    return f"{photos} indexed"


def _concepts_line(doc: dict) -> str:
    """The concepts, and which of them are ready for the model in use."""
    from fluffy_desktop.engine.model_state import READY, ModelState

    states = doc["concept_states"]
    if not doc["concepts"]:
        return "(none)"
    if states is None or set(states.values()) == {READY}:
        return ", ".join(doc["concepts"])
    line = ModelState(doc["embedded"], doc["photos"], states).concepts_line()
    return f"{line} (fluffy concepts relearn)"


def _cmd_eval(album, args) -> None:
    if args.benchmark == "world":
        return _eval_world(album, args)
    from fluffy_desktop.engine.concepts.inverter import Inverter
    from fluffy_desktop.engine.evaluate import format_table, run_pervl
    from fluffy_desktop.terminal import TerminalProgress

    clip = album.clip()
    inverter = Inverter.load(album.home.inverters_dir, clip.identity)
    with TerminalProgress() as progress:
        doc = run_pervl(
            clip,
            args.data,
            args.captions,
            args.coarse,
            args.shots,
            args.seed,
            inverter,
            progress=progress,
            masks=args.masks,
        )
    _emit(args, doc, lambda: print(format_table(doc)))


def _eval_world(album, args) -> None:
    from fluffy_desktop.engine.evaluate import world
    from fluffy_desktop.terminal import TerminalProgress

    spec = album.spec if _model_named(args) else world.world_spec(album.spec.device)
    with TerminalProgress() as progress:
        if args.action == "train":
            out = args.out or album.home.root / "world"
            doc = world.train_world(
                out,
                progress,
                seed=args.seed,
                steps=args.steps,
                batch=args.batch,
                naming=args.naming,
                instances=args.instances,
                named=args.named,
                positions=args.positions,
                patch_dropout=args.patch_dropout,
            )
        elif args.action == "inverter":
            with type(album)(album.home.root, spec) as world_album:
                doc = world.train_world_inverter(world_album, args.steps or 1000, 1024, progress)
        elif args.ablations:
            doc = world.run_ablations(args.seed, spec, album.home.inverters_dir, progress)
            return _emit(args, doc, lambda: print(world.format_ablations(doc)))
        elif args.ceiling:
            doc = world.run_ceiling(args.seed, spec, progress)
            return _emit(args, doc, lambda: print(world.format_ceiling(doc)))
        else:
            doc = world.run_world(args.seed, spec, album.home.inverters_dir, progress=progress)
            return _emit(args, doc, lambda: print(world.format_world(doc)))
    _emit(args, doc, lambda: print(json.dumps(doc, indent=2)))


def _model_named(args: argparse.Namespace) -> bool:
    """Whether the user named a model (option or environment) rather than the default."""
    named = (args.model, args.weights, args.pretrained)
    mirrors = ("FLUFFY_MODEL", "FLUFFY_WEIGHTS", "FLUFFY_PRETRAINED")
    return any(v is not None for v in named) or any(os.environ.get(m) for m in mirrors)


def _cmd_bench(album, args) -> None:
    from fluffy_desktop.engine.bench.report import format_bench
    from fluffy_desktop.engine.bench.suite import random_weights_clip, run_bench
    from fluffy_desktop.terminal import TerminalProgress

    if args.random_weights:
        print(
            "fluffy: WARNING: timing ViT-B-32 with RANDOM weights: speed figures only, "
            "no search quality",
            file=sys.stderr,
        )
        clip = random_weights_clip(device=album.spec.device)
    else:
        clip = album.clip()
    with TerminalProgress() as progress:
        doc = run_bench(clip, album.home.root / "bench", args.photos, args.vectors, progress)
    _emit(args, doc, lambda: print(format_bench(doc)))


def _cmd_gui(album, args) -> int:
    from fluffy_desktop.gui.app import run

    return run(album)


CONCEPT_ACTIONS = {
    "list": _concepts_list,
    "show": _concepts_show,
    "rm": _concepts_rm,
    "rename": _concepts_rename,
    "export": _concepts_export,
    "import": _concepts_import,
    "photos": _concepts_photos,
    "relearn": _concepts_relearn,
}


COMMANDS = {
    "index": _cmd_index,
    "search": _cmd_search,
    "locate": _cmd_locate,
    "learn": _cmd_learn,
    "concepts": _cmd_concepts,
    "inverter": _cmd_inverter,
    "status": _cmd_status,
    "eval": _cmd_eval,
    "bench": _cmd_bench,
    "review": _cmd_review,
    "tags": _cmd_tags,
    "confirm": lambda album, args: _answer(album, args, True),
    "reject": lambda album, args: _answer(album, args, False),
    "gui": _cmd_gui,
}


def main(argv: list[str] | None = None) -> int:
    from fluffy_desktop.engine.errors import Cancelled, FluffyError, first_line
    from fluffy_desktop.engine.logs import log_to

    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="surrogateescape")
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USER
    command = args.command or "gui"
    try:
        album = _open_album(args)
        with album, log_to(album.home):
            log.info("fluffy %s: %s", __version__, command)
            return COMMANDS[command](album, args) or EXIT_OK
    except Cancelled:
        print("fluffy: cancelled", file=sys.stderr)
        return EXIT_USER
    except FluffyError as exc:
        print(f"fluffy: error: {first_line(exc)}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("fluffy: interrupted", file=sys.stderr)
        return 130
