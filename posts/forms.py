from __future__ import annotations

from django import forms
from django.conf import settings

from posts.hashtags import InvalidHashtag, parse_hashtags


class PostUploadForm(forms.Form):
    image = forms.FileField(
        help_text="JPEG, PNG, WebP, GIF or BMP.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    caption = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2200
    )
    hashtags = forms.CharField(
        max_length=1000,
        help_text="Separated by spaces or commas, e.g. #카페 #cafe #라떼",
        widget=forms.TextInput(attrs={"placeholder": "#카페 #cafe"}),
    )

    def clean_image(self) -> object:
        image = self.cleaned_data["image"]
        if image.size > settings.TAGLENS_MAX_UPLOAD_BYTES:
            limit_mb = settings.TAGLENS_MAX_UPLOAD_BYTES / (1024 * 1024)
            raise forms.ValidationError(f"The image is larger than {limit_mb:.0f} MB.")
        return image

    def clean_hashtags(self) -> list[str]:
        try:
            tags = parse_hashtags(self.cleaned_data["hashtags"])
        except InvalidHashtag as exc:
            raise forms.ValidationError(str(exc)) from exc
        if not tags:
            raise forms.ValidationError("Add at least one hashtag.")
        return tags
