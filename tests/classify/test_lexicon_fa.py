"""Persian lexicon: hand-written posts, suffix/prefix fallback and a guard that frequent neutral words score 0."""
from __future__ import annotations

import pytest

from monitor.classify.lexicons import Lexicon, words
from monitor.classify.lexicons.fa import lexicon
from monitor.classify.sentiment import analyze

POSTS = [
    # complaints
    ("سفارشم هنوز نرسیده، ده روزه منتظرم", "negative"),
    ("پشتیبانی افتضاحه، هیچکس جواب نمیده", "negative"),
    ("گوشی بعد از یک هفته خراب شد", "negative"),
    ("اصلا ارزش خرید نداره، پولتون رو دور نریزید", "negative"),
    ("به این قیمت نمیارزه", "negative"),
    ("غذا سرد بود و بدمزه", "negative"),
    ("پیک خیلی بداخلاق بود", "negative"),
    ("قیمتاش نجومیه، گرونفروشی محضه", "negative"),
    ("اپلیکیشن مدام کرش میکنه و باگ داره", "negative"),
    ("دو بار پولم کسر شد و هنوز برنگشته", "negative"),
    ("واقعا مزخرفه، دیگه هیچوقت ازتون خرید نمیکنم", "negative"),
    ("کلاهبردارا پول مردمو خوردن", "negative"),
    ("محصول مطابق توضیحات نبود", "negative"),
    ("کیفیتش خیلی ضعیفه", "negative"),
    ("از خدماتتون ناراضیم", "negative"),
    ("خوشم نیومد، کمتر از انتظارم بود", "negative"),
    ("آنتن نمیده، اینترنت هم قطعه", "negative"),
    ("لعنتی باز هم قطع شد", "negative"),
    # praise
    ("خیلی ممنون، سفارشم سریع رسید", "positive"),
    ("کیفیتش عالیه، پیشنهاد میکنم", "positive"),
    ("دمتون گرم، پشتیبانی خیلی خوش برخورد بود", "positive"),
    ("فوقالعاده بود، بیشتر از انتظارم", "positive"),
    ("غذاش خوشمزه بود و به موقع رسید", "positive"),
    ("از خریدم راضیم، ارزش خرید داره", "positive"),
    ("مشکلم سریع حل شد، مرسی از همکارانتون", "positive"),
    ("فیلم محشری بود، عاشقش شدم", "positive"),
    ("قیمتش مناسبه و جنسش باکیفیته", "positive"),
    ("هیچ مشکلی نداشتم", "positive"),
    ("خسته نباشید، کارتون عالیه", "positive"),
    ("پشیمون نمیشید، حتما بخرید", "positive"),
    # neutral questions and news
    ("ساعت کاری شعبه مرکزی چنده؟", "neutral"),
    ("چطور میتونم رمز کارتم رو عوض کنم؟", "neutral"),
    ("این مدل در چه رنگهایی موجوده؟", "neutral"),
    ("شرکت امروز محصول جدیدش را معرفی کرد", "neutral"),
    ("قیمت بسته اینترنت ماهانه چقدره؟", "neutral"),
    ("جلسه ساعت ده و ده دقیقه شروع میشه", "neutral"),
    # mixed with «ولی/اما»: what follows weighs more
    ("ظاهرش قشنگه ولی باتریش افتضاحه", "negative"),
    ("یکم گرونه اما کیفیتش عالیه", "positive"),
    # negated praise
    ("اصلا خوب نیست", "negative"),
    ("راضی نیستم", "negative"),
    ("نمیپسندم", "negative"),
    # review wording: spoiled food, wear-out, apps that close, support that never acts, fixed problems
    ("غذا یخ کرده بود", "negative"),
    ("لباس با اولین شستشو آب رفت", "negative"),
    ("برنامه مدام خودش بسته میشه", "negative"),
    ("سه بار تماس گرفتم کسی برنداشت", "negative"),
    ("ملافه ها تمیز نبودن", "negative"),
    ("ارزش وقت گذاشتن نداره", "negative"),
    ("کیفیت صدا پایینه", "negative"),
    ("ارزش وقت گذاشتن داره", "positive"),
    ("مشکل پرداخت با آپدیت جدید برطرف شد", "positive"),
    ("هیچی از برندهای خارجی کم نداره", "positive"),
    ("اصلا اذیت نشدم", "positive"),
    ("بعد از یک سال هنوز مثل روز اول کار میکنه", "positive"),
    ("دم همتون گرم", "positive"),
    # neither-nor, how-long questions and formal «کند» stay neutral
    ("نه خیلی خوب بود نه خیلی بد", "neutral"),
    ("چقدر طول میکشه تا برسه؟", "neutral"),
    ("دولت باید این کار را بکند و اقدام کند", "neutral"),
    ("مالیات بر ارزش افزوده ۱۰ درصد است", "neutral"),
    ("هنوز فیلم رو ندیدم", "neutral"),
    # food and film reviews: mild disappointment as expectation, comparison, "nothing special", advice
    ("غذاش تعریفی نداشت", "negative"),
    ("قبلا خیلی بهتر بود", "negative"),
    ("از این برند واقعا توقع نداشتم", "negative"),
    ("دیگه مثل قبل نیست", "negative"),
    ("بازیگراش بازیگری بلد نبودن", "negative"),
    ("چیز خاصی نداشت", "negative"),
    ("قیمت غذاها واقعا بالاست", "negative"),
    ("برنجش خام بود و گوشتش خیلی کم بود", "negative"),
    ("نیمه دوم سریال افت کرد", "negative"),
    ("فیلمش خیلی کسل کننده بود", "negative"),
    ("وسطای فیلم حوصلم سر رفت", "negative"),
    ("لذت نبردم", "negative"),
    ("نبینید، وقتتونو تلف نکنید", "negative"),
    ("از این شعبه سفارش ندید", "negative"),
    ("اصلا کسل کننده نبود", "positive"),
    ("اصلا حوصلم سر نرفت", "positive"),
    ("فیلمنامه هیچ حفره ای نداشت", "positive"),
    ("کارگردان سنگ تموم گذاشته", "positive"),
    ("حتما ببینید", "positive"),
    ("غذا داغ داغ رسید", "positive"),
    ("هیچ گله ای ندارم", "positive"),
    ("ارزش پولی که بابت بلیط دادیم رو داشت", "positive"),
    ("فصل دوم نقاط قوت و ضعف خودشو داره", "neutral"),
]


