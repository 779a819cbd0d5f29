"""TagLens settings from environment variables; defaults give the embedded set-up.

Every variable is described in docs/configuration.md.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext

from config.api_settings import rest_framework_settings, spectacular_settings
from config.env import (
    ImproperlySetError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_log_level,
    env_str,
)
from config.production import csp_directives, refuse_development_secret_key

# Lets admin.ModelAdmin[Post] and friends be subscripted at run time, for typing.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TAGLENS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    from_env = env_str("DJANGO_SECRET_KEY", "")
    if from_env:
        return from_env
    if not DEBUG:
        raise ImproperlySetError(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG=false. Make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(64))"'
        )
    # Development only: a random key kept per checkout, never committed.
    key_file = VAR_DIR / "dev_secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
if not DEBUG:
    # The development key sits in a plain file beside the database: never sign with it here.
    refuse_development_secret_key(SECRET_KEY, VAR_DIR / "dev_secret_key")
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    "csp",
    "posts.apps.PostsConfig",
    "moderation.apps.ModerationConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a body (docs/security.md).
    "posts.body_limits.StreamedBodyLimitMiddleware",
    "config.json_guard.JsonDepthMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lockout found while logging in into its answer (config/lockout.py).
    "axes.middleware.AxesMiddleware",
]

if not DEBUG:
    # In development runserver serves static files itself; in production WhiteNoise does.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "moderation.web.activity.unread",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'taglens.sqlite3'}"),
        # django-q2 reopens a connection around every task otherwise (docs/scaling.md).
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and django-q2 processes write one file: lock up front, wait (docs/configuration.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Lockout after repeated failed logins (django-axes), per user name and client address.
AUTHENTICATION_BACKENDS = [
    "config.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("TAGLENS_LOCKOUT", True)
AXES_FAILURE_LIMIT = env_int("TAGLENS_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = env_float("TAGLENS_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429  # Too Many Requests, with Retry-After
# One notion of "the client" for lockouts, throttles and search counts (posts/clients.py).
AXES_CLIENT_IP_CALLABLE = "posts.clients.client_address"
# From 1 the client address is read from X-Forwarded-For, not the proxy's own address.
TAGLENS_PROXY_COUNT = env_int("TAGLENS_PROXY_COUNT", 0)
TAGLENS_METRICS_TOKEN = env_str("TAGLENS_METRICS_TOKEN", "")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Our own messages are English; templates show Korean beside it.
LANGUAGE_CODE = env_str("DJANGO_LANGUAGE_CODE", "en")
LANGUAGES = [("ko", "한국어"), ("en", "English")]
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "Asia/Seoul")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("TAGLENS_MEDIA_ROOT", str(VAR_DIR / "media")))
TAGLENS_SERVE_MEDIA = env_bool("TAGLENS_SERVE_MEDIA", True)  # off where a proxy serves them


def _media_storage(kind: str) -> dict[str, object]:
    """Local folder or S3-compatible bucket; code reads media only through the storage."""
    if kind == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlySetError(f"TAGLENS_STORAGE={kind!r} is not 'local' or 's3'.")
    options: dict[str, object] = {
        "bucket_name": env_str("TAGLENS_S3_BUCKET"),  # required
        "location": env_str("TAGLENS_S3_PREFIX", "media"),
        "querystring_auth": env_bool("TAGLENS_S3_SIGNED_URLS", True),
        "querystring_expire": env_int("TAGLENS_S3_URL_EXPIRY", 3600),
        "default_acl": None,  # the bucket's policy decides
        "file_overwrite": False,  # names are random; never replace a stored photo
    }
    optional = {
        "endpoint_url": "TAGLENS_S3_ENDPOINT_URL",  # MinIO, Ceph, R2, ...; unset for AWS
        "region_name": "TAGLENS_S3_REGION",
        "custom_domain": "TAGLENS_S3_CUSTOM_DOMAIN",  # links on this host (a CDN)
        "addressing_style": "TAGLENS_S3_ADDRESSING_STYLE",  # "path" for most self-hosted
        "access_key": "TAGLENS_S3_ACCESS_KEY_ID",
        "secret_key": "TAGLENS_S3_SECRET_ACCESS_KEY",
    }
    for option, variable in optional.items():
        value = env_str(variable, "")
        if value:
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


TAGLENS_STORAGE = env_str("TAGLENS_STORAGE", "local")
MEDIA_STORAGE = _media_storage(TAGLENS_STORAGE)
STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Password-reset mail: SMTP with a host, else the console under DEBUG (docs/security.md).
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "TagLens <noreply@localhost>")
EMAIL_BACKEND = f"django.core.mail.backends.{'smtp' if EMAIL_HOST else 'console'}.EmailBackend"
TAGLENS_MAIL = bool(EMAIL_HOST) or DEBUG
TAGLENS_PASSWORD_RESETS_PER_HOUR = env_int("TAGLENS_PASSWORD_RESETS_PER_HOUR", 5)

# Uploads (see docs/security.md): size, pixel and side limits, and uploads per user per hour.
TAGLENS_MAX_UPLOAD_BYTES = env_int("TAGLENS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
TAGLENS_MAX_IMAGE_PIXELS = env_int("TAGLENS_MAX_IMAGE_PIXELS", 40_000_000)
TAGLENS_MIN_IMAGE_SIDE = env_int("TAGLENS_MIN_IMAGE_SIDE", 32)
TAGLENS_UPLOADS_PER_HOUR = env_int("TAGLENS_UPLOADS_PER_HOUR", 30)
# Comments per user per hour (docs/security.md), counted from stored comments like uploads.
TAGLENS_COMMENTS_PER_HOUR = env_int("TAGLENS_COMMENTS_PER_HOUR", 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = TAGLENS_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# A class implementing mlmodels.base.Classifier: MobileNetV2 and EfficientNet-Lite0, both int8.
TAGLENS_CLASSIFIER = env_str(
    "TAGLENS_CLASSIFIER", "mlmodels.network.pair.MobileNetV2Lite0Classifier"
)
TAGLENS_MODEL_DIR = Path(env_str("TAGLENS_MODEL_DIR", str(VAR_DIR / "models")))
# Worker processes and each one's backbone threads: workers x threads ~ the machine's cores.
# Two workers of one thread beat one of two (Tesseract and people run on one core each).
CORES = os.cpu_count() or 1
TAGLENS_Q_WORKERS = env_int("TAGLENS_Q_WORKERS", min(2, CORES))
if TAGLENS_Q_WORKERS < 1:
    raise ImproperlySetError(f"TAGLENS_Q_WORKERS={TAGLENS_Q_WORKERS} must be >= 1.")
TAGLENS_MODEL_THREADS = env_int("TAGLENS_MODEL_THREADS", max(1, CORES // TAGLENS_Q_WORKERS))
if TAGLENS_MODEL_THREADS < 1:
    raise ImproperlySetError(f"TAGLENS_MODEL_THREADS={TAGLENS_MODEL_THREADS} must be >= 1.")
# Dotted paths of mlmodels SignalSource classes; set and empty for none. The TFLite people
# source by default; mlmodels.people.PeopleSignals is the older, slower one (docs/people.md).
TAGLENS_SIGNAL_SOURCES = env_list(
    "TAGLENS_SIGNAL_SOURCES", ["mlmodels.people.PeopleSignalsLite"], empty_is_none=True
)
TAGLENS_PAGE_SIZE = env_int("TAGLENS_PAGE_SIZE", 24)
# A verdict whose deciding score is closer than this to its threshold goes to the review queue.
TAGLENS_REVIEW_MARGIN = env_float("TAGLENS_REVIEW_MARGIN", 0.2)
# Reviews one author may have waiting at once: the queue is the moderators' time.
TAGLENS_REVIEW_REQUESTS_OPEN = env_int("TAGLENS_REVIEW_REQUESTS_OPEN", 20)
# Reports of "does not fit this hashtag" one person may send in a day.
TAGLENS_REPORTS_PER_DAY = env_int("TAGLENS_REPORTS_PER_DAY", 50)
TAGLENS_OCR = env_bool("TAGLENS_OCR", True)
TAGLENS_OCR_TIMEOUT = env_int("TAGLENS_OCR_TIMEOUT", 30)
# The development photo set (internal use only; never copied into the project).
TAGLENS_PHOTOS_DIR = Path(env_str("TAGLENS_PHOTOS", str(BASE_DIR.parent / "shared" / "photos")))

# django-q2: a task must be killed (timeout) before it is handed out again (retry).
Q_TIMEOUT = env_int("TAGLENS_Q_TIMEOUT", 120)
Q_RETRY = env_int("TAGLENS_Q_RETRY", 180)
if not 0 < Q_TIMEOUT < Q_RETRY:
    raise ImproperlySetError(
        f"TAGLENS_Q_TIMEOUT ({Q_TIMEOUT}) must be positive and below TAGLENS_Q_RETRY ({Q_RETRY})."
    )


def _long_task_timeout(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < Q_TIMEOUT:
        raise ImproperlySetError(f"{name} ({value}) must be at least TAGLENS_Q_TIMEOUT.")
    return value


# Training and a version's rescoring run for minutes; a redelivered task finds its work claimed.
TAGLENS_TRAIN_TIMEOUT = _long_task_timeout("TAGLENS_TRAIN_TIMEOUT", 1800)
TAGLENS_RESCORE_TIMEOUT = _long_task_timeout("TAGLENS_RESCORE_TIMEOUT", 3600)
Q_CLUSTER = {
    "name": "taglens",
    "orm": "default",
    "workers": TAGLENS_Q_WORKERS,
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": env_int("TAGLENS_Q_MAX_ATTEMPTS", 3),
    # Each recycle reloads the model; django-q2's 500 would reload every 500 photos.
    "recycle": env_int("TAGLENS_Q_RECYCLE", 5000),
    "catch_up": False,
    "sync": env_bool("TAGLENS_Q_SYNC", False),
    "label": "Task queue",
}

# Batch sizes as measured (docs/scaling.md); the lease outlives the task timeout, so only a
# dead worker's posts are ever taken over.
CLASSIFY_BATCH_BACKBONE_ONLY = 64
CLASSIFY_BATCH_WITH_SIGNALS_OR_OCR = 16
TAGLENS_CLASSIFY_BATCH = env_int(
    "TAGLENS_CLASSIFY_BATCH",
    CLASSIFY_BATCH_WITH_SIGNALS_OR_OCR
    if TAGLENS_OCR or TAGLENS_SIGNAL_SOURCES
    else CLASSIFY_BATCH_BACKBONE_ONLY,
)
TAGLENS_CLASSIFY_LEASE = env_int("TAGLENS_CLASSIFY_LEASE", 150)
# SET LOCAL work_mem for re-evaluation: its hash joins stay in memory, not spilled to disk.
TAGLENS_REEVALUATE_WORK_MEM = env_str("TAGLENS_REEVALUATE_WORK_MEM", "256MB")
if not re.fullmatch(r"[1-9][0-9]*(kB|MB|GB)", TAGLENS_REEVALUATE_WORK_MEM):
    raise ImproperlySetError(
        f"TAGLENS_REEVALUATE_WORK_MEM={TAGLENS_REEVALUATE_WORK_MEM!r}: give a size such as 256MB."
    )
if TAGLENS_CLASSIFY_BATCH < 1:
    raise ImproperlySetError(f"TAGLENS_CLASSIFY_BATCH={TAGLENS_CLASSIFY_BATCH} must be >= 1.")
if TAGLENS_CLASSIFY_LEASE <= Q_TIMEOUT:
    raise ImproperlySetError(
        f"TAGLENS_CLASSIFY_LEASE ({TAGLENS_CLASSIFY_LEASE}) must be longer than "
        f"TAGLENS_Q_TIMEOUT ({Q_TIMEOUT}): a live worker's claim must never run out."
    )

# Scaled out (docs/scaling.md): Redis is django-q2's broker and Django's cache.
TAGLENS_REDIS_URL = env_str("TAGLENS_REDIS_URL", "")
if TAGLENS_REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = TAGLENS_REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.RedisCache",
            "LOCATION": TAGLENS_REDIS_URL,
        }
    }
    # A shared cache every web process sees; without Redis only the database is shared.
    AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
else:
    AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"

TAGLENS_SEARCH_COUNT_WINDOW = env_int("TAGLENS_SEARCH_COUNT_WINDOW", 3600)
# On by default only with Redis: a per-process cache would not hear of the workers' changes.
TAGLENS_SEARCH_CACHE_SECONDS = env_int(
    "TAGLENS_SEARCH_CACHE_SECONDS", 60 if TAGLENS_REDIS_URL else 0
)
_media_options = MEDIA_STORAGE.get("OPTIONS", {})
if (
    isinstance(_media_options, dict)
    and _media_options.get("querystring_auth")
    and 2 * TAGLENS_SEARCH_CACHE_SECONDS > int(_media_options["querystring_expire"])
):
    # A cached page links photos with signed URLs: they must outlive the page by far.
    raise ImproperlySetError(
        f"TAGLENS_SEARCH_CACHE_SECONDS ({TAGLENS_SEARCH_CACHE_SECONDS}) must be at most half of "
        f"TAGLENS_S3_URL_EXPIRY ({_media_options['querystring_expire']})."
    )

REST_FRAMEWORK = rest_framework_settings(
    page_size=TAGLENS_PAGE_SIZE, proxy_count=TAGLENS_PROXY_COUNT
)
SPECTACULAR_SETTINGS = spectacular_settings(description=BASE_DIR / "config" / "api.md")

# docs/security.md lists each directive and why.
CONTENT_SECURITY_POLICY = {"DIRECTIVES": csp_directives(media_storage=MEDIA_STORAGE)}

if not DEBUG:
    # Load balancers probe /health/, and scrapers /metrics, over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 3600)
    # Off unless asked for: both bind every subdomain (and, preloaded, every browser) to HTTPS.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_log_level("TAGLENS_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "propagate": True},  # its own printed lines twice
        # django-q2 prints three lines a task at INFO, burying the batches' own lines.
        "django-q": {"level": env_log_level("TAGLENS_Q_LOG_LEVEL", "WARNING")},
    },
}
