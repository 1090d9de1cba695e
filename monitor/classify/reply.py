"""A first reply drafted for the responder, in the post's language and register, as long as the post deserves.

Every reply thanks, empathises, says what happens next and offers a private channel; none argues or refuses.
Templates are composed from `{hello}` (greeting by register), a body per category and length, and `{dm}`
(the private-channel offer by register). Override any of them with keys such as "en.complaint",
"ru.outage.long", "fa.question.formal" or "is.praise.informal.short" (most specific wins); placeholders
`{name}`, `{brand}`, `{hello}`, `{dm}`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from ..models import Assessment, Mention
from .text import normalize, strip_handles

Register = Literal["formal", "informal"]
Length = Literal["short", "long"]
LONG_POST = 140  # characters of text (URLs and handles removed) above which a fuller reply fits

_HELLO: dict[str, dict[Register, str]] = {
    "en": {"formal": "Hello{name}.", "informal": "Hi{name}!"},
    "ru": {"formal": "Здравствуйте{name}!", "informal": "Привет{name}!"},
    "fa": {"formal": "سلام{name}، وقت بخیر.", "informal": "سلام{name}!"},
    "is": {"formal": "Góðan dag{name}.", "informal": "Hæ{name}!"},
}
_DM: dict[str, dict[Register, str]] = {
    "en": {"formal": "Could you please send us a direct message with the details, so we can follow this up "
                     "with you personally?",
           "informal": "Drop us a DM with the details and we'll sort it out with you personally."},
    "ru": {"formal": "Пожалуйста, напишите нам в личные сообщения подробности, и мы лично займёмся вашим "
                     "вопросом.",
           "informal": "Напишите нам в личку подробности, и мы лично во всём разберёмся."},
    "fa": {"formal": "لطفاً جزئیات را در پیام خصوصی برای ما بفرستید تا شخصاً پیگیری کنیم.",
           "informal": "جزئیات را در پیام خصوصی برامون بفرستید تا خودمون پیگیری کنیم."},
    "is": {"formal": "Vinsamlegast sendu okkur einkaskilaboð með nánari upplýsingum svo við getum fylgt "
                     "málinu eftir.",
           "informal": "Sendu okkur endilega einkaskilaboð með smá upplýsingum og við kippum þessu í lag."},
}
_BODY: dict[str, dict[str, dict[Length, str]]] = {
    "en": {
        "outage": {"short": "{hello} Thanks for flagging this, and sorry for the disruption. We're on it. {dm}",
                   "long": "{hello} Thank you for letting us know, and we're sorry for the disruption: we know how "
                           "frustrating it is when things stop working. Our team is already investigating and "
                           "we'll share an update as soon as it's fixed. {dm}"},
        "complaint": {"short": "{hello} Thanks for telling us, and we're sorry about this. We want to put it "
                               "right. {dm}",
                      "long": "{hello} Thank you for taking the time to tell us, and we're truly sorry about "
                              "your experience: this isn't the service we want you to have. We're looking into "
                              "what happened and want to put it right. {dm}"},
        "question": {"short": "{hello} Thanks for reaching out, we're glad to help. {dm}",
                     "long": "{hello} Thanks for reaching out, and for explaining it so clearly. We're happy to "
                             "help and will check the details for you. {dm}"},
        "praise": {"short": "{hello} Thank you so much, that made our day!",
                   "long": "{hello} Thank you so much for the kind words, we'll share them with the whole team. "
                           "It's great to hear, and we're always here if you need anything."},
        "other": {"short": "{hello} Thanks for mentioning {brand}! We're here if you need anything.",
                  "long": "{hello} Thanks for mentioning {brand} and for sharing this. If there's anything we "
                          "can help with, we're here. {dm}"},
    },
    "ru": {
        "outage": {"short": "{hello} Спасибо, что сообщили, и извините за неудобства. Мы уже разбираемся. {dm}",
                   "long": "{hello} Спасибо, что сообщили, и простите за неудобства: понимаем, как это неприятно. "
                           "Наша команда уже выясняет причину, и мы сообщим, как только всё заработает. {dm}"},
        "complaint": {"short": "{hello} Спасибо, что рассказали, нам очень жаль. Хотим всё исправить. {dm}",
                      "long": "{hello} Спасибо, что нашли время рассказать, и нам искренне жаль, что так вышло: "
                              "мы хотим, чтобы всё было иначе. Мы уже разбираемся в ситуации и хотим всё "
                              "исправить. {dm}"},
        "question": {"short": "{hello} Спасибо за вопрос, с радостью поможем. {dm}",
                     "long": "{hello} Спасибо за вопрос и подробное описание. С радостью поможем и проверим всё "
                             "для вас. {dm}"},
        "praise": {"short": "{hello} Огромное спасибо, нам очень приятно!",
                   "long": "{hello} Огромное спасибо за тёплые слова, обязательно передадим их всей команде. "
                           "Если что-то понадобится, мы всегда рядом."},
        "other": {"short": "{hello} Спасибо, что упомянули {brand}! Если нужна помощь, мы рядом.",
                  "long": "{hello} Спасибо, что упомянули {brand} и поделились этим. Если чем-то можем помочь, "
                          "мы рядом. {dm}"},
    },
    "fa": {
        "outage": {"short": "{hello} ممنون که اطلاع دادید و بابت این اختلال عذرخواهی می‌کنیم. همکاران ما در حال "
                            "بررسی هستند. {dm}",
                   "long": "{hello} ممنون که اطلاع دادید و بابت این اختلال صمیمانه عذرخواهی می‌کنیم؛ می‌دانیم "
                           "چقدر آزاردهنده است. تیم فنی ما در حال بررسی است و به‌محض رفع مشکل خبر می‌دهیم. {dm}"},
        "complaint": {"short": "{hello} ممنون که گفتید و از این تجربه متأسفیم. می‌خواهیم جبران کنیم. {dm}",
                      "long": "{hello} ممنون که وقت گذاشتید و تجربه‌تان را گفتید؛ واقعاً متأسفیم و این آن "
                              "خدمتی نیست که می‌خواهیم. موضوع را بررسی می‌کنیم تا جبران شود. {dm}"},
        "question": {"short": "{hello} ممنون از پیام شما، با کمال میل کمک می‌کنیم. {dm}",
                     "long": "{hello} ممنون از پیام شما و توضیحات کاملتان. با کمال میل کمک می‌کنیم و جزئیات را "
                             "برایتان بررسی می‌کنیم. {dm}"},
        "praise": {"short": "{hello} خیلی ممنون، لطف دارید!",
                   "long": "{hello} از لطف و انرژی مثبت شما بسیار سپاسگزاریم و حتماً به همه همکاران می‌رسانیم. "
                           "هر وقت کمکی لازم بود در خدمتیم."},
        "other": {"short": "{hello} ممنون که از {brand} یاد کردید! اگر کمکی لازم بود در خدمتیم.",
                  "long": "{hello} ممنون که از {brand} یاد کردید و این را با ما در میان گذاشتید. اگر کمکی از "
                          "دست ما برمی‌آید در خدمتیم. {dm}"},
    },
    "is": {
        "outage": {"short": "{hello} Takk fyrir að láta vita og afsakaðu óþægindin. Við erum að vinna í "
                            "þessu. {dm}",
                   "long": "{hello} Takk fyrir að láta okkur vita og afsakaðu óþægindin, við skiljum vel hvað "
                           "þetta er pirrandi. Teymið okkar er þegar að skoða málið og við látum vita um leið og "
                           "allt er komið í lag. {dm}"},
        "complaint": {"short": "{hello} Takk fyrir að segja okkur frá og okkur þykir þetta leitt. Við viljum "
                               "bæta úr þessu. {dm}",
                      "long": "{hello} Takk fyrir að gefa þér tíma til að segja okkur frá og okkur þykir þetta "
                              "virkilega leitt. Við erum að skoða hvað gerðist og viljum bæta úr þessu. {dm}"},
        "question": {"short": "{hello} Takk fyrir fyrirspurnina, við aðstoðum þig með glöðu geði. {dm}",
                     "long": "{hello} Takk fyrir fyrirspurnina og góða lýsingu. Við aðstoðum þig með glöðu geði "
                             "og skoðum málið fyrir þig. {dm}"},
        "praise": {"short": "{hello} Takk kærlega, þetta gleður okkur mikið!",
                   "long": "{hello} Takk kærlega fyrir falleg orð, við komum þeim áfram til alls hópsins. "
                           "Við erum alltaf til staðar ef þig vantar eitthvað."},
        "other": {"short": "{hello} Takk fyrir að nefna {brand}! Við erum hér ef þig vantar aðstoð.",
                  "long": "{hello} Takk fyrir að nefna {brand} og deila þessu. Ef við getum aðstoðað á "
                          "einhvern hátt erum við hér. {dm}"},
    },
}

_INFORMAL = {
    "en": re.compile(r"\b(?:lol|lmao|omg|wtf|u|ur|pls|plz|thx|ty|gonna|wanna|gotta|ya|y'?all|dude|bro|"
                     r"hey|yo|kinda|dunno|idk|smh|af)\b|!!|[\U0001F300-\U0001FAFF]"),
    "ru": re.compile(r"\b(?:ты|тебя|тебе|твой|твоя|твои|привет|хай|блин|капец|ваще|щас|чё|че|норм|ок|лол|"
                     r"ахах\w*|пздц|пиздец|бля\w*)\b|\){2,}|[\U0001F300-\U0001FAFF]"),
    "fa": re.compile(r"(?:میشه|نمیشه|داره|نداره|دیگه|اینو|اونو|مرسی|آره|چیه|کجاست؟|خیلیی|بابا|ایول|"
                     r"چرا\s?اینجوری|[\U0001F300-\U0001FAFF])"),
    "is": re.compile(r"\b(?:hæ|hey|sæl|sæll|djöfull|fokk\w*|geggjað|snilld|lol|omg)\b|!!|[\U0001F300-\U0001FAFF]"),
}
_FORMAL = {
    "en": re.compile(r"\b(?:dear|sir|madam|regards|sincerely|kindly|hello|good (?:morning|afternoon|evening)|"
                     r"i would like|could you please|would you please)\b"),
    "ru": re.compile(r"\b(?:здравствуйте|добрый (?:день|вечер)|доброе утро|уважаем\w*|прошу|"
                     r"Вы|Вас|Вам|Ваш\w*)\b"),
    "fa": re.compile(r"(?:با سلام|احتراما|احتراماً|خواهشمند|خواهشمندم|جناب|سرکار|لطفا|لطفاً|می باشد|میباشد|"
                     r"با تشکر|ارادتمند)"),
    "is": re.compile(r"\b(?:góðan dag|góðan daginn|virðingarfyllst|kæru|kæri|kæra|vinsamlegast|með kveðju)\b"),
}
_DEFAULT_REGISTER: dict[str, Register] = {"en": "informal", "ru": "formal", "fa": "formal", "is": "informal"}
_PLACEHOLDER = re.compile(r"\{(name|brand|hello|dm)\}")
_NAME_JUNK = re.compile(r"[^\w\-' ]")


def register_of(text: str, language: str) -> Register:
    """Formal or informal, from greeting, pronoun and slang markers; each language has its usual default."""
    lang = language if language in _BODY else "en"
    # "Вы" is only formal in its capitalised form, so the Russian check keeps case
    sample = normalize(text) if lang == "ru" else normalize(text).lower()
    formal = len(_FORMAL[lang].findall(sample))
    informal = len(_INFORMAL[lang].findall(sample.lower()))
    if formal == informal:
        return _DEFAULT_REGISTER[lang]
    return "formal" if formal > informal else "informal"


def length_of(text: str) -> Length:
    return "long" if len(strip_handles(text).strip()) > LONG_POST else "short"


def reply_language(assessment: Assessment, brand_default: str = "en") -> str:
    """The post's language when we have templates for it, else the brand's `reply_language`."""
    return assessment.language if assessment.language in _BODY else brand_default


def draft_reply(mention: Mention, assessment: Assessment, overrides: Mapping[str, str] | None = None,
                language: str | None = None) -> str:
    post = mention.post
    text = f"{post.title}\n{post.text}" if post.title else post.text
    lang = language if language in _BODY else reply_language(assessment)
    register, length = register_of(text, lang), length_of(text)
    template = _template(lang, assessment.category, register, length, overrides or {})
    name = _first_name(post.author.display_name)
    values = {"name": f"{', ' if lang == 'ru' else ' '}{name}" if name else "", "brand": mention.brand,
              "hello": _HELLO[lang][register], "dm": _DM[lang][register]}
    # two passes: {hello} itself holds {name}
    once = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], once).strip()


def _template(lang: str, category: str, register: Register, length: Length, overrides: Mapping[str, str]) -> str:
    for key in (f"{lang}.{category}.{register}.{length}", f"{lang}.{category}.{register}",
                f"{lang}.{category}.{length}", f"{lang}.{category}"):
        if key in overrides:
            return overrides[key]
    return _BODY[lang].get(category, _BODY[lang]["other"])[length]


def _first_name(display_name: str) -> str:
    """The display name is user-controlled: first word only, letters only, short."""
    words = _NAME_JUNK.sub("", display_name).split()
    return words[0][:30] if words else ""