@pytest.mark.parametrize(("text", "label"), POSTS)
def test_hand_written_posts(text: str, label: str) -> None:
    result = analyze(text, "fa")
    assert result.label == label, result.reasons


# very common words in Persian posts and news that must carry no sentiment of their own
_NEUTRAL_SPEC = ("است که این را از با در به برای یک کرد شد می هم تا ما آن دقیقه هنگام مقاومت تخمین "
                 "گندم مرتبه پیگیری لطفا سفارش پشتیبانی قیمت ارسال اینترنت کارت گوشی سلام امروز "
                 "کند تازه دم آب طول حجم بار کار گرم هنوز")
NEUTRAL = _NEUTRAL_SPEC.split()


@pytest.mark.parametrize("word", NEUTRAL)
def test_frequent_neutral_words_score_zero(word: str) -> None:
    assert analyze(word, "fa").score == 0


@pytest.mark.parametrize(("inflected", "base"), [
    ("مشکلات", "مشکل"), ("افتضاحه", "افتضاح"), ("خرابش", "خراب"), ("زیباترین", "زیبا"), ("گرونه", "گرون"),
])
def test_suffix_fallback_finds_the_base_word(inflected: str, base: str) -> None:
    assert lexicon().valence(inflected) == lexicon().valence(base) != 0


def test_negating_prefix_flips_only_listed_verbs() -> None:
    lex = lexicon()
    assert lex.valence("میپسندم") > 0 > lex.valence("نمیپسندم")
    assert lex.valence("نگران") < 0  # not «ن» + «گران»


def test_fallbacks_are_off_by_default() -> None:
    lex = Lexicon.build(words(2.0, "good"), negators="not")
    assert (lex.valence("good"), lex.valence("goods"), lex.valence("ngood")) == (2.0, None, None)
