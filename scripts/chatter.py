#!/usr/bin/env python3
"""Sample chatters for the demo: posts a line into a channel every second or so
through the HTTP Chat API, as a handful of viewers of a conference talk would.

Usage: chatter.py BASE_URL CHANNEL [--pace MIN,MAX]
The API token comes from CHYRON_API_TOKEN. --pace: seconds between posts,
uniformly random (default 0.8,2.0).
"""
import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

LINES = [
    ("ada", "the audio is so much better than last year 🎧"),
    ("grace", "Slides are on the conference site, btw"),
    ("linus", "is this talk being recorded?"),
    ("ada", "yes, the VOD goes up tonight"),
    ("margaret", "great point about backpressure"),
    ("ken", "hello from Lisbon 👋"),
    ("grace", "question for Q&A: how does it behave with 10k viewers?"),
    ("barbara", "that demo was slick"),
    ("linus", "can you zoom in on the code a bit?"),
    ("margaret", "the relay fans out so the homeserver never sees the viewers"),
    ("ken", "greetings in Ελληνικά, ümlauts and עברית all fine here"),
    ("barbara", "clapping emoji 👏👏👏"),
    ("ada", "next talk starts in ten minutes"),
    ("grace", "this is a deliberately long message to show how a caption line wraps and is clipped cleanly when someone in the chat writes a whole paragraph instead of a quick reaction, which always happens"),
]


def post(base, channel, token, sender, body):
    req = urllib.request.Request(
        f"{base}/api/v1/channels/{channel}/messages",
        data=json.dumps({"sender": sender, "body": body}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def parse_pace(text):
    lo, hi = (float(x) for x in text.split(","))
    if not 0 < lo <= hi:
        raise ValueError(text)
    return lo, hi


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base_url")
    ap.add_argument("channel")
    ap.add_argument("--pace", type=parse_pace, default=(0.8, 2.0))
    args = ap.parse_args()
    base, channel = args.base_url.rstrip("/"), args.channel
    token = os.environ["CHYRON_API_TOKEN"]
    i = 0
    while True:
        sender, body = LINES[i % len(LINES)]
        try:
            post(base, channel, token, sender, body)
        except (urllib.error.URLError, OSError) as err:
            print(f"chatter: post failed: {err}", file=sys.stderr)
        i += 1
        time.sleep(random.uniform(*args.pace))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
