"""Uploaded images: the type comes from the bytes (a GIF named .png is a GIF), metadata is
gone from what is stored, over-large and pixel-bomb images are refused before decoding,
everything is stored as a PNG of the right size."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from ownpay.branding import images


def encoded(fmt: str, size: tuple[int, int] = (200, 100), mode: str = "RGB",
            **options: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "#0f766e" if mode != "1" else 1).save(out, fmt, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_gif_renamed_png_is_refused_by_what_it_is() -> None:
    gif = encoded("GIF")  # whatever the file was called, these are GIF bytes
    with pytest.raises(images.BadImage, match="The file is a GIF image. Upload a PNG"):
        images.process(gif, "logo")


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"x" * 40,
                                  b"<svg xmlns='http://www.w3.org/2000/svg'/>"])
def test_what_is_not_an_accepted_image_is_refused(data: bytes) -> None:
    with pytest.raises(images.BadImage):
        images.process(data, "logo")


def test_text_chunks_and_exif_are_not_stored() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author-name")
    info.add_itxt("Comment", "secret-comment", zip=True)
    png = encoded("PNG", pnginfo=info)
    assert b"secret-author-name" in png
    stored = images.process(png, "logo")
    assert b"secret-author-name" not in stored.data and b"tEXt" not in stored.data
    assert b"zTXt" not in stored.data and b"iTXt" not in stored.data
    assert opened(stored.data).info.get("Author") is None
    exif = Image.Exif()
    exif[0x013B] = "secret-artist"  # Artist
    jpeg = encoded("JPEG", exif=exif.tobytes())
    assert b"secret-artist" in jpeg
    assert b"secret-artist" not in images.process(jpeg, "logo").data


def test_a_jpeg_is_stored_as_a_png_no_larger_than_the_logo_box() -> None:
    stored = images.process(encoded("JPEG", (2000, 1000)), "logo")
    image = opened(stored.data)
    assert image.format == "PNG" and stored.content_type == "image/png"
    assert image.size == (512, 256) == (stored.width, stored.height)
    small = opened(images.process(encoded("WEBP", (100, 40)), "logo").data)
    assert small.size == (100, 40)  # never enlarged


def test_a_favicon_is_a_64_pixel_square_and_may_be_an_ico() -> None:
    for data in (encoded("ICO", (48, 48), sizes=[(48, 48)]), encoded("PNG", (300, 100))):
        image = opened(images.process(data, "favicon").data)
        assert image.format == "PNG" and image.size == (64, 64) and image.mode == "RGBA"
    with pytest.raises(images.BadImage, match="PNG, JPEG or WebP"):
        images.process(encoded("ICO", (48, 48)), "logo")


def test_too_many_bytes_is_refused() -> None:
    with pytest.raises(images.BadImage, match="at most 1048576"):
        images.process(b"\x89PNG" + b"\x00" * images.MAX_BYTES, "logo")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width``×``height`` (a decompression bomb's shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(4097, 10), (10, 4097), (4096, 4096 + 1),
                                               (30000, 30000), (100000, 100000)])
def test_oversized_and_pixel_bomb_images_are_refused_before_decoding(width: int,
                                                                    height: int) -> None:
    with pytest.raises(images.BadImage, match="at most 4096×4096"):
        images.process(_png_header_only(width, height), "logo")


def test_a_small_file_that_decodes_to_a_huge_image_is_refused() -> None:
    bomb = encoded("PNG", (6000, 6000), mode="1", optimize=True)
    assert len(bomb) < 64 * 1024  # tiny on the wire
    with pytest.raises(images.BadImage, match="pixels"):
        images.process(bomb, "logo")


def test_a_truncated_image_is_refused_cleanly() -> None:
    png = encoded("PNG", (300, 300))
    with pytest.raises(images.BadImage):
        images.process(png[: len(png) // 2], "logo")
