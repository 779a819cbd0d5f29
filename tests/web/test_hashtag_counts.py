"""The maintained hashtag counts (HashtagStats) equal a fresh count of the verdicts after
every kind of change: upload, classification, override (one, many, undo), re-evaluation,
rescoring, a removed hashtag, a deleted post."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.urls import reverse

from moderation.judging.catalog import rule_save
from moderation.judging.counts import hashtag_counts_refresh
from moderation.judging.overrides import (
    verdict_override,
    verdict_override_undo,
    verdicts_override_bulk,
)
from moderation.judging.verdicts import verdicts_evaluate
from moderation.models import AuditEvent, HashtagStats, Rule, Verdict
from moderation.selectors.search import HashtagSummary, hashtag_counts_aggregate, hashtag_summary
from posts.models import Hashtag, Post
from posts.services import post_update
from tests.factories import HashtagFactory, ModeratorFactory, UserFactory, VerdictFactory
from tests.web.judged import judged_post, verdict

pytestmark = pytest.mark.django_db


def maintained() -> dict[str, tuple[int, int, int]]:
    return {
        s.hashtag.name: (s.shown, s.hidden, s.pending)
        for s in HashtagStats.objects.select_related("hashtag")
        if (s.shown, s.hidden, s.pending) != (0, 0, 0)
    }


def counted() -> dict[str, tuple[int, int, int]]:
    names = dict(Hashtag.objects.values_list("pk", "name"))
    return {
        names[pk]: (c.shown, c.hidden, c.pending)
        for pk, c in hashtag_counts_aggregate().items()
        if (c.shown, c.hidden, c.pending) != (0, 0, 0)
    }


def assert_counts_fresh() -> dict[str, tuple[int, int, int]]:
    fresh = counted()
    assert maintained() == fresh
    return fresh


def test_an_upload_is_pending_until_classified_then_shown_or_hidden(
    django_capture_on_commit_callbacks,
) -> None:
    judged_post(django_capture_on_commit_callbacks, ["카페", "고양이"], food=0.9)
    assert assert_counts_fresh() == {"카페": (1, 0, 0), "고양이": (0, 1, 0)}


def test_a_post_waiting_for_its_classification_counts_as_pending(client) -> None:
    from tests.factories import upload

    client.force_login(UserFactory())
    # Classification is queued on commit, which this test never reaches: still pending.
    client.post(reverse("post-upload"), {"image": upload(), "hashtags": "#카페"})
    assert Post.objects.get().status == Post.Status.PENDING
    assert assert_counts_fresh() == {"카페": (0, 0, 1)}


def test_overrides_one_at_a_time_in_bulk_and_undone(django_capture_on_commit_callbacks) -> None:
    capture = django_capture_on_commit_callbacks
    posts = [judged_post(capture, ["카페"], food=0.9) for _ in range(3)]
    moderator = ModeratorFactory()
    verdict_override(verdict=verdict(posts[0], "카페"), relevant=False, by=moderator)
    assert assert_counts_fresh() == {"카페": (2, 1, 0)}
    verdicts_override_bulk(
        verdicts=Verdict.objects.filter(hashtag__name="카페"), relevant=False, by=moderator
    )
    assert assert_counts_fresh() == {"카페": (0, 3, 0)}
    # Undo the bulk override of the second post: back to no override, shown by the model.
    event = AuditEvent.objects.filter(
        action=AuditEvent.Action.OVERRIDE, object_id=str(verdict(posts[1], "카페").pk)
    ).first()
    assert event is not None
    verdict_override_undo(event=event, by=moderator)
    assert assert_counts_fresh() == {"카페": (1, 2, 0)}
    verdict_override(verdict=verdict(posts[1], "카페"), relevant=None, by=moderator)
    assert_counts_fresh()


def test_a_rule_change_reevaluates_and_recounts(django_capture_on_commit_callbacks) -> None:
    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["카페"], beverage=0.9)
    judged_post(capture, ["카페"], food=0.9)
    assert assert_counts_fresh() == {"카페": (2, 0, 0)}
    rule = Rule.objects.get(hashtag="카페")
    rule.expression = "beverage"
    with capture(execute=True):
        rule_save(rule=rule, by=ModeratorFactory())
    assert assert_counts_fresh() == {"카페": (1, 1, 0)}


def test_a_removed_hashtag_loses_its_post_after_commit(django_capture_on_commit_callbacks) -> None:
    post = judged_post(django_capture_on_commit_callbacks, ["카페", "고양이"], food=0.9)
    assert post.author is not None
    with django_capture_on_commit_callbacks(execute=True):
        post_update(post=post, by=post.author, hashtags=["카페", "바다"])
    assert assert_counts_fresh() == {"카페": (1, 0, 0), "바다": (0, 1, 0)}


def test_deleted_posts_leave_the_counts_after_commit(django_capture_on_commit_callbacks) -> None:
    capture = django_capture_on_commit_callbacks
    kept = judged_post(capture, ["카페"], food=0.9)
    gone = [judged_post(capture, ["카페", "고양이"], food=0.9) for _ in range(3)]
    with capture(execute=True) as callbacks:
        gone[0].delete()
        Post.objects.filter(pk__in=[p.pk for p in gone[1:]]).delete()
    assert len(callbacks) >= 1
    assert assert_counts_fresh() == {"카페": (1, 0, 0)}
    assert kept.verdicts.count() == 1


def test_model_version_rescore_recounts_once_at_the_end(django_capture_on_commit_callbacks) -> None:
    from tests.web.test_model_versions import heads_version

    capture = django_capture_on_commit_callbacks
    judged_post(capture, ["음식"], food=0.0)  # red photo: the hand-made heads see food
    assert assert_counts_fresh() == {"음식": (0, 1, 0)}
    from moderation.ingest.activation import model_version_activate

    with capture(execute=True):
        model_version_activate(version=heads_version())
    assert assert_counts_fresh() == {"음식": (1, 0, 0)}


def test_refreshing_everything_repairs_counts_and_zeroes_emptied_tags() -> None:
    cafe = HashtagFactory(name="카페")
    VerdictFactory(hashtag=cafe)
    VerdictFactory(hashtag=cafe, shown=False, decision=Verdict.Decision.PENDING)
    HashtagStats.objects.filter(hashtag=cafe).update(shown=99)
    emptied = HashtagFactory(name="바다")
    VerdictFactory(hashtag=emptied)
    Verdict.objects.filter(hashtag=emptied).delete()  # behind the services' back
    assert hashtag_counts_refresh() == 2
    assert hashtag_summary(hashtag=Hashtag.objects.get(name="카페")) == HashtagSummary(1, 0, 1)
    assert hashtag_summary(hashtag=Hashtag.objects.get(name="바다")) == HashtagSummary(0, 0, 0)
    assert hashtag_counts_refresh(hashtag_ids=[]) == 0


def test_the_tag_page_and_home_read_the_maintained_counts(client) -> None:
    cafe = HashtagFactory(name="카페")
    for _ in range(2):
        VerdictFactory(hashtag=cafe)
    VerdictFactory(hashtag=HashtagFactory(name="바다"))
    VerdictFactory(hashtag=HashtagFactory(name="산"), shown=False)
    page = client.get(reverse("explore-tag", kwargs={"tag": "카페"}))
    assert page.context["summary"] == HashtagSummary(shown=2, hidden=0, pending=0)
    home = client.get(reverse("home"))
    assert [(h.name, h.shown_count) for h in home.context["popular"]] == [("카페", 2), ("바다", 1)]
    newest_first = list(Post.objects.filter(verdicts__shown=True).order_by("-created_at", "-id"))
    assert list(home.context["recent"]) == newest_first


# Serialized rollback: the browser tests before it leave the database flushed.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_overrides_of_one_tag_never_leave_a_stale_count() -> None:
    """T1 overrides a verdict and holds its transaction open; T2 overrides another verdict of
    the same tag and must wait for T1's lock on the counts, then count both changes."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to test")
    cafe = HashtagFactory(name="카페")
    first, second = VerdictFactory(hashtag=cafe), VerdictFactory(hashtag=cafe)
    moderator = UserFactory()  # the service takes anyone; permissions are the views' job
    _two_writers(
        lambda: verdict_override(verdict=first, relevant=False, by=moderator),
        lambda: verdict_override(verdict=second, relevant=False, by=moderator),
    )
    assert hashtag_summary(hashtag=Hashtag.objects.get(pk=cafe.pk)) == HashtagSummary(0, 2, 0)


