"""Background work on Huey (DESIGN.md §8).

SqliteHuey in the data directory by default, with a consumer started inside the app process;
RedisHuey when BILLING_REDIS_URL is set, with ``huey_consumer billing_app.jobs.huey`` run as its
own process(es). Tasks only drain our own tables, so a lost task loses nothing.
"""

from __future__ import annotations

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from billing_app.settings import get_settings


def _make_huey() -> Huey:
    settings = get_settings()
    if settings.redis_url:
        return RedisHuey("billing", url=settings.redis_url)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("billing", filename=str(data_dir / "jobs.db"))


huey = _make_huey()

from billing_app.jobs import tasks  # noqa: F401  (registers the tasks)
