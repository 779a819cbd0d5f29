"""GET /metrics: the workers' backlog and the moderators' queue as Prometheus gauges, for
operators' monitoring (docs/security.md). Off unless TAGLENS_METRICS_TOKEN is set; then a
scraper sends it as a bearer token."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker

from moderation.models import ModelVersion
from moderation.selectors.backlog import ingest_backlog
from moderation.selectors.review import review_counts

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text() -> str:
    """The exposition: one HELP, TYPE and sample line set per gauge."""
    backlog = ingest_backlog()
    waiting = review_counts()
    active = ModelVersion.objects.filter(is_active=True).values_list("name", flat=True)
    gauges: list[tuple[str, str, list[tuple[str, float]]]] = [
        (
            "taglens_posts",
            "Posts by status where the workers still owe work (pending) or gave up (failed).",
            [('{status="pending"}', backlog.pending), ('{status="failed"}', backlog.failed)],
        ),
        (
            "taglens_pending_oldest_seconds",
            "Age of the oldest pending post; rising means the workers are stopped or behind.",
            [("", backlog.pending_seconds or 0)],
        ),
        (
            "taglens_completions_owed",
            "Classified posts whose people signals are queued, not yet run.",
            [("", backlog.owed)],
        ),
        (
            "taglens_completions_owed_oldest_seconds",
            "Age of the oldest owed completion.",
            [("", backlog.owed_seconds or 0)],
        ),
        (
            "taglens_broker_queue_size",
            "Tasks waiting in the django-q2 broker.",
            [("", get_broker().queue_size() or 0)],
        ),
        (
            "taglens_review_queue_size",
            "Verdicts in the moderators' review queue.",
            [("", waiting.queue)],
        ),
        (
            "taglens_review_requests_waiting",
            "Authors' review requests no moderator has answered.",
            [("", waiting.requests)],
        ),
        (
            "taglens_reports_waiting",
            "Reported verdicts no moderator has decided.",
            [("", waiting.reports)],
        ),
        (
            "taglens_model_version_info",
            "The active model version (1), by name.",
            [(f'{{version="{_label(version)}"}}', 1) for version in active],
        ),
    ]
    lines = []
    for name, help_text, samples in gauges:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return "\n".join(lines) + "\n"


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.TAGLENS_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set TAGLENS_METRICS_TOKEN.")
    if not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse(
            "Send the metrics token: Authorization: Bearer <TAGLENS_METRICS_TOKEN>\n",
            status=401,
            content_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE)
