"""Every minute, django-q2's scheduler queues the classification sweep: pending posts whose
worker died (lease run out) or whose task was lost are queued again (docs/scaling.md)."""

from django.db import migrations

NAME = "classification sweep"
FUNC = "moderation.tasks.classify_sweep"


def forward(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": FUNC, "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def backward(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=FUNC).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0008_post_words"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(forward, backward)]
