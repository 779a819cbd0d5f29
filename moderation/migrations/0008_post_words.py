"""Word forms per post, for set-based re-evaluation; filled for the posts already stored."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

from moderation.rules.words import candidate_keys


def fill(apps: Any, schema_editor: Any) -> None:
    Post = apps.get_model("posts", "Post")
    PostWord = apps.get_model("moderation", "PostWord")
    TextExtraction = apps.get_model("moderation", "TextExtraction")
    Comment = apps.get_model("posts", "Comment")
    read = dict(TextExtraction.objects.filter(status="ok").values_list("post_id", "words"))
    comments: dict[int, list[str]] = {}
    for post_id, text in Comment.objects.values_list("post_id", "text"):
        comments.setdefault(post_id, []).append(text)
    rows = []
    for post_id, caption in Post.objects.values_list("pk", "caption").iterator(chunk_size=2000):
        keys = candidate_keys(
            image_words=read.get(post_id) or [],
            caption=caption,
            comments=comments.get(post_id, []),
        )
        rows += [
            PostWord(post_id=post_id, key=key, source=source, form=form)
            for key, source, form in keys
            if len(key) <= 100 and len(form) <= 100
        ]
        if len(rows) > 5000:
            PostWord.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    PostWord.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0007_hashtag_stats'),
        ('posts', '0002_comments_and_search_count'),
    ]

    operations = [
        migrations.CreateModel(
            name='PostWord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=100)),
                ('source', models.CharField(max_length=8)),
                ('form', models.CharField(max_length=100)),
                ('post', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='word_keys', to='posts.post')),
            ],
            options={
                'indexes': [models.Index(fields=['key', 'post'], name='post_word_key')],
                'constraints': [models.UniqueConstraint(fields=('post', 'key', 'source', 'form'), name='unique_post_word')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
