"""Writes assets/demo_behaviour.csv: an invented purchase log for the demo catalog.

Made up for prodsim, like the catalog: 240 customers over 2025, each with one or two favourite
categories; popular products sell more (Zipf); a fifth of the products launch during the year
and sell only from then on; a few lines are returns (negative quantities) and shipping charges
(a code the catalog does not have), so the Insights page has something to say about them.

Run `python assets/build_demo_behaviour.py` after the catalog; the output is deterministic.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
CUSTOMERS = 240
START = datetime(2025, 1, 6, 9, 0)


def main() -> None:
    rng = random.Random(7)
    with open(HERE / "demo_catalog.csv", newline="", encoding="utf-8") as handle:
        products = list(csv.DictReader(handle))
    by_category: dict[str, list[dict]] = {}
    for product in products:
        by_category.setdefault(product["category"], []).append(product)
    popularity = {p["id"]: 1 / (1 + rank) ** 0.8 for items in by_category.values()
                  for rank, p in enumerate(rng.sample(items, len(items)))}
    launch = {p["id"]: START + timedelta(days=rng.randint(60, 300)) if rng.random() < 0.2 else START for p in products}
    categories = sorted(by_category)
    rows = []
    for number in range(CUSTOMERS):
        customer = f"C{1000 + number}"
        favourites = rng.sample(categories, rng.choice([1, 2]))
        day = START + timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 9))
        for order in range(rng.choice([1, 2, 2, 3, 4, 5, 6])):
            invoice = f"INV-{number:03d}-{order}"
            for _ in range(rng.randint(1, 4)):
                pool = by_category[rng.choice(favourites)] if rng.random() < 0.8 else by_category[rng.choice(categories)]
                pool = [p for p in pool if launch[p["id"]] <= day] or pool[:1]
                product = rng.choices(pool, weights=[popularity[p["id"]] for p in pool])[0]
                quantity = rng.choice([1, 1, 1, 2, 3])
                rows.append((customer, invoice, product["id"], day.strftime("%Y-%m-%d %H:%M"), quantity))
                if rng.random() < 0.03:
                    rows.append((customer, invoice + "-R", product["id"], (day + timedelta(days=9)).strftime("%Y-%m-%d %H:%M"), -1))
            if rng.random() < 0.3:
                rows.append((customer, invoice, "SHIPPING", day.strftime("%Y-%m-%d %H:%M"), 1))
            day += timedelta(days=rng.randint(10, 70))
            if day.year > 2025:
                break
    rows.sort(key=lambda r: r[3])
    with open(HERE / "demo_behaviour.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "invoice", "product_id", "timestamp", "quantity"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} lines for {CUSTOMERS} customers")


if __name__ == "__main__":
    main()
