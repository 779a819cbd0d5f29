"""What each post's hashtags' current rules need: the plan lazy people and lazy text share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from moderation.rules.compiled import CompiledRule, ConceptInfo, compile_rule, presence_plan
from moderation.rules.syntax import RuleSyntaxError, parse
from moderation.selectors.catalog import RuleIndex, concept_catalog, concept_names, rule_index
from posts.models import PostHashtag


def hashtag_rules(
    names: Iterable[str], *, index: RuleIndex, catalog: Mapping[str, ConceptInfo]
) -> dict[str, CompiledRule | None]:
    """Each hashtag's rule (its own or mapped), compiled once; None without a valid rule."""
    words = concept_names(dict(catalog))
    plan = presence_plan(catalog)
    by_rule: dict[int, CompiledRule | None] = {}
    out: dict[str, CompiledRule | None] = {}
    for name in names:
        rule, _ = index.resolve(name)
        if rule is None:
            out[name] = None
            continue
        if rule.pk not in by_rule:
            try:
                by_rule[rule.pk] = compile_rule(parse(rule.expression, words), catalog, plan)
            except RuleSyntaxError:
                by_rule[rule.pk] = None
        out[name] = by_rule[rule.pk]
    return out


def needed(rule: CompiledRule | None) -> frozenset[str]:
    """The concepts a rule needs: those it names and those under them."""
    return frozenset() if rule is None else frozenset(p.key for p in rule.presences)


def hashtag_needs(
    names: Iterable[str], *, index: RuleIndex, catalog: Mapping[str, ConceptInfo]
) -> dict[str, frozenset[str]]:
    """Each hashtag's needed concepts; none without a valid rule."""
    rules = hashtag_rules(names, index=index, catalog=catalog)
    return {name: needed(rule) for name, rule in rules.items()}


def every_hashtag_needs() -> dict[str, frozenset[str]]:
    """``hashtag_needs`` of every hashtag a rule judges: its own and its mapped words."""
    index = rule_index()
    return hashtag_needs([*index.rules, *index.mappings], index=index, catalog=concept_catalog())


def post_rules(
    *, post_ids: Sequence[int], catalog: Mapping[str, ConceptInfo] | None = None
) -> dict[int, tuple[CompiledRule, ...]]:
    """The valid rules judging each of these posts' hashtags (a post without any is left out)."""
    catalog = concept_catalog() if catalog is None else catalog
    rows = list(
        PostHashtag.objects.filter(post_id__in=post_ids).values_list("post_id", "hashtag__name")
    )
    names = sorted({name for _, name in rows})
    rules = hashtag_rules(names, index=rule_index(tags=names), catalog=catalog)
    out: dict[int, tuple[CompiledRule, ...]] = {}
    for pk, name in rows:
        rule = rules[name]
        if rule is not None and rule not in out.get(pk, ()):
            out[pk] = (*out.get(pk, ()), rule)
    return out
