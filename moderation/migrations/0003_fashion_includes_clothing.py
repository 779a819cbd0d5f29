"""The study's fourth gap: fashion photos of clothes with no person. Trained versions see
clothing, so #패션 becomes adult or child or clothing (unknown while the model cannot)."""

from django.db import migrations


def forward(apps, schema_editor):
    apps.get_model("moderation", "Rule").objects.filter(
        keyword="패션", expression="adult or child"
    ).update(expression="adult or child or clothing", description="Fashion: people or clothes.")


def backward(apps, schema_editor):
    apps.get_model("moderation", "Rule").objects.filter(
        keyword="패션", expression="adult or child or clothing"
    ).update(expression="adult or child", description="Fashion: a person is shown.")


class Migration(migrations.Migration):
    dependencies = [("moderation", "0002_seed")]
    operations = [migrations.RunPython(forward, backward)]
