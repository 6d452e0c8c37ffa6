"""Catalog: browse the products, upload a new catalog with photos, map its columns."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages import product_cards, team, ui
from prodsim import api
from prodsim.display import literal
from prodsim.limits import human_size

ui.ensure_app_shell()

NOT_MAPPED = ""
FIELD_LABELS = {"id": "Product id", "title": "Title", "description": "Description", "brand": "Brand",
                "category": "Category", "price": "Price", "seller": "Seller / merchant", "image": "Photo file name"}
read_only = not team.allowed("admin")  # uploads, training and model changes are an admin's


def browse(workspace: api.Workspace) -> None:
    products = workspace.products()
    query = st.text_input("Filter by title, brand or id", key="catalog_filter", placeholder="e.g. kettle")
    if query:
        text = products["title"] + " " + products["brand"] + " " + products["id"]
        products = products[text.str.contains(query, case=False, regex=False)]
    st.caption(f"{len(products):,} of {workspace.summary()['products']:,} products")
    product_cards.product_table(workspace, products, key="catalog_products")


def mapping_form(raw: api.RawTable) -> dict[str, str]:
    guessed = api.guess_mapping(raw.frame)
    columns = list(raw.frame.columns)
    st.write("Which column holds what? prodsim guessed; correct anything that is wrong. "
             "Columns you do not map are kept for colouring and filtering later.")
    mapping = {}
    grid = st.columns(4)
    for i, field in enumerate(api.FIELDS):
        options = [NOT_MAPPED] + ([api.ROW_NUMBER_ID] if field == "id" else []) + columns
        guess = guessed.get(field) or (api.ROW_NUMBER_ID if field == "id" else NOT_MAPPED)
        with grid[i % 4]:
            mapping[field] = st.selectbox(FIELD_LABELS[field], options, index=options.index(guess),
                                          format_func=lambda c: "— not in this file —" if c == NOT_MAPPED else c,
                                          key=f"catalog_map_{field}")
    return mapping


def roles_form(raw: api.RawTable, mapping: dict[str, str], guessed: api.ColumnRoles) -> tuple[list[str], list[str]]:
    """Identifier and attribute columns among those no field took, starting from prodsim's guess."""
    free = [c for c in raw.frame.columns if c not in set(mapping.values())]
    left, right = st.columns(2)
    identifiers = left.multiselect(
        "Identifier columns", free, default=[c for c in guessed.identifiers if c in free], key="catalog_identifiers",
        help="GTIN/EAN/UPC/ISBN, maker's part number (MPN) or model number: a shared one means the same product, "
             "different ones mean different products. Check digits are verified.")
    attributes = right.multiselect(
        "Attribute columns", [c for c in free if c not in identifiers], key="catalog_attributes",
        default=[c for c in guessed.attributes if c in free and c not in identifiers],
        help="Colour, size, capacity, material…: two listings that differ here are variants, not duplicates.")
    return identifiers, attributes


CONFIRMS = {"mapping": "Yes, the columns map differently on purpose", "remove_all": "Yes, remove every product of the workspace",
            "no_new": "Yes, update although no product is new"}


def update_form(existing: api.Workspace, catalog_file, photos, mapping: dict, sheet: str | None) -> None:
    """Next week's file for an existing workspace: what it changes, then (confirmed) the update in the background."""
    meta = existing.meta
    by = f" by {meta['uploaded_by']}" if meta.get("uploaded_by") else ""
    st.subheader(literal(f"What this file changes in '{existing.name}'"))
    st.caption(literal(f"Its catalog was uploaded{by} on {str(meta.get('updated', ''))[:10]}. Decisions, photos of products "
                       "still there, and the history are kept; nothing changes until you update."))
    plan = ui.show_errors(ui.update_preview, existing, catalog_file.getvalue(), catalog_file.name, tuple(sorted(mapping.items())),
                          sheet, photos.getvalue() if photos else None, photos.name if photos else "",
                          (str(existing.path), *existing.products_version()))
    if plan is None:
        return
    diff = plan["diff"]
    for column, key in zip(st.columns(4), ("new", "removed", "changed", "unchanged")):
        column.metric(key.capitalize(), f"{diff[key]:,}")
    if diff["changes"]:
        st.dataframe([{"id": pid, "field": field, "before": old, "after": new} for pid, fields in diff["changes"].items()
                      for field, (old, new) in fields.items()], hide_index=True, width="stretch", key="catalog_update_changes")
    for warning in plan["warnings"]:
        st.warning(literal(warning))
    confirmed = tuple(item for item in plan["confirm"] if st.checkbox(CONFIRMS[item], key=f"catalog_update_confirm_{item}"))
    threshold = st.slider("File new products into reviewed categories automatically when prodsim is at least this sure",
                          0.5, 1.0, 0.8, 0.05, key="catalog_update_threshold",
                          help="The share of the votes of a new product's ten nearest reviewed products that go to one category. "
                               "Less sure products wait under Categories → New arrivals.")
    if st.button(f"Update '{existing.name}'", type="primary", key="catalog_update", help=team.needs("admin"),
                 disabled=read_only or len(confirmed) < len(plan["confirm"])):
        ui.start_update(existing, catalog_file.getvalue(), catalog_file.name, mapping, sheet,
                        photos.getvalue() if photos else None, photos.name if photos else "", threshold, confirmed)
        ui.select_workspace(existing.slug)
        st.switch_page("pages/home.py")


