"""Resize uploads into thumbnails (Pillow), and remove a thumbnail when its upload is deleted."""

import io
import os
import posixpath

from deployer.runtime import stores


def thumbnail_key(key: str) -> str:
    name = posixpath.basename(key)
    return "thumbs/" + posixpath.splitext(name)[0] + ".png"


def on_upload(event):
    from PIL import Image

    data = stores.bucket(event.store).get(event.key)
    if data is None:  # deleted again before we ran
        return
    size = int(os.environ.get("THUMBNAIL_SIZE", "128"))
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((size, size))
        out = io.BytesIO()
        image.save(out, format="PNG")
    stores.bucket("thumbnails").put(thumbnail_key(event.key), out.getvalue())


def on_delete(event):
    stores.bucket("thumbnails").delete(thumbnail_key(event.key))
