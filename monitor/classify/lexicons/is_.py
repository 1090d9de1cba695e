"""Icelandic: stems cover case and gender endings (góð* = góður, góða, góðri …)."""
from __future__ import annotations

from functools import cache

from . import Lexicon, phrases, words

_ENTRIES = {
    **words(3.0, "frábær* æðisleg* stórkostleg* dásamleg* yndisleg* snilld* snillingar snillingur meistaraverk* "
                 "magnað* mögnuð* fullkomin* fullkomn* geggjað* geggjuð* best bestu besta bestur ótrúlega_góð*"),
    **words(2.0, "góð* gott flott* fín* fínt skemmtileg* ánægð* takk þakk* elska* elskum gaman falleg* "
                 "fyndin* fyndn* spennandi áhugaverð* vönduð* vandað* hress* glöð* glaður sátt* sáttur "
                 "ljúf* notaleg* hrifin* hrifinn mæli skemmtun* hjálpleg* kurteis* fljót* þægileg* "
                 "vel frábærlega prýðileg* ágæt* sterk* skýr*"),
    **words(-3.0, "hræðileg* ömurleg* hörmuleg* skelfileg* viðbjóð* glatað* glötuð* drasl* rusl* verst* "
                  "versta ógeð* ógeðsleg* hundleiðinleg* skítleg* fáránleg* svindl* þjófnað* óþolandi"),
    **words(-2.0, "slæm* slæmt léleg* leiðinleg* vonbrigð* vonsvik* pirr* reiður reið reiðir þreytandi "
                  "óánægð* ósátt* ósáttur vandamál* vandræð* bilun* bilað* biluð* vesen* klúður* klúðr* "
                  "langdregin* langdregn* fyrirsjáanleg* ófyndin* ófyndn* tilgangslaus* máttlaus* "
                  "misheppnað* misheppnuð* verri dapurleg* döpur dapur sorgleg* leiðinlegt ljót* "
                  "dýrt okur* seinkun* seint töf* tafir dónaleg* kvörtun* kvarta* því_miður miður "
                  "óskiljanleg* ruglingsleg* slöpp* slappt* slapp* þunn* kjánaleg* bjánaleg* heimskuleg* "
                  "flatt flöt* óspennandi veik* tómleg* klisj*"),
    **words(2.0, "eftirminnileg* áhrifarík* hjartnæm* heillandi sjarmerandi skemmtilegt vandað "
                 "frumleg* sannfærandi trúverðug* grípandi hugljúf* spennuþrungin* vel_leikin "
                 "fagmannleg* stórfín* fínasta flottasta"),
    **words(-2.0, "gleymanleg* tilgerðarleg* ófrumleg* innantóm* klisjukennd* ósannfærandi ótrúverðug* "
                  "vonlaus* hallærisleg* asnaleg* pínleg* miðlungs* meðalmennsk* illa mistök galli gallar "
                  "gallað* ofleik* bragðdauf* óáhugaverð* tilþrifalít* þreytt* hægfara hæg* langdregið "
                  "kjánalegt vitleysa bull* rugl* sóun tímasóun ofmetin* ofmetn* ömurlegt"),
    **words(-1.0, "bíða bíð* beðið týnd* týnt glatað aflýst* aflýs* endurgreiðslu* endurgreið*"),
}
NEGATORS = "ekki aldrei enginn engin ekkert engan engu enga engir hvorki né án"
INTENSIFIERS = ("mjög rosalega ótrúlega alveg virkilega algjörlega algjör algjört afskaplega svakalega hrikalega "
                "gríðarlega geðveikt ofboðslega einstaklega sérstaklega allt_of of langt feikilega")
DIMINISHERS = "frekar svolítið soldið dálítið nokkuð sæmilega þokkalega aðeins pínu heldur"
CONTRAST = "en samt þó hins_vegar"
QUESTION_WORDS = "hvernig hvað hvenær hvar hver hverjir hvers hvort af_hverju er eru getið geturðu má"

PHRASES = [
    *phrases(-2.0, "complaint",
             r"enn að bíða|enn ?þá að bíða|ennþá að bíða|bíð enn|búin að bíða|búinn að bíða|beðið í|beðið eftir",
             r"(?:í )?(?:annað|þriðja|fjórða|fimmta) (?:skipti|sinn)|aftur og aftur|enn og aftur|einu sinni enn",
             r"rukkuð tvisvar|rukkaður tvisvar|rukkað tvisvar|tvírukk\w*|tvöföld rukkun",
             r"enginn svarar|enginn svaraði|ekkert svar|engin svör|fæ ekki svar|hef ekki fengið|ekki fengið",
             r"hvar er \w+ mín\w*|hvar eru|viljum endurgreiðslu|vil fá endurgreitt|kvörtun",
             r"í alvöru\?|er þetta grín|er ekki í lagi|hvað er að ykkur|til skammar|skamm\w*",
             r"aldrei aftur|hætti (?:viðskiptum|hjá)|mæli ekki með|mæli alls ekki"),
    *phrases(-1.0, "outage",
             r"virkar ekki|virka ekki|virkaði ekki|liggur niðri|liggja niðri|niðri|bilun|bilað\w*|hrun\w*|hrundi",
             r"kemst ekki inn|næ ekki sambandi|ekkert net|netið (?:er )?(?:dottið út|niðri|farið)|sambandslaus\w*|villa|villuboð",
             r"hleðst ekki|opnast ekki|frýs|frosið"),
    *phrases(-1.0, "risk", r"lögfræðing\w*|lögregl\w*|kæra|kæri ykkur|neytendastofu|svik|svikin|hakkað\w*|gagnaleka\w*|leki|hættuleg\w*"),
    *phrases(0.0, "request", r"vinsamlegast|getið þið|geturðu|gætuð þið|hjálp|hjálpið|aðstoð\w*|hvernig get ég|hvernig á ég"),
    *phrases(2.0, "praise", r"takk kærlega|kærar þakkir|bestu þakkir|vel gert|mæli (?:hiklaust |eindregið )?með|til fyrirmyndar|frábær þjónusta"),
]


@cache
def lexicon() -> Lexicon:
    entries = {w.replace("_", " "): v for w, v in _ENTRIES.items() if "_" not in w}
    return Lexicon.build(entries, negators=NEGATORS, intensifiers=INTENSIFIERS, diminishers=DIMINISHERS,
                         contrast=CONTRAST.replace("_", " "), question_words=QUESTION_WORDS.replace("_", " "),
                         phrases=PHRASES)
