"""Menu words (메뉴, menu, Vietnamese dish words) judged by the food rule: text read in photos
of menus points to food. Existing mappings of the same words are kept."""

from django.db import migrations

from moderation.rules import starter as seed


def forward(apps, schema_editor):
    Rule = apps.get_model("moderation", "Rule")
    KeywordMapping = apps.get_model("moderation", "KeywordMapping")
    for word, keyword in seed.MENU_KEYWORDS.items():
        rule = Rule.objects.filter(keyword=keyword).first()
        if rule is not None and not Rule.objects.filter(keyword=word).exists():
            KeywordMapping.objects.get_or_create(word=word, defaults={"rule": rule})


def backward(apps, schema_editor):
    KeywordMapping = apps.get_model("moderation", "KeywordMapping")
    KeywordMapping.objects.filter(
        word__in=list(seed.MENU_KEYWORDS), rule__keyword__in=set(seed.MENU_KEYWORDS.values())
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("moderation", "0005_audit_concept_create_delete")]
    operations = [migrations.RunPython(forward, backward)]
