#!/usr/bin/env python3
"""Sample Matrix chatters for the demo: a few users of the demo homeserver talk
in its #demo room through the plain client-server API, at a human pace (a line
every few seconds, with a typing notice first), now and then fixing a typo
with an edit or sending an emote; every third line goes to the #dj room when
the seed has one. The relay bridges the rooms into the `demo` and `dj`
channels, so these lines take the real Matrix path to the captions and chat.

Usage: matrix_chatter.py SEED_JSON [--pace MIN,MAX] [--count N] [--verbose]

SEED_JSON is what `scripts/synapse/seed.py BASE_URL --demo` printed (a file,
or - for stdin): base URL, room id and the users' access tokens. The speakers
are the users of SCRIPT that the seed has (radia, katherine, dennis, hedy).
--pace: seconds between lines, uniformly random (default 2.5,6); --count:
stop after N lines (default: run until stopped); --verbose: print each line
on stderr. Python standard library only.
"""
import argparse
import itertools
import json
import os
import random
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "synapse")]
from chatter import parse_pace  # noqa: E402  (scripts/chatter.py)
from seed import MatrixError, call as matrix_call  # noqa: E402  (scripts/synapse/seed.py)

# (speaker, kind, body[, corrected body]): kind is "text", "emote", or "edit"
# (sent with a typo, then corrected by an edit a few seconds later).
SCRIPT = [
    ("radia", "text", "hi all, watching from the Matrix room 👋"),
    ("katherine", "text", "audio is crisp today"),
    ("dennis", "edit", "is ther a link to the repo?", "is there a link to the repo?"),
    ("hedy", "emote", "waves from the back row"),
    ("radia", "text", "the part about fan-out was great"),
    ("katherine", "text", "Q: what happens if the homeserver goes down mid-talk?"),
    ("dennis", "text", "the relay keeps serving the stream and retries in the background"),
    ("hedy", "text", "Ελληνικά, עברית and emoji 🎉 all make it through the bridge"),
    ("katherine", "edit", "slides are in room B", "slides are in room C, sorry"),
    ("radia", "emote", "is taking notes"),
    ("hedy", "text", "can the speaker repeat the question?"),
    ("dennis", "text", "edits and deletes in Matrix show up in the captions too"),
    ("katherine", "text", "👏👏👏"),
    ("radia", "text", "next talk in ten minutes, coffee first ☕"),
]

# The second channel (the #dj room, when the seed has it): one line of this
# for every DJ_EVERY lines of SCRIPT.
DJ_SCRIPT = [
    ("dennis", "text", "next up: a deep house set 🎧"),
    ("radia", "text", "this bassline!"),
    ("hedy", "emote", "dances at the back"),
    ("katherine", "edit", "track id anyone?", "track ID, anyone?"),
]
DJ_EVERY = 3


class Chatter:
    """One user, talking in one room."""

    def __init__(self, base, room, user):
        self.base = base
        self.room = urllib.parse.quote(room, safe="")
        self.user_id = user["user_id"]
        self.token = user["access_token"]
        self.name = user.get("display_name", self.user_id)

    def call(self, method, path, body):
        return matrix_call(self.base, method, f"/_matrix/client/v3{path}", body, self.token)

    def typing(self, seconds):
        user = urllib.parse.quote(self.user_id, safe="")
        self.call("PUT", f"/rooms/{self.room}/typing/{user}",
                  {"typing": True, "timeout": int(seconds * 1000) + 1000})

    def send(self, content):
        txn = f"demo-{os.getpid()}-{time.time_ns()}"
        path = f"/rooms/{self.room}/send/m.room.message/{txn}"
        return self.call("PUT", path, content)["event_id"]

    def say(self, kind, body):
        msgtype = "m.emote" if kind == "emote" else "m.text"
        return self.send({"msgtype": msgtype, "body": body})

    def edit(self, event_id, body):
        return self.send({
            "msgtype": "m.text",
            "body": f"* {body}",
            "m.new_content": {"msgtype": "m.text", "body": body},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        })


def perform(chatter, line, pace, verbose):
    """Types, sends one line of the script and, for a typo, edits it."""
    kind, body = line[1], line[2]
    # About as long as a quick typist takes, bounded.
    typing = min(0.5 + len(body) / 25, 3.0)
    chatter.typing(typing)
    time.sleep(typing)
    event_id = chatter.say(kind, body)
    if verbose:
        shown = f"* {chatter.name} {body}" if kind == "emote" else f"{chatter.name}: {body}"
        print(f"matrix_chatter: {shown}", file=sys.stderr)
    if kind == "edit":
        time.sleep(random.uniform(*pace) / 2)
        chatter.edit(event_id, line[3])
        if verbose:
            print(f"matrix_chatter: {chatter.name} edited it: {line[3]}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seed_json")
    ap.add_argument("--pace", type=parse_pace, default=(2.5, 6.0))
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    if args.seed_json == "-":
        seed = json.load(sys.stdin)
    else:
        with open(args.seed_json, encoding="utf-8") as f:
            seed = json.load(f)
    base = seed["base_url"].rstrip("/")
    chatters = {key: Chatter(base, seed["room_id"], user)
                for key, user in seed["users"].items()
                if any(key == line[0] for line in SCRIPT)}
    lines = [line for line in SCRIPT if line[0] in chatters]
    if not lines:
        sys.exit("matrix_chatter: the seed has none of the script's users; "
                 "run seed.py with --demo")
    dj_room = seed.get("rooms", {}).get("dj", {}).get("room_id")
    dj = {key: Chatter(base, dj_room, user) for key, user in seed["users"].items()
          if dj_room and any(key == line[0] for line in DJ_SCRIPT)}
    dj_lines = itertools.cycle([line for line in DJ_SCRIPT if line[0] in dj] or [None])
    # Every DJ_EVERY-th turn goes to the #dj room.
    turns = itertools.cycle([None] * (DJ_EVERY - 1) + [True])

    sent, failures = 0, 0
    time.sleep(1.0)
    for line in itertools.cycle(lines):
        room = chatters
        if next(turns) and dj:
            line, room = next(dj_lines), dj
        try:
            perform(room[line[0]], line, args.pace, args.verbose)
            failures = 0
        except MatrixError as err:
            if err.status == 401:
                sys.exit(f"matrix_chatter: {line[0]}'s access token was refused "
                         f"(seed.py ran again elsewhere?): {err}")
            failures += 1
            wait = err.body.get("retry_after_ms", 0) / 1000 if err.status == 429 else 0
            print(f"matrix_chatter: {line[0]}: {err}", file=sys.stderr)
            time.sleep(max(wait, min(2 ** failures, 30)))
            continue
        except OSError as err:  # the homeserver is away: back off, quietly
            failures += 1
            if failures == 1:
                print(f"matrix_chatter: homeserver unreachable ({err}); retrying",
                      file=sys.stderr)
            time.sleep(min(2 ** failures, 30))
            continue
        sent += 1
        if args.count and sent >= args.count:
            break
        time.sleep(random.uniform(*args.pace))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
