"""Uploaded logos and favicons: what the bytes are (never the file name or the declared
type), whether they are small enough to open, and the PNG we store instead.

* Type: Pillow opens the bytes and names the format; only PNG, JPEG and WebP are taken
  (and ICO for a favicon).  A GIF renamed ``logo.png`` is a GIF and is refused.
* Limits, checked before any pixel is decoded: at most :data:`MAX_BYTES` bytes, each side at
  most :data:`MAX_SIDE` pixels and at most :data:`MAX_PIXELS` pixels in all.  Pillow's own
  decompression-bomb guard is set to the same bound and its warning is an error here.
* Stored: re-encoded as PNG from the decoded pixels (EXIF orientation applied), so no
  metadata (EXIF, text chunks, ICC profiles) and nothing after the image survives; a logo is
  scaled down to fit :data:`LOGO_BOX`, a favicon is fitted into a transparent
  :data:`FAVICON_SIZE` square.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 16 * 1024 * 1024
LOGO_BOX = (512, 512)
FAVICON_SIZE = (64, 64)
FORMATS = {"logo": frozenset({"PNG", "JPEG", "WEBP"}),
           "favicon": frozenset({"PNG", "JPEG", "WEBP", "ICO"})}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class BadImage(ValueError):
    """The upload is refused; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Stored:
    data: bytes
    sha256: str
    width: int
    height: int
    content_type: str = "image/png"


def _opened(data: bytes, kind: str) -> Image.Image:
    if not data:
        raise BadImage("The file is empty.")
    if len(data) > MAX_BYTES:
        raise BadImage(f"The file is {len(data)} bytes; at most {MAX_BYTES} (1 MiB).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=sorted(FORMATS[kind] | {"GIF"}))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f"The image has too many pixels; at most {MAX_SIDE}×{MAX_SIDE} "
                       f"and {MAX_PIXELS} pixels in all.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadImage(_accepted(kind)) from None
    if image.format not in FORMATS[kind]:
        raise BadImage(f"The file is a {image.format or 'unknown'} image. "
                       + _accepted(kind))
    width, height = image.size
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise BadImage(f"The image is {width}×{height} pixels; at most {MAX_SIDE}×{MAX_SIDE} "
                       f"and {MAX_PIXELS} pixels in all.")
    return image


def _accepted(kind: str) -> str:
    names = "PNG, JPEG, WebP or ICO" if kind == "favicon" else "PNG, JPEG or WebP"
    return f"Upload a {names} image."


def _decoded(image: Image.Image) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage("The image has too many pixels.") from None
    except (OSError, SyntaxError, ValueError):
        raise BadImage("The image is damaged or cut short.") from None
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    return upright.convert("RGBA" if has_alpha else "RGB")


def process(data: bytes, kind: str) -> Stored:
    """The PNG to store for an uploaded ``kind`` ("logo" or "favicon"), or :class:`BadImage`."""
    pixels = _decoded(_opened(data, kind))
    if kind == "favicon":
        pixels = pixels.convert("RGBA")
        pixels.thumbnail(FAVICON_SIZE, Image.Resampling.LANCZOS)
        square = Image.new("RGBA", FAVICON_SIZE, (0, 0, 0, 0))
        square.paste(pixels, ((FAVICON_SIZE[0] - pixels.width) // 2,
                              (FAVICON_SIZE[1] - pixels.height) // 2))
        pixels = square
    else:
        pixels.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)  # no pnginfo, exif or icc_profile
    png = out.getvalue()
    return Stored(data=png, sha256=hashlib.sha256(png).hexdigest(), width=pixels.width,
                  height=pixels.height)
