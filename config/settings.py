"""TagLens settings: one module, driven by environment variables.

Defaults give the embedded set-up (SQLite, django-q2's ORM broker, local media,
DEBUG on, a per-checkout secret key). Production sets DJANGO_DEBUG=false and must
then provide DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS; see docs/configuration.md.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import dj_database_url
import django_stubs_ext

from config.env import ImproperlySetError, env_bool, env_float, env_int, env_list, env_str

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
        raise ImproperlySetError("DJANGO_SECRET_KEY is required when DJANGO_DEBUG=false.")
    # Development only: a random key kept per checkout, never committed.
    key_file = VAR_DIR / "dev_secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
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
    "posts.apps.PostsConfig",
    "moderation.apps.ModerationConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'taglens.sqlite3'}"),
        # Connections kept between requests and tasks (checked before reuse): django-q2
        # closes and reopens one around every task otherwise, which cost a worker more time
        # per batch than claiming and storing it (docs/scaling.md, "Ingest and workers").
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and django-q2's processes write to the same file. IMMEDIATE
    # transactions take the write lock up front (a deferred one that upgrades fails at once
    # with "database is locked"), WAL lets readers go on while one writes, and the timeout
    # makes writers wait their turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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


def _media_storage(kind: str) -> dict[str, object]:
    """Uploaded photos and thumbnails: the local folder (MEDIA_ROOT), or a bucket of any
    S3-compatible object store through django-storages. Code reads media only through the
    storage (``.open()``, ``.url``), never a file path, so either works on every machine."""
    if kind == "local":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlySetError(f"TAGLENS_STORAGE={kind!r} is not 'local' or 's3'.")
    options: dict[str, object] = {
        "bucket_name": env_str("TAGLENS_S3_BUCKET"),  # required
        "location": env_str("TAGLENS_S3_PREFIX", "media"),
        # Private objects, links signed for TAGLENS_S3_URL_EXPIRY seconds; false for a public
        # bucket or a CDN domain that serves it.
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
        # Unset: boto3's own chain (AWS_ACCESS_KEY_ID..., an instance or pod role).
        "access_key": "TAGLENS_S3_ACCESS_KEY_ID",
        "secret_key": "TAGLENS_S3_SECRET_ACCESS_KEY",
    }
    for option, variable in optional.items():
        value = env_str(variable, "")
        if value:
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


TAGLENS_STORAGE = env_str("TAGLENS_STORAGE", "local")
STORAGES = {
    "default": _media_storage(TAGLENS_STORAGE),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Uploads (see docs/security.md): size, pixel and side limits, and uploads per user per hour.
TAGLENS_MAX_UPLOAD_BYTES = env_int("TAGLENS_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
TAGLENS_MAX_IMAGE_PIXELS = env_int("TAGLENS_MAX_IMAGE_PIXELS", 40_000_000)
TAGLENS_MIN_IMAGE_SIDE = env_int("TAGLENS_MIN_IMAGE_SIDE", 32)
TAGLENS_UPLOADS_PER_HOUR = env_int("TAGLENS_UPLOADS_PER_HOUR", 30)
# Comments per user per hour (docs/security.md), counted from stored comments like uploads.
TAGLENS_COMMENTS_PER_HOUR = env_int("TAGLENS_COMMENTS_PER_HOUR", 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = TAGLENS_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# The concept classifier: a dotted path to a class implementing mlmodels.base.Classifier.
TAGLENS_CLASSIFIER = env_str(
    "TAGLENS_CLASSIFIER", "mlmodels.tf_mobilenet.MobileNetV2RollupClassifier"
)
TAGLENS_MODEL_DIR = Path(env_str("TAGLENS_MODEL_DIR", str(VAR_DIR / "models")))
# CPU threads of the backbone in each worker process: workers x threads ~ the machine's cores.
TAGLENS_MODEL_THREADS = env_int("TAGLENS_MODEL_THREADS", 2)
if TAGLENS_MODEL_THREADS < 1:
    raise ImproperlySetError(f"TAGLENS_MODEL_THREADS={TAGLENS_MODEL_THREADS} must be >= 1.")
# Extra evidence stored beside each embedding (dotted paths of mlmodels SignalSource classes,
# built with the model into TAGLENS_MODEL_DIR/<name>); comma-separated, empty for none.
TAGLENS_SIGNAL_SOURCES = env_list(
    "TAGLENS_SIGNAL_SOURCES", ["mlmodels.people.PeopleSignals"], empty_is_none=True
)
TAGLENS_PAGE_SIZE = env_int("TAGLENS_PAGE_SIZE", 24)
# A verdict whose deciding score is closer than this to its threshold goes to the review queue.
TAGLENS_REVIEW_MARGIN = env_float("TAGLENS_REVIEW_MARGIN", 0.1)
# Read text in each image with Tesseract (kor+eng) once per post; when the program is missing
# the post page says so. TAGLENS_OCR_TIMEOUT bounds one image, in seconds.
TAGLENS_OCR = env_bool("TAGLENS_OCR", True)
TAGLENS_OCR_TIMEOUT = env_int("TAGLENS_OCR_TIMEOUT", 30)
# The development photo set (internal use only; never copied into the project).
TAGLENS_PHOTOS_DIR = Path(env_str("TAGLENS_PHOTOS", str(BASE_DIR.parent / "shared" / "photos")))

# django-q2: ORM broker on the default database unless configured otherwise. A task that runs
# longer than `timeout` is killed; an unacknowledged one (its worker died) is handed out again
# after `retry` (ORM broker), at most `max_attempts` times.
Q_TIMEOUT = env_int("TAGLENS_Q_TIMEOUT", 120)
Q_RETRY = env_int("TAGLENS_Q_RETRY", 180)
if not 0 < Q_TIMEOUT < Q_RETRY:
    raise ImproperlySetError(
        f"TAGLENS_Q_TIMEOUT ({Q_TIMEOUT}) must be positive and below TAGLENS_Q_RETRY ({Q_RETRY})."
    )
Q_CLUSTER = {
    "name": "taglens",
    "orm": "default",
    "workers": env_int("TAGLENS_Q_WORKERS", 1),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": env_int("TAGLENS_Q_MAX_ATTEMPTS", 3),
    # A worker process is replaced after this many tasks and loads the model again (a few
    # seconds). With a task per upload, django-q2's 500 would reload every 500 photos.
    "recycle": env_int("TAGLENS_Q_RECYCLE", 5000),
    "catch_up": False,
    "sync": env_bool("TAGLENS_Q_SYNC", False),
    "label": "Task queue",
}

# Classification in batches (docs/scaling.md, "Ingest and workers"): a task claims up to
# TAGLENS_CLASSIFY_BATCH pending posts for TAGLENS_CLASSIFY_LEASE seconds. The lease outlives
# the task timeout, so only a dead worker's posts are ever taken over. The default follows the
# pipeline: the backbone and heads alone take ~10 ms a photo, and 64 share a batch's fixed cost
# (its statements, the rules read once) where 16 left a third of the time to it; people signals
# or OCR take ~1 s a photo, and 16 keep a batch well inside the task timeout.
CLASSIFY_BATCH_BACKBONE_ONLY = 64
CLASSIFY_BATCH_WITH_SIGNALS_OR_OCR = 16
TAGLENS_CLASSIFY_BATCH = env_int(
    "TAGLENS_CLASSIFY_BATCH",
    CLASSIFY_BATCH_WITH_SIGNALS_OR_OCR
    if TAGLENS_OCR or TAGLENS_SIGNAL_SOURCES
    else CLASSIFY_BATCH_BACKBONE_ONLY,
)
TAGLENS_CLASSIFY_LEASE = env_int("TAGLENS_CLASSIFY_LEASE", 150)
# PostgreSQL memory for a re-evaluation's statements (SET LOCAL work_mem, their transaction only):
# their hash joins over a rule's verdicts stay in memory instead of spilling to disk.
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

# Scaled out: with TAGLENS_REDIS_URL set, django-q2 uses Redis as its broker (any number of
# `manage.py qcluster` processes on any machine share the queue) and Django's cache (throttle
# counters) lives there too; see docs/scaling.md.
TAGLENS_REDIS_URL = env_str("TAGLENS_REDIS_URL", "")
if TAGLENS_REDIS_URL:
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = TAGLENS_REDIS_URL
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TAGLENS_REDIS_URL,
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "moderation.web.api.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": TAGLENS_PAGE_SIZE,
    # Search is throttled per client address (anonymous) or per user, in each process's
    # cache; uploads are limited per user from stored posts (TAGLENS_UPLOADS_PER_HOUR).
    "DEFAULT_THROTTLE_RATES": {
        "search_anon": env_str("TAGLENS_THROTTLE_SEARCH_ANON", "60/minute"),
        "search_user": env_str("TAGLENS_THROTTLE_SEARCH_USER", "240/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TagLens API",
    "DESCRIPTION": "Hashtag search that shows only photos whose content fits the hashtag's rule.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Error answers (400/401/403/404/429) are listed too; the fuzz test holds the API to them.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "moderation.web.api.schema.add_error_responses",
    ],
}

if not DEBUG:
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
    "root": {"handlers": ["console"], "level": env_str("TAGLENS_LOG_LEVEL", "INFO")},
}
