"""``python -m prodsim <verb>``: each verb prints one JSON object on stdout.

Progress goes to stderr. A problem with the input prints ``{"error": "..."}`` and exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from prodsim.cli_browse import add_browse_verbs
from prodsim.cli_duplicates import add_duplicates_verb
from prodsim.cli_exports import add_export_verb
from prodsim.cli_photo_weight import add_photo_weight_verb
from prodsim.cli_users import add_users_verb

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _ingest(args) -> dict:
    from prodsim import api

    overrides = {f: getattr(args, f"{f}_col") for f in api.FIELDS}
    images = Path(args.images) if args.images else None
    if api.Workspace.holds_catalog(Path(args.workspace)) and not args.replace:
        # a re-upload says what it changes before anything is replaced
        diff = api.update(api.Workspace(args.workspace), Path(args.catalog), mapping=overrides, sheet=args.sheet, dry_run=True)["diff"]
        raise api.BadInputError(
            f"{args.workspace} already holds a catalog; this file adds {diff['new']:,}, removes {diff['removed']:,} and changes "
            f"{diff['changed']:,} products. Nothing was changed. `python -m prodsim update {args.catalog} --workspace "
            f"{args.workspace}` applies it (decisions kept, new products filed into reviewed categories; --dry-run lists "
            "the changes); --replace replaces the products as they are.")
    result = api.ingest(Path(args.catalog), workspace_dir=Path(args.workspace), name=args.name,
                        mapping=overrides, images=images, images_name=images.name if images else "", sheet=args.sheet,
                        identifiers=args.identifier_col, attributes=args.attribute_col)
    report = result.report
    return {
        "workspace": str(result.workspace.path),
        "rows": report.rows_kept,
        "rows_read": report.rows_read,
        "rejected": len(report.rejected),
        "rejected_rows": report.rejected,
        "images_matched": report.images_matched,
        "images_missing": report.images_missing,
        "images_unmatched": len(report.images_unmatched),
        "images_corrupt": report.images_corrupt,
        "files_skipped": len(report.files_skipped),
        "empty_titles": report.empty_titles,
        "unparsed_prices": report.unparsed_prices,
        "encoding": report.encoding,
        "reading_notes": report.reading_notes,
        "identifiers": report.identifiers,
        "ids_alike": report.ids_alike,
        "mapping": result.mapping,
        "summary": report.summary_lines(),
    }


def _template(args, base):
    """``base`` (a TextTemplate) with the --fields and --description-words given, validated."""
    from prodsim import api

    if not (args.fields or args.description_words is not None):
        return base
    return api.WorkspaceSettings(template_fields=tuple(args.fields.split(",")) if args.fields else base.fields,
                                 description_words=base.description_words if args.description_words is None
                                 else args.description_words).validate().template()


def _update(args) -> dict:
    from prodsim import api
    from prodsim.progress import stderr_progress

    images = Path(args.images) if args.images else None
    return api.update(api.Workspace(args.workspace), Path(args.catalog), images=images, images_name=images.name if images else "",
                      sheet=args.sheet, auto_file_above=args.auto_file_above, dry_run=args.dry_run, confirmed=tuple(args.confirm),
                      progress=stderr_progress())


def _file_into(args) -> dict:
    from prodsim import api
    from prodsim.progress import stderr_progress

    return api.file_into(api.Workspace(args.workspace), Path(args.tree), args.truth_col, progress=stderr_progress())


def _embed(args) -> dict:
    from prodsim import api
    from prodsim.progress import stderr_progress

    if args.engine == "ray":
        return _embed_ray(args)
    if not args.workspace:
        raise api.BadInputError("--workspace is required (or use --engine ray with --input and --out).")
    workspace = api.Workspace(args.workspace)
    text_spec, image_spec = api.model_specs(workspace)
    text = api.load_text_encoder(args.text_model or text_spec, args.device, args.precision)
    image_spec = None if args.no_images else (args.image_model or image_spec)
    image = api.load_image_encoder(image_spec, args.device, args.precision) if image_spec else None
    template = _template(args, api.load_settings(workspace).template())
    vectors, stats = api.embed(workspace, text, image, use_images=image is not None, template=template, progress=stderr_progress())
    return {
        "workspace": str(workspace.path),
        **asdict(stats),
        "text_model": text.fingerprint,
        "image_model": image.fingerprint if image else None,
        "template": template.describe(),
        "device": text.device,
        "precision": text.precision,
        "text_dim": int(vectors.text.shape[1]),
        "image_dim": int(vectors.image.shape[1]) if vectors.image is not None else None,
    }


def _embed_ray(args) -> dict:
    from prodsim import api, batch

    if not (args.input and args.out):
        raise api.BadInputError("--engine ray needs --input (files or a glob) and --out (a folder for the shards).")
    template = _template(args, api.TextTemplate())
    return batch.embed_with_ray(args.input, args.out, address=args.address, workers=args.workers, text_model=args.text_model,
                                image_model=None if args.no_images else args.image_model, images_dir=args.images,
                                template=template, batch_size=args.batch_size, device=args.device, precision=args.precision,
                                index_above=args.index_above, index_kind=args.index_kind)


def _attach_vectors(args) -> dict:
    from prodsim import api, batch

    return batch.attach(api.Workspace(args.workspace), args.vectors)


def _finetune_categories(args) -> dict:
    from prodsim import api
    from prodsim.progress import stderr_progress

    return api.finetune_categories(api.Workspace(args.workspace), args.column, args.out, epochs=args.epochs, device=args.device,
                                   progress=stderr_progress())


def _report(args) -> dict:
    from prodsim import api

    return api.report(api.Workspace(args.workspace), args.out)


def _finetune(args) -> dict:
    from prodsim import api
    from prodsim.progress import stderr_progress

    return api.finetune(args.left, args.right, args.train, args.valid, args.out, test=args.test, gold=args.gold,
                        id_col=args.id_col, text_model=args.model, fine_tune=not args.pair_model_only, epochs=args.epochs,
                        device=args.device, progress=stderr_progress())


def _match(args) -> dict:
    from prodsim import api

    return api.match(args.left, args.right, gold=args.gold, pairs=args.pairs, valid=args.valid, id_col=args.id_col,
                     text_model=args.model, device=args.device, identifier_cols=args.identifier_col)


def _project(args) -> dict:
    import time

    from prodsim import api

    started = time.perf_counter()
    coordinates = api.project(api.Workspace(args.workspace), args.components)
    return {"workspace": args.workspace, "products": len(coordinates), "components": int(coordinates.shape[1]),
            "seconds": round(time.perf_counter() - started, 2)}


def _cluster(args) -> dict:
    from prodsim import api

    workspace = api.Workspace(args.workspace)
    vectors = api.grouping_vectors(workspace)
    clusters, figures = api.cluster(workspace, args.method, args.k, args.truth_col, vectors=vectors)
    summary = clusters.summary(workspace.products(), vectors)
    filing = api.stored_filing(workspace)
    if filing is not None:  # the user's tree names the groups
        summary["tree_name"] = summary["cluster"].map(api.tree_group_names(clusters.labels, filing["path"])).fillna("")
    levels = ({"levels": api.level_figures(workspace, api.suggested_levels(workspace, clusters, vectors), args.level_truth)}
              if args.levels or args.level_truth else {})
    return {"workspace": args.workspace, "method": args.method, **figures, **levels,
            "clusters": summary.head(50).to_dict(orient="records")}


def _two_tables(parser: argparse.ArgumentParser, model_help: str) -> argparse.ArgumentParser:
    """The arguments of verbs that compare two catalog files."""
    parser.add_argument("--left", required=True, help="left catalog file")
    parser.add_argument("--right", required=True, help="right catalog file (may be the same file)")
    parser.add_argument("--id-col", help="id column of both tables (default: guessed)")
    parser.add_argument("--model", help=model_help)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    return parser


def _log_mapping(args) -> dict:
    return {"user": args.user_col, "product": args.product_col, "timestamp": args.time_col, "quantity": args.qty_col,
            "order": args.order_col}


def _recommend_eval(args) -> dict:
    from prodsim import api

    return api.recommend_eval(api.Workspace(args.workspace), args.log, k=args.k, content_weight=args.content_weight,
                              mapping=_log_mapping(args))


def _demand_eval(args) -> dict:
    from prodsim import api

    return api.demand_eval(api.Workspace(args.workspace), args.log, start=args.start, end=args.end, weeks=args.weeks,
                           mapping=_log_mapping(args))


def _behaviour_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--log", help="behaviour log (CSV, Parquet…, may be .gz): user, product, timestamp[, quantity, order]; "
                                      "default: the log attached to the workspace")
    for field, name in (("user", "user"), ("product", "product"), ("time", "timestamp"), ("qty", "quantity"), ("order", "order")):
        parser.add_argument(f"--{field}-col", dest=f"{field}_col", help=f"log column holding the {name} (overrides the guess)")
    return parser


class _JsonArgumentParser(argparse.ArgumentParser):
    """Argument mistakes come out as the one JSON object too (``{"error": ...}``, exit 2), not as usage text."""

    def error(self, message: str):
        print(json.dumps({"error": f"{self.prog}: {message}. See --help."}, ensure_ascii=False))
        raise SystemExit(2)


def _count(text: str) -> int:
    """A whole number of at least 1 (--k, --weeks, --epochs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def _share(text: str) -> float:
    """A share between 0 and 1 (--content-weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all verbs."""
    from prodsim.catalog import FIELDS

    parser = _JsonArgumentParser(prog="python -m prodsim", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    ingest = verbs.add_parser("ingest", help="read a catalog (and photos) into a workspace")
    ingest.add_argument("catalog")
    ingest.add_argument("--workspace", required=True, help="workspace folder (created if missing)")
    ingest.add_argument("--images", help="ZIP archive or folder of product photos")
    ingest.add_argument("--name", help="display name (default: the catalog's file name)")
    ingest.add_argument("--replace", action="store_true",
                        help="into a workspace that holds a catalog: replace its products without filing (see update)")
    _role_arguments(ingest)
    ingest.add_argument("--sheet", help="the workbook sheet holding the products (default: the one with the most filled cells)")
    for field in FIELDS:
        ingest.add_argument(f"--{field}-col", dest=f"{field}_col", help=f"column holding the {field} (overrides the guess)")
    ingest.set_defaults(run=_ingest)

    update = verbs.add_parser("update", help="next week's file into a workspace: what changed, new products filed into reviewed "
                                             "categories, the rest queued as New arrivals")
    update.add_argument("catalog")
    update.add_argument("--workspace", required=True, help="the existing workspace")
    update.add_argument("--images", help="ZIP archive or folder of the new products' photos")
    update.add_argument("--sheet", help="the workbook sheet holding the products")
    update.add_argument("--auto-file-above", type=float, help="confidence above which a new product is filed without review (default 0.8)")
    update.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    update.add_argument("--confirm", action="append", default=[], choices=["mapping", "remove_all", "no_new"],
                        help="go ahead although the columns map differently (mapping), every product is removed (remove_all) "
                             "or no product is new (no_new)")
    update.set_defaults(run=_update)

    embed = verbs.add_parser("embed", help="compute product vectors (cached by content); --engine ray for very large catalogs")
    embed.add_argument("--workspace", help="the workspace to embed (in-process engine)")
    embed.add_argument("--engine", default="local", choices=["local", "ray"],
                       help="ray: read --input with Ray Data, embed on its workers, write Parquet shards to --out")
    embed.add_argument("--input", nargs="+", help="(ray) catalog files or globs, CSV or Parquet")
    embed.add_argument("--out", help="(ray) output folder for the shards, manifest and index")
    embed.add_argument("--address", help="(ray) cluster address, e.g. ray://head:10001 or auto; default: a local Ray")
    embed.add_argument("--workers", type=int, help="(ray) model-holding workers (default: one per GPU, else per CPU)")
    embed.add_argument("--batch-size", type=int, default=512, help="(ray) rows per model call")
    embed.add_argument("--images", help="(ray) folder holding the photos named in the image column")
    embed.add_argument("--index-above", type=int, default=200_000, help="(ray) build an approximate index above this many rows")
    embed.add_argument("--index-kind", default="ivfpq", choices=["ivfpq", "hnsw"])
    embed.add_argument("--text-model", help="minilm-l6, use-multilingual, or a model folder")
    embed.add_argument("--image-model", help="efficientnet-lite0, a CLIP folder, or ARCH:weights.pth")
    embed.add_argument("--no-images", action="store_true", help="text only")
    embed.add_argument("--fields", help="product fields the text model reads, comma-separated (default: title,brand,category,description)")
    embed.add_argument("--description-words", type=int, help="words of the description kept (default 30)")
    embed.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    embed.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16", "int8"])
    embed.set_defaults(run=_embed)

    attach = verbs.add_parser("attach-vectors", help="copy vectors (and index) written by embed --engine ray into a workspace")
    attach.add_argument("--workspace", required=True)
    attach.add_argument("--vectors", required=True, help="the --out folder of embed --engine ray")
    attach.set_defaults(run=_attach_vectors)

    match = _two_tables(verbs.add_parser("match", help="rank right records for each left record; evaluate against labels"),
                        "text model name or folder, or a folder written by finetune (default minilm-l6)")
    match.add_argument("--gold", help="true pairs: left id, right id")
    match.add_argument("--pairs", help="labelled test pairs: left id, right id, label (0/1)")
    match.add_argument("--valid", help="labelled validation pairs: adds the hybrid score's F1 at the threshold chosen on them")
    _role_arguments(match, attributes=False)
    match.set_defaults(run=_match)

    finetune = _two_tables(verbs.add_parser("finetune", help="fine-tune the text encoder and train the pair model on labelled pairs"),
                           "text model to start from (default minilm-l6)")
    finetune.add_argument("--train", required=True, help="labelled training pairs: left id, right id, label (0/1)")
    finetune.add_argument("--valid", required=True, help="labelled validation pairs (epoch choice, calibration, threshold)")
    finetune.add_argument("--out", required=True, help="folder for the trained model (replaced only when training ends)")
    finetune.add_argument("--test", help="labelled test pairs, only for the before/after figures")
    finetune.add_argument("--gold", help="true pairs, for recall@k before/after")
    finetune.add_argument("--epochs", type=_count, help="most passes over the matching pairs (default 6; stops early when validation stops improving)")
    finetune.add_argument("--pair-model-only", action="store_true", help="keep the encoder; train only the pair model")
    finetune.set_defaults(run=_finetune)

    categories = verbs.add_parser("finetune-categories", help="fine-tune the text encoder towards a category column")
    categories.add_argument("--workspace", required=True)
    categories.add_argument("--column", required=True, help="the category column, named as in the uploaded catalog")
    categories.add_argument("--out", required=True, help="folder for the trained model (replaced only when training ends)")
    categories.add_argument("--epochs", type=_count, help="most passes over the products (default 6; stops early when held-out products stop improving)")
    categories.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    categories.set_defaults(run=_finetune_categories)

    report = verbs.add_parser("report", help="write a self-contained HTML report of a workspace to share")
    report.add_argument("--workspace", required=True)
    report.add_argument("--out", required=True, help="the .html file to write")
    report.set_defaults(run=_report)

    tree = verbs.add_parser("file-into", help="file every product into the leaves of your category tree (one path per line)")
    tree.add_argument("--workspace", required=True)
    tree.add_argument("--tree", required=True, help="a .txt or .csv file of paths such as 'Home > Kitchen > Kettles'")
    tree.add_argument("--truth-col", help="a column holding each product's true path (or its first levels): accuracy per level")
    tree.set_defaults(run=_file_into)

    project = verbs.add_parser("project", help="compute the workspace's 2-D map (UMAP, cached)")
    project.add_argument("--workspace", required=True)
    project.add_argument("--components", type=int, default=2, choices=[2, 3])
    project.set_defaults(run=_project)

    cluster = verbs.add_parser("cluster", help="suggest groups of products; compare with a category column")
    cluster.add_argument("--workspace", required=True)
    cluster.add_argument("--method", default="hdbscan", choices=["hdbscan", "kmeans"])
    cluster.add_argument("--k", type=_count, help="number of groups for k-means")
    cluster.add_argument("--truth-col", help="a column of the uploaded catalog to compare with (ARI, NMI)")
    cluster.add_argument("--levels", action="store_true", help="also the sub-groups at the levels below (one object per level)")
    cluster.add_argument("--level-truth", action="append", default=[], metavar="COL",
                         help="the true categories of level 1, then level 2, ... (repeatable; implies --levels)")
    cluster.set_defaults(run=_cluster)

    recommend = _behaviour_args(verbs.add_parser("recommend-eval", help="recommendations: hide each customer's last order, "
                                                                         "report hit-rate@k and recall@k of four methods"))
    recommend.add_argument("--k", type=_count, default=10)
    recommend.add_argument("--content-weight", type=_share, help="share of content similarity in the blend (default: measured)")
    recommend.set_defaults(run=_recommend_eval)

    demand = _behaviour_args(verbs.add_parser("demand-eval", help="demand hints: predict new products' first weeks from "
                                                                  "similar products; WAPE vs a naive baseline"))
    demand.add_argument("--start", default="2011-03-01", help="first day of the launches predicted")
    demand.add_argument("--end", default="2011-09-30", help="last day of the launches predicted")
    demand.add_argument("--weeks", type=_count, default=8)
    demand.set_defaults(run=_demand_eval)

    add_users_verb(verbs)
    add_export_verb(verbs)
    add_photo_weight_verb(verbs)
    add_browse_verbs(verbs)
    add_duplicates_verb(verbs)
    return parser


def _role_arguments(parser, attributes: bool = True) -> None:
    parser.add_argument("--identifier-col", action="append", dest="identifier_col", metavar="COL",
                        help="a column of GTIN/EAN/UPC, MPN or model numbers (repeatable; default: guessed from names and values)")
    if attributes:
        parser.add_argument("--attribute-col", action="append", dest="attribute_col", metavar="COL",
                            help="a column of colours, sizes, capacities… (repeatable; default: guessed from names)")


def main(argv: list[str] | None = None) -> int:
    """Runs one verb; returns the exit code."""
    from prodsim.errors import ProdsimError, log_unexpected

    args = build_parser().parse_args(argv)
    try:
        result = args.run(args)
    except ProdsimError as err:
        print(json.dumps({"error": str(err)}, ensure_ascii=False))
        return 2
    except Exception:  # never a bare traceback on stdout: one JSON object there, the trace in the log (stderr)
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        print(json.dumps({"error": log_unexpected(f"python -m prodsim {args.verb}") + " Please report it with the "
                                   "command you ran."}, ensure_ascii=False))
        return 1
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0
