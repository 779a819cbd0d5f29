"""Lazy people: the people source runs only for posts whose rules need adult or child (or whose
heads are unsure without it); a post that comes to need it later is completed then."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from mlmodels.concepts.heads import ConceptHeads
from mlmodels.fake import EMBEDDING_DIM, FakeClassifier
from moderation.ingest.activation import model_version_activate
from moderation.ingest.classifier import get_signal_sources, score_embeddings
from moderation.ingest.completion import signals_complete_hashtags
from moderation.ingest.model_versions import model_version_register
from moderation.ingest.training import override_signals
from moderation.judging.catalog import keyword_mapping_save, rule_save
from moderation.judging.overrides import verdict_override
from moderation.judging.verdicts import verdicts_explain
from moderation.models import Classification, Concept, Embedding, KeywordMapping, Rule, Verdict
from moderation.rules.compiled import NOT_RELEVANT, RELEVANT, UNKNOWN
from moderation.selectors.training import override_training_examples
from posts.models import Post
from posts.services import post_create, post_update
from tests.factories import ModeratorFactory, UserFactory
from tests.ingest.recording import RecordingPeople, people_png

pytestmark = pytest.mark.django_db

PEOPLE = "tests.ingest.recording.RecordingPeople"


def lazy_heads() -> ConceptHeads:
    """Hand-made heads on the fake embedding (mean red first): red means food and gym; gym also
    leans on people:person, so a middling red leaves gym unsure without people."""
    keys = ("people:person",)
    n = EMBEDDING_DIM + len(keys)
    weights = np.zeros((n, 4), dtype=np.float32)
    weights[0, 0] = weights[0, 3] = 20.0  # red → food, gym
    weights[EMBEDDING_DIM, 3] = 2.0  # people:person → gym
    mean, scale = np.zeros(n, np.float32), np.ones(n, np.float32)
    mean[EMBEDDING_DIM], scale[EMBEDDING_DIM] = 0.5, 0.5
    return ConceptHeads(
        concepts=("food", "adult", "child", "gym"),
        source={"food": "head", "adult": "imagenet", "child": "imagenet", "gym": "head"},
        mean=mean,
        scale=scale,
        weights=weights,
        bias=np.array([-10.0, 0.0, 0.0, -10.0], dtype=np.float32),
        signal_keys=keys,
        backbone=FakeClassifier.version,
        thresholds={"food": 0.5, "adult": 0.5, "child": 0.5, "gym": 0.5},
    )


def register(people_version: str = RecordingPeople.version):  # type: ignore[no-untyped-def]
    heads = lazy_heads()
    return model_version_register(
        name=f"fake-1+lazy-{people_version}",
        backbone=FakeClassifier.version,
        concepts=list(heads.concepts),
        heads=heads.to_bytes(),
        thresholds=heads.thresholds,
        metrics={},
        training={"signal_sources": [f"people@{people_version}"]},
    )


@pytest.fixture
def people(settings):  # type: ignore[no-untyped-def]
    settings.TAGLENS_SIGNAL_SOURCES = [PEOPLE]
    RecordingPeople.reset()
    yield RecordingPeople
    RecordingPeople.reset()


@pytest.fixture
def run(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """``run(f, ...)``: call f as a request would, then what its commit queues (tasks inline)."""

    def call(f, *args, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return f(*args, **kwargs)

    return call


@pytest.fixture
def lazy(people):  # type: ignore[no-untyped-def]
    """The heads above active (no rescoring: nothing is stored yet), thresholds 0.5."""
    version = register()
    version.is_active = True
    version.save()
    Concept.objects.filter(key__in=["food", "adult", "child", "gym"]).update(threshold=0.5)
    return people


def post(run, red: int, who: str, *tags: str) -> Post:  # type: ignore[no-untyped-def]
    image = io.BytesIO(people_png(red, who))
    made = run(post_create, author=UserFactory(), image=image, hashtags=list(tags))
    made.refresh_from_db()
    assert made.status == Post.Status.CLASSIFIED, made.failure_reason
    return made


def decision(post: Post, tag: str) -> str:
    return Verdict.objects.get(post=post, hashtag__name=tag).decision


def scores(post: Post) -> dict[str, float]:
    return Classification.objects.get(post=post).scores


def test_people_run_only_for_posts_whose_rules_need_adult_or_child(lazy, run) -> None:
    food = post(run, 250, "adult", "음식")
    fashion = post(run, 10, "adult", "패션")
    mapped = post(run, 11, "child", "ootd")  # judged by the 패션 rule through its keyword mapping

    assert lazy.seen == [10, 11]
    assert decision(food, "음식") == RELEVANT
    assert decision(fashion, "패션") == decision(mapped, "ootd") == RELEVANT
    assert scores(fashion)["adult"] == pytest.approx(0.9)
    assert Embedding.objects.get(post=fashion).signal_versions == {"people": "fake-people-1"}


def test_people_skip_a_post_whose_rule_the_photo_already_decides(lazy, run) -> None:
    Rule.objects.filter(hashtag="패션").update(expression="adult or food")
    Rule.objects.filter(hashtag="연애").update(expression="adult and not food")
    shown = post(run, 250, "adult", "패션")  # food is shown: true whoever is in it
    hidden = post(run, 251, "adult", "연애")  # food is shown: false whoever is in it
    open_ = post(run, 10, "adult", "패션")  # no food: the adult decides

    assert lazy.seen == [10]
    assert decision(shown, "패션") == RELEVANT and decision(hidden, "연애") == NOT_RELEVANT
    assert decision(open_, "패션") == RELEVANT
    assert "adult" not in scores(shown)  # not measured: nothing it could change


def test_people_run_where_words_could_reopen_a_rule_the_photo_decides(lazy, run) -> None:
    Rule.objects.filter(hashtag="패션").update(expression="adult or not food")
    # No food: true without people, but a word about food would leave it to the adult.
    made = post(run, 10, "adult", "패션")
    assert lazy.seen == [10] and decision(made, "패션") == RELEVANT


def test_a_batch_where_no_post_needs_people_runs_none(lazy, run, settings) -> None:
    settings.TAGLENS_CLASSIFY_BATCH = 4
    author = UserFactory()

    def upload_three() -> list[Post]:
        images = [people_png(red, "adult") for red in (250, 240, 10)]
        return [post_create(author=author, image=io.BytesIO(i), hashtags=["음식"]) for i in images]

    made = run(upload_three)

    assert lazy.seen == []
    assert set(
        Post.objects.filter(pk__in=[p.pk for p in made]).values_list("status", flat=True)
    ) == {Post.Status.CLASSIFIED}


def test_a_post_without_people_signals_has_no_adult_score_and_the_rule_says_unknown(
    lazy, run, monkeypatch, client
) -> None:
    from moderation.ingest import completion

    food = post(run, 250, "", "음식")
    assert Embedding.objects.get(post=food).signal_versions == {}
    assert "adult" not in scores(food) and "child" not in scores(food)  # not 0: not measured
    assert "adult" not in Classification.objects.get(post=food).unsupported
    monkeypatch.setattr(completion, "_enqueue", lambda post_ids: None)  # completion held back

    rule = Rule.objects.get(hashtag="음식")
    rule.expression = "food and not child"
    run(rule_save, rule=rule, by=None)

    assert decision(food, "음식") == UNKNOWN  # never "no child" from a model that did not run
    assert lazy.seen == []
    verdict = Verdict.objects.get(post=food, hashtag__name="음식")
    verdicts_explain([verdict])
    rows = {row["key"]: row for row in verdict.explanation["concepts"]}
    assert rows["child"]["not_measured"] and not rows["food"]["not_measured"]
    page = client.get(reverse("post-detail", args=[food.pk])).content.decode()
    assert "not measured for this post yet" in page


def test_a_new_hashtag_whose_rule_needs_people_completes_the_post(lazy, run) -> None:
    made = post(run, 250, "child", "음식")
    assert lazy.seen == []

    run(post_update, post=made, by=made.author, caption="우리 아기", hashtags=["음식", "육아"])

    assert lazy.seen == [250]
    assert decision(made, "육아") == RELEVANT
    assert decision(made, "음식") == RELEVANT
    assert scores(made)["child"] == pytest.approx(0.8)


def test_a_caption_edit_alone_runs_no_people(lazy, run) -> None:
    made = post(run, 250, "child", "음식")

    run(post_update, post=made, by=made.author, caption="아기와 함께")

    assert lazy.seen == []
    assert "child" not in scores(made)


def test_a_rule_changed_to_need_people_completes_its_posts(lazy, run) -> None:
    adult, nobody = post(run, 250, "adult", "음식"), post(run, 240, "", "음식")
    other = post(run, 245, "adult", "헬스")
    assert lazy.seen == []

    rule = Rule.objects.get(hashtag="음식")
    rule.expression = "food and not child"
    run(rule_save, rule=rule, by=None)

    assert sorted(lazy.seen) == [240, 250]  # the 헬스 post's rule needs no people
    assert decision(adult, "음식") == decision(nobody, "음식") == RELEVANT
    assert "child" not in scores(other)


def test_a_keyword_mapping_moved_to_a_people_rule_completes_its_posts(lazy, run) -> None:
    brunch = KeywordMapping(word="주말기록", rule=Rule.objects.get(hashtag="음식"))
    run(keyword_mapping_save, mapping=brunch, by=None)
    made = post(run, 250, "child", "주말기록")
    assert lazy.seen == []

    mapping = KeywordMapping.objects.get(word="주말기록")
    mapping.rule = Rule.objects.get(hashtag="육아")
    run(keyword_mapping_save, mapping=mapping, by=None)

    assert lazy.seen == [250]
    assert decision(made, "주말기록") == RELEVANT


def test_people_run_where_the_heads_are_unsure_of_a_needed_concept(lazy, run) -> None:
    sure, unsure = post(run, 250, "", "헬스"), post(run, 128, "adult", "헬스")
    absent = post(run, 10, "", "헬스")

    assert lazy.seen == [128]  # a middling red: gym hangs on whether a person is there
    assert decision(sure, "헬스") == RELEVANT
    assert decision(absent, "헬스") == NOT_RELEVANT
    assert decision(unsure, "헬스") == RELEVANT  # person 0.9 tipped it
    assert "adult" in scores(unsure)


def test_people_skip_a_post_whose_rule_holds_whatever_its_unsure_concept(lazy, run) -> None:
    Rule.objects.filter(hashtag="헬스").update(expression="food or gym")
    held = post(run, 140, "adult", "헬스")  # gym as unsure as above, but food holds the rule
    assert scores(held)["food"] >= 0.5
    assert lazy.seen == []
    assert decision(held, "헬스") == RELEVANT
    Rule.objects.filter(hashtag="헬스").update(expression="gym")
    assert decision(post(run, 140, "adult", "헬스"), "헬스") == RELEVANT
    assert lazy.seen == [140]  # gym alone: the person decides


def test_a_rule_changed_to_need_an_unsure_concept_completes_only_its_unsure_posts(
    lazy, run
) -> None:
    sure, unsure, absent = (post(run, red, "adult", "음식") for red in (250, 128, 10))
    assert lazy.seen == []  # #음식 = food, which reads no people

    rule = Rule.objects.get(hashtag="음식")
    rule.expression = "gym"
    run(rule_save, rule=rule, by=None)

    assert lazy.seen == [128]  # gym hangs on people only for the middling red
    assert decision(unsure, "음식") == RELEVANT  # person 0.9 tipped it
    assert decision(sure, "음식") == RELEVANT and decision(absent, "음식") == NOT_RELEVANT


def test_unsure_bounds_hold_every_stored_score_whose_range_holds_the_threshold() -> None:
    heads = lazy_heads()
    low, high = heads.unsure_bounds({"gym": 0.5, "food": 0.5})["gym"]
    assert "food" not in heads.unsure_bounds({"gym": 0.5, "food": 0.5})  # reads no people
    reds = np.linspace(0.0, 1.0, 401)
    vectors = np.zeros((len(reds), EMBEDDING_DIM), dtype=np.float32)
    vectors[:, 0] = reds
    stored = heads.scores(vectors, [{}] * len(reds))
    ranges = heads.score_ranges(vectors, [{}] * len(reds))
    unsure = [r["gym"][0] < 0.5 <= r["gym"][1] for r in ranges]
    inside = [low <= s["gym"] <= high for s in stored]
    assert any(unsure) and not all(inside)
    assert all(i for u, i in zip(unsure, inside, strict=True) if u)  # a superset, never fewer


def test_signals_of_another_people_version_are_not_read_and_are_replaced(lazy, run) -> None:
    made = post(run, 10, "adult", "패션")
    embedding = Embedding.objects.get(post=made)
    embedding.signal_versions = {"people": "older-people"}
    embedding.signals = {**embedding.signals, "people:age_min": 30.0}
    embedding.save()
    version = Classification.objects.get(post=made).model_version
    [(scored, _)] = score_embeddings(version, [embedding])
    assert "adult" not in scored  # made by another version: read as not run

    Post.objects.filter(pk=made.pk).update(status=Post.Status.PENDING)
    from moderation import tasks

    run(tasks.classify_post, made.pk)

    embedding.refresh_from_db()
    assert embedding.signal_versions == {"people": "fake-people-1"}
    assert "people:age_min" not in embedding.signals  # the new run reported no age
    assert lazy.seen == [10, 10]


def test_the_roll_up_version_runs_no_people(people, run) -> None:
    post(run, 10, "adult", "패션")

    assert people.seen == []


def test_activating_heads_completes_the_posts_whose_rules_need_people(people, run) -> None:
    fashion, food = post(run, 10, "adult", "패션"), post(run, 250, "adult", "음식")
    assert people.seen == []  # the roll-up was active
    assert decision(fashion, "패션") == UNKNOWN

    run(model_version_activate, version=register())

    assert people.seen == [10]
    assert decision(fashion, "패션") == RELEVANT
    assert decision(food, "음식") == RELEVANT


def test_heads_trained_on_another_people_version_never_run_this_one(people, run, caplog) -> None:
    version = register(people_version="people-other-9")
    version.is_active = True
    version.save()

    made = post(run, 10, "adult", "패션")

    assert people.seen == []
    assert decision(made, "패션") == UNKNOWN
    assert "retrained" in caplog.text
    assert signals_complete_hashtags() == 0


def test_training_from_overrides_runs_people_where_they_did_not_run(lazy, run) -> None:
    fashion = post(run, 10, "adult", "패션")  # people ran
    food = post(run, 250, "adult", "음식")  # people skipped: absent, not "nobody"
    moderator = ModeratorFactory()
    for made, tag in ((fashion, "패션"), (food, "음식")):
        verdict_override(verdict=made.verdicts.get(hashtag__name=tag), relevant=False, by=moderator)
    lazy.reset()

    examples = override_training_examples(backbone=FakeClassifier.version)
    found = override_signals(examples, get_signal_sources())
    signals = {e.post_id: values for e, values in zip(examples, found, strict=True)}

    assert lazy.seen == [250]  # only the post it had not run on, on its stored image
    assert signals[food.pk]["people:adult"] == pytest.approx(0.9)
    assert signals[fashion.pk] == Embedding.objects.get(post=fashion).signals


def owed(made: Post) -> bool:
    return Embedding.objects.get(post=made).completion_queued_at is not None


def test_a_completion_lost_with_its_task_is_queued_again_by_the_sweep(
    lazy, run, monkeypatch, settings
) -> None:
    from moderation import tasks
    from moderation.ingest import completion

    made = post(run, 250, "child", "음식")
    enqueue = completion._enqueue
    monkeypatch.setattr(completion, "_enqueue", lambda post_ids: None)
    run(post_update, post=made, by=made.author, caption="", hashtags=["음식", "육아"])
    assert lazy.seen == [] and decision(made, "육아") == UNKNOWN and owed(made)
    monkeypatch.setattr(completion, "_enqueue", enqueue)

    assert run(completion.signals_complete_sweep) == 0
    Embedding.objects.filter(post=made).update(
        completion_queued_at=timezone.now() - timedelta(seconds=settings.TAGLENS_CLASSIFY_LEASE)
    )
    assert run(tasks.classify_sweep) == "0 classification tasks queued, 1 posts queued to complete"

    assert lazy.seen == [250]
    assert decision(made, "육아") == RELEVANT
    assert not owed(made)
    assert run(completion.signals_complete_sweep) == 0


def test_a_post_another_worker_holds_stays_owed_its_completion(lazy, run, monkeypatch) -> None:
    from moderation.ingest import completion

    made = post(run, 250, "child", "음식")
    held = {"claimed_by": "another", "claimed_until": timezone.now() + timedelta(minutes=5)}
    Post.objects.filter(pk=made.pk).update(**held)

    run(post_update, post=made, by=made.author, caption="", hashtags=["음식", "육아"])

    assert lazy.seen == [] and owed(made)
    Post.objects.filter(pk=made.pk).update(claimed_by="", claimed_until=None)
    run(completion.signals_complete, post_ids=[made.pk])
    assert lazy.seen == [250] and not owed(made)
