"""What a rule, threshold or keyword-mapping change would do, judged in memory by the same code as
saving (`verdicts_judge`); nothing is written, overrides never count as changed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from moderation.judging.verdicts import verdicts_judge
from moderation.models import Concept, KeywordMapping, Rule, Verdict
from moderation.rules.compiled import ConceptInfo
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.selectors.catalog import RuleIndex, concept_catalog, concept_names, rule_index
from posts.models import Post

SAMPLES = 6
BATCH = 500


@dataclass(frozen=True)
class Preview:
    hidden: int  # shown now, hidden after the change
    shown: int  # hidden now, shown after the change
    total: int  # verdicts under the affected hashtags
    hashtags: list[str]  # the affected hashtags that have posts
    samples_hidden: list[Post]
    samples_shown: list[Post]

    @property
    def unchanged(self) -> int:
        return self.total - self.hidden - self.shown

    def __str__(self) -> str:
        where = ", ".join(f"#{name}" for name in self.hashtags) or "no hashtag"
        return (
            f"This change hides {self.hidden} and shows {self.shown} "
            f"of {self.total} posts under {where}."
        )


def _preview(
    *, names: set[str], index: RuleIndex, catalog: dict[str, ConceptInfo] | None = None
) -> Preview:
    rows = Verdict.objects.filter(hashtag__name__in=names).values_list(
        "pk", "shown", "post_id", "hashtag__name"
    )
    before = {pk: shown for pk, shown, _, _ in rows}
    post_ids = sorted({post_id for _, _, post_id, _ in rows})
    used = sorted({name for _, _, _, name in rows})  # hashtags with posts, for the summary
    hidden: list[Verdict] = []
    shown: list[Verdict] = []
    for start in range(0, len(post_ids), BATCH):
        chunk = Post.objects.filter(pk__in=post_ids[start : start + BATCH]).only("pk")
        for verdict in verdicts_judge(posts=chunk, index=index, catalog=catalog):
            was = before.get(verdict.pk)
            if was is True and not verdict.shown:
                hidden.append(verdict)
            elif was is False and verdict.shown:
                shown.append(verdict)

    def newest(verdicts: list[Verdict]) -> list[Post]:
        ordered = sorted(verdicts, key=lambda v: (v.post_created_at, v.post_id), reverse=True)
        return [v.post for v in ordered[:SAMPLES]]

    return Preview(
        hidden=len(hidden),
        shown=len(shown),
        total=len(before),
        hashtags=used,
        samples_hidden=newest(hidden),
        samples_shown=newest(shown),
    )


def rule_change_preview(
    *, rule: Rule, new_expression: str, new_hashtag: str | None = None
) -> Preview:
    """Saving ``rule`` (new when it has no pk) with this expression and hashtag. A saved rule
    is compared as stored: a bound admin form has already written its input into it."""
    index = rule_index()
    old = Rule.objects.filter(pk=rule.pk).first() if rule.pk else None
    draft = Rule(
        pk=rule.pk,
        hashtag=new_hashtag or (old.hashtag if old else rule.hashtag),
        expression=new_expression,
        description=rule.description,
    )
    rules = {k: r for k, r in index.rules.items() if old is None or r.pk != old.pk}
    rules[draft.hashtag] = draft
    mappings = {
        word: draft if old is not None and target.pk == old.pk else target
        for word, target in index.mappings.items()
    }
    names = {draft.hashtag} | {word for word, target in mappings.items() if target is draft}
    if old is not None:
        names.add(old.hashtag)
    return _preview(names=names, index=RuleIndex(rules=rules, mappings=mappings))


def concept_threshold_preview(*, concept: Concept, new_threshold: float) -> Preview:
    """Saving this concept's threshold: every rule naming it, or a concept it rolls up to."""
    catalog = concept_catalog()
    if concept.key not in catalog:
        return Preview(0, 0, 0, [], [], [])
    affected = {concept.key}
    parent = catalog[concept.key].parent
    while parent and parent not in affected:
        affected.add(parent)
        parent = catalog[parent].parent if parent in catalog else None
    changed = dict(catalog)
    changed[concept.key] = replace(catalog[concept.key], threshold=float(new_threshold))
    names = concept_names(catalog)
    index = rule_index()
    judged_by: set[str] = set()
    for hashtag, rule in index.rules.items():
        try:
            if parse(rule.expression, names).concepts() & affected:
                judged_by.add(hashtag)
        except RuleSyntaxError:
            continue
    tags = judged_by | {w for w, r in index.mappings.items() if r.hashtag in judged_by}
    return _preview(names=tags, index=index, catalog=changed)


def keyword_mapping_preview(*, mapping: KeywordMapping, word: str, rule: Rule) -> Preview:
    """Saving ``mapping`` (new when it has no pk) as ``word`` → ``rule``."""
    index = rule_index()
    old = KeywordMapping.objects.filter(pk=mapping.pk).first() if mapping.pk else None
    mappings = {w: r for w, r in index.mappings.items() if old is None or w != old.word}
    mappings[word] = rule
    names = {word} | ({old.word} if old else set())
    return _preview(names=names, index=RuleIndex(rules=index.rules, mappings=mappings))
