"""Runtime settings. Every knob is an environment variable prefixed BILLING_ (a .env file
works too).

The defaults give the embedded mode: SQLite and jobs in ``data/``, emails written to files,
no external services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Application settings, read from BILLING_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="BILLING_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data")
    database_url: str | None = None
    redis_url: str | None = None
    base_url: str = ""  # the public URL of the app; default http://{host}:{port}
    host: str = "127.0.0.1"
    port: int = 3000

    # Sessions (docs/architecture.md).
    session_idle_minutes: int = 60
    session_absolute_hours: int = 12
    # Client portal sessions (docs/security.md item 45): their own, shorter idle limit.
    portal_session_idle_minutes: int = 30
    portal_session_absolute_hours: int = 12
    cookie_secure: bool | None = None

    # Sign-in throttling (docs/security.md items 18, 40): per account, per client address, and
    # a flood of failures across the whole app tightening the per-address limit.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_address_max_failures: int = 20
    login_address_max_failures_under_attack: int = 3
    login_global_max_failures: int = 300

    # Secrets at rest (docs/security.md item 48): master keys, URL-safe base64, comma-separated,
    # newest first (adapters/crypto.py). Unset: <data_dir>/secret.key, created on first use.
    secret_key: SecretStr | None = None

    # Stripe (the keys themselves are entered in Settings > Payments and stored encrypted).
    # Where the SDK sends requests: Stripe's own API unless set (tests: localstripe's address).
    stripe_api_base: str = ""
    # Where the portal loads Stripe.js from (tests: localstripe's fake).
    stripe_js_url: str = "https://js.stripe.com/v3/"
    # Automatic charges of renewal invoices made at once (each waits on Stripe): a thread pool
    # of this size. Stripe's rate limits (100 requests/s live, 25 in test mode) bound it.
    charge_concurrency: int = 16

    # Email.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_timeout_seconds: int = 20
    mail_from: str = "billing@localhost"
    mail_from_name: str = "Billing"

    # Jobs.
    run_jobs_in_process: bool | None = None
    jobs_queue: str = "billing"
    outbox_max_attempts: int = 8

    @property
    def resolved_database_url(self) -> str:
        """The database URL; an absolute SQLite path under data_dir by default."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'billing.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir.resolve() / "outbox"

    @property
    def jobs_in_process(self) -> bool:
        """Whether the app process runs the job consumer (default: yes unless Redis is used)."""
        if self.run_jobs_in_process is not None:
            return self.run_jobs_in_process
        return not self.redis_url

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_base_url.startswith("https://")

    @property
    def public_base_url(self) -> str:
        """Links in emails are built from this, never from a request's Host header."""
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def allowed_origins(self) -> list[str]:
        """Origins allowed to open the websocket: the public URL (and, on a loopback address,
        its localhost/127.0.0.1 twin)."""
        origin = self.public_base_url
        twins = {"//localhost:": "//127.0.0.1:", "//127.0.0.1:": "//localhost:"}
        for a, b in twins.items():
            if a in origin:
                return [origin, origin.replace(a, b)]
        return [origin]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
