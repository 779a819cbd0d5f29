"""gunicorn settings for `make serve`; the TAGLENS_* variables are in docs/configuration.md."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import env_int, env_str

wsgi_app = "config.wsgi:application"
bind = [env_str("TAGLENS_BIND", "127.0.0.1:8000")]
# Sync workers (threads 1), three per core to cover waits on Redis and the database: the kernel
# hands each new connection to a free process. They need a proxy that buffers request bodies
# (nginx does by default). Measured against gthread in docs/scaling.md, "Load".
workers = env_int("TAGLENS_WEB_WORKERS", 6)
threads = env_int("TAGLENS_WEB_THREADS", 1)
# Below the reverse proxy's own timeout; an upload is read and re-encoded well within it.
timeout = env_int("TAGLENS_WEB_TIMEOUT", 30)
graceful_timeout = 20
# X-Forwarded-* are trusted only from the reverse proxy in front (default: this machine).
forwarded_allow_ips = env_str("TAGLENS_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Requests whose header block is oversized are refused by gunicorn itself.
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"


def post_worker_init(worker: object) -> None:
    # The app's objects live as long as the worker: full collections need not walk them.
    gc.freeze()