def upload() -> None:
    catalog_file = st.file_uploader("Catalog file (CSV, TSV, Excel, Parquet, JSON or JSON Lines)",
                                    type=["csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl", "ndjson"],
                                    key="catalog_upload_file", disabled=read_only)
    photos = st.file_uploader("Product photos (optional): a ZIP of images named after the product id or the photo column",
                              type=["zip"], key="catalog_upload_photos", disabled=read_only)
    if catalog_file is None:
        st.info("Upload a file with one product per row. A title column is all prodsim needs; ids, descriptions, "
                "brands, categories, prices and photos make the results better.")
        return
    raw = ui.show_errors(ui.read_upload, catalog_file.getvalue(), catalog_file.name)
    if raw is None:
        return
    chosen_sheet = None  # the picked sheet, until someone chooses another
    if len(raw.sheets) > 1:
        sheet = st.selectbox("Sheet with the products", raw.sheets, index=raw.sheets.index(raw.sheet), key="catalog_sheet",
                             help="prodsim picks the sheet with the most filled cells; choose another if that is wrong.")
        if sheet != raw.sheet:
            chosen_sheet = sheet
            raw = ui.show_errors(ui.read_upload, catalog_file.getvalue(), catalog_file.name, sheet)
            if raw is None:
                return
    st.caption(literal(f"{catalog_file.name}: {len(raw.frame):,} rows, {len(raw.frame.columns)} columns, read as {raw.encoding}"
                       + (f" from sheet '{raw.sheet}'." if raw.sheet else ".")))
    for note in raw.notes:
        st.caption(literal(note))
    if photos is not None:
        st.caption(literal(f"Photos: {photos.name} ({human_size(photos.size)}) will be matched to the products when the "
                           "workspace is created."))
    st.dataframe(raw.frame.head(5), hide_index=True, width="stretch", key="catalog_preview")
    mapping = mapping_form(raw)
    identifiers, attributes = roles_form(raw, mapping, ui.guessed_roles(catalog_file.getvalue(), catalog_file.name, chosen_sheet))
    name = st.text_input("Workspace name", value=Path(catalog_file.name).stem, key="catalog_ws_name")
    existing = next((w for w in api.list_workspaces(ui.workspace_root()) if w.name == name or w.slug == api.slugify(name)), None)
    if existing is not None:
        update_form(existing, catalog_file, photos, mapping, raw.sheet or None)
        return
    if st.button("Create workspace", type="primary", key="catalog_ingest", disabled=read_only, help=team.needs("admin")):
        target = ui.show_errors(api.workspace_dir_for, name, ui.workspace_root())
        if target is None:
            return
        tracker = ui.progress_reporter("Reading photos…")
        result = ui.show_errors(
            api.ingest, catalog_file.getvalue(), workspace_dir=target,
            catalog_name=catalog_file.name, name=name, mapping=mapping, sheet=raw.sheet or None,
            identifiers=identifiers, attributes=attributes,
            images=photos.getvalue() if photos else None, images_name=photos.name if photos else "",
            progress=lambda done, total: tracker("Reading photos", done, total))
        if result is not None:
            st.session_state["catalog_last_report"] = (result.workspace.name, result.report.summary_lines())
            ui.select_workspace(result.workspace.slug)
            st.rerun()


workspace = ui.current_workspace()
st.title("Catalog")
if "catalog_last_report" in st.session_state:
    name, lines = st.session_state["catalog_last_report"]
    st.success(literal(f"Workspace '{name}' is ready. Quality report:"))
    st.markdown("\n".join(f"- {literal(line)}" for line in lines))
browse_tab, upload_tab = st.tabs(["Products", "Upload a catalog"])
with browse_tab:
    if workspace is None:
        st.info("No catalog yet: use the Upload tab.")
    else:
        browse(workspace)
with upload_tab:
    upload()
