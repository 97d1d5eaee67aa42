"""Checking an uploaded photo with Pillow, stripping what it says about its taker, and its thumbnail.

The rule (docs/sync-protocol.md, "Photos: the upload protocol"): a photo carrying EXIF (GPS, camera, time),
XMP, IPTC/Photoshop data, comments, PNG text chunks or any other JPEG application segment is decoded, turned
upright by its EXIF orientation and re-encoded without them; an ICC colour profile is kept (it says how to show
colours, nothing about the person or place) and alone changes nothing. A photo with none of these — what the
phone's own re-encoding makes — is kept byte for byte.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from sync.types import PHOTO_MAX_SIDE

FORMATS = {"JPEG": "image/jpeg", "WEBP": "image/webp", "PNG": "image/png"}
# A 40-megapixel photo is a phone camera's full size; decoding it takes some 120 MB. Larger is refused before
# any pixel is decoded, so a small file that inflates to gigabytes (a decompression bomb) costs nothing.
MAX_PIXELS = 40_000_000
THUMB_EDGE = 320
THUMB_QUALITY = 80
RESAVE_QUALITY = 90
METADATA_KEYS = frozenset({"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"})
# JPEG application segments that only say how to decode: JFIF (APP0), the ICC profile (APP2), Adobe (APP14).
PLAIN_JPEG_SEGMENTS = {("APP0", b"JFIF"), ("APP2", b"ICC_PROFILE"), ("APP14", b"Adobe")}
KEPT_INFO = ("transparency", "dpi")


class BadImage(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Checked:
    data: bytes      # what to store: the upload itself, or its re-encoding without metadata
    stripped: bool
    width: int
    height: int


def check(data: bytes, mime: str) -> Checked:
    """The photo as it is to be stored, or BadImage saying why it is not one."""
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            _check_header(image, mime)
            image.load()  # every pixel decodes: a truncated or corrupt file fails here
            if not has_metadata(image):
                return Checked(data, False, *image.size)
            upright = _without_metadata(image)
            return Checked(_encode(upright, image.format, image.info.get("icc_profile")), True, *upright.size)
    except BadImage:
        raise
    except Image.DecompressionBombError:  # Pillow's own bound, far above ours: refused at the header
        raise BadImage("too_many_pixels", f"The image has more than {MAX_PIXELS:,} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise BadImage("not_an_image", "The bytes are not a JPEG, WebP or PNG image that decodes.") from None


def _check_header(image: Image.Image, mime: str) -> None:
    width, height = image.size
    if FORMATS.get(image.format) != mime:
        raise BadImage("wrong_type", f"The image is {image.format}, not the declared {mime}.")
    if getattr(image, "n_frames", 1) > 1:
        raise BadImage("not_a_photo", "An animated image is not a photo.")
    if width * height > MAX_PIXELS or max(width, height) > PHOTO_MAX_SIDE:
        raise BadImage("too_many_pixels", f"The image is {width}×{height}: more than {MAX_PIXELS:,} pixels "
                                          f"or a side longer than {PHOTO_MAX_SIDE}.")


def has_metadata(image: Image.Image) -> bool:
    if METADATA_KEYS & set(image.info) or getattr(image, "text", None):
        return True
    segments = getattr(image, "applist", [])
    return any(not any(marker == name and body.startswith(prefix) for name, prefix in PLAIN_JPEG_SEGMENTS)
               for marker, body in segments)


def _without_metadata(image: Image.Image) -> Image.Image:
    upright = ImageOps.exif_transpose(image)
    upright.info = {key: image.info[key] for key in KEPT_INFO if key in image.info}
    return upright


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = RESAVE_QUALITY
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a checked photo (long edge THUMB_EDGE), for the township's lists."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (THUMB_EDGE, THUMB_EDGE))  # a JPEG decodes at a fraction of its size
        small = ImageOps.exif_transpose(image)
        small.thumbnail((THUMB_EDGE, THUMB_EDGE))
        if small.mode in ("RGBA", "LA", "P"):
            small = small.convert("RGBA")
            flat = Image.new("RGB", small.size, "white")
            flat.paste(small, mask=small.getchannel("A"))
            small = flat
        elif small.mode != "RGB":
            small = small.convert("RGB")
        out = io.BytesIO()
        small.save(out, "JPEG", quality=THUMB_QUALITY)
        return out.getvalue()
