"""Background work on Huey (docs/architecture.md).

SqliteHuey in the data directory by default, with a consumer started inside the app process;
RedisHuey when BILLING_REDIS_URL is set, with ``huey_consumer billing_app.jobs.tasks.huey`` run
as its own process(es). Tasks only drain our own tables, so a lost task loses nothing.
"""
