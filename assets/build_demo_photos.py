"""Writes assets/demo_photos/<id>.jpg: a drawn "product photo" for every product of the demo catalog.

The pictures are made here, not taken: each product line gets a silhouette that follows what
it is (a kettle has a spout and a handle, a shoe a sole, a sofa cushions), drawn in the
colour of its variant (or its brand's colour), and larger for larger sizes. Copies of one item
listed by other sellers show the same object shot a little differently (position, zoom,
background, a seller's badge), so photo similarity finds seller copies and same-shape
products, while colour variants differ in colour only.

Run `python assets/build_demo_photos.py` after `build_demo_catalog.py`; the output is deterministic.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, str(Path(__file__).parent))
from build_demo_catalog import build_rows  # noqa: E402

SIZE = 192
OUT = Path(__file__).with_name("demo_photos")
COLOURS = {
    "black": (34, 34, 38), "matte black": (52, 52, 56), "charcoal": (64, 66, 70), "graphite": (80, 84, 90),
    "grey": (140, 144, 150), "silver": (190, 194, 200), "stainless": (176, 180, 186), "white": (244, 244, 240),
    "ivory": (238, 232, 214), "cream": (240, 228, 200), "oatmeal": (214, 200, 176), "red": (196, 40, 46),
    "flame orange": (232, 96, 32), "coral": (244, 118, 100), "terracotta": (196, 98, 70), "pink": (240, 150, 180),
    "blush": (236, 186, 186), "mustard": (212, 170, 40), "sage green": (150, 176, 140), "mint": (160, 222, 196),
    "green": (60, 150, 80), "forest green": (34, 96, 58), "olive": (110, 116, 60), "emerald": (20, 140, 100),
    "teal": (20, 130, 140), "blue": (50, 110, 200), "navy": (30, 44, 90), "midnight blue": (26, 36, 76),
}
BRAND_PALETTE = [(52, 92, 160), (180, 70, 60), (70, 140, 110), (120, 90, 160), (200, 150, 60), (90, 100, 110),
                 (40, 130, 170), (170, 100, 130), (110, 140, 60), (150, 110, 80)]
SELLER_BACKGROUNDS = [(255, 255, 255), (246, 246, 246), (250, 247, 240), (240, 244, 248), (244, 248, 242)]


def shade(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """A darker (factor < 1) or lighter (factor > 1) tone of ``colour``."""
    if factor >= 1:
        return tuple(int(c + (255 - c) * (factor - 1)) for c in colour)
    return tuple(int(c * factor) for c in colour)


def brand_colour(brand: str) -> tuple[int, int, int]:
    """A stable colour per brand, for products without a colour of their own."""
    return BRAND_PALETTE[int(hashlib.sha1(brand.encode()).hexdigest(), 16) % len(BRAND_PALETTE)]


# --- silhouettes: each draws one object centred at (x, y) with scale s (about half its width) ---------
def kettle(d, x, y, s, c):
    d.rounded_rectangle([x - s * .6, y - s * .5, x + s * .6, y + s * .8], s * .25, fill=c)
    d.polygon([(x - s * .6, y - s * .2), (x - s * 1.05, y - s * .55), (x - s * .95, y - s * .35), (x - s * .6, y + s * .1)], fill=c)
    d.arc([x + s * .35, y - s * .45, x + s * 1.0, y + s * .45], -90, 90, fill=shade(c, .6), width=max(3, int(s * .14)))
    d.rectangle([x - s * .7, y + s * .8, x + s * .7, y + s * .95], fill=shade(c, .55))


def jug(d, x, y, s, c):
    d.polygon([(x - s * .55, y - s), (x + s * .55, y - s), (x + s * .4, y + s * .3), (x - s * .4, y + s * .3)], fill=shade(c, 1.6))
    d.rounded_rectangle([x - s * .6, y + s * .3, x + s * .6, y + s], s * .15, fill=c)
    d.ellipse([x - s * .12, y + s * .5, x + s * .12, y + s * .74], fill=shade(c, 1.5))


def box_appliance(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .45, x + s, y + s * .7], s * .25, fill=c)
    for offset in (-.45, .15):
        d.rounded_rectangle([x + s * offset, y - s * .5, x + s * (offset + .3), y - s * .3], s * .05, fill=shade(c, .45))
    d.ellipse([x + s * .6, y + s * .1, x + s * .85, y + s * .35], fill=shade(c, 1.5))


def pan(d, x, y, s, c):
    d.ellipse([x - s * .8, y - s * .6, x + s * .5, y + s * .6], fill=shade(c, .8))
    d.ellipse([x - s * .68, y - s * .48, x + s * .38, y + s * .48], fill=shade(c, .55))
    d.rounded_rectangle([x + s * .45, y - s * .1, x + s * 1.15, y + s * .1], s * .08, fill=shade(c, .4))


def pot(d, x, y, s, c):
    d.rounded_rectangle([x - s * .75, y - s * .4, x + s * .75, y + s * .75], s * .2, fill=c)
    d.ellipse([x - s * .8, y - s * .6, x + s * .8, y - s * .25], fill=shade(c, .8))
    d.ellipse([x - s * .15, y - s * .8, x + s * .15, y - s * .55], fill=shade(c, .5))
    for side in (-1, 1):
        left, right = sorted([x + side * s * .75, x + side * s * 1.0])
        d.rounded_rectangle([left, y - s * .2, right, y], s * .05, fill=shade(c, .6))


def blade(d, x, y, s, c):
    d.polygon([(x - s, y - s * .1), (x + s * .3, y - s * .25), (x + s * .3, y + s * .12), (x - s * .6, y + s * .12)], fill=(200, 204, 210))
    d.rounded_rectangle([x + s * .3, y - s * .18, x + s * 1.05, y + s * .1], s * .08, fill=c)


def board(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .6, x + s * .8, y + s * .6], s * .15, fill=c)
    d.ellipse([x + s * .55, y - s * .12, x + s * .75, y + s * .08], fill=(255, 255, 255))


def cup(d, x, y, s, c):
    d.rounded_rectangle([x - s * .55, y - s * .5, x + s * .45, y + s * .7], s * .18, fill=c)
    d.arc([x + s * .2, y - s * .25, x + s * .85, y + s * .4], -90, 90, fill=c, width=max(3, int(s * .16)))
    d.ellipse([x - s * .8, y + s * .62, x + s * .7, y + s * .85], fill=shade(c, .7))


def bag(d, x, y, s, c):
    d.rounded_rectangle([x - s * .6, y - s * .7, x + s * .6, y + s * .8], s * .12, fill=c)
    d.rectangle([x - s * .6, y - s * .7, x + s * .6, y - s * .45], fill=shade(c, .7))
    d.rounded_rectangle([x - s * .35, y - s * .05, x + s * .35, y + s * .25], s * .06, fill=shade(c, 1.5))


def headphones(d, x, y, s, c):
    d.arc([x - s * .85, y - s * .9, x + s * .85, y + s * .6], 180, 360, fill=c, width=max(4, int(s * .16)))
    for side in (-1, 1):
        cx = x + side * s * .78
        d.rounded_rectangle([cx - s * .25, y - s * .25, cx + s * .25, y + s * .55], s * .18, fill=shade(c, .8))


def buds(d, x, y, s, c):
    d.rounded_rectangle([x - s * .75, y - s * .1, x + s * .75, y + s * .7], s * .3, fill=shade(c, 1.3))
    for side in (-1, 1):
        d.ellipse([x + side * s * .45 - s * .22, y - s * .7, x + side * s * .45 + s * .22, y - s * .25], fill=c)


def speaker(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .5, x + s, y + s * .5], s * .5, fill=c)
    for offset in (-.5, .5):
        d.ellipse([x + s * offset - s * .3, y - s * .3, x + s * offset + s * .3, y + s * .3], fill=shade(c, .55))


def slab(d, x, y, s, c):
    d.rounded_rectangle([x - s * .5, y - s * .95, x + s * .5, y + s * .95], s * .15, fill=c)
    d.rounded_rectangle([x - s * .42, y - s * .8, x + s * .42, y + s * .8], s * .08, fill=(30, 40, 60))
    d.ellipse([x - s * .06, y - s * .9, x + s * .06, y - s * .82], fill=(90, 90, 90))


def cable(d, x, y, s, c):
    d.arc([x - s * .8, y - s * .8, x + s * .8, y + s * .8], 20, 340, fill=c, width=max(3, int(s * .1)))
    d.rounded_rectangle([x + s * .55, y - s * .4, x + s * .9, y - s * .15], s * .05, fill=shade(c, .6))


def laptop(d, x, y, s, c):
    d.rounded_rectangle([x - s * .8, y - s * .8, x + s * .8, y + s * .25], s * .06, fill=c)
    d.rectangle([x - s * .7, y - s * .7, x + s * .7, y + s * .15], fill=(40, 60, 90))
    d.polygon([(x - s, y + s * .3), (x + s, y + s * .3), (x + s * .9, y + s * .5), (x - s * .9, y + s * .5)], fill=shade(c, .8))


def mouse(d, x, y, s, c):
    d.ellipse([x - s * .5, y - s * .85, x + s * .5, y + s * .85], fill=c)
    d.line([x, y - s * .85, x, y - s * .25], fill=shade(c, .5), width=max(2, int(s * .05)))


def keyboard(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .45, x + s, y + s * .45], s * .08, fill=c)
    for row in range(3):
        for col in range(8):
            kx, ky = x - s * .88 + col * s * .22, y - s * .33 + row * s * .24
            d.rectangle([kx, ky, kx + s * .16, ky + s * .16], fill=shade(c, 1.4))


def book(d, x, y, s, c):
    d.rounded_rectangle([x - s * .6, y - s * .85, x + s * .6, y + s * .85], s * .05, fill=c)
    d.rectangle([x - s * .6, y - s * .85, x - s * .45, y + s * .85], fill=shade(c, .6))


def shoe(d, x, y, s, c):
    d.polygon([(x - s, y + s * .1), (x - s * .85, y - s * .45), (x - s * .3, y - s * .5), (x + s * .2, y - s * .1),
               (x + s, y + s * .05), (x + s, y + s * .3), (x - s, y + s * .3)], fill=c)
    d.rectangle([x - s, y + s * .3, x + s, y + s * .45], fill=(236, 236, 232))
    d.line([x - s * .55, y - s * .35, x - s * .1, y - s * .05], fill=shade(c, 1.6), width=max(2, int(s * .06)))


def tent(d, x, y, s, c):
    d.polygon([(x - s, y + s * .7), (x, y - s * .8), (x + s, y + s * .7)], fill=c)
    d.polygon([(x - s * .25, y + s * .7), (x, y - s * .1), (x + s * .25, y + s * .7)], fill=shade(c, .5))


def bottle(d, x, y, s, c):
    d.rounded_rectangle([x - s * .35, y - s * .6, x + s * .35, y + s * .95], s * .15, fill=c)
    d.rounded_rectangle([x - s * .2, y - s * .95, x + s * .2, y - s * .55], s * .06, fill=shade(c, .6))


def jar(d, x, y, s, c):
    d.rounded_rectangle([x - s * .75, y - s * .2, x + s * .75, y + s * .65], s * .2, fill=shade(c, 1.5))
    d.rounded_rectangle([x - s * .8, y - s * .5, x + s * .8, y - s * .15], s * .1, fill=c)


def tube(d, x, y, s, c):
    d.polygon([(x - s * .35, y - s * .85), (x + s * .35, y - s * .85), (x + s * .25, y + s * .7), (x - s * .25, y + s * .7)],
              fill=shade(c, 1.45))
    d.rounded_rectangle([x - s * .2, y + s * .7, x + s * .2, y + s * .95], s * .05, fill=c)


def teddy(d, x, y, s, c):
    for side in (-1, 1):
        d.ellipse([x + side * s * .45 - s * .2, y - s * .95, x + side * s * .45 + s * .2, y - s * .55], fill=c)
    d.ellipse([x - s * .5, y - s * .85, x + s * .5, y - s * .05], fill=c)
    d.ellipse([x - s * .65, y - s * .2, x + s * .65, y + s * .9], fill=c)
    d.ellipse([x - s * .15, y - s * .5, x + s * .15, y - s * .25], fill=shade(c, 1.5))


def car(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .2, x + s, y + s * .35], s * .12, fill=c)
    d.polygon([(x - s * .5, y - s * .2), (x - s * .25, y - s * .6), (x + s * .35, y - s * .6), (x + s * .6, y - s * .2)], fill=shade(c, .8))
    for wheel in (-.6, .6):
        d.ellipse([x + s * wheel - s * .25, y + s * .15, x + s * wheel + s * .25, y + s * .65], fill=(30, 30, 30))


def blocks(d, x, y, s, c):
    palette = [c, shade(c, 1.5), shade(c, .6), (230, 180, 60)]
    for i, (bx, by) in enumerate([(-.9, .1), (0, .1), (-.45, -.7), (.9, .1)][:4]):
        d.rectangle([x + s * bx - s * .4, y + s * by, x + s * bx + s * .4, y + s * by + s * .8], fill=palette[i % 4])


def seat(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .55, x + s, y + s * .2], s * .15, fill=shade(c, .85))
    d.rounded_rectangle([x - s, y + s * .05, x + s, y + s * .5], s * .12, fill=c)
    for leg in (-.85, .8):
        d.rectangle([x + s * leg, y + s * .5, x + s * leg + s * .08, y + s * .8], fill=(90, 70, 50))


def table(d, x, y, s, c):
    d.rectangle([x - s, y - s * .35, x + s, y - s * .2], fill=c)
    for leg in (-.9, .82):
        d.rectangle([x + s * leg, y - s * .2, x + s * leg + s * .08, y + s * .85], fill=shade(c, .7))


def shelves(d, x, y, s, c):
    d.rectangle([x - s * .6, y - s, x + s * .6, y + s], fill=c)
    for row in range(4):
        top = y - s * .9 + row * s * .47
        d.rectangle([x - s * .5, top, x + s * .5, top + s * .37], fill=shade(c, .6))


def cushion(d, x, y, s, c):
    d.rounded_rectangle([x - s, y - s * .3, x + s, y + s * .55], s * .35, fill=c)
    d.rounded_rectangle([x - s * .75, y - s * .1, x + s * .75, y + s * .35], s * .2, fill=shade(c, 1.35))


def bowl(d, x, y, s, c):
    d.chord([x - s, y - s * .7, x + s, y + s * .7], 0, 180, fill=c)
    d.ellipse([x - s, y - s * .2, x + s, y + s * .2], fill=shade(c, .7))


def post(d, x, y, s, c):
    d.rectangle([x - s * .18, y - s * .8, x + s * .18, y + s * .6], fill=(200, 170, 120))
    d.rectangle([x - s * .8, y + s * .6, x + s * .8, y + s * .85], fill=c)
    d.rectangle([x - s * .55, y - s * .95, x + s * .55, y - s * .75], fill=c)


# Words of a product line -> silhouette; the first match wins, so specific words come first.
SHAPES = [
    (r"bookcase", shelves), (r"kettle", kettle), (r"blender|processor|frother|jug", jug), (r"toaster|fryer|mixer|cooker|espresso|grinder|stove|dock", box_appliance),
    (r"skillet|frying|wok", pan), (r"saucepan|dutch|casserole", pot), (r"knife|poles", blade), (r"board|mat|protector", board),
    (r"mug|teapot|press|dripper", cup), (r"coffee|tea|food|litter|pouches|tablets", bag), (r"headphones|headband", headphones),
    (r"earbuds", buds), (r"speaker|soundbar|receiver|microphone|webcam|torch", speaker), (r"smartphone|case|power bank|charging pad", slab),
    (r"cable|charger|lead", cable), (r"laptop|monitor", laptop), (r"mouse", mouse), (r"keyboard", keyboard),
    (r"notebook|pen|puzzle|game|card", book), (r"shoe|trainers|flat|insoles|socks", shoe), (r"tent", tent),
    (r"bottle|serum|sunscreen|fountain|filter", bottle), (r"moisturiser|cream|mask|balm", jar), (r"cleanser", tube),
    (r"teddy|plush", teddy), (r"car\b|train", car), (r"blocks|tiles", blocks), (r"chair|armchair|sofa", seat),
    (r"table|desk|stand", table), (r"bed|sleeping", cushion), (r"bowl", bowl), (r"post", post),
    (r"backpack|bag", bag),
]


def silhouette(title: str):
    """The drawing function for a product line, by the first matching word of its title."""
    lowered = title.lower()
    return next((draw for pattern, draw in SHAPES if re.search(pattern, lowered)), box_appliance)


SIZE_WORDS = {"medium": .9, "large": 1.1}


def size_factor(size: str) -> float:
    """Larger variants are drawn larger: '30 cm' vs '20 cm', '1 kg' vs '250 g', 'Large'."""
    if size.lower() in SIZE_WORDS:
        return SIZE_WORDS[size.lower()]
    number = re.match(r"(?:uk\s*)?([\d.]+)\s*(kg|g|l|ml|cm)?", size.lower())
    if not number:
        return 1.0
    value = float(number.group(1)) * {"kg": 1000, "l": 1000}.get(number.group(2) or "", 1)
    return 0.8 + 0.3 * min(1.0, value / (100 if number.group(2) == "cm" else 1000 if number.group(2) else 12))


def draw_photo(line_title: str, colour: tuple[int, int, int], scale: float, seller: int, rng: random.Random) -> Image.Image:
    """One product photo: the line's silhouette on a seller's background, shot with a little jitter."""
    image = Image.new("RGB", (SIZE, SIZE), SELLER_BACKGROUNDS[seller % len(SELLER_BACKGROUNDS)])
    x, y = SIZE / 2 + rng.uniform(-8, 8), SIZE / 2 + rng.uniform(-6, 6)
    s = SIZE * 0.33 * scale * rng.uniform(0.94, 1.06)
    shadow = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(shadow).ellipse([x - s, y + s * .85, x + s, y + s * 1.05], fill=70)
    image.paste((200, 200, 200), mask=shadow.filter(ImageFilter.GaussianBlur(6)))
    layer = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    silhouette(line_title)(ImageDraw.Draw(layer), x, y, s, colour)
    mask = layer.getchannel("A")
    image.paste((150, 150, 150), mask=mask.filter(ImageFilter.MaxFilter(3)))  # a thin edge: white products show too
    image.paste(layer, mask=mask)
    if seller % 3 == 2:  # some sellers stamp a badge on their photos
        ImageDraw.Draw(image).rounded_rectangle([8, 8, 58, 26], 5, fill=(220, 40, 40))
    return image


def main() -> None:
    """Writes one JPEG per demo product, named by its id (the upload matches photos by id)."""
    OUT.mkdir(exist_ok=True)
    rows = build_rows()
    sellers = sorted({row["seller"] for row in rows})
    line_colours: dict[str, tuple[int, int, int]] = {}
    for row in rows:
        line = row["_line"]
        named = COLOURS.get(row["colour"].lower())
        colour = named or line_colours.get(line) or brand_colour(row["brand"])
        line_colours.setdefault(line, colour)
        rng = random.Random(row["id"])
        photo = draw_photo(line, colour, size_factor(row["size"]), sellers.index(row["seller"]), rng)
        photo.save(OUT / f"{row['id']}.jpg", quality=82, optimize=True)
    print(f"wrote {len(rows)} photos to {OUT}")


if __name__ == "__main__":
    main()
