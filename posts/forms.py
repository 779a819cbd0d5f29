from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    UserCreationForm,
)
from django.contrib.auth.models import User
from django.http import HttpRequest

from config.lockout import password_confirmed
from posts.hashtags import InvalidHashtag, parse_hashtags
from posts.services import account_notice, api_tokens_revoke
from posts.uploads import ACCEPTED_TEXT, EMPTY_FILE


class PostTextForm(forms.Form):
    """What the author may change after uploading: the caption and the hashtags."""

    caption = forms.CharField(
        label="설명 Caption",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2200,
    )
    hashtags = forms.CharField(
        label="해시태그 Hashtags",
        max_length=1000,
        help_text="Separated by spaces or commas, e.g. #카페 #cafe #라떼",
        # data-suggest-mode: static/search-suggest.js completes the last hashtag typed.
        widget=forms.TextInput(
            attrs={
                "placeholder": "#카페 #cafe",
                "autocomplete": "off",
                "data-suggest-mode": "insert",
            }
        ),
    )

    def clean_hashtags(self) -> list[str]:
        try:
            tags = parse_hashtags(self.cleaned_data["hashtags"])
        except InvalidHashtag as exc:
            raise forms.ValidationError(exc.messages) from exc
        if not tags:
            raise forms.ValidationError("Add at least one hashtag.")
        return tags


class PostUploadForm(PostTextForm):
    # The file itself is judged by posts.uploads (through post_create), from its bytes.
    image = forms.FileField(
        label="사진 Photo",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
        error_messages={"empty": EMPTY_FILE},
    )
    field_order = ["image", "caption", "hashtags"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        limit_mb = settings.TAGLENS_MAX_UPLOAD_BYTES / 1e6
        self.fields["image"].help_text = f"{ACCEPTED_TEXT}, up to {limit_mb:.1f} MB."


class Bilingual(forms.Form):
    """Django's account forms with the pages' Korean and English labels."""

    LABELS: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.LABELS.items():
            self.fields[name].label = label


PASSWORD = "비밀번호 Password"
CURRENT_PASSWORD = "지금 비밀번호 Current password"
NEW_PASSWORDS = {
    "new_password1": "새 비밀번호 New password",
    "new_password2": "새 비밀번호 확인 Confirm new password",
}


EMAIL = "이메일 Email"
EMAIL_HELP = "Optional: only used to reset a forgotten password."


class SignUpForm(Bilingual, UserCreationForm[User]):
    LABELS = {
        "username": "사용자 이름 Username",
        "email": EMAIL,
        "password1": PASSWORD,
        "password2": "비밀번호 확인 Confirm password",
    }

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")
        help_texts = {"email": EMAIL_HELP}


class ConfirmsPassword(forms.Form):
    """A form given the request, whose current password is checked as a sign-in is."""

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def confirmed(self, password: str) -> bool:
        return password_confirmed(self.request, self.request.user, password)  # type: ignore[arg-type]


class EmailForm(ConfirmsPassword, Bilingual):
    """A new address (empty: none) for password resets, confirmed with the password."""

    LABELS = {"email": EMAIL, "password": CURRENT_PASSWORD}
    email = forms.EmailField(required=False, help_text=EMAIL_HELP)
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.confirmed(password):
            raise forms.ValidationError("The password is wrong; nothing was changed.")
        return password


class ResetRequestForm(Bilingual, PasswordResetForm):
    LABELS = {"email": EMAIL}


class NewPasswordForm(Bilingual, SetPasswordForm):  # type: ignore[type-arg]
    """A new password, set or changed, also stops the account's API token."""

    LABELS = NEW_PASSWORDS

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit)
        if commit:
            api_tokens_revoke(user=user)
        return user


class PasswordForm(ConfirmsPassword, NewPasswordForm, PasswordChangeForm):
    LABELS = {"old_password": CURRENT_PASSWORD, **NEW_PASSWORDS}

    def clean_old_password(self) -> str:
        old: str = self.cleaned_data["old_password"]
        if not self.confirmed(old):
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit)
        if commit:
            account_notice(user=user, to=user.email, what="password")
        return user


class SignInForm(Bilingual, AuthenticationForm):
    """Django's sign-in form with its refusal in Korean too, like the rest of the pages."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "아이디 또는 비밀번호가 맞지 않습니다. The user name or password is wrong "
        "(both are case-sensitive).",
    }
    LABELS = {"username": "사용자 이름 Username", "password": PASSWORD}
