"""The Huey instance (see billing_app.jobs)."""

from __future__ import annotations

from huey import RedisHuey, SqliteHuey
from huey.api import Huey

from billing_app.settings import get_settings


def _make_huey() -> Huey:
    settings = get_settings()
    if settings.redis_url:
        return RedisHuey(settings.jobs_queue, url=settings.redis_url)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.jobs_queue, filename=str(data_dir / "jobs.db"))


huey = _make_huey()
