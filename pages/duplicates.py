"""Duplicates: listings that are the same product (or a variant), reviewed pair by pair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from pages import product_cards, team, ui
from prodsim import api
from prodsim.display import literal

ui.ensure_app_shell()

COMPARED = ["title", "brand", "category", "price", "seller", "description", "id"]
LABEL_BUTTONS = {"duplicate": "Same product", "variant": "Variant (size, colour…)", "different": "Different products"}

workspace, similarity = ui.similarity_page("Duplicate listings")
team.decision_feedback()
products = similarity.products
store = api.PairLabels(workspace)
text, image = ui.encoders_for(workspace)


def learnt_from_decisions(details: dict) -> str:
    """Which model the reviewers' decisions chose, and the F1 each candidate reached on them."""
    described = api.duplicate_model_description(details)
    f1, decisions = described["f1_on_decisions"], f"your {described['decisions']:,} decisions"
    if described["model"] == "default at your threshold":
        return (f"prodsim's default duplicate model at the threshold {decisions} chose: on them it reached F1 "
                f"{f1['default']:.2f}, a model learnt from them {f1['learnt']:.2f} on decisions it did not see, "
                f"similarity alone {f1['score']:.2f}")
    default = f", the default model {f1['default']:.2f}" if "default" in f1 else ""  # saved before it was compared
    return f"a model learnt from {decisions}: on decisions it did not see it reached F1 {f1['learnt']:.2f}{default}, similarity alone {f1['score']:.2f}"


@st.cache_resource(show_spinner="Comparing every product with its nearest ones…", max_entries=4)
def candidate_pairs(state: str, same_seller: bool) -> pd.DataFrame:
    """All pairs above the floor for one workspace state (``state`` is the cache key). Kept as one shared object,
    not a copy per rerun (a million products make hundreds of thousands of pairs): callers never change it."""
    return api.duplicate_candidates(similarity, same_seller)


@st.cache_resource(show_spinner=False, max_entries=4)
def learnt_pairs(state: str, same_seller: bool, trained: str, _learnt) -> pd.DataFrame:
    """The candidate pairs judged by the duplicate model (``trained``, its date, is the cache key)."""
    return api.judge_pairs(candidate_pairs(state, same_seller), products, _learnt)


has_sellers = "seller" in products and (products["seller"] != "").any()
same_seller = has_sellers and st.toggle(
    "Also pair listings of one seller", value=False, key="duplicates_same_seller",
    help="Off: only listings from different sellers are compared, since one seller's listings are usually its different products.")
state = api.workspace_state(workspace, text, image)
learnt = ui.show_errors(api.duplicate_model, workspace, state)
pairs = candidate_pairs(state, same_seller) if learnt is None else learnt_pairs(state, same_seller, learnt.details["created"], learnt)
pairs = pairs.assign(label=store.labels_of(pairs["left_id"], pairs["right_id"]))

threshold = st.slider("How similar must two listings be?", api.DUPLICATE_FLOOR, 1.0, api.DUPLICATE_THRESHOLD, 0.01, key="duplicates_threshold")
shown = pairs[pairs["score"] >= threshold]
suggested = shown["suggested"].value_counts()
st.caption(f"{len(shown):,} pairs at this threshold: {suggested.get('duplicate', 0):,} look like the same product, "
           f"{suggested.get('variant', 0):,} like variants. {int((shown['label'] != '').sum()):,} reviewed.")
if learnt is not None and learnt.details.get("default"):
    st.caption(f"Suggestions come from prodsim's default duplicate model, learnt from public pairs of two other shops' "
               f"catalogs ({learnt.details['summary']}). Once you have marked 20 pairs as the same product "
               "and 10 as not, learn from your decisions (Decisions tab) to replace it.")
elif learnt is not None:
    st.caption(f"Suggestions come from {learnt_from_decisions(learnt.details)} ({learnt.details['created'][:10]}).")
ORDERS = {"Most similar first": "score"} | ({"Most likely the same product first": "probability",
                                             "Least certain first (teaches the model most)": "uncertainty"} if learnt is not None else {})
order = ORDERS[st.radio("Order", list(ORDERS), horizontal=True, key="duplicates_order")]
if order == "probability":
    shown = shown.sort_values("probability", ascending=False, kind="stable")
elif order == "uncertainty":
    shown = shown.iloc[np.argsort(np.abs(shown["probability"].to_numpy() - learnt.threshold), kind="stable")]
only_open = st.toggle("Only pairs not reviewed yet", value=True, key="duplicates_only_open")
queue = shown[shown["label"] == ""] if only_open else shown


def comparison(left_row: int, right_row: int) -> None:
    """The pair field by field, identifier and attribute columns included; rows that tell them apart are shaded."""
    compared = similarity.side_by_side(left_row, right_row, COMPARED)
    differs = compared["differs"].to_numpy()
    table = pd.DataFrame({"field": compared["field"], "first listing": compared["first"], "second listing": compared["second"],
                          "": compared["verdict"].map(product_cards.VERDICTS).fillna("")})
    st.dataframe(table.style.apply(lambda r: ["background-color: #fef3c7" if differs[r.name] else ""] * len(r), axis=1),
                 hide_index=True, width="stretch", key="duplicates_comparison")


