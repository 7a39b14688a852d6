"""The one translation function of the app (docs/architecture.md, Decisions: languages).

Every user-facing string goes through ``gettext``/``ngettext`` here, in the admin, the portal,
emails and PDFs. The locale is always passed in: documents (invoices, their emails, the
portal) are rendered in the client's language, the admin in the staff member's, never in a
process-wide one, so one worker can render a French PDF and an English page at once.

Catalogs are Babel message catalogs: ``billing_app/locale/<lang>/LC_MESSAGES/messages.po`` is
written by people (``make i18n`` extracts the strings into ``locale/messages.pot`` and updates
every ``.po``) and compiled to ``messages.mo`` by ``make`` before the app or the tests run. The
source strings are English: an unknown locale, a catalog not compiled or a string not yet
translated reads in English.

This module is for every layer but ``domain/``, which stays free of I/O.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it: for strings defined once (a
    label, a subject) and translated where the locale is known, with ``gettext(message,
    locale=...)``."""
    return message


def catalog_path(language: str, suffix: str = ".mo") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages that have a catalog (a ``.po`` file), e.g. ('en', 'fr')."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {DEFAULT_LOCALE}))


def _candidates(locale: str) -> list[str]:
    """'fr-FR' -> ['fr_FR', 'fr']; 'zh_Hant_TW' -> ['zh_Hant_TW', 'zh_Hant', 'zh']."""
    text = locale.strip().replace("-", "_")
    try:
        parsed = Locale.parse(text)
    except (ValueError, TypeError, LookupError, UnknownLocaleError):
        parts = [part for part in re.split(r"[_.@]", text) if part]
        if not parts or not parts[0].isalpha():
            return []
        parts[0] = parts[0].lower()
    else:
        parts = [
            part
            for part in (parsed.language, parsed.script, parsed.territory, parsed.variant)
            if part
        ]
    return ["_".join(parts[:size]) for size in range(len(parts), 0, -1)]


@functools.lru_cache(maxsize=256)
def catalog_language(locale: str | None) -> str:
    """The catalog a locale reads: 'fr_FR', 'fr-FR', 'fr_CA' and 'fr' read 'fr'; 'en_GB' reads
    'en' (until it has its own); an unknown or empty locale reads English."""
    if locale:
        for candidate in _candidates(locale):
            if candidate in languages():
                return candidate
    return DEFAULT_LOCALE


@functools.cache
def _load(language: str) -> Translations:
    path = catalog_path(language)
    try:
        with path.open("rb") as file:
            translations = Translations(fp=file, domain=DOMAIN)
    except FileNotFoundError:
        if language != DEFAULT_LOCALE:
            log.warning("no compiled catalog %s (run `make i18n`): English is used", path)
        translations = Translations(domain=DOMAIN)
    if language != DEFAULT_LOCALE:
        # A string this catalog lacks reads as the English catalog has it (else the source).
        translations.add_fallback(_load(DEFAULT_LOCALE))
    return translations


def translator(locale: str | None) -> Translations:
    """The translations of ``locale`` (loaded once per catalog, shared: read-only)."""
    return _load(catalog_language(locale))


def gettext(message: str, *, locale: str | None) -> str:
    """``message`` in ``locale``; English when there is no translation."""
    return translator(locale).gettext(message)


def ngettext(singular: str, plural: str, n: int, *, locale: str | None) -> str:
    """The form of ``singular``/``plural`` for ``n`` in ``locale`` (its own plural rules)."""
    return translator(locale).ngettext(singular, plural, n)


def reload() -> None:
    """Forget the loaded catalogs (after ``make i18n`` in a running process, or in tests)."""
    languages.cache_clear()
    catalog_language.cache_clear()
    _load.cache_clear()
