#!/usr/bin/env python3
"""Seeds the test homeserver that start.sh started: a bot user and two
chatters, and a public room #demo:SERVERNAME that all three have joined.

Usage: seed.py BASE_URL [--demo]       (e.g. http://127.0.0.1:8008)

--demo (scripts/demo.sh) also registers the demo's sample chatters (DEMO_USERS),
sets their display names and avatars (avatars.py) before they join (so joining
does not show a profile change), gives alice and bob display names too, and
makes a second room #dj:SERVERNAME (the demo's second channel) that everyone
joins. Without it nothing but the three users and #demo is touched, as the
relay's tests expect.

Idempotent: users that exist are logged in instead of registered, the room is
looked up by its alias before it is created, and joining a room one is in is a
no-op. Users register through the plain client API (the test config allows
registration without verification). Every login uses device id SEED, so
repeated runs replace that device's token instead of piling up devices.
alice creates the rooms and so is their admin (power level 100): she can kick,
ban and redact for tests. The rooms let guests join (m.room.guest_access
can_join; the public_chat preset forbids it), for the benchmark's Matrix
guests; set only when it differs, so a rerun adds no event.

Prints JSON on stdout:
  {"base_url", "server_name", "room_alias", "room_id" (those of #demo),
   "rooms": {"demo"[, "dj"]: {"room_alias", "room_id"}},
   "users": {"bot"|"alice"|"bob": {"user_id", "password", "access_token",
                                   "device_id"}}}
With --demo, "users" also has each of DEMO_USERS, and every user that has a
display name has it as "display_name".

Python standard library only.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import avatars

USERS = {"bot": "chyron-bot", "alice": "alice", "bob": "bob"}
PASSWORD = "chyron-test-password"  # a throwaway homeserver's test users only
DEVICE = "SEED"
ROOM_ALIAS_LOCAL = "demo"
# --demo only: the second channel's room, #dj.
DJ_ALIAS_LOCAL = "dj"
# --demo only: the sample chatters (key = localpart) and everyone's display
# names. Adding one here is enough; matrix_chatter.py gives it lines.
DEMO_USERS = ["radia", "katherine", "dennis", "hedy"]
DISPLAY_NAMES = {
    "alice": "Alice",
    "bob": "Bob",
    "radia": "Radia Perlman",
    "katherine": "Katherine Johnson",
    "dennis": "Dennis Ritchie",
    "hedy": "Hedy Lamarr",
}


class MatrixError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def call(base, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        raw = err.read().decode(errors="replace")
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"raw": raw}
        raise MatrixError(err.code, parsed) from None


def login(base, localpart):
    return call(base, "POST", "/_matrix/client/v3/login", {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": localpart},
        "password": PASSWORD,
        "device_id": DEVICE,
        "initial_device_display_name": "seed.py",
    })


def register_or_login(base, localpart):
    body = {
        "username": localpart,
        "password": PASSWORD,
        "device_id": DEVICE,
        "initial_device_display_name": "seed.py",
    }
    try:
        # The first call answers 401 with a user-interactive auth session;
        # the dummy stage completes it.
        try:
            return call(base, "POST", "/_matrix/client/v3/register", body)
        except MatrixError as err:
            if err.status != 401 or "session" not in err.body:
                raise
            body["auth"] = {"type": "m.login.dummy", "session": err.body["session"]}
            return call(base, "POST", "/_matrix/client/v3/register", body)
    except MatrixError as err:
        if err.body.get("errcode") != "M_USER_IN_USE":
            raise
        return login(base, localpart)


def set_display_name(base, user, name):
    """Sets the user's display name unless it is that already (setting it
    again would add a membership event to every room the user is in)."""
    quoted = urllib.parse.quote(user["user_id"], safe="")
    path = f"/_matrix/client/v3/profile/{quoted}/displayname"
    try:
        have = call(base, "GET", path, token=user["access_token"]).get("displayname")
    except MatrixError as err:
        if err.status != 404:
            raise
        have = None
    if have != name:
        call(base, "PUT", path, {"displayname": name}, token=user["access_token"])
    user["display_name"] = name


def ensure_room(base, owner, server_name, alias_local, name, topic):
    """The public room #ALIAS_LOCAL (created by `owner` if missing) that
    guests may join: {"room_alias", "room_id"}."""
    alias = f"#{alias_local}:{server_name}"
    quoted = urllib.parse.quote(alias, safe="")
    try:
        room_id = call(base, "GET", f"/_matrix/client/v3/directory/room/{quoted}",
                       token=owner)["room_id"]
    except MatrixError as err:
        if err.status != 404:
            raise
        room_id = call(base, "POST", "/_matrix/client/v3/createRoom", {
            "preset": "public_chat",
            "visibility": "public",
            "room_alias_name": alias_local,
            "name": name,
            "topic": topic,
        }, token=owner)["room_id"]
    room_path = urllib.parse.quote(room_id, safe="")
    guest_access = f"/_matrix/client/v3/rooms/{room_path}/state/m.room.guest_access"
    try:
        current = call(base, "GET", guest_access, token=owner).get("guest_access")
    except MatrixError as err:
        if err.status != 404:
            raise
        current = None
    if current != "can_join":
        call(base, "PUT", guest_access, {"guest_access": "can_join"}, token=owner)
    return {"room_alias": alias, "room_id": room_id}


def main():
    args = sys.argv[1:]
    demo = "--demo" in args
    args = [a for a in args if a != "--demo"]
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    base = args[0].rstrip("/")

    wanted = dict(USERS)
    if demo:
        wanted.update({localpart: localpart for localpart in DEMO_USERS})
    users = {}
    for key, localpart in wanted.items():
        r = register_or_login(base, localpart)
        users[key] = {
            "user_id": r["user_id"],
            "password": PASSWORD,
            "access_token": r["access_token"],
            "device_id": r["device_id"],
        }
        if demo and localpart in DISPLAY_NAMES:
            set_display_name(base, users[key], DISPLAY_NAMES[localpart])
        if demo:
            avatars.set_avatar(call, base, users[key], localpart)
    server_name = users["bot"]["user_id"].split(":", 1)[1]
    owner = users["alice"]["access_token"]
    rooms = {"demo": ensure_room(base, owner, server_name, ROOM_ALIAS_LOCAL,
                                 "Chyron demo", "Test room for the Chyron Matrix bridge")}
    if demo:
        rooms["dj"] = ensure_room(base, owner, server_name, DJ_ALIAS_LOCAL,
                                  "DJ booth", "The demo's second channel: the DJ set")
    for room in rooms.values():
        quoted = urllib.parse.quote(room["room_alias"], safe="")
        for user in users.values():
            call(base, "POST", f"/_matrix/client/v3/join/{quoted}", {},
                 token=user["access_token"])

    json.dump({
        "base_url": base,
        "server_name": server_name,
        "room_alias": rooms["demo"]["room_alias"],
        "room_id": rooms["demo"]["room_id"],
        "rooms": rooms,
        "users": users,
    }, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    try:
        main()
    except MatrixError as err:
        print(f"seed.py: {err}", file=sys.stderr)
        sys.exit(1)
