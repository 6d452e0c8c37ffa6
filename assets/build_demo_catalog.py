"""Writes assets/demo_catalog.csv: an invented catalog for demos and tests.

Every brand, product and description here is made up for prodsim. The catalog is built
from hand-written product lines per category, then given the mess that real catalogs
have: the same item listed by several sellers with reworded titles (near-duplicates),
size and colour variants, and a few products filed under the wrong category.

Run `python assets/build_demo_catalog.py` to regenerate; the output is deterministic.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

# category -> list of (product line, brand, base price, description, variant axis, variant values)
CATALOG: dict[str, list[tuple[str, str, float, str, str, list[str]]]] = {
    "Kitchen Appliances": [
        ("Countertop Blender 1200W", "Halvorsen", 89.0, "Six-blade jug blender with pulse, ice crush and a 1.8 l glass jar; crushes frozen fruit for smoothies in under a minute.", "colour", ["Black", "Silver"]),
        ("Electric Kettle 1.7 l", "Brightfold", 34.5, "Cordless kettle with a 360-degree base, boil-dry protection and a blue water window.", "colour", ["White", "Matte Black", "Cream"]),
        ("Two-Slice Toaster", "Halvorsen", 42.0, "Wide-slot toaster with seven browning levels, defrost and reheat; removable crumb tray.", "colour", ["Red", "Stainless"]),
        ("Air Fryer 4.5 l", "Corvex", 119.0, "Hot-air fryer with a non-stick basket, digital timer and eight presets for fries, chicken and fish.", "", []),
        ("Stand Mixer 5 qt", "Brightfold", 249.0, "Tilt-head stand mixer with a stainless bowl, dough hook, flat beater and whisk; ten speeds.", "colour", ["Ivory", "Sage Green"]),
        ("Hand Blender with Whisk", "Corvex", 39.9, "Immersion stick blender, 600 W, with a whisk attachment and a 700 ml beaker for soups and sauces.", "", []),
        ("Rice Cooker 10-Cup", "Kaito", 64.0, "Fuzzy-logic rice cooker with keep-warm, steaming tray and a porridge setting.", "", []),
        ("Slow Cooker 6 l", "Halvorsen", 54.0, "Oval slow cooker with a removable ceramic pot and three heat settings for stews.", "", []),
        ("Food Processor 3 l", "Kaito", 99.0, "Food processor with slicing and grating discs, a chopping blade and a dough tool.", "", []),
    ],
    "Cookware": [
        ("Cast Iron Skillet", "Ironwood", 29.0, "Pre-seasoned cast iron frying pan that goes from hob to oven; holds heat for searing steaks.", "size", ["20 cm", "26 cm", "30 cm"]),
        ("Non-Stick Frying Pan", "Panterra", 24.5, "Aluminium frying pan with a three-layer non-stick coating, suitable for induction.", "size", ["24 cm", "28 cm"]),
        ("Stainless Steel Saucepan Set", "Panterra", 89.0, "Set of three saucepans with glass lids and encapsulated bases, dishwasher safe.", "", []),
        ("Enamelled Dutch Oven 5 l", "Ironwood", 79.0, "Round enamelled cast iron casserole for braising, baking bread and slow roasting.", "colour", ["Flame Orange", "Navy"]),
        ("Carbon Steel Wok 32 cm", "Kaito", 36.0, "Flat-bottom carbon steel wok with a wooden handle for high-heat stir frying.", "", []),
        ("Chef's Knife 20 cm", "Sekira", 59.0, "Forged stainless chef's knife with a full tang and a balanced handle for everyday chopping.", "", []),
        ("Bamboo Cutting Board", "Greenloom", 18.0, "Thick bamboo chopping board with a juice groove and handles.", "size", ["Medium", "Large"]),
        ("Silicone Baking Mat Pair", "Panterra", 12.0, "Two reusable non-stick baking sheets liners that fit half-sheet trays.", "", []),
    ],
    "Coffee & Tea": [
        ("Espresso Machine 15 bar", "Caffora", 199.0, "Pump espresso machine with a steam wand for milk froth and a removable water tank.", "colour", ["Black", "Red"]),
        ("Burr Coffee Grinder", "Caffora", 79.0, "Conical burr grinder with 18 grind settings from espresso fine to French press coarse.", "", []),
        ("French Press", "Brightfold", 27.0, "Glass cafetiere with a stainless steel frame and a four-level filter.", "size", ["350 ml", "1 l"]),
        ("Pour-Over Coffee Dripper", "Kaito", 19.0, "Ceramic cone dripper for filter coffee, fits most mugs.", "", []),
        ("Whole Bean Coffee Dark Roast", "Montebravo", 21.0, "Dark roast arabica and robusta blend with notes of cocoa and toasted nuts.", "size", ["250 g", "1 kg"]),
        ("Loose Leaf Green Tea", "Jadepeak", 9.5, "Spring-picked sencha green tea leaves in a resealable pouch.", "size", ["100 g", "250 g"]),
        ("Milk Frother Electric", "Caffora", 34.0, "Electric milk frother for hot and cold foam, makes lattes and cappuccinos.", "", []),
        ("Glass Teapot with Infuser", "Jadepeak", 22.0, "Borosilicate glass teapot with a removable stainless infuser, 900 ml.", "", []),
    ],
    "Headphones & Audio": [
        ("Wireless Noise Cancelling Headphones", "Sonaro", 179.0, "Over-ear Bluetooth headphones with active noise cancellation and 30-hour battery life.", "colour", ["Black", "Silver", "Midnight Blue"]),
        ("True Wireless Earbuds", "Sonaro", 89.0, "In-ear Bluetooth earbuds with a charging case, touch controls and IPX4 sweat resistance.", "colour", ["White", "Black"]),
        ("Portable Bluetooth Speaker", "Vocalis", 59.0, "Waterproof portable speaker with 12 hours of playback and a built-in microphone.", "colour", ["Teal", "Black", "Coral"]),
        ("Wired Studio Headphones", "Vocalis", 69.0, "Closed-back monitoring headphones with a coiled cable and 50 mm drivers.", "", []),
        ("Soundbar with Subwoofer", "Sonaro", 229.0, "2.1 channel soundbar with a wireless subwoofer, HDMI ARC and optical input.", "", []),
        ("USB Condenser Microphone", "Vocalis", 79.0, "Cardioid USB microphone for podcasts and streaming with a desk stand.", "", []),
        ("Kids Volume-Limited Headphones", "Tinytune", 24.0, "On-ear headphones for children with 85 dB volume limit and a soft headband.", "colour", ["Pink", "Blue"]),
        ("Bluetooth Audio Receiver", "Vocalis", 25.0, "Bluetooth receiver that adds wireless streaming to older hi-fi systems.", "", []),
    ],
    "Phones & Accessories": [
        ("Smartphone 6.5 inch", "Novaphone", 349.0, "Android smartphone with a 6.5-inch OLED screen, triple camera and 5000 mAh battery.", "storage", ["128 GB", "256 GB"]),
        ("Smartphone 6.1 inch Compact", "Novaphone", 299.0, "Compact Android phone with a 6.1-inch display, fast charging and a 50 MP camera.", "colour", ["Graphite", "Mint"]),
        ("USB-C Fast Charger 65W", "Voltlink", 35.0, "GaN wall charger with two USB-C ports and one USB-A port for phones and laptops.", "", []),
        ("Magnetic Wireless Charging Pad", "Voltlink", 29.0, "15 W Qi wireless charger with a magnetic alignment ring and non-slip base.", "", []),
        ("Clear Phone Case", "Shellguard", 14.0, "Slim transparent case with raised edges and shock-absorbing corners.", "model", ["Novaphone 6.5", "Novaphone 6.1"]),
        ("Tempered Glass Screen Protector 2-Pack", "Shellguard", 9.0, "9H tempered glass screen protectors with an installation frame.", "", []),
        ("Power Bank", "Voltlink", 39.0, "High-capacity portable battery with USB-C power delivery and an LED charge display.", "capacity", ["10000 mAh", "20000 mAh"]),
        ("Braided USB-C Cable", "Voltlink", 11.0, "Nylon-braided USB-C to USB-C cable rated for 100 W charging.", "size", ["1 m", "2 m"]),
    ],
    "Computers & Office": [
        ("Laptop 14 inch 16 GB RAM 512 GB SSD", "Arcwise", 799.0, "Thin and light laptop with a 14-inch full HD screen, 16 GB memory and a 512 GB SSD.", "", []),
        ("Wireless Ergonomic Mouse", "Arcwise", 39.0, "Vertical ergonomic mouse with silent clicks and a rechargeable battery.", "colour", ["Grey", "Black"]),
        ("Mechanical Keyboard Tenkeyless", "Keystone", 89.0, "Tenkeyless mechanical keyboard with hot-swappable brown switches and white backlight.", "", []),
        ("27 inch 4K Monitor", "Arcwise", 329.0, "27-inch IPS monitor with 4K resolution, USB-C input and a height-adjustable stand.", "", []),
        ("USB-C Docking Station", "Voltlink", 119.0, "Laptop dock with two HDMI outputs, Ethernet, SD card reader and 100 W pass-through.", "", []),
        ("Laptop Stand Aluminium", "Keystone", 32.0, "Foldable aluminium laptop riser with six height positions.", "", []),
        ("Webcam 1080p", "Arcwise", 49.0, "Full HD webcam with dual microphones and a privacy shutter.", "", []),
        ("A5 Dotted Notebook", "Papermoor", 12.5, "Hardcover A5 notebook with 160 dotted pages and an elastic closure.", "colour", ["Black", "Terracotta", "Olive"]),
        ("Gel Pen Set 12 Colours", "Papermoor", 8.0, "Smooth-writing 0.5 mm gel pens in twelve colours.", "", []),
    ],
    "Running Shoes": [
        ("Men's Road Running Shoe", "Stridewell", 120.0, "Cushioned neutral road running shoe with a breathable mesh upper and a rubber outsole.", "size", ["UK 8", "UK 9", "UK 10"]),
        ("Women's Road Running Shoe", "Stridewell", 120.0, "Lightweight neutral running trainer with responsive foam and a padded heel collar.", "size", ["UK 5", "UK 6"]),
        ("Trail Running Shoe", "Ridgeline", 135.0, "Trail shoe with deep lugs, a rock plate and a water-resistant upper for muddy paths.", "size", ["UK 8", "UK 10"]),
        ("Racing Flat Carbon Plate", "Stridewell", 210.0, "Race-day shoe with a full-length carbon plate and high-rebound foam.", "", []),
        ("Stability Running Shoe", "Paceform", 115.0, "Supportive running shoe with a medial post for runners who overpronate.", "", []),
        ("Running Socks 3-Pack", "Paceform", 15.0, "Cushioned anti-blister running socks with arch support.", "size", ["M", "L"]),
        ("Kids Running Trainers", "Paceform", 45.0, "Children's trainers with hook-and-loop straps and a flexible sole.", "", []),
    ],
    "Outdoor & Camping": [
        ("2-Person Dome Tent", "Ridgeline", 139.0, "Lightweight two-person backpacking tent with a waterproof flysheet and aluminium poles.", "", []),
        ("Sleeping Bag 3-Season", "Ridgeline", 79.0, "Mummy sleeping bag rated to -2 C with a compression sack.", "", []),
        ("Insulated Water Bottle", "Tundra Co", 25.0, "Double-walled stainless bottle that keeps drinks cold for 24 hours and hot for 12.", "size", ["500 ml", "750 ml", "1 l"]),
        ("Camping Stove Gas", "Emberline", 45.0, "Compact single-burner gas stove with piezo ignition and a carry case.", "", []),
        ("LED Head Torch Rechargeable", "Emberline", 29.0, "USB-rechargeable head torch with 400 lumens and a red night mode.", "", []),
        ("Hiking Backpack 40 l", "Tundra Co", 99.0, "Hiking rucksack with a ventilated back panel, hip belt and rain cover.", "colour", ["Forest Green", "Charcoal"]),
        ("Self-Inflating Sleeping Mat", "Ridgeline", 55.0, "Foam-core sleeping pad that inflates itself, 5 cm thick.", "", []),
        ("Trekking Poles Pair", "Tundra Co", 39.0, "Adjustable aluminium walking poles with cork grips and flick locks.", "", []),
    ],
    "Skincare": [
        ("Hydrating Face Moisturiser", "Lumea", 18.0, "Daily moisturising cream with hyaluronic acid and ceramides for dry skin.", "size", ["50 ml", "100 ml"]),
        ("Vitamin C Serum", "Lumea", 24.0, "Brightening face serum with 15% vitamin C and ferulic acid.", "", []),
        ("Gentle Foaming Cleanser", "Puracare", 12.0, "Soap-free foaming face wash for sensitive skin, fragrance free.", "size", ["150 ml", "400 ml"]),
        ("Mineral Sunscreen SPF 50", "Puracare", 16.0, "Broad-spectrum zinc oxide sunscreen with a light, non-greasy finish.", "", []),
        ("Retinol Night Cream", "Lumea", 29.0, "Overnight cream with encapsulated retinol to smooth fine lines.", "", []),
        ("Lip Balm Trio", "Puracare", 7.5, "Three shea butter lip balms: unscented, mint and vanilla.", "", []),
        ("Clay Face Mask", "Lumea", 14.0, "Kaolin clay mask that draws out oil and tightens pores.", "", []),
    ],
    "Toys & Games": [
        ("Wooden Building Blocks 100 Pieces", "Tumblewood", 34.0, "Natural beech wood blocks in a storage crate for toddlers aged two and up.", "", []),
        ("1000-Piece Jigsaw Puzzle Harbour", "Puzzlecraft", 17.0, "Jigsaw puzzle of a painted fishing harbour at dusk, 68 x 48 cm finished.", "", []),
        ("Family Strategy Board Game", "Meeplewood", 39.0, "Tile-laying board game for two to five players, about 45 minutes a game.", "", []),
        ("Remote Control Car Off-Road", "Zoomix", 49.0, "1:16 scale off-road RC car with a rechargeable battery and 2.4 GHz remote.", "colour", ["Red", "Green"]),
        ("Plush Teddy Bear", "Tumblewood", 21.0, "Soft brown teddy bear with embroidered eyes, safe from birth.", "size", ["30 cm", "50 cm"]),
        ("Magnetic Tiles Set 60 Pieces", "Zoomix", 45.0, "Translucent magnetic building tiles for 3D shapes and towers.", "", []),
        ("Card Game Party Edition", "Meeplewood", 15.0, "Fast party card game for three to eight players.", "", []),
        ("Wooden Train Set 50 Pieces", "Tumblewood", 59.0, "Wooden railway with bridges, a tunnel and magnetic carriages, compatible with most track.", "", []),
    ],
    "Furniture": [
        ("Oak Dining Table 6-Seater", "Hearthline", 649.0, "Solid oak dining table, 180 x 90 cm, with an oiled finish.", "", []),
        ("Upholstered Dining Chair", "Hearthline", 119.0, "Dining chair with a padded fabric seat and solid wood legs.", "colour", ["Grey", "Mustard"]),
        ("Three-Seater Sofa", "Loftmere", 899.0, "Three-seat sofa with feather-blend cushions and a kiln-dried hardwood frame.", "colour", ["Charcoal", "Oatmeal"]),
        ("Bookcase 5-Shelf", "Loftmere", 159.0, "Tall five-shelf bookcase in white oak effect, wall fixing included.", "", []),
        ("Bedside Table with Drawer", "Hearthline", 89.0, "Compact nightstand with one drawer and an open shelf.", "", []),
        ("Velvet Accent Armchair", "Loftmere", 279.0, "Wingback armchair in soft velvet with tapered walnut legs.", "colour", ["Emerald", "Blush"]),
        ("Office Chair Ergonomic Mesh", "Keystone", 229.0, "Mesh office chair with adjustable lumbar support, armrests and seat depth.", "", []),
        ("Standing Desk Electric", "Loftmere", 399.0, "Height-adjustable electric desk with dual motors and memory presets.", "size", ["120 x 60 cm", "160 x 80 cm"]),
    ],
    "Pet Supplies": [
        ("Grain-Free Dry Dog Food", "Pawsome", 49.0, "Grain-free adult dog food with salmon and sweet potato.", "size", ["2 kg", "12 kg"]),
        ("Cat Scratching Post", "Whiskerly", 29.0, "Sisal scratching post with a plush perch and a hanging toy.", "", []),
        ("Orthopaedic Dog Bed", "Pawsome", 69.0, "Memory foam dog bed with a washable cover and bolster sides.", "size", ["Medium", "Large"]),
        ("Clumping Cat Litter 10 l", "Whiskerly", 12.0, "Low-dust clumping clay litter with odour control.", "", []),
        ("Retractable Dog Lead 5 m", "Pawsome", 19.0, "Tape lead with a one-button brake for dogs up to 25 kg.", "", []),
        ("Wet Cat Food Pouches 12-Pack", "Whiskerly", 9.0, "Chunks in gravy cat food pouches, mixed poultry selection.", "", []),
        ("Aquarium Filter Internal", "Finwell", 24.0, "Internal aquarium filter for tanks of 60 to 120 litres.", "", []),
    ],
}

# Sellers with their own habits of writing a title.
SELLERS = ["ShopNorth", "MegaMart Online", "BargainBay", "Urban Goods Co", "PrimeStock Direct"]


def seller_rewrite(title: str, brand: str, rng: random.Random) -> str:
    """Rewrites a title the way another marketplace seller would list the same item."""
    styles = [
        lambda: f"{brand.upper()} {title.replace(brand + ' ', '')} - NEW",
        lambda: f"{title} | Free Delivery",
        lambda: f"{title.replace(brand + ' ', '')} by {brand}",
        lambda: f"{brand} {title.replace(brand + ' ', '').lower()} (genuine)",
        lambda: f"[{brand}] {title.replace(brand + ' ', '')} - Fast Dispatch",
    ]
    return rng.choice(styles)()


def seller_description(description: str, rng: random.Random) -> str:
    """Another seller's copy of a description: trimmed, or padded with shop boilerplate."""
    first_sentence = description.split(";")[0].split(", ")[0].rstrip(".") + "."
    return rng.choice([
        description,
        first_sentence,
        f"{description} Ships within 24 hours.",
        f"Brand new and boxed. {first_sentence}",
    ])


