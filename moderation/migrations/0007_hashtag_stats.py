"""Maintained per-hashtag counts (HashtagStats), filled from the verdicts already stored;
from here on moderation.services.hashtag_counts_refresh keeps them up to date, counting a
tag's verdicts from the new index verdict_counts alone."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Q


def fill(apps, schema_editor):
    Verdict = apps.get_model("moderation", "Verdict")
    HashtagStats = apps.get_model("moderation", "HashtagStats")
    rows = (
        Verdict.objects.order_by()
        .values("hashtag_id")
        .annotate(
            n_total=Count("hashtag"),
            n_shown=Count("hashtag", filter=Q(shown=True)),
            n_pending=Count("hashtag", filter=Q(shown=False, decision="pending")),
        )
    )
    HashtagStats.objects.bulk_create(
        [
            HashtagStats(
                hashtag_id=row["hashtag_id"],
                shown=row["n_shown"],
                pending=row["n_pending"],
                hidden=row["n_total"] - row["n_shown"] - row["n_pending"],
            )
            for row in rows
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0006_menu_keywords'),
        ('posts', '0002_comments_and_search_count'),
    ]

    operations = [
        migrations.CreateModel(
            name='HashtagStats',
            fields=[
                ('hashtag', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='stats', serialize=False, to='posts.hashtag')),
                ('shown', models.PositiveIntegerField(default=0)),
                ('hidden', models.PositiveIntegerField(default=0)),
                ('pending', models.PositiveIntegerField(default=0)),
            ],
            options={
                'verbose_name_plural': 'hashtag stats',
                'indexes': [models.Index(fields=['-shown', 'hashtag'], name='hashtagstats_popular')],
            },
        ),
        migrations.AddIndex(
            model_name='verdict',
            index=models.Index(fields=['hashtag', 'shown', 'decision'], name='verdict_counts'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
