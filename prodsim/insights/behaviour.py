"""Behaviour logs: who bought or viewed which product when, mapped onto a workspace's products.

A log is any table with a user (customer) id, a product id and a timestamp, optionally a
quantity, an order (invoice, basket, session) and an event type. Reading it never drops a row
silently: rows with unknown product ids, service codes (postage, fees, vouchers), returns
(negative quantities) and rows without a user are counted, shown with examples, and kept out of
what they would distort. The mapped log is saved in the workspace (``behaviour/``), replacing an
earlier one only when the new one is valid.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from prodsim.catalog import RawTable, _normalise
from prodsim.errors import BadInputError
from prodsim.workspace import Workspace, atomic_write_bytes, atomic_write_json, check_writable

LOG_FIELDS = ("user", "product", "timestamp", "quantity", "order", "event")
LOG_SYNONYMS: dict[str, tuple[str, ...]] = {
    "user": ("customerid", "customer", "userid", "user", "visitorid", "visitor", "clientid", "client", "memberid"),
    "product": ("productid", "stockcode", "sku", "itemid", "product", "item", "offerid", "asin"),
    "timestamp": ("timestamp", "invoicedate", "orderdate", "datetime", "eventtime", "time", "date", "ts"),
    "quantity": ("quantity", "qty", "units", "count", "amount"),
    "order": ("invoiceno", "invoice", "orderid", "order", "basketid", "basket", "sessionid", "session", "transactionid"),
    "event": ("event", "eventtype", "action", "type"),
}
# Codes in retail logs that are charges, not products (UCI Online Retail: POST, DOT, M, C2, BANK CHARGES, gift_...).
SERVICE_WORDS = re.compile(r"\b(?:postage|carriage|fee|charges?|manual|samples?|voucher|discount|adjust(?:ment)?|commission|"
                           r"shipping|delivery charge)\b", re.IGNORECASE)
EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
MIN_PARSED_SHARE = 0.9  # below this share of parseable timestamps the column is the wrong one


@dataclass
class LogReport:
    """What reading a log found; every count is a number of log rows."""

    rows: int
    used: int
    users: int
    products: int
    orders: int
    first: str
    last: str
    unknown_products: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    service_rows: int = 0
    service_examples: list[str] = field(default_factory=list)
    returns: int = 0
    no_user: int = 0
    bad_timestamps: int = 0
    zero_quantity: int = 0
    bad_quantities: int = 0
    bad_quantity_examples: list[str] = field(default_factory=list)
    no_quantity: int = 0  # rows with an empty quantity, counted as one unit
    future_timestamps: int = 0  # rows dated after the day the log was read
    email_users: int = 0  # user ids that were e-mail addresses, kept only as pseudonyms

    def dropped(self) -> int:
        """Rows not used, each counted once (unknown product, service code, timestamp, quantity, zero quantity)."""
        return (self.unknown_products + self.service_rows + self.bad_timestamps + self.bad_quantities + self.zero_quantity
                + self.future_timestamps)

    def messages(self) -> list[str]:
        """One sentence per thing a person should know, most important first."""
        said = []
        if self.unknown_products:
            said.append(f"{self.unknown_products:,} rows name product ids that are not in the catalog "
                        f"(e.g. {', '.join(self.unknown_examples)}); they are not used.")
        if self.service_rows:
            said.append(f"{self.service_rows:,} rows are charges or service codes rather than products "
                        f"({', '.join(self.service_examples)}); they are not recommended nor counted as sales.")
        if self.returns:
            said.append(f"{self.returns:,} rows have negative quantities: returns. They are subtracted from sales and are "
                        "not purchases in anyone's history.")
        if self.no_user:
            said.append(f"{self.no_user:,} rows have no user id: they count as sales but not in anyone's history.")
        if self.bad_timestamps:
            said.append(f"{self.bad_timestamps:,} rows have a timestamp that could not be read; they are not used.")
        if self.future_timestamps:
            said.append(f"{self.future_timestamps:,} rows are dated after today; they are not used.")
        if self.email_users:
            said.append(f"{self.email_users:,} user ids are e-mail addresses: prodsim keeps them only as pseudonyms "
                        "(user-<hash>), never the addresses.")
        if self.bad_quantities:
            said.append(f"{self.bad_quantities:,} rows have a quantity that is not a number (e.g. "
                        f"{', '.join(map(repr, self.bad_quantity_examples))}); they are not used.")
        if self.zero_quantity:
            said.append(f"{self.zero_quantity:,} rows have a quantity of 0; they are not used.")
        if self.no_quantity:
            said.append(f"{self.no_quantity:,} rows have no quantity; each counts as one unit.")
        return said


def guess_log_mapping(frame: pd.DataFrame) -> dict[str, str | None]:
    """Log field -> column, by name (each column used once)."""
    normalised = {c: _normalise(c) for c in frame.columns}
    mapping: dict[str, str | None] = dict.fromkeys(LOG_FIELDS)
    taken: set[str] = set()
    for name in LOG_FIELDS:
        for synonym in LOG_SYNONYMS[name]:
            hit = next((c for c in frame.columns if normalised[c] == synonym and c not in taken), None)
            if hit is not None:
                mapping[name] = hit
                taken.add(hit)
                break
    return mapping


def service_products(products: pd.DataFrame) -> np.ndarray:
    """Which catalog rows are charges or service codes (postage, bank charges, vouchers), not products."""
    ids, titles = products["id"].astype(str), products["title"].astype(str)
    return (titles.str.contains(SERVICE_WORDS) | ~ids.str.contains(r"\d")).to_numpy()


def _examples(values: pd.Series, n: int = 3) -> list[str]:
    return [str(v) for v in values.value_counts().index[:n]]


def read_log(raw: RawTable, mapping: dict[str, str | None], products: pd.DataFrame) -> tuple[pd.DataFrame, LogReport]:
    """Maps a behaviour log onto the catalog.

    Returns:
        Events (one per usable row): ``user`` ("" when unknown), ``product`` (catalog id), ``timestamp``,
        ``quantity`` (negative for returns), ``order``, ``event`` ("return" for returns); and the report.

    Raises:
        BadInputError: a missing user/product/timestamp column, an all-empty user column,
            timestamps that mostly do not parse, or no row naming a catalog product.
    """
    frame = raw.frame
    for needed in ("user", "product", "timestamp"):
        column = mapping.get(needed)
        if not column or column not in frame:
            raise BadInputError(f"Choose the column that holds the {needed} {'id' if needed != 'timestamp' else ''}".rstrip()
                                + f"; the log has: {', '.join(frame.columns[:12])}.")
    user = frame[mapping["user"]].str.strip().str.replace(r"\.0$", "", regex=True)
    if (user == "").all():
        raise BadInputError(f"The user id column '{mapping['user']}' is empty in every row; pick the column that says who bought.")
    emails = user.str.fullmatch(EMAIL)
    if emails.any():  # who bought what is kept in the workspace; an address there would be personal data
        user = user.where(~emails, user[emails].map(lambda address: "user-" + hashlib.sha256(address.lower().encode()).hexdigest()[:16]))
    timestamp = parse_timestamps(frame[mapping["timestamp"]], mapping["timestamp"])
    readable = timestamp.notna()
    if readable.mean() < MIN_PARSED_SHARE:
        bad = frame.loc[~readable, mapping["timestamp"]].head(3).tolist()
        raise BadInputError(f"Only {readable.mean():.0%} of the values in '{mapping['timestamp']}' read as dates or times "
                            f"(e.g. {', '.join(map(repr, bad))}); pick the column with the event time.")
    future = timestamp > pd.Timestamp.now() + pd.Timedelta(days=1)  # a typo'd year, not an event
    parsed = readable & ~future
    quantity_text = frame[mapping["quantity"]].str.strip() if mapping.get("quantity") else pd.Series("", index=frame.index)
    quantity = parse_quantities(quantity_text)
    no_quantity = (quantity_text == "") & bool(mapping.get("quantity"))
    quantity[quantity_text == ""] = 1.0
    bad_quantity = quantity.isna()
    product = frame[mapping["product"]].str.strip()
    rows = product_rows(pd.DataFrame({"product": product}), products)
    known = pd.Series(rows >= 0, index=frame.index)
    if not known.any():
        raise BadInputError(f"None of the product ids in '{mapping['product']}' is in the catalog (e.g. "
                            f"{', '.join(_examples(product))}; catalog ids look like {', '.join(products['id'].astype(str).head(3))}). "
                            "Pick the product id column or load the matching catalog.")
    service = pd.Series(False, index=frame.index)
    service[known] = service_products(products)[rows[known.to_numpy()]]
    returns = quantity < 0
    if not (known & ~service & parsed & (quantity > 0)).any():
        raise BadInputError("This log holds no purchase or view of a catalog product (only returns, zero quantities or "
                            "unusable rows), so there is nothing to learn from. Attach the log of purchases.")
    # Each unused row is counted under the first reason that applies, so the counts add up to the rows.
    kept = known & ~service
    reasons = {"future_timestamps": kept & future, "bad_timestamps": kept & ~parsed & ~future, "bad_quantities": kept & parsed & bad_quantity,
               "zero_quantity": kept & parsed & ~bad_quantity & (quantity == 0)}
    usable = kept & parsed & ~bad_quantity & (quantity != 0)
    order = frame[mapping["order"]].str.strip() if mapping.get("order") else user + "@" + timestamp.astype(str)
    events = pd.DataFrame({
        "user": user, "product": product, "timestamp": timestamp,
        "quantity": quantity.astype(float), "order": order,
        "event": np.where(returns, "return", frame[mapping["event"]].str.strip() if mapping.get("event") else "purchase"),
    })[usable].reset_index(drop=True)
    report = LogReport(
        rows=len(frame), used=len(events), users=int(events.loc[events["user"] != "", "user"].nunique()),
        products=int(events["product"].nunique()), orders=int(events["order"].nunique()),
        first=str(events["timestamp"].min())[:10], last=str(events["timestamp"].max())[:10],
        unknown_products=int((~known).sum()), unknown_examples=_examples(product[~known]),
        service_rows=int(service.sum()), service_examples=_examples(product[service]),
        returns=int((usable & returns).sum()), no_user=int((events["user"] == "").sum()),
        **{name: int(rows_.sum()) for name, rows_ in reasons.items()},
        bad_quantity_examples=_examples(quantity_text[reasons["bad_quantities"]]), no_quantity=int((usable & no_quantity).sum()),
        email_users=int(user[emails].nunique()))
    return events, report


def parse_timestamps(text: pd.Series, column: str) -> pd.Series:
    """Event times, naive UTC: offsets in one log may differ (each converted), and dates written d/m/y or m/d/y are
    read one way for the whole column (the way some value proves: a first number above 12 means day first).

    Raises:
        BadInputError: the column proves both orders (31/01 and 01/31), so no reading is safe.
    """
    parts = text.str.extract(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}").dropna().astype(int)
    day_first, month_first = bool((parts[0] > 12).any()), bool((parts[1] > 12).any())
    if day_first and month_first:
        raise BadInputError(f"'{column}' writes dates both day first (e.g. 31/01) and month first (e.g. 01/31), so none of "
                            "them can be read safely. Export the log with ISO dates (2011-01-31).")
    stamps = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=day_first, utc=True)
    return stamps.dt.tz_convert(None)


def parse_quantities(text: pd.Series) -> pd.Series:
    """Quantities as numbers: '3', '-2', '1,200' (thousands), '2.5'; NaN for words, ranges or infinity."""
    cleaned = text.str.replace(r"^([+-]?\d{1,3}(?:,\d{3})+)(\.\d+)?$", lambda m: m.group(1).replace(",", "") + (m.group(2) or ""),
                               regex=True)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    return numbers.where(np.isfinite(numbers))


def purchases(events: pd.DataFrame) -> pd.DataFrame:
    """The events that are purchases or views by a known user (what histories are made of)."""
    return events[(events["quantity"] > 0) & (events["user"] != "")]


def product_rows(events: pd.DataFrame, products: pd.DataFrame) -> np.ndarray:
    """Catalog row of each event's product (-1 when the catalog no longer has it)."""
    row_of = pd.Series(np.arange(len(products)), index=products["id"].astype(str))
    return events["product"].map(row_of).fillna(-1).astype(int).to_numpy()


def log_dir(workspace: Workspace):
    return workspace.path / "behaviour"


def log_version(workspace: Workspace) -> int | None:
    """Changes whenever another log is attached (a cache key); None when the workspace has none."""
    events = log_dir(workspace) / "events.parquet"
    return events.stat().st_mtime_ns if events.is_file() else None


def save_log(workspace: Workspace, events: pd.DataFrame, report: LogReport, source_name: str) -> None:
    """Keeps the mapped log in the workspace (replacing an earlier log)."""
    check_writable("attaching a behaviour log", "admin")
    folder = log_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "events.parquet", events.to_parquet(index=False))
    atomic_write_json(folder / "report.json", asdict(report) | {"source": source_name, "messages": report.messages()})
    workspace.record("attach_behaviour_log", {"source": source_name, "rows": report.rows, "used": report.used})


def load_log(workspace: Workspace) -> tuple[pd.DataFrame, dict] | None:
    """The workspace's behaviour log and its report, or None when none is attached."""
    folder = log_dir(workspace)
    if log_version(workspace) is None:
        return None
    return pd.read_parquet(folder / "events.parquet"), json.loads((folder / "report.json").read_text())