def build_rows(seed: int = 7) -> list[dict[str, str]]:
    """Returns the demo catalog rows, deterministic for a given seed."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []

    def add(title, description, brand, category, price, seller, colour="", size="", line=""):
        rows.append({
            "id": f"DEMO-{len(rows) + 1:04d}",
            "title": title,
            "description": description,
            "brand": brand,
            "category": category,
            "price": f"{price:.2f}",
            "seller": seller,
            "colour": colour,
            "size": size,
            "_line": line or title,  # what the product is, for its drawn photo (not written to the CSV)
        })

    for category, lines in CATALOG.items():
        for line, brand, price, description, axis, values in lines:
            base_title = f"{brand} {line}"
            seller = rng.choice(SELLERS)
            if values:
                for i, value in enumerate(values):
                    colour = value if axis == "colour" else ""
                    size = value if axis != "colour" else ""
                    add(f"{base_title}, {value}", description, brand, category,
                        price * (1 + 0.12 * i), seller, colour, size, line)
            else:
                add(base_title, description, brand, category, price, seller, line=line)
            # Most lines are also listed by one or two other sellers (near-duplicates).
            copies = int(rng.random() < 0.75) + int(rng.random() < 0.25)
            for other in rng.sample([s for s in SELLERS if s != seller], copies):
                add(seller_rewrite(base_title, brand, rng), seller_description(description, rng),
                    brand, category, round(price * rng.uniform(0.93, 1.06), 2), other, line=line)

    # Misfiled products: real items filed under a category they do not belong to.
    misfiled = [
        ("Sonaro Sleep Headband Headphones", "Soft fleece headband with flat speakers for sleeping and meditation.", "Sonaro", "Furniture", 35.0),
        ("Caffora Descaling Tablets 10-Pack", "Descaler tablets for espresso machines and kettles, removes limescale.", "Caffora", "Pet Supplies", 8.5),
        ("Stridewell Gel Insoles", "Shock-absorbing gel insoles that fit most running shoes.", "Stridewell", "Skincare", 19.0),
        ("Tundra Co Camping Mug Enamel", "Enamel steel camping mug, 350 ml, with a rolled rim.", "Tundra Co", "Toys & Games", 11.0),
        ("Voltlink Laptop Charger 90W", "Universal USB-C laptop power adapter with a 2 m cable.", "Voltlink", "Kitchen Appliances", 45.0),
        ("Whiskerly Cat Water Fountain", "Filtered water fountain for cats with a quiet pump, 2 l.", "Whiskerly", "Computers & Office", 32.0),
    ]
    for title, description, brand, category, price in misfiled:
        add(title, description, brand, category, price, rng.choice(SELLERS))
    return rows


def main() -> None:
    """Writes the CSV next to this script."""
    rows = build_rows()
    out = Path(__file__).with_name("demo_catalog.csv")
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[k for k in rows[0] if not k.startswith("_")], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} products to {out}")


if __name__ == "__main__":
    main()
