"""The documented entry points of prodsim; the CLI and the pages call only these.

One facade over modules by capability: products and their similarity (:mod:`.products`), maps and groups
(:mod:`.grouping`) and their review at every level (:mod:`.review_levels`), two-table matching (:mod:`.matching`), weekly updates (:mod:`.catalog_updates`), the user's own category tree (:mod:`.category_tree`), the report
(:mod:`.reports`) and behaviour logs (:mod:`.behaviour`). Heavy libraries (torch, transformers) load inside the
functions that need them.
"""

from __future__ import annotations

from prodsim.api.behaviour import (
    attach_behaviour, backtest_sentence, behaviour_models, demand_eval, read_behaviour, recommend_eval,
)
from prodsim.api.category_tree import (
    WEAK_CONFIDENCE, accept_tree_node, category_tree, file_into, file_into_tree, filing_encoder_specs, filing_encoders, find_leaves,
    level_accuracy, load_tree, rows_under, stored_filing, tree_assignment, tree_details, tree_group_names, tree_export, tree_overview,
)
from prodsim.api.catalog_updates import LAST_UPDATE, last_update, update
from prodsim.api.duplicates import (
    FLOOR as DUPLICATE_FLOOR, duplicate_candidates, duplicate_decisions_needed, duplicate_listings, duplicate_model, duplicate_model_description, judge_pairs,
    learn_duplicates, one_product_groups,
)
from prodsim.api.grouping import (
    cluster, clustering_agreement, final_categories, finetune_categories, grouping_template, grouping_vectors, naming_texts, prepare, project,
    redraw_map, split_group, stored_grouping, suggested_levels, level_figures, truth_column,
)
from prodsim.api.matching import finetune, match, read_match_tables
from prodsim.api.photo_weight import measure_photo_weight, photo_weight, stored_photo_weight
from prodsim.api.products import (
    MAX_QUERY_CHARS, cached_counts, embed, model_specs, packaged_models, product_matrix,
    search_photo, search_text, showcase_product, similarity, suggest_text_model, thumbnail_uri, workspace_state,
)
from prodsim.api.reports import report, report_figures
from prodsim.api.review_levels import (
    accept_with_sub_groups, categories_export, export_categories, level_children, level_columns, level_rows, level_trail, node_product_ids, reviewed_nodes,
    reviewed_paths, sub_paths,
)
from prodsim.catalog import FIELDS, ROW_NUMBER_ID, QualityReport, RawTable, guess_mapping, label_columns, read_table
from prodsim.clustering import Clusters, misfiled_products
from prodsim.demo import demo_for_new_root
from prodsim.embedding import EmbedStats, ProductVectors, TextTemplate
from prodsim.encoders.base import Encoder
from prodsim.encoders.fusion import Fusion
from prodsim.encoders.registry import (
    DEFAULT_IMAGE, DEFAULT_TEXT, IMAGE_MODELS, TEXT_MODELS, load_image_encoder, load_text_encoder, local_models, models_root,
)
from prodsim.errors import BadInputError
from prodsim.exports import XLSX_ROW_LIMIT, csv_bytes, spreadsheet_safe, xlsx_bytes
from prodsim.identifiers import ColumnRoles, guess_roles
from prodsim.images import small_thumbnail_uris
from prodsim.ingest import IngestResult, attach_images, ingest
from prodsim.insights.behaviour import load_log as behaviour_log
from prodsim.insights.overlay import group_overview, has_overlay, product_sales
from prodsim.mapview import hover_texts, map_layers, selected_rows
from prodsim.neighbours import DUPLICATE_THRESHOLD, ProductSimilarity, duplicate_groups
from prodsim.pair_labels import LABELS, PairLabels
from prodsim.product_search import PICKER_LIMIT, find_products
from prodsim.review import SEPARATOR, ReviewStore
from prodsim.settings import TEMPLATE_FIELDS, WorkspaceSettings, load_settings, save_settings
from prodsim.updates import new_arrivals
from prodsim.workspace import Workspace, default_root, list_workspaces, read_only, slugify, workspace_dir_for

__all__ = [
    # products and similarity
    "DEFAULT_IMAGE", "DEFAULT_TEXT", "IMAGE_MODELS", "TEXT_MODELS", "MAX_QUERY_CHARS", "DUPLICATE_THRESHOLD", "Encoder", "EmbedStats",
    "Fusion", "ProductSimilarity", "ProductVectors", "TextTemplate", "cached_counts", "duplicate_groups", "duplicate_model", "embed",
    "DUPLICATE_FLOOR", "duplicate_candidates", "duplicate_decisions_needed", "duplicate_listings", "duplicate_model_description", "judge_pairs", "learn_duplicates", "one_product_groups", "load_image_encoder", "load_text_encoder", "local_models", "model_specs", "models_root", "packaged_models",
    "product_matrix", "search_photo", "search_text", "showcase_product", "similarity", "suggest_text_model", "thumbnail_uri",
    "workspace_state", "measure_photo_weight", "photo_weight", "stored_photo_weight", "LABELS", "PairLabels", "PICKER_LIMIT", "find_products",
    # catalogs and workspaces
    "FIELDS", "ROW_NUMBER_ID", "TEMPLATE_FIELDS", "BadInputError", "ColumnRoles", "IngestResult", "QualityReport", "RawTable",
    "Workspace", "WorkspaceSettings", "attach_images", "default_root", "demo_for_new_root", "guess_mapping", "guess_roles", "ingest",
    "label_columns", "list_workspaces", "load_settings", "read_only", "read_table", "save_settings", "slugify", "workspace_dir_for",
    "LAST_UPDATE", "last_update", "new_arrivals", "update",
    # maps, groups and their review
    "Clusters", "ReviewStore", "SEPARATOR", "accept_with_sub_groups", "cluster", "clustering_agreement", "finetune_categories", "grouping_template", "grouping_vectors",
    "hover_texts", "map_layers", "misfiled_products", "naming_texts", "prepare", "project", "redraw_map", "selected_rows",
    "small_thumbnail_uris", "split_group", "stored_grouping", "suggested_levels", "level_figures", "truth_column",
    "categories_export", "export_categories", "final_categories", "level_children", "level_columns", "level_rows", "level_trail", "node_product_ids", "reviewed_nodes", "reviewed_paths",
    "sub_paths",
    # the user's own category tree
    "WEAK_CONFIDENCE", "accept_tree_node", "category_tree", "file_into", "file_into_tree", "filing_encoder_specs",
    "filing_encoders", "find_leaves", "level_accuracy", "load_tree", "rows_under", "stored_filing", "tree_assignment",
    "tree_details", "tree_export", "tree_group_names", "tree_overview",
    # matching, reports, exports
    "finetune", "match", "read_match_tables", "report", "report_figures", "XLSX_ROW_LIMIT", "csv_bytes", "spreadsheet_safe", "xlsx_bytes",
    # behaviour logs
    "attach_behaviour", "backtest_sentence", "behaviour_log", "behaviour_models", "demand_eval", "group_overview", "has_overlay",
    "product_sales", "read_behaviour", "recommend_eval",
]
