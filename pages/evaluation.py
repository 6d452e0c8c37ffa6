"""Evaluation: train a matching model on labelled pairs, compare before and after, manage trained models."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages import team, ui
from prodsim import api
from prodsim.display import literal
from prodsim.training import PREDICTIONS_FILE, FinetuneConfig, read_description, registry

ui.ensure_app_shell()

FIGURES = {"precision": "Precision", "recall": "Recall", "f1": "F1", "auc": "ROC-AUC", "threshold": "Threshold (from validation)",
           "recall_at_1": "Recall@1", "recall_at_10": "Recall@10", "mrr": "MRR"}

st.title("Evaluation and training")
workspace = ui.current_workspace()
if workspace is None:
    st.info("Open or create a workspace first (Catalog page); trained models are kept in it.")
    st.stop()
read_only = not team.allowed("admin")  # uploads, training and model changes are an admin's

train_tab, models_tab = st.tabs(["Train on labelled pairs", "Trained models"])
with train_tab:
    st.write("Give two product tables (or the same one twice) and labelled pairs — left id, right id, label "
             "(1 = same product, 0 = different) — split into training and validation; test pairs and a list of true "
             "matches are optional and only used for the before/after figures. prodsim fine-tunes the text model on "
             "the matching pairs, then trains the pair model that turns similarities into a match probability.")
    upload = {}
    columns = st.columns(2)
    for i, (name, label) in enumerate([("left", "Left table"), ("right", "Right table"), ("train", "Training pairs"),
                                       ("valid", "Validation pairs"), ("test", "Test pairs (optional)"),
                                       ("gold", "True matches (optional)")]):
        upload[name] = columns[i % 2].file_uploader(label, type=["csv", "tsv", "xlsx", "parquet", "json", "jsonl"],
                                                   key=f"evaluation_upload_{name}", disabled=read_only)
    name = st.text_input("Model name", key="evaluation_name", placeholder="e.g. marketplace pairs, November")
    fine_tune = st.checkbox("Fine-tune the text model (minutes on CPU; off: only the pair model, seconds)", value=True,
                            key="evaluation_fine_tune")
    epochs = st.slider("Most passes over the matching pairs (stops early when validation stops improving)", 1, 10,
                       FinetuneConfig.epochs, key="evaluation_epochs", disabled=not fine_tune)
    ready = all(upload[k] is not None for k in ("left", "right", "train", "valid"))
    if st.button("Train", type="primary", key="evaluation_train", disabled=read_only or not ready):
        out = ui.show_errors(registry.new_model_dir, workspace, name)
        if out is not None:
            with tempfile.TemporaryDirectory() as folder:
                paths = {}
                for key, file in upload.items():
                    if file is not None:
                        paths[key] = Path(folder) / f"{key}{Path(file.name).suffix}"
                        paths[key].write_bytes(file.getvalue())
                result = ui.show_errors(api.finetune, paths["left"], paths["right"], paths["train"], paths["valid"], out,
                                        test=paths.get("test"), gold=paths.get("gold"), fine_tune=fine_tune, epochs=epochs,
                                        progress=ui.progress_reporter("Training"))
            if result is not None:
                st.success(literal(f"Trained '{out.name}' in {result['seconds'] / 60:.1f} min. See it under Trained models."))

    st.subheader("Or learn from this workspace's categories")
    st.write("No labelled pairs? prodsim can pull products of one category together (a fifth of the products is held "
             "out to decide when to stop). The result is a text model for this workspace's maps and groups.")
    columns_with_categories = api.label_columns(workspace.products())
    if columns_with_categories:
        column = st.selectbox("Category column", columns_with_categories, key="evaluation_category_column")
        if st.button("Train from categories", key="evaluation_train_categories", disabled=read_only or not name):
            out = ui.show_errors(registry.new_model_dir, workspace, name)
            if out is not None:
                result = ui.show_errors(api.finetune_categories, workspace, column, out, epochs=epochs,
                                        progress=ui.progress_reporter("Training"))
                if result is not None:
                    st.success(literal(f"Trained '{out.name}': grouping NMI against '{column}' {result['before']['nmi']:.2f} → "
                                       f"{result['after']['nmi']:.2f} (held-out products {result['before']['held_out_nmi']:.2f} → "
                                       f"{result['after']['held_out_nmi']:.2f})."))

with models_tab:
    models = registry.list_models(workspace)
    if models.empty:
        st.info("No trained model yet: train one in the first tab, or copy a folder written by "
                "`python -m prodsim finetune` into this workspace's models folder.")
        st.stop()
    st.dataframe(models, hide_index=True, width="stretch", key="evaluation_models")
    chosen = st.selectbox("Model", models["name"].tolist(), key="evaluation_model")
    row = models.set_index("name").loc[chosen]
    actions = st.columns(3)
    if actions[0].button("Use its text model in this workspace", key="evaluation_activate",
                         disabled=read_only or not row["own_encoder"] or bool(row["active"])):
        if ui.show_errors(registry.activate, workspace, chosen):
            st.toast("Active. Products are read again with it (only what changed is recomputed) when a page needs them.")
            st.rerun()
    if actions[1].button("Back to the default text model", key="evaluation_deactivate", disabled=read_only or not bool(row["active"])):
        ui.show_errors(registry.activate, workspace, None)
        st.rerun()
    confirm = actions[2].checkbox("Confirm delete", key="evaluation_delete_confirm", disabled=read_only)
    if actions[2].button("Delete", key="evaluation_delete", disabled=read_only or not confirm):
        ui.show_errors(registry.delete, workspace, chosen)
        st.rerun()

    description = read_description(registry.models_dir(workspace) / chosen)
    before, after = description["before"], description["after"]
    shown = [k for k in FIGURES if k in after]
    st.subheader("Before and after")
    st.dataframe(pd.DataFrame({"figure": [FIGURES[k] for k in shown], "before (zero-shot)": [before.get(k) for k in shown],
                               "after (trained)": [after[k] for k in shown]}).round(3),
                 hide_index=True, key="evaluation_figures")
    if description["epochs"]:
        st.caption("Epochs: " + " · ".join(f"{e['epoch']}: loss {e['loss']:.3f}, validation AUC {e['valid_auc']:.3f} ({e['seconds']:.0f} s)"
                                           for e in description["epochs"]) + (f". {description['encoder_note']}." if description["encoder_note"] else ""))
    predictions_path = registry.models_dir(workspace) / chosen / PREDICTIONS_FILE
    if predictions_path.is_file():
        from sklearn.metrics import precision_recall_curve

        predictions = pd.read_csv(predictions_path, dtype={"left_id": str, "right_id": str})
        figure = go.Figure()
        for column, label in (("before_score", "before"), ("after_probability", "after")):
            precision, recall, _ = precision_recall_curve(predictions["label"], predictions[column])
            figure.add_trace(go.Scatter(x=recall, y=precision, mode="lines", name=label))
        figure.update_layout(height=360, xaxis_title="recall", yaxis_title="precision", margin={"l": 0, "r": 0, "t": 10, "b": 0})
        st.subheader("Precision and recall on the test pairs")
        st.plotly_chart(figure, key="evaluation_pr_curve")
        threshold = description["threshold"]
        predictions["error"] = (predictions["after_probability"] - predictions["label"]).abs()
        wrong = predictions[(predictions["after_probability"] >= threshold) != (predictions["label"] == 1)]
        st.subheader(f"Worst errors ({len(wrong):,} of {len(predictions):,} test pairs are misclassified)")
        for pair in wrong.nlargest(10, "error").itertuples():
            left, right = st.columns(2)
            verdict = "says same product, labelled different" if pair.label == 0 else "says different, labelled same product"
            left.markdown(f"**{literal(pair.left_title)}**  \nid {literal(pair.left_id)}")
            right.markdown(f"**{literal(pair.right_title)}**  \nid {literal(pair.right_id)}")
            st.caption(f"Probability {pair.after_probability:.2f}: the model {verdict}.")
