"""Rule.keyword becomes Rule.hashtag ("keyword" is left to the words that point to a rule).
The columns keep their names, so only Django's state changes; audit snapshots follow."""

from django.db import migrations, models

RULE_ACTIONS = ("rule_create", "rule_update", "rule_delete")


def _rename_key(apps, old: str, new: str) -> None:
    AuditEvent = apps.get_model("moderation", "AuditEvent")
    for event in AuditEvent.objects.filter(action__in=RULE_ACTIONS).iterator():
        changed = False
        for side in ("before", "after"):
            snapshot = getattr(event, side)
            if isinstance(snapshot, dict) and old in snapshot:
                snapshot[new] = snapshot.pop(old)
                changed = True
        if changed:
            event.save(update_fields=["before", "after"])


def forwards(apps, schema_editor) -> None:
    _rename_key(apps, "keyword", "hashtag")


def backwards(apps, schema_editor) -> None:
    _rename_key(apps, "hashtag", "keyword")


class Migration(migrations.Migration):
    dependencies = [("moderation", "0014_audit_comment_delete")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("rule", "keyword", "hashtag"),
                migrations.AlterField(
                    "rule",
                    "hashtag",
                    models.CharField(max_length=100, unique=True, db_column="keyword"),
                ),
                migrations.AlterModelOptions(name="rule", options={"ordering": ["hashtag"]}),
                migrations.RenameField("auditevent", "rule_keyword", "rule_hashtag"),
                migrations.AlterField(
                    "auditevent",
                    "rule_hashtag",
                    models.CharField(blank=True, max_length=100, db_column="rule_keyword"),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(forwards, backwards),
    ]
