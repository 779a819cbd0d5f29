"""Settings decisions for a production server that are worth a function (and a test)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from config.env import ImproperlySetError

__all__ = ["csp_directives", "mail_check", "refuse_development_secret_key"]

MIN_SECRET_KEY_LENGTH = 50


def refuse_development_secret_key(key: str, dev_key_file: Path) -> None:
    """Stop start-up when DEBUG is off and the key is the development one, Django's
    placeholder, or too short to sign anything safely."""
    how = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(64))"'
    if dev_key_file.is_file() and dev_key_file.read_text().strip() == key:
        raise ImproperlySetError(
            f"DJANGO_SECRET_KEY is the development key from {dev_key_file}; a production "
            f"server (DJANGO_DEBUG=false) needs its own secret: {how}."
        )
    if key.startswith("django-insecure"):
        raise ImproperlySetError(f"DJANGO_SECRET_KEY is Django's insecure placeholder; {how}.")
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        raise ImproperlySetError(
            f"DJANGO_SECRET_KEY has {len(key)} characters; a production server needs at least "
            f"{MIN_SECRET_KEY_LENGTH} random ones: {how}."
        )


def _media_origins(media_storage: dict[str, object]) -> list[str]:
    """Where photos are loaded from when they do not live on this site (an S3 bucket or CDN)."""
    options = media_storage.get("OPTIONS")
    if not isinstance(options, dict):
        return []
    if options.get("custom_domain"):
        return [f"https://{options['custom_domain']}"]
    endpoint = options.get("endpoint_url")
    if isinstance(endpoint, str) and endpoint:
        parts = urlsplit(endpoint)
        # Virtual-hosted buckets are served from a subdomain of the endpoint.
        return [f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://*.{parts.netloc}"]
    return ["https://*.amazonaws.com"]


def csp_directives(*, media_storage: dict[str, object]) -> dict[str, list[str]]:
    """The Content-Security-Policy; docs/security.md gives each directive's reason."""
    self_ = "'self'"
    return {
        "default-src": [self_],
        "script-src": [self_],
        "style-src": [self_],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [self_, "data:", *_media_origins(media_storage)],
        "font-src": [self_],
        "connect-src": [self_],
        "object-src": ["'none'"],
        "base-uri": [self_],
        "form-action": [self_],
        "frame-ancestors": ["'none'"],
    }


def mail_check(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    """`check --deploy` (run by `make serve`): without SMTP no reset link is mailed."""
    if settings.EMAIL_HOST:
        return []
    return [
        checks.Warning(
            "DJANGO_EMAIL_HOST is not set: no password-reset link is mailed, and the reset "
            "page tells people to ask the administrators.",
            hint="Set DJANGO_EMAIL_HOST and its companions (docs/configuration.md).",
            id="taglens.W001",
        )
    ]
