"""Dish and food words judged by the food rule (음식): read on a menu, written in a caption or
used as a hashtag, they point to food. Data, not code: moderators edit or delete each mapping in
the admin. A word already mapped, or a rule's own hashtag, is left as it is."""

from django.db import migrations

FOOD_RULE = "음식"

# 196 Korean dishes and foods (stews, rice, noodles, meat, seafood, snacks, bakery, styles);
# words with another common meaning (정식 formal, 일식 eclipse, 양식 form, 반미) are left out.
KOREAN = """
    김치찌개 된장찌개 순두부찌개 부대찌개 청국장 동태찌개 고추장찌개 감자탕 갈비탕 설렁탕 삼계탕 곰탕 해장국 뼈해장국 육개장 미역국 떡국 만둣국 순댓국 추어탕
    매운탕 알탕 콩나물국밥 돼지국밥 굴국밥 김치찜 갈비찜 아귀찜 해물찜 닭볶음탕 찜닭 짬뽕 짜장면 짜장 탕수육 깐풍기 양장피 마파두부 볶음밥 김치볶음밥 오므라이스
    돈가스 돈까스 카레라이스 돌솥비빔밥 김밥 충무김밥 주먹밥 덮밥 회덮밥 제육덮밥 공기밥 쌈밥 유부초밥 초밥 솥밥 백반 한정식 냉면 물냉면 비빔냉면 칼국수
    잔치국수 비빔국수 국수 쫄면 라볶이 소바 막국수 콩국수 수제비 파스타 스파게티 갈비 양념갈비 삼겹살 목살 항정살 갈매기살 제육볶음 보쌈 족발 닭갈비 닭강정
    양념치킨 후라이드치킨 곱창 막창 대창 순대 육회 수육 떡갈비 주물럭 차돌박이 소고기 돼지고기 닭고기 양고기 스테이크 생선구이 고등어구이 갈치조림 오징어볶음
    낙지볶음 주꾸미 쭈꾸미 간장게장 양념게장 해물파전 파전 김치전 빈대떡 부침개 동그랑땡 장어구이 물회 새우튀김 튀김 어묵 오뎅 호떡 붕어빵 계란빵 핫도그 김말이
    만두 군만두 물만두 왕만두 잡채 나물 깍두기 반찬 계란찜 계란말이 두부김치 도토리묵 멸치볶음 컵라면 빙수 팥빙수 케이크 치즈케이크 마카롱 와플 크로플 도넛
    크루아상 베이글 쿠키 티라미수 푸딩 아이스크림 젤라또 약과 타르트 스콘 피자 햄버거 버거 샌드위치 샐러드 토스트 브런치 리조또 감자튀김 타코 스시 사시미
    돈부리 규동 텐동 분짜 팟타이 마라샹궈 훠궈 딤섬 양꼬치 커리 한식 중식 분식 디저트 간식 야식 도시락 밥상 집밥 혼밥 먹방 안주 요리 밥 빵 떡
""".split()

# 59 English food words (those under four letters count only in captions and hashtags).
ENGLISH = """
    rice noodle soup stew salad sandwich burger hamburger pizza pasta spaghetti steak sushi
    sashimi ramen curry dumpling kimchi bibimbap bulgogi tteokbokki kimbap gimbap japchae
    galbi samgyeopsal bread toast cake cheesecake cookie donut doughnut croissant bagel
    waffle pancake dessert brunch breakfast lunch dinner taco burrito fries barbecue bbq
    omelette pudding pastry bakery sausage bacon beef pork dish meal snack cuisine
""".split()

# Vietnamese dishes of menus, written as one word like 0006's thựcđơn (a mapping is a hashtag);
# they are compared without spaces or accents, so bánh mì on a menu matches bánhmì.
VIETNAMESE = ["bánhmì", "búnchả", "gỏicuốn", "lẩu", "chè", "phởbò", "búnbò", "cơmtấm"]

WORDS = [*KOREAN, *ENGLISH, *VIETNAMESE]


def forward(apps, schema_editor):
    Rule = apps.get_model("moderation", "Rule")
    KeywordMapping = apps.get_model("moderation", "KeywordMapping")
    rule = Rule.objects.filter(hashtag=FOOD_RULE).first()
    if rule is None:
        return
    taken = set(KeywordMapping.objects.filter(word__in=WORDS).values_list("word", flat=True))
    taken |= set(Rule.objects.filter(hashtag__in=WORDS).values_list("hashtag", flat=True))
    KeywordMapping.objects.bulk_create(
        [KeywordMapping(word=word, rule=rule) for word in WORDS if word not in taken]
    )


def backward(apps, schema_editor):
    KeywordMapping = apps.get_model("moderation", "KeywordMapping")
    KeywordMapping.objects.filter(word__in=WORDS, rule__hashtag=FOOD_RULE).delete()


class Migration(migrations.Migration):
    dependencies = [("moderation", "0017_text_extraction_skipped")]
    operations = [migrations.RunPython(forward, backward)]
