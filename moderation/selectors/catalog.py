"""Reads of the catalogue: concepts, rules and keyword mappings, and which rule judges a hashtag."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from moderation.models import (
    Concept,
    KeywordMapping,
    ModelVersion,
    Rule,
)
from moderation.rules.compiled import ConceptInfo
from moderation.rules.decide import concept_about
from moderation.rules.expr import concept_keys
from moderation.rules.syntax import RuleSyntaxError, parse
from posts.models import Hashtag


def concept_catalog() -> dict[str, ConceptInfo]:
    rows = Concept.objects.select_related("parent").order_by("key")
    return {
        c.key: ConceptInfo(
            key=c.key,
            name_ko=c.name_ko,
            name_en=c.name_en,
            threshold=c.threshold,
            parent=c.parent.key if c.parent else None,
        )
        for c in rows
    }


def concepts_unseen() -> tuple[ModelVersion | None, list[ConceptInfo]]:
    """The active model version and the concepts it cannot score (unknown wherever needed)."""
    active = ModelVersion.objects.filter(is_active=True).first()
    seen = set(active.concepts) if active is not None else set()
    return active, [info for key, info in concept_catalog().items() if key not in seen]


def concept_names(catalog: dict[str, ConceptInfo]) -> dict[str, str]:
    """Every way a rule may name a concept (key, Korean, English; case-folded) → key."""
    names: dict[str, str] = {}
    for info in catalog.values():
        for name in (info.key, info.name_ko, info.name_en):
            names[name.casefold()] = info.key
    return names


@dataclass(frozen=True)
class RuleIndex:
    """Which rule judges each hashtag: its own, or the one its keyword mapping points to."""

    rules: dict[str, Rule]
    mappings: dict[str, Rule]

    def resolve(self, tag: str) -> tuple[Rule | None, str | None]:
        if tag in self.rules:
            return self.rules[tag], None
        if tag in self.mappings:
            return self.mappings[tag], tag
        return None, None


def rule_index(*, tags: list[str] | None = None) -> RuleIndex:
    """Every rule and mapping, or only those that can judge `tags`."""
    if tags is None:
        # One Rule object per rule, shared by its mappings (hundreds of dish words).
        by_id = Rule.objects.in_bulk()
        words = KeywordMapping.objects.values_list("word", "rule_id")
        return RuleIndex(
            rules={rule.hashtag: rule for rule in by_id.values()},
            mappings={word: by_id[rule_id] for word, rule_id in words if rule_id in by_id},
        )
    rules = Rule.objects.all()
    mappings = KeywordMapping.objects.select_related("rule")
    rules, mappings = rules.filter(hashtag__in=tags), mappings.filter(word__in=tags)
    return RuleIndex(
        rules={rule.hashtag: rule for rule in rules}, mappings={m.word: m.rule for m in mappings}
    )


def rule_index_for(tag: str) -> tuple[Rule | None, str | None]:
    """The rule judging one hashtag (two small queries, the same precedence as everywhere)."""
    return rule_index(tags=[tag]).resolve(tag)


def hashtags_related(*, rule: Rule, name: str, limit: int = 8) -> list[Hashtag]:
    """Other hashtags in use that the same rule judges (its own, its keyword mappings), those
    with most posts shown first: where someone searching #라떼 may look next."""
    mapped = KeywordMapping.objects.filter(rule=rule).values("word")
    rows = Hashtag.objects.filter(Q(name=rule.hashtag) | Q(name__in=mapped), stats__shown__gt=0)
    return list(rows.exclude(name=name).order_by("-stats__shown", "name")[:limit])


def rule_hashtags(*, rule_ids: list[int]) -> set[str]:
    """The hashtags these rules judge: their own and their keyword mappings' words."""
    own = Rule.objects.filter(pk__in=rule_ids).values_list("hashtag", flat=True)
    mapped = KeywordMapping.objects.filter(rule_id__in=rule_ids).values_list("word", flat=True)
    return {*own, *mapped}


def rule_words_starting(*, prefix: str, limit: int) -> list[str]:
    """Rules' own hashtags and mapped words that start with `prefix`: the hashtags TagLens
    judges, whether or not a post carries them yet."""
    own = Rule.objects.filter(hashtag__startswith=prefix).order_by("hashtag")
    mapped = KeywordMapping.objects.filter(word__startswith=prefix).order_by("word")
    words = {*own.values_list("hashtag", flat=True)[:limit]}
    words |= {*mapped.values_list("word", flat=True)[:limit]}
    return sorted(words)[:limit]


def hashtags_without_rule() -> QuerySet[Hashtag]:
    """Hashtags in use that neither have a rule nor map to one, most searched first."""
    return (
        Hashtag.objects.exclude(name__in=Rule.objects.values("hashtag"))
        .exclude(name__in=KeywordMapping.objects.values("word"))
        .annotate(post_count=Count("post_hashtags"))
        .filter(post_count__gt=0)
        .order_by("-search_count", "-post_count", "name")
    )


def rule_concept_keys(rule: Rule | None, names: dict[str, str] | None = None) -> list[str]:
    """The concepts a rule mentions; none for a missing or invalid rule."""
    if rule is None:
        return []
    try:
        return concept_keys(parse(rule.expression, names or concept_names(concept_catalog())))
    except RuleSyntaxError:
        return []


def rules_about_concept(*, key: str) -> list[int]:
    """Rules whose outcome depends on this concept's score or names: rules naming it or a
    concept above it (a dog's threshold decides #동물 too). Invalid rules do not."""
    catalog = concept_catalog()
    names = concept_names(catalog)
    found = []
    for rule in Rule.objects.order_by("pk"):
        try:
            expr = parse(rule.expression, names)
        except RuleSyntaxError:
            continue
        if concept_about(key, expr.concepts(), catalog):
            found.append(rule.pk)
    return found