def label_pair(left_id: str, right_id: str, label: str, shown: str, position: int) -> str:
    """Saves a decision on the pair the page showed (refused if a colleague changed it since) and moves on, once:
    a second click on the same pair before the page caught up changes nothing."""
    if store.set(left_id, right_id, label, expected=shown) and not only_open:
        st.session_state["duplicates_position"] = position + 1
    return label


def review_pairs() -> None:
    if queue.empty:
        st.success("Nothing left to review at this threshold." if len(shown) else "No pairs at this threshold: lower it to see more.")
    else:
        position = min(st.session_state.get("duplicates_position", 0), len(queue) - 1)
        pair = queue.iloc[position]
        chance = f" · same product with probability **{pair['probability']:.0%}**" if learnt is not None else ""
        st.markdown(f"Pair {position + 1:,} of {len(queue):,} · similarity **{pair['score']:.2f}**{chance} · "
                    f"prodsim suggests: **{LABEL_BUTTONS[pair['suggested']].lower()}**")
        left, right = products.iloc[int(pair["left"])], products.iloc[int(pair["right"])]
        first, second = st.columns(2)
        with first:
            product_cards.product_card(workspace, left, key="duplicates_left")
        with second:
            product_cards.product_card(workspace, right, key="duplicates_right")
        comparison(int(pair["left"]), int(pair["right"]))
        buttons = st.columns(len(LABEL_BUTTONS) + 2)
        for column, (label, caption) in zip(buttons, LABEL_BUTTONS.items()):
            # The click labels the pair this run drew, checked against the label it showed (a colleague may have decided since).
            team.decision_button(column, caption, f"duplicates_label_{label}", "reviewer", label_pair, pair["left_id"], pair["right_id"],
                                 label, pair["label"], position, type="primary" if label == pair["suggested"] else "secondary")
        if buttons[-2].button("Skip", key="duplicates_skip"):
            st.session_state["duplicates_position"] = (position + 1) % len(queue)
            st.rerun()
        team.decision_button(buttons[-1], "Undo my last decision", "duplicates_undo", "reviewer", store.undo,
                             done="Undid your last decision.", help="Undoes your own latest label; a colleague's stay.")


def listing_groups() -> None:
    groups = api.one_product_groups(shown, len(products))
    table = products.assign(group=groups)[groups >= 0]
    sizes = table.groupby("group").size().sort_values(ascending=False)
    st.caption(f"{len(sizes):,} groups of listings that are one product ({len(table):,} listings); "
               "reviewed pairs count as decided, the rest as suggested.")
    for group in sizes.index[:20]:
        members = table[table["group"] == group]
        with st.expander(f"{literal(members['title'].iloc[0])} — {len(members)} listings"):
            product_cards.card_grid(workspace, members.assign(score=None), key=f"duplicates_group_{group}", score_column=None)


def decisions() -> None:
    labels = store.labels()
    same = int((labels["label"] == "duplicate").sum())
    more_same, more_other = api.duplicate_decisions_needed(labels)
    with st.container(border=True):
        st.markdown("**Learn from my decisions.** prodsim learns what you call a duplicate from the pairs you marked and "
                    "re-ranks every pair with it.")
        if more_same or more_other:
            needed = [text for count, text in ((more_same, f"{more_same} more as the same product"),
                                               (more_other, f"{more_other} more as a variant or different")) if count]
            st.caption(f"To start, mark {' and '.join(needed)}.")
        decided = f"{len(labels):,} decision" + ("" if len(labels) == 1 else "s")
        if st.button(f"Learn from {decided} ({same:,} same product)", key="duplicates_learn",
                     disabled=not team.allowed("reviewer") or bool(more_same or more_other), help=team.needs("reviewer")):
            with st.spinner("Learning from your decisions…"):
                model = ui.show_errors(api.learn_duplicates, workspace, candidate_pairs(state, same_seller), products, state)
            if model is not None:
                st.session_state["duplicates_learnt"] = (
                    f"Learnt from {model.details['decisions']:,} decisions in {model.details['seconds']} s. The pairs are now "
                    f"suggested by {learnt_from_decisions(model.details)}.")
                st.rerun()
        if "duplicates_learnt" in st.session_state:
            st.success(st.session_state.pop("duplicates_learnt"))
    if labels.empty:
        st.info("No decisions yet. Review pairs in the first tab; each decision is saved at once and can be undone.")
    else:
        titles = products.set_index("id")["title"]
        export = labels.assign(left_title=labels["left_id"].map(titles), right_title=labels["right_id"].map(titles))
        st.dataframe(export, hide_index=True, width="stretch", key="duplicates_decisions")
        st.download_button("Download decisions (CSV)", api.csv_bytes(export),
                           file_name=f"{workspace.slug}-duplicate-decisions.csv", mime="text/csv", key="duplicates_export")


SECTIONS = {"Review pairs": review_pairs, "Groups": listing_groups, "Decisions": decisions}
for tab, draw in zip(st.tabs(list(SECTIONS), key="duplicates_section", on_change="rerun"), SECTIONS.values()):
    if tab.open:  # only the open tab runs
        with tab:
            draw()
