"""Draw the app icons once (run from the project root; the PNGs are committed).

    .venv/bin/python scripts/make_icons.py

A white 驻 on the journal's red; the maskable icon keeps the glyph inside the 80% safe zone.
Needs Pillow and a CJK font (Debian: fonts-noto-cjk); falls back to a drawn notebook without one.
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

RED, PAPER = (183, 28, 28), (255, 253, 248)
OUT = Path(__file__).resolve().parent.parent / "app" / "static" / "icons"
FONTS = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"]


def font(size):
    for path in FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=2 if path.endswith("NotoSansCJK-Bold.ttc") else 0)
    return None


def draw(size: int, glyph_share: float, rounded: bool) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0) if rounded else RED + (255,))
    pen = ImageDraw.Draw(image)
    if rounded:
        pen.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 6, fill=RED)
    face = font(int(size * glyph_share))
    if face is not None:
        pen.text((size / 2, size / 2), "驻", font=face, fill=PAPER, anchor="mm")
    else:  # a notebook with lines
        m = size * (1 - glyph_share) / 2
        pen.rectangle((m, m, size - m, size - m), fill=PAPER)
        for i in range(1, 5):
            y = m + i * (size - 2 * m) / 5
            pen.line((m * 1.3, y, size - m * 1.3, y), fill=RED, width=max(2, size // 64))
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(192, 0.62, True).save(OUT / "icon-192.png", optimize=True)
    draw(512, 0.62, True).save(OUT / "icon-512.png", optimize=True)
    draw(512, 0.5, False).save(OUT / "icon-maskable-512.png", optimize=True)
    print("wrote", *sorted(p.name for p in OUT.glob("*.png")))


if __name__ == "__main__":
    main()
