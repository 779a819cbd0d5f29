"""The words kiwipiepy's analyzer gives for real-looking captions and comments: nouns without
their particles, compounds, spacing variants, English plurals singular; no hashtags, mentions,
emoji, verbs or particles. Compared forms (``keyword_key``), as stored in ``PostWord``."""

from __future__ import annotations

import threading

import pytest

from moderation.rules.analyzer import analyzer, content_terms
from moderation.rules.words import candidate_keys

# (text, words it must yield, words it must not yield)
CASES: list[tuple[str, set[str], set[str]]] = [
    # Korean: particles cut, compounds split and kept
    ("마라탕집에서 점심 먹었어요", {"마라탕", "마라탕집", "점심"}, {"마라탕집에서", "먹었어요"}),
    ("라멘맛집 발견!!", {"라멘", "맛집", "라멘맛집"}, {"발견!!"}),
    ("마라탕을 먹었다", {"마라탕"}, {"마라탕을"}),
    ("마라탕 맛집", {"마라탕", "맛집"}, set()),
    ("마라 탕 맛집 추천", {"마라탕", "맛집", "추천"}, set()),
    ("메뉴는 다 맛있어요", {"메뉴"}, {"메뉴는"}),
    ("카페에서 커피 한잔", {"카페", "커피"}, {"카페에서"}),
    ("강아지랑 산책했어요", {"강아지", "산책"}, {"강아지랑"}),
    ("고양이가 너무 귀여워", {"고양이"}, {"고양이가", "귀여워"}),
    ("고양이들 밥 주는 시간", {"고양이", "시간"}, {"고양이들"}),
    ("헬스장에서 운동 끝", {"헬스장", "운동"}, {"헬스장에서"}),
    ("바다 보러 갔다가 해산물 먹음", {"바다", "해산물"}, {"갔다가"}),
    ("바다뷰 카페 다녀옴", {"바다", "카페", "바다뷰"}, {"뷰"}),
    ("꽃다발 선물받았어요", {"꽃다발", "선물"}, set()),
    ("꽃 사진 찍으러 공원 왔어요", {"꽃", "사진", "공원"}, set()),
    ("떡볶이랑 순대 최고", {"떡볶이", "순대", "최고"}, {"떡볶이랑"}),
    ("치킨은 역시 bbq", {"치킨", "bbq"}, {"치킨은"}),
    ("분위기 좋은 카페 추천해요", {"분위기", "카페", "추천"}, {"좋은"}),
    ("메뉴판 보고 한참 고민", {"메뉴판", "고민"}, set()),
    ("산도 높은 원두", {"원두"}, {"산"}),  # 산도 (acidity) is no mountain
    ("산에 올라갔다", set(), {"산에"}),
    ("등산 후 막걸리", {"등산", "막걸리"}, set()),
    ("주말 등산 코스 추천", {"등산", "코스", "추천"}, set()),
    ("오늘의 점심 메뉴", {"오늘", "점심", "메뉴"}, {"오늘의"}),
    ("삼겹살에 소주", {"삼겹살", "소주"}, {"삼겹살에"}),
    ("네일아트 받음", {"네일아트"}, set()),
    ("젤네일 새로 했어요", {"네일"}, set()),
    ("해변에서 일몰 감상", {"해변", "일몰", "감상"}, {"해변에서"}),
    ("우리 집 강아지가 최고야", {"강아지", "최고"}, {"강아지가"}),
    ("빵집 투어 3일째", {"빵집", "투어"}, set()),
    # Hashtags, mentions and emoji are no words
    ("오늘 카페에서 coffee 두잔 ☕️ #카페", {"카페", "coffee"}, {"#카페", "☕️"}),
    ("@minji 마라탕 먹으러 가자 #음식", {"마라탕"}, {"minji", "@minji", "음식"}),
    ("🐱🐶 고양이 😻 강아지", {"고양이", "강아지"}, {"🐱", "😻"}),
    ("맛집 투어 🍜🍜 라멘 먹음", {"맛집", "투어", "라멘"}, {"🍜🍜"}),
    ("#맛집 #마라탕 #먹스타그램", set(), {"맛집", "마라탕", "먹스타그램"}),
    ("네일 받았어요 💅🏻 #nails #네일아트", {"네일"}, {"nail", "네일아트"}),
    ("고양이 🐈 #cat #cats", {"고양이"}, {"cat"}),
    # English: plurals singular, neighbouring words joined
    ("Delicious dishes and menus at the cafe", {"dish", "menu", "cafe"}, {"dishes", "menus"}),
    ("Cats and dogs!! 🐱", {"cat", "dog"}, {"cats", "dogs"}),
    ("Best nail art in town", {"nail", "art", "nailart"}, set()),
    ("Morning coffee with a view of the sea", {"coffee", "sea", "view"}, set()),
    ("Hiking the mountains this weekend", {"mountain", "hiking"}, {"mountains"}),
    ("Fresh flowers from the market", {"flower", "market"}, {"flowers"}),
    ("Leg day at the gym 💪", {"gym", "leg", "day"}, {"💪"}),
    ("Pho and banh mi for lunch", {"pho", "banh", "mi", "lunch"}, set()),
    ("Café latte, please", {"cafe", "latte"}, {"café"}),
    # Mixed Korean and English
    ("오늘은 pasta 먹었어요", {"오늘", "pasta"}, set()),
    ("brunch 카페 추천 좀", {"brunch", "카페", "추천"}, set()),
    ("gym 가기 싫다 ㅠㅠ", {"gym"}, {"ㅠㅠ"}),
    ("우리 dog 산책 중", {"dog", "산책"}, set()),
    ("thực đơn 보고 주문", {"thucdon", "주문"}, set()),
    ("bánh mì 맛집", {"banh", "banhmi", "맛집"}, set()),
    ("menu 사진 올려요", {"menu", "사진"}, set()),
    ("coffee랑 케이크", {"coffee", "케이크"}, {"coffee랑"}),
    # Noise that must give nothing
    ("ㅋㅋㅋㅋ 대박", {"대박"}, {"ㅋㅋㅋㅋ", "박"}),
    ("!!! ... ???", set(), set()),
    ("", set(), set()),
    ("12,000원 2인분", set(), {"12,000원"}),
]


