"""The review queue at county scale: the page, and "mark all" for the whole queue, one village, one
village's journals (docs/review-queue.md).

Usage: python bench/review_queue.py [--database sqlite|postgresql|both] [--requests 10] [--scale 1.0]
Builds bench/county.py's county; the township reviewer starts with nothing marked; before each timed
mark-all the marks are deleted (not timed), so every run marks the same rows.
"""
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import ReviewMark  # noqa: E402
from bench.county import COUNTS, PASSWORD, build_county  # noqa: E402
from bench.databases import county_bench_args, each_database  # noqa: E402


def timed(call):
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def run(label, url, args):
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
    build_county(app, args.scale)
    if url.startswith("postgresql"):
        with app.app_context():        # statistics, as autovacuum keeps them on a live database
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "staff", "password": PASSWORD})
    client.set_cookie("lang", "en")

    def clear():
        with app.app_context():
            db.session.execute(sa.delete(ReviewMark))
            db.session.commit()

    def shown_at(html):
        return re.search(r'name="shown_at" value="([^"]+)"', html).group(1)

    first = client.get("/township/review").get_data(as_text=True)
    waiting = re.search(r"(\d[\d,]*) records wait", first)
    print(f"{label}: {sum(int(c * args.scale) for c in COUNTS.values()):,} records; "
          f"waiting for the reviewer: {waiting.group(1) if waiting else '?'}")
    page = [timed(lambda: client.get("/township/review"))[0] for _ in range(args.requests)]
    print(f"  queue page                       median {statistics.median(page):6.1f} ms")
    for name, action in (("mark all, whole queue", "/township/review/mark-all"),
                         ("mark all, one village", "/township/review/mark-all?village=T00V03"),
                         ("mark all, one village's journals", "/township/review/mark-all?village=T00V03&type=journal")):
        samples, marked = [], None
        for _ in range(args.requests):
            clear()
            at = shown_at(client.get("/township/review").get_data(as_text=True))
            ms, response = timed(lambda: client.post(action, data={"shown_at": at}))
            assert response.status_code == 302
            samples.append(ms)
            with app.app_context():
                marked = db.session.scalar(sa.select(sa.func.count()).select_from(ReviewMark))
        print(f"  {name:<33} median {statistics.median(samples):6.1f} ms   ({marked:,} records marked)")
    with app.app_context():
        db.engine.dispose()


def main():
    args = county_bench_args(requests=10)
    each_database(args.database, "reviewbench", lambda label, url: run(label, url, args))


if __name__ == "__main__":
    main()
