"""Word forms per post recomputed with kiwipiepy's analyzer (rules/analyzer.py), which replaced
the particle list: stored forms like 마라탕을 / 마라탕 become 마라탕, 마라탕집 … A post's rows are
replaced in batches of posts, so memory stays flat on a large table; the analyzer is loaded
only when there is a post. Verdicts are not re-decided here (docs/moderation.md)."""

from typing import Any

from django.db import migrations

from moderation.rules.words import candidate_keys

BATCH = 500
MAX_KEY = 100


def refresh(apps: Any, schema_editor: Any) -> None:
    Post = apps.get_model("posts", "Post")
    PostWord = apps.get_model("moderation", "PostWord")
    TextExtraction = apps.get_model("moderation", "TextExtraction")
    Comment = apps.get_model("posts", "Comment")
    ids = list(Post.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        read = dict(
            TextExtraction.objects.filter(post_id__in=batch, status="ok").values_list(
                "post_id", "words"
            )
        )
        comments: dict[int, list[str]] = {}
        for post_id, text in Comment.objects.filter(post_id__in=batch).values_list(
            "post_id", "text"
        ):
            comments.setdefault(post_id, []).append(text)
        captions = Post.objects.filter(pk__in=batch).values_list("pk", "caption")
        rows = [
            PostWord(post_id=post_id, key=key, source=source, form=form)
            for post_id, caption in captions
            for key, source, form in candidate_keys(
                image_words=read.get(post_id) or [], caption=caption, comments=comments.get(post_id, [])
            )
            if max(len(key), len(form)) <= MAX_KEY
        ]
        PostWord.objects.filter(post_id__in=batch).delete()
        PostWord.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [("moderation", "0012_verdict_fillfactor")]

    # Undone as a no-op: the old particle list is gone, so the old forms cannot be rebuilt;
    # the next judging of each post writes the forms of whatever code then runs.
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]
