"""PostgreSQL: leave a fifth of each verdict page free, so that re-evaluation's updates that
change no indexed column (a margin, the decision time) are heap-only (HOT) updates that write no
index entries. Applies to pages written from now on; an existing table takes it on its next
rewrite (``VACUUM FULL moderation_verdict`` in a maintenance window, docs/scaling.md)."""

from django.db import migrations

FILLFACTOR = 80


def set_fillfactor(apps, schema_editor, value: int | None = FILLFACTOR) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("moderation", "Verdict")._meta.db_table)
    if value is None:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    else:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor) -> None:
    set_fillfactor(apps, schema_editor, None)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0011_verdict_explanation_on_display")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