def words_of(text: str) -> set[str]:
    return {key for key, _, _ in candidate_keys(image_words=[], caption=text, comments=[])}


def test_the_table_has_at_least_fifty_captions_and_comments() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize(
    ("text", "wanted", "unwanted"), CASES, ids=[c[0] or "empty" for c in CASES]
)
def test_a_caption_yields_its_nouns_and_compounds_and_no_noise(
    text: str, wanted: set[str], unwanted: set[str]
) -> None:
    got = words_of(text)
    assert wanted <= got, f"missing {wanted - got} in {sorted(got)}"
    assert not unwanted & got, f"unexpected {unwanted & got}"


def test_image_words_and_comments_go_through_the_same_analyzer() -> None:
    keys = candidate_keys(image_words=["마라탕집", "menus"], caption="", comments=["라멘맛집에서"])
    assert ("마라탕", "image", "마라탕") in keys
    assert ("menu", "image", "menu") in keys
    assert ("라멘", "comment", "라멘") in keys


def test_a_compound_keeps_the_spacing_it_was_written_with() -> None:
    assert "마라 탕" in content_terms("마라 탕 맛집")
    assert "마라탕집" in content_terms("마라탕집에서")


def test_the_analyzer_is_built_once_for_threads_that_ask_together() -> None:
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(id(analyzer()))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1


def test_threads_analyzing_together_get_the_same_words_as_one_alone() -> None:
    text = "마라탕집에서 라멘맛집 추천 받았어요 #음식"
    alone = content_terms(text)
    results: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: results.extend(content_terms(text) for _ in range(20)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [alone] * 80