def _wait_for_a_lock_waiter(limit: float = 10.0) -> Any:
    """Until another backend waits for a row lock (T2 on the counts row), at most `limit` s."""
    deadline = time.monotonic() + limit
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)


def _two_writers(first: Any, second: Any) -> None:
    """Run `first` in a transaction held open until `second`, in another thread, waits for a
    row lock; then both finish. Any exception fails the test."""
    holds, errors = threading.Event(), []

    def t1() -> None:
        try:
            with transaction.atomic():
                first()
                holds.set()
                _wait_for_a_lock_waiter()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def t2() -> None:
        try:
            holds.wait(10)
            second()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=t1), threading.Thread(target=t2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_judging_of_one_tag_adds_both_moves(django_capture_on_commit_callbacks) -> None:
    """Two posts of #카페 judged again at once (a rule now hides both): each writer moves its
    own verdict, the second waiting for the first's lock on the counts."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to test")
    capture = django_capture_on_commit_callbacks
    posts = [judged_post(capture, ["카페"], food=0.9) for _ in range(2)]
    assert assert_counts_fresh() == {"카페": (2, 0, 0)}
    Rule.objects.filter(hashtag="카페").update(expression="beverage")  # no re-evaluation
    _two_writers(
        lambda: verdicts_evaluate(posts=[posts[0]]),
        lambda: verdicts_evaluate(posts=[posts[1]]),
    )
    assert assert_counts_fresh() == {"카페": (0, 2, 0)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_judging_that_read_an_old_override_follows_the_stored_one(
    django_capture_on_commit_callbacks,
) -> None:
    """A moderator shows a verdict while the post is judged again from what it read before:
    the judging waits for the verdict's lock and keeps the moderator's word and its count."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to test")
    capture = django_capture_on_commit_callbacks
    post = judged_post(capture, ["카페"], food=0.9)
    Rule.objects.filter(hashtag="카페").update(expression="beverage")
    _two_writers(
        lambda: verdict_override(verdict=verdict(post, "카페"), relevant=True, by=UserFactory()),
        lambda: verdicts_evaluate(posts=[post]),
    )
    judged = verdict(post, "카페")
    assert judged.decision == Verdict.Decision.NOT_RELEVANT
    assert (judged.override, judged.shown) == (True, True)
    assert assert_counts_fresh() == {"카페": (1, 0, 0)}
