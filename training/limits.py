"""A per-person limit on the downloads that cost the most to build (ASVS 2.4.1, 15.2.2).

Compliance exports, transcript PDFs, audit packets and certificate ZIPs each read many records and
may render PDFs. They need a signed-in account, and one account may start `EXPORT_RATE_LIMIT` of
them (all kinds together); past that it gets a 429 page saying when to try again.
"""

from flask import current_app
from flask_login import current_user

from training.extensions import limiter


def _limit() -> str:
    return current_app.config["EXPORT_RATE_LIMIT"]


def _person() -> str:
    return f"user:{current_user.id}"


heavy_download = limiter.shared_limit(_limit, scope="heavy-downloads", key_func=_person)
# The audit packet's form is a GET; only building the packet (the POST) counts.
heavy_download_post = limiter.shared_limit(_limit, scope="heavy-downloads", key_func=_person, methods=["POST"])
