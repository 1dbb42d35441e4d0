"""The `eval world` document as a readable table."""

from __future__ import annotations

from fluffy_desktop.engine.evaluate.world.things import COLOURS, KINDS

CEILING_COLUMNS = (("identity", 9), ("precision", 11), ("recall", 8), ("f1", 8))


def format_world(doc: dict) -> str:
    """Metrics in percent: retrieval per method, identity precision, locate IoU."""
    lines = [
        f"Semantic world (seed {doc['seed']}): {doc['individuals']} held-out individuals, "
        f"{doc['queries']} in-context queries, {doc['gallery']} gallery photos; percent",
        f"  {'method':<14}{'MRR':>8}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'ident@6':>9}",
    ]
    for method, values in doc["methods"].items():
        cells = "".join(f"{values[key]:>8.2f}" for key in ("mrr", "r1", "r5", "r10"))
        lines.append(f"  {method:<14}{cells}{doc['identity_precision'][method]:>9.2f}")
    located = doc["locate"]
    lines.append(
        f"  locate: mean IoU {located['iou']:.2f}, found {located['found']:.2f} on the "
        f"individuals' photos; wrongly found {located['false_found']:.2f} elsewhere"
    )
    for gallery, label in (("usual", "this gallery"), ("small", "small things")):
        whole, regions = doc["regions"][gallery]["whole"], doc["regions"][gallery]["regions"]
        lines.append(
            f"  {label}: MRR {whole['mrr']:.2f} → {regions['mrr']:.2f}, R@10 {whole['r10']:.2f} "
            f"→ {regions['r10']:.2f} (whole photos → with regions)"
        )
    seen = doc["zero_shot"]
    lines.append(
        f"  the model alone, zero-shot on {seen['photos']} one-thing photos: kind "
        f"{seen['kind']:.2f} (chance {100 / len(KINDS):.2f}), colour {seen['colour']:.2f} "
        f"(chance {100 / len(COLOURS):.2f})"
    )
    tagging = doc["tagging"]
    for stage in ("learned", "reviewed"):
        values, best = tagging[stage], tagging["best_threshold"][stage]
        lines.append(
            f"  albums {stage:<9} precision {values['precision']:.2f}  recall "
            f"{values['recall']:.2f}  F1 {values['f1']:.2f}  (at the best threshold: "
            f"{best['f1']:.2f}; mean of the albums' F1 {tagging['album_f1_mean'][stage]:.2f})"
        )
    shares = tagging["by_library_share"]
    lines.append(
        f"  albums learned when each individual is {' / '.join(shares)} % of the library: F1 "
        + " / ".join(f"{values['f1']:.2f}" for values in shares.values())
    )
    lines.append(
        f"  (over {tagging['photos']} library photos; reviewed: after {tagging['answers']} "
        f"answers, on the photos not asked about, where the first albums had F1 "
        f"{tagging['before_answers']['f1']:.2f}; {tagging['albums_worse']} of "
        f"{tagging['albums']} albums worse after the answers)"
    )
    lines.append(
        f"  palavra_init starts from {doc['init']}; learning took {doc['learn_seconds']:.2f} s "
        f"per concept ({doc['model']})"
    )
    return "\n".join(lines)


def format_ablations(doc: dict) -> str:
    """One line per stage-2 variant: palavra's MRR, R@1 and identity precision (percent)."""
    lines = [
        f"Stage-2 variants on the semantic world (seed {doc['seed']}); percent",
        f"  {'variant':<28}{'MRR':>8}{'R@1':>8}{'ident@6':>9}{'s/concept':>11}",
    ]
    for name, values in doc["variants"].items():
        cells = f"{values['mrr']:>8.2f}{values['r1']:>8.2f}{values['identity']:>9.2f}"
        lines.append(f"  {name:<28}{cells}{values['learn_seconds']:>11.2f}")
    base = ", ".join(f"{m} {v:.2f}" for m, v in doc["baselines_mrr"].items())
    lines.append(f"  baselines (MRR): {base}")
    return "\n".join(lines)


def format_ceiling(doc: dict) -> str:
    """Each method on the gallery: identity precision@6 and the album at its best cut."""
    lines = [
        f"How far the model can go on the semantic world (seed {doc['seed']}): fitted on the "
        f"album set ({doc['fitted_on']} photos), scored on the gallery ({doc['scored_on']}); "
        "percent",
        f"  {'method':<14}{'ident@6':>9}{'precision':>11}{'recall':>8}{'F1':>8}",
    ]
    for method, values in doc["methods"].items():
        cells = "".join(f"{values[key]:>{width}.2f}" for key, width in CEILING_COLUMNS)
        lines.append(f"  {method:<14}{cells}")
    lines.append("  (albums at each individual's best cut-off, pooled over the individuals)")
    return "\n".join(lines)
