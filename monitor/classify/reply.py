"""A first reply drafted for the responder: thank, empathise, say what happens next, offer a private channel."""
from __future__ import annotations

from ..models import Assessment, Mention

_TEMPLATES = {
    "en": {
        "outage": "Hi{name}, thank you for letting us know, and sorry for the trouble. Our team is looking into "
                  "it right now. Could you send us a direct message with a few details so we can follow up?",
        "complaint": "Hi{name}, we're sorry to hear this and thank you for telling us. We'd like to put it "
                     "right: please send us a direct message and we'll look into it personally.",
        "question": "Hi{name}, thanks for asking! Send us a direct message and we'll help you with this.",
        "praise": "Thank you{name}, that means a lot to the whole team!",
        "other": "Hi{name}, thanks for mentioning us. Let us know if there is anything we can help with.",
    },
    "ru": {
        "outage": "Здравствуйте{name}! Спасибо, что сообщили, и извините за неудобства. Мы уже разбираемся. "
                  "Напишите нам, пожалуйста, в личные сообщения, чтобы мы могли помочь.",
        "complaint": "Здравствуйте{name}! Нам очень жаль, спасибо, что рассказали. Напишите нам в личные "
                     "сообщения, и мы во всём разберёмся.",
        "question": "Здравствуйте{name}! Спасибо за вопрос. Напишите нам в личные сообщения, и мы поможем.",
        "praise": "Спасибо{name}! Нам очень приятно.",
        "other": "Здравствуйте{name}! Спасибо, что упомянули нас. Если нужна помощь, напишите нам.",
    },
    "fa": {
        "outage": "سلام{name}، ممنون که اطلاع دادید و بابت این مشکل عذرخواهی می‌کنیم. همکاران ما در حال "
                  "بررسی هستند. لطفاً در پیام خصوصی جزئیات را برای ما بفرستید تا پیگیری کنیم.",
        "complaint": "سلام{name}، از این تجربه متأسفیم و ممنون که گفتید. لطفاً در پیام خصوصی با ما در ارتباط "
                     "باشید تا موضوع را پیگیری کنیم.",
        "question": "سلام{name}، ممنون از سؤال شما. لطفاً در پیام خصوصی به ما پیام دهید تا کمکتان کنیم.",
        "praise": "سپاس{name}! لطف شما برای همه ما ارزشمند است.",
        "other": "سلام{name}، ممنون که از ما یاد کردید. اگر کمکی لازم بود در خدمتیم.",
    },
    "is": {
        "outage": "Hæ{name}, takk fyrir að láta okkur vita og afsakaðu óþægindin. Við erum að skoða málið núna. "
                  "Geturðu sent okkur einkaskilaboð svo við getum fylgt þessu eftir?",
        "complaint": "Hæ{name}, okkur þykir leitt að heyra þetta og takk fyrir að segja frá. Sendu okkur "
                     "einkaskilaboð og við skoðum málið.",
        "question": "Hæ{name}, takk fyrir spurninguna! Sendu okkur einkaskilaboð og við hjálpum þér.",
        "praise": "Takk kærlega{name}, það gleður okkur mikið!",
        "other": "Hæ{name}, takk fyrir að nefna okkur. Láttu vita ef við getum aðstoðað.",
    },
}


def draft_reply(mention: Mention, assessment: Assessment) -> str:
    templates = _TEMPLATES.get(assessment.language, _TEMPLATES["en"])
    author = mention.post.author.display_name.split(" ")[0] if mention.post.author.display_name else ""
    return templates[assessment.category].format(name=f" {author}" if author else "")
