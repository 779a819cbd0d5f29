"""The starter concepts, rules and keyword mappings (loaded by a data migration)."""

from __future__ import annotations

from mlmodels.concepts.rollup import DEFAULT_THRESHOLDS

# key, 한국어, English, kind, parent
CONCEPTS: list[tuple[str, str, str, str, str | None]] = [
    ("food", "음식", "food", "object", None),
    ("beverage", "음료", "beverage", "object", None),
    ("adult", "성인", "adult", "object", None),
    ("child", "아동", "child", "object", None),
    ("animal", "동물", "animal", "object", None),
    ("dog", "개", "dog", "object", "animal"),
    ("cat", "고양이", "cat", "object", "animal"),
    ("nail", "네일", "nail art", "object", None),
    ("flower", "꽃", "flower", "object", None),
    ("clothing", "옷", "clothing", "object", None),
    ("mountain", "산", "mountain", "scene", None),
    ("sea", "바다", "sea", "scene", None),
    ("gym", "헬스장", "gym", "scene", None),
]

# hashtag → expression, description
RULES: list[tuple[str, str, str]] = [
    ("패션", "adult or child or clothing", "Fashion: people or clothes."),
    ("연애", "adult and not child", "Romance: adults, no children."),
    ("카페", "food or beverage", "Cafe: something to eat or drink."),
    ("육아", "child", "Parenting: a child is shown."),
    ("음식", "food", "Food."),
    ("음료", "beverage", "Drinks."),
    ("꽃", "flower", "Flowers."),
    ("바다", "sea", "The sea or a beach."),
    ("산", "mountain", "Mountains."),
    ("헬스", "gym", "Gym and workout."),
    ("네일", "nail", "Nail art."),
    ("동물", "animal", "Any animal."),
    ("강아지", "dog", "Dogs (not cats)."),
    ("고양이", "cat", "Cats (not dogs)."),
]

# word → the hashtag whose rule judges it
KEYWORDS: dict[str, str] = {
    # English names of the rules
    "fashion": "패션",
    "romance": "연애",
    "cafe": "카페",
    "parenting": "육아",
    "food": "음식",
    "drink": "음료",
    "beverage": "음료",
    "flower": "꽃",
    "flowers": "꽃",
    "sea": "바다",
    "beach": "바다",
    "mountain": "산",
    "gym": "헬스",
    "nail": "네일",
    "nails": "네일",
    "nailart": "네일",
    "animal": "동물",
    "animals": "동물",
    "dog": "강아지",
    "puppy": "강아지",
    "cat": "고양이",
    "coffee": "음료",
    # Korean variants people use
    "카페스타그램": "카페",
    "커피": "음료",
    "먹스타그램": "음식",
    "맛집": "음식",
    "네일아트": "네일",
    "헬스장": "헬스",
    "오운완": "헬스",
    "등산": "산",
    "해변": "바다",
    "멍스타그램": "강아지",
    "냥스타그램": "고양이",
    "ootd": "패션",
    "데일리룩": "패션",
    "아기": "육아",
    "럽스타그램": "연애",
    # dishes judged by the food rule
    "마라탕": "음식",
    "쌀국수": "음식",
    "국밥": "음식",
    "카레": "음식",
    "라면": "음식",
    "우동": "음식",
    "라멘": "음식",
    "치킨": "음식",
    "불고기": "음식",
    "김치": "음식",
    "떡볶이": "음식",
    "비빔밥": "음식",
}

# Concept thresholds: those calibrated for the ImageNet roll-up model; 0.5 for the rest.
THRESHOLDS: dict[str, float] = dict(DEFAULT_THRESHOLDS)

# Words that say "food" in or beside a photo (migration 0006); why these: docs/moderation.md.
MENU_KEYWORDS: dict[str, str] = {
    "메뉴": "음식",
    "menu": "음식",
    "thựcđơn": "음식",
    "bánh": "음식",
    "phở": "음식",
    "bún": "음식",
    "thịt": "음식",
    "chiên": "음식",
    "xào": "음식",
    "nướng": "음식",
}
