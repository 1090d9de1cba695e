"""Russian lexicon: hand-written posts get the expected label, and frequent neutral words stay at 0."""
from __future__ import annotations

import pytest
from wordfreq import top_n_list

from monitor.classify.sentiment import analyze

POSTS = [
    # complaints
    ("Третий день не могу дозвониться в поддержку, это издевательство", "negative"),
    ("Приложение после обновления постоянно вылетает, верните старую версию", "negative"),
    ("Пицца приехала холодная и пересоленная, больше не закажу", "negative"),
    ("Банк заблокировал карту без объяснений, деньги не могу снять", "negative"),
    ("Товар не соответствует описанию, верните деньги", "negative"),
    ("Сапоги развалились через неделю, деньги на ветер", "negative"),
    ("Курьер опоздал на два часа и даже не извинился", "negative"),
    ("Тариф подорожал уже второй раз за год, это грабеж", "negative"),
    ("Уже месяц жду возврат денег, никто не отвечает", "negative"),
    ("Заказ потеряли, поддержка футболит", "negative"),
    ("В отделении огромная очередь и работает одно окно", "negative"),
    ("Какой же отстойный банк, везде комиссии", "negative"),
    ("Сервис пиздец, ждали заказ два часа", "negative"),
    ("Девушка на кассе нахамила, менеджер отказался принимать жалобу", "negative"),
    ("Это какой-то развод, подключили платную услугу без согласия", "negative"),
    ("Лагает жутко, играть невозможно", "negative"),
    ("Продавец-консультант ничего не знает о товаре, пришлось самому искать", "negative"),
    ("Неужели так сложно нормально упаковать товар?", "negative"),
    ("Качество так себе, за такие деньги ожидал большего", "negative"),
    # negated praise and mixed posts ending on the complaint
    ("Сервис не очень, персонал хамит", "negative"),
    ("Не очень понравилось, суп был безвкусный", "negative"),
    ("Не рекомендую этот магазин, обманули с ценой", "negative"),
    ("Ужасный сервис, никому не советую", "negative"),
    ("Доставка быстрая, но упаковка была порвана", "negative"),
    ("Вкусно, но дороговато", "negative"),
    # praise
    ("Заказ привезли на два дня раньше, курьер вежливый, всё целое. Спасибо!", "positive"),
    ("Отличное приложение, пользуюсь каждый день", "positive"),
    ("Оператор Мария всё объяснила и решила проблему за пять минут, огромное спасибо", "positive"),
    ("Ребята, вы лучшие! Всегда быстро и без проблем", "positive"),
    ("Всё пришло вовремя, как на фото", "positive"),
    ("Очень довольна покупкой, буду заказывать еще", "positive"),
    ("Хорошая цена, отличное качество, быстрая доставка", "positive"),
    ("Зашла в кофейню, бариста очень милый, кофе вкуснейший", "positive"),
    ("Ни разу не подвели, пользуюсь 5 лет", "positive"),
    ("Пользуюсь картой уже год, никаких нареканий", "positive"),
    ("Дорого, зато качество на высоте", "positive"),
    ("Охуенно посидели, кальяны топ", "positive"),
    ("Обновление вышло, теперь всё летает", "positive"),
    # neutral questions and news
    ("Подскажите, пожалуйста, где посмотреть историю платежей?", "neutral"),
    ("Открылся новый магазин на Тверской, работает с 10 до 22", "neutral"),
    ("Как поменять номер телефона в личном кабинете?", "neutral"),
    ("Сегодня вышло обновление 5.2 с новыми функциями", "neutral"),
    ("Кто знает, работает ли отделение в субботу?", "neutral"),
    ("Курьер сказал, что привезёт завтра", "neutral"),
    ("Подорожание тарифов с 1 марта: что нужно знать", "neutral"),
    ("Скидка 20% на всё до воскресенья", "neutral"),
    ("Срок годности указан на упаковке", "neutral"),
    ("Дорогие друзья, мы открыли новый супермаркет", "neutral"),
]

# Frequent words that carry sentiment on purpose (everything else among the most frequent must score 0).
_SENTIMENT_ON_PURPOSE = {"хорошо", "спасибо"}

# Common neutral words, many of them inside a sentiment stem or homographs of a sentiment word.
NEUTRAL_WORDS = [
    "заказ", "доставка", "банк", "карта", "приложение", "тариф", "цена", "скидка", "курьер", "поддержка", "оператор",
    "отделение", "кредит", "страховка", "страхование", "перевод", "магазин", "товар", "связь", "интернет",
    "обновление", "благодаря", "довольно", "интересно", "понятно", "честно", "дорога", "класс", "супермаркет",
    "годности", "задержан", "противник", "профессиональный", "доступна", "стабильность", "эффективности",
    "рекомендации", "уважением", "целую", "плачу", "огонь", "глюкозы", "зависит", "лагерь", "багаж", "шоколад", "нет",
]


@pytest.mark.parametrize(("text", "expected"), POSTS, ids=[t[:40] for t, _ in POSTS])
def test_hand_written_russian_posts(text: str, expected: str) -> None:
    signals = analyze(text, "ru")
    assert signals.label == expected, signals.reasons


def test_most_frequent_russian_words_are_neutral() -> None:
    scored = {w: analyze(w, "ru").score for w in top_n_list("ru", 200) if w not in _SENTIMENT_ON_PURPOSE}
    assert {w: s for w, s in scored.items() if s != 0} == {}


@pytest.mark.parametrize("word", NEUTRAL_WORDS)
def test_common_neutral_word_scores_zero(word: str) -> None:
    assert analyze(word, "ru").score == 0, analyze(word, "ru").reasons


def test_stem_exceptions_keep_their_own_valence() -> None:
    assert analyze("неплохо", "ru").score > 0 > analyze("плохо", "ru").score
    assert analyze("пиздато", "ru").score > 0 > analyze("пиздец", "ru").score
    assert analyze("неудобно", "ru").score < 0 < analyze("удобно", "ru").score
