"""The photo checks of app/attachments/images.py, without a server: what is refused, what is stripped, what kept."""
import io

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from app.attachments import images
from app.attachments.storage import FileStorage


def encoded(fmt="JPEG", size=(40, 30), mode="RGB", **options) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "gray").save(out, fmt, **options)
    return out.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (30.0, 1.0, 2.0)}
    return exif


@pytest.mark.parametrize("fmt, mime", [("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("PNG", "image/png")])
def test_a_clean_photo_is_kept_byte_for_byte(fmt, mime):
    data = encoded(fmt)
    checked = images.check(data, mime)
    assert checked.data == data and not checked.stripped and (checked.width, checked.height) == (40, 30)


def test_an_icc_profile_alone_keeps_the_bytes():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encoded(icc_profile=profile)
    assert images.check(data, "image/jpeg").data == data


@pytest.mark.parametrize("fmt, mime, options", [
    ("JPEG", "image/jpeg", {"exif": gps_exif()}),
    ("JPEG", "image/jpeg", {"comment": b"Zhang San's phone"}),
    ("JPEG", "image/jpeg", {"xmp": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"}),
    ("WEBP", "image/webp", {"exif": gps_exif()}),
    ("PNG", "image/png", {"exif": gps_exif()}),
    ("PNG", "image/png", {"pnginfo": PngImagePlugin.PngInfo()}),
])
def test_metadata_is_stripped(fmt, mime, options):
    if "pnginfo" in options:
        options["pnginfo"].add_text("Author", "张三")
    checked = images.check(encoded(fmt, **options), mime)
    assert checked.stripped
    with Image.open(io.BytesIO(checked.data)) as kept:
        assert kept.format == fmt and not images.has_metadata(kept) and not kept.getexif()


def test_an_icc_profile_survives_the_stripping():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    checked = images.check(encoded(icc_profile=profile, exif=gps_exif()), "image/jpeg")
    with Image.open(io.BytesIO(checked.data)) as kept:
        assert kept.info.get("icc_profile") == profile


@pytest.mark.parametrize("data, mime, code", [
    (b"", "image/jpeg", "not_an_image"),
    (b"GIF89a" + b"\x00" * 100, "image/jpeg", "not_an_image"),
    (encoded()[:200], "image/jpeg", "not_an_image"),           # cut short
    (encoded("PNG"), "image/webp", "wrong_type"),
    (encoded("GIF"), "image/png", "not_an_image"),             # a format the server does not take
])
def test_what_is_not_a_photo_is_refused(data, mime, code):
    with pytest.raises(images.BadImage) as bad:
        images.check(data, mime)
    assert bad.value.code == code


def test_an_animated_image_is_not_a_photo():
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(images.BadImage) as bad:
        images.check(out.getvalue(), "image/png")
    assert bad.value.code == "not_a_photo"


def test_a_long_thin_image_is_refused_before_decoding():
    with pytest.raises(images.BadImage) as bad:
        images.check(encoded("PNG", size=(20000, 1), mode="1"), "image/png")
    assert bad.value.code == "too_many_pixels"


def test_the_thumbnail_of_a_portrait_photo():
    with Image.open(io.BytesIO(images.thumbnail(encoded(size=(600, 1200))))) as small:
        assert small.format == "JPEG" and small.size == (160, 320)


def test_the_file_store_appends_at_an_offset_and_drops_what_followed(tmp_path):
    store = FileStorage(tmp_path)
    store.append("partial/a", 0, b"hello world")
    store.append("partial/a", 5, b"!")  # a retry from an earlier offset
    assert store.read("partial/a") == b"hello!" and store.size("partial/a") == 6
    store.move("partial/a", "a")
    assert store.size("partial/a") == 0 and store.read("a") == b"hello!"
    store.put("a", b"new")
    assert store.read("a") == b"new"
    store.delete("a")
    store.delete("a")  # twice is fine
    assert store.size("a") == 0
    for key in ("../escape", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError):
            store.size(key)
