"""The demo's photos: a few pictures drawn here (no camera, no place in them), sent the way a phone sends
them — an attachment op, then the bytes through the upload — so the township's pages have photos to show."""
from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

from . import sync_service
from .attachments import upload

# (photo key, owner type, owner key, caption, what the picture shows)
PHOTOS = [
    ("canal-before", "problem", "problem-canal", "渗漏处，靠近三组的田", "canal"),
    ("canal-journal", "journal", "journal-0", "村东头水渠", "canal"),
    ("rubbish-after", "problem", "problem-rubbish", "清理后的垃圾池", "clean"),
    ("meeting-tea", "meeting", "meeting-tea", "议事亭茶话会", "meeting"),
]


def picture(kind: str, size=(1200, 900)) -> bytes:
    """A plain drawing of a village scene, as a JPEG without metadata."""
    width, height = size
    image = Image.new("RGB", size, (150, 190, 225))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height * 0.45, width, height], fill=(96, 140, 70))          # fields
    draw.ellipse([width * 0.78, height * 0.08, width * 0.88, height * 0.21], fill=(250, 215, 90))  # sun
    if kind == "canal":
        draw.polygon([(width * 0.35, height), (width * 0.5, height * 0.45), (width * 0.56, height * 0.45),
                      (width * 0.65, height)], fill=(170, 165, 150))                   # the canal's concrete
        draw.polygon([(width * 0.42, height), (width * 0.52, height * 0.45), (width * 0.54, height * 0.45),
                      (width * 0.58, height)], fill=(70, 110, 160))                    # water
        draw.ellipse([width * 0.6, height * 0.7, width * 0.8, height * 0.85], fill=(60, 95, 120))  # the leak
    elif kind == "clean":
        draw.rectangle([width * 0.3, height * 0.5, width * 0.7, height * 0.85], fill=(200, 200, 195))
        draw.rectangle([width * 0.33, height * 0.55, width * 0.67, height * 0.82], fill=(120, 120, 118))
    else:  # the pavilion
        draw.polygon([(width * 0.25, height * 0.4), (width * 0.5, height * 0.2), (width * 0.75, height * 0.4)],
                     fill=(160, 40, 40))
        draw.rectangle([width * 0.3, height * 0.4, width * 0.7, height * 0.75], fill=(205, 180, 140))
        for i in range(6):
            x = width * (0.32 + i * 0.065)
            draw.ellipse([x, height * 0.62, x + width * 0.04, height * 0.68], fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def seed(user_of, id_of) -> bool:
    """Send the demo's photos as shuji's phone would; returns whether anything was new."""
    shuji = user_of("shuji")
    created = False
    for key, owner_type, owner_key, caption, kind in PHOTOS:
        data = picture(kind)
        record_id = id_of(f"photo-{key}")
        op = {"op": id_of(f"op-photo-{key}"), "type": "attachment", "id": record_id, "base": None,
              "set": {"owner_type": owner_type, "owner_id": id_of(owner_key), "caption": caption,
                      "sha256": hashlib.sha256(data).hexdigest(), "mime": "image/jpeg", "bytes": len(data),
                      "width": 1200, "height": 900}}
        result = sync_service.submit(shuji, [op])[0]
        if result["status"] == "rejected":
            raise ValueError(f"demo photo {key} rejected: {result['error']}")
        row = upload.append(record_id, 0, data) if result["status"] != "duplicate" else None
        created = created or row is not None
    return created
