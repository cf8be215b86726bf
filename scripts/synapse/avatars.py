"""Demo avatars for seed.py --demo: a person's silhouette in a light tint over
a colour of their own, drawn as a 96x96 PNG with the standard library, then
uploaded and set as the user's avatar (once: a user who has one keeps it, so
a rerun adds no membership event)."""
import json
import struct
import urllib.parse
import urllib.request
import zlib

SIZE = 96
# Per demo chatter: the background colour (RGB).
COLOURS = {
    "radia": (123, 92, 255),
    "katherine": (31, 163, 122),
    "dennis": (214, 96, 48),
    "hedy": (200, 64, 140),
}


def silhouette_png(colour):
    """A square PNG: `colour` behind a head and shoulders in a light tint."""
    light = tuple(c + (255 - c) * 3 // 4 for c in colour)
    rows = []
    for y in range(SIZE):
        row = bytearray(b"\0")  # filter type: none
        for x in range(SIZE):
            head = (x - 48) ** 2 + (y - 38) ** 2 <= 18 ** 2
            shoulders = ((x - 48) / 34) ** 2 + ((y - 100) / 32) ** 2 <= 1
            row += bytes(light if head or shoulders else colour)
        rows.append(bytes(row))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def set_avatar(call, base, user, localpart):
    """Gives `user` (seed.py's user dict) their demo avatar unless they have
    an avatar already. `call` is seed.py's JSON API helper."""
    colour = COLOURS.get(localpart)
    if colour is None:
        return
    quoted = urllib.parse.quote(user["user_id"], safe="")
    path = f"/_matrix/client/v3/profile/{quoted}/avatar_url"
    token = user["access_token"]
    try:
        if call(base, "GET", path, token=token).get("avatar_url"):
            return
    except Exception as err:  # 404: no avatar yet
        if getattr(err, "status", None) != 404:
            raise
    req = urllib.request.Request(base + "/_matrix/media/v3/upload?filename=avatar.png",
                                 data=silhouette_png(colour), method="POST")
    req.add_header("Content-Type", "image/png")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        uri = json.load(resp)["content_uri"]
    call(base, "PUT", path, {"avatar_url": uri}, token=token)
