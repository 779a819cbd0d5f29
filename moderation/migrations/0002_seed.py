"""Starter concepts, rules, keyword mappings and the moderators group."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from moderation.rules import starter as seed

MODERATOR_PERMISSIONS = [
    ("moderation", "override_verdict"),
    ("moderation", "view_verdict"),
    ("moderation", "change_verdict"),
    ("moderation", "view_classification"),
    ("moderation", "view_embedding"),
    ("moderation", "view_modelversion"),
    ("moderation", "change_modelversion"),
    *[
        ("moderation", f"{action}_{model}")
        for model in ("concept", "rule", "keywordmapping")
        for action in ("view", "add", "change", "delete")
    ],
    ("posts", "view_post"),
    ("posts", "change_post"),
    ("posts", "view_hashtag"),
]


def load(apps, schema_editor):
    Concept = apps.get_model("moderation", "Concept")
    Rule = apps.get_model("moderation", "Rule")
    KeywordMapping = apps.get_model("moderation", "KeywordMapping")
    by_key = {}
    for key, name_ko, name_en, kind, parent in seed.CONCEPTS:
        by_key[key] = Concept.objects.create(
            key=key, name_ko=name_ko, name_en=name_en, kind=kind,
            parent=by_key[parent] if parent else None,
            threshold=seed.THRESHOLDS.get(key, 0.5),
        )
    rules = {}
    for keyword, expression, description in seed.RULES:
        rules[keyword] = Rule.objects.create(
            keyword=keyword, expression=expression, description=description
        )
    for word, keyword in seed.KEYWORDS.items():
        KeywordMapping.objects.create(word=word, rule=rules[keyword])

    # Permissions are normally made after migrations; the group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="moderators")
    for app_label, codename in MODERATOR_PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def unload(apps, schema_editor):
    apps.get_model("moderation", "KeywordMapping").objects.all().delete()
    apps.get_model("moderation", "Rule").objects.all().delete()
    apps.get_model("moderation", "Concept").objects.filter(parent__isnull=False).delete()
    apps.get_model("moderation", "Concept").objects.all().delete()
    apps.get_model("auth", "Group").objects.filter(name="moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("posts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(load, unload)]
