"""Icelandic: stems cover case and gender endings (góð* = góður, góða, góðri …).

Stems were checked against the 50k most frequent Icelandic words: where a stem also caught neutral words
(hæg* → hægt "possible", töf* → töfrandi, kvöl* → kvöld, fjör* → fjörður, skýr* → skýrsla, slapp → "escaped")
the whole forms are listed instead, and frequent neutral words that a stem still catches are pinned to 0 below.
Words that carry sentiment only in a set phrase ("þess virði", "fram úr væntingum") are in PHRASES.
"""
from __future__ import annotations

import re
from functools import cache

from . import Lexicon, Phrase, words
from . import phrases as exact_phrases

_PRAISE = {
    # strong praise
    **words(3.0, "frábær* frabær* æðisleg* ædisleg* stórkostleg* dásamleg* dásemd* yndisleg* snilld* snild "
                 "snillingar snillingur snillingurinn snillingum meistaraverk* magnað* mögnuð* fullkomin* "
                 "fullkomn* geggjað* geggjuð* gegjað geggjad bestur meiriháttar afbragð* fyrirtak framúrskarandi "
                 "stórbrotin* stórbrotn* óaðfinnanleg* dýrðleg* himnesk* guðdómleg* ógleymanleg* unaðsleg* "
                 "stórgóð* stórgott stórfín* briljant brilliant gullmoli gullmola"),
    **words(3.0, "amazing perfect awesome"),
    # strong praise: reviews of films, books, food
    **words(3.0, "ljúffeng* bráðfyndin* bráðfyndn* drepfyndin* drepfyndn* sprenghlægileg* bráðskemmtileg* "
                 "stórskemmtileg*"),
    # clear praise: quality, looks, comfort
    **words(2.0, "góð* gott flott* fín* fínt falleg* glæsileg* vönduð* vandað* vandaðri gæðavara endingargóð* "
                 "traustur traustir áreiðanleg* stílhrein* smekkleg* snyrtileg* tandurhrein* rúmgóð* notaleg* "
                 "hugguleg* kósý kósí kósy krúttleg* krútt krúttið sætur sætasta ljómandi prýðileg* prýði prýðis "
                 "frábærlega ofurgóð* eðal klassi"),
    # clear praise: apps and products
    **words(2.0, "sniðug* gagnleg* hentug* notendavæn* skilvirk* þægileg* hnökralaus* vandræðalaus* "
                 "hraðvirk* skjótvirk* lipur* lipurð"),
    # clear praise: food
    **words(2.0, "bragðgóð* gómsæt* safarík*"),
    # clear praise: films, books, shows
    **words(2.0, "skemmtileg* skemmtilegt spennandi fyndin* fyndn* frumleg* eftirminnileg* áhrifarík* hjartnæm* "
                 "sannfærandi trúverðug* grípandi hugljúf* spennuþrungin* töfrandi heillandi sjarmerandi "
                 "gimstein* skylduáhorf skyldulesning gæsahúð"),
    # clear praise: staff and service
    **words(2.0, "hjálpleg* hjálpsam* liðleg* vingjarnleg* vinaleg* elskuleg* indæl* kurteis* greiðvikin* "
                 "greiðvikn* þjónustulund* þjónustulipur* þjónustulipr* úrræðagóð* ráðagóð* skilningsrík* "
                 "heiðarleg* almennileg* þolinmóð* hugulsam* brosmild* glaðleg* fagmannleg* fagleg* fagmaður "
                 "fagmenn toppþjónusta hetja hetjur hetjan hetjurnar"),
    # clear praise: speed
    **words(2.0, "snögg* skjót skjótt skjótur fljótur fljótt fljótir fljótar fljótari fljótleg* hröð "
                 "viðbragðsfljót*"),
    # clear positive feelings
    **words(2.0, "ánægð* ánægj* sátt sáttur sáttir sáttar sáttari glöð* glaður glaðir glatt glaðari gleð* kát* "
                 "hamingj* þakklát* þakk* hlakka* spennt* stolt stoltur stoltir stoltar fegin* feginn heppin* "
                 "heppn* lukku* lukka yndi æði hrifin* hrifinn hrifnari gaman fjör fjörið fjörug* hress* "
                 "hressandi ljúf* uppáhald* ást ástin ástina ástfangin* knús*"),
    **words(2.5, "elska* elskum elskaði dýrka* dýrkum alsæl* hæstánægð* himinsæl* himinlifandi"),
    # thanks, cheers, slang and English code-switching
    **words(2.0, "takk takkk takktakk tack thanks thx ty næs nice töff jei jeij jibbí jibbý vúhú húrra jess "
                 "dúndur love great"),
    # mild praise
    **words(1.5, "besta besti bestan framför* endurbæt* ferskur fersk* hagstæð* hagkvæm* sanngjarn* sanngjörn* "
                 "auðveld* áreynslulaus* nytsamleg* fræðandi áhugaverð* jákvæð* þægind* hreinleg hreinlegt "
                 "hreinlegur bragðmikil* "
                 "djúsí vanmetin* vanmetn* margverðlaunað* tímanlega"),
    **words(1.5, "kúl nett nettur svalur cool good epic bros* brosandi hlátur* hló hlæ hlæja fyndið vei veii yes"),
    **words(1.0, "vel betri betra ágæt* ágætis ódýr* upplýsandi skýr ókeypis góði sætt verðlaun* vinsæl* "
                 "örugg* einföld* blessun fjölbreytt* metsölu* ferskleik* brakandi áhyggjulaus*"),
    **words(0.8, "lol haha hahaha hahah hehe"),
    **words(3.0, "langbest*"),
    **words(2.0, "best hrós* virðingarverð* lausnamiðuð*"),
    **words(1.5, "traustvekjandi batna* batnað*"),
    **words(1.0, "hratt"),
    **words(0.5, "góðan"),
}

_COMPLAINT = {
    # strong: disgust, disaster, fraud
    **words(-3.0, "hræðileg* ömurleg* omurleg* hörmuleg* hörmung* skelfileg* viðbjóð* ógeð* ógeðsleg* ógesleg* "
                  "ógeðið viðurstyggileg* andstyggileg* hryllileg* martröð martröðin martraðar* stórslys* "
                  "katastrófa glatað* glötuð* glataður drasl* rusl* verst* versta óþolandi óboðleg* "
                  "óásættanleg* skandall skandal* hneyksl* hata* hatur hatrið fyrirlít*"),
    **words(-3.0, "svindl* svik* svikari* svikul* þjófnað* þjófar þjófur þjófarnir"),
    # strong: films, food
    **words(-3.0, "hundleiðinleg* drepleiðinleg* grútleiðinleg* hundfúl* úldin* úldið úldna úldnu matareitrun* "
                  "ojbara"),
    # strong: insults
    **words(-3.0, "fávit* hálfvit* idíót* fífl* auming* drullusokk* lúða* vanvit* hræsn* skítleg* fáránleg*"),
    **words(-2.5, "heimskur heimsk heimskt heimskir heimskar heimskan heimsku heimska bjáni bjánar bjánaleg* "
                  "asni asnar asnaleg* asnalegt auli aular aulaleg* vanhæf* getulaus* óhæf* hæfileikalaus* "
                  "lúser* dóni dónar dóna* dónaleg* dónaskap* hroki hroka* ókurteis*"),
    # profanity
    **words(-2.5, "fokk* fuck* fucked shit crap helvítis djöfulsins djöful* andskotans andskotinn fjandans "
                  "fjandinn fjandi skít*"),
    **words(-1.5, "andskoti djöfull bölv* ansans skrattans"),
    # strong: unacceptable conduct and prices
    **words(-2.5, "óheiðarleg* ófagleg* ófagmannleg* ólíðandi óviðunandi svívirð* forkastanleg* óafsakanleg* "
                  "vítaverð* óverjandi siðlaus* ósvífin* ósvífn* lúaleg* skammarleg* virðingarleysi sinnuleysi "
                  "getuleysi þjónustuleysi ábyrgðarlaus* blekk* lygi lygar lygari lygarar ljúga lýgur"),
    **words(-2.5, "okur* rándýr* rán rænd* ræningjar græðgi arðrán* fjárplógsstarfsemi"),
    # strong: broken, worthless, spoiled
    **words(-2.5, "ónothæf* gagnslaus* ónýt* fúsk* hrákasmíð* eyðilag* eyðilegg* hundléleg* drulluléleg* "
                  "arfaslak* afleit* fíaskó mygl* kakkalakk* bragðvond* ullabjakk"),
    **words(-2.5, "grátleg* niðurbrotin* niðurbrotn* örvænting*"),
    **words(-2.5, "terrible awful horrible useless scam worst"),
    # clear: bad quality, poor product
    **words(-2.0, "slæm* slæmt léleg* vond* vont verri ljót* mistök galli gallar gallað* gallagripur skemmd* "
                  "óvandað* óvönduð* slakur slök slakt slakir slakar slakasta miðlungs* meðalmennsk* "
                  "hálfkák* ábótavant misheppnað* misheppnuð* mistókst mistekst bragðdauf* bragðlaus*"),
    # clear: services and apps that fail
    **words(-2.0, "vesen* klúður klúðr* kvörtun* kvarta* vandræð* bilun* bilað* biluð* bila bilar bilaði "
                  "seinkun* seinkaði seinkar óáreiðanleg* óskiljanleg* ruglingsleg* tilgangslaus* máttlaus* "
                  "svikapóst*"),
    # clear: prices
    **words(-2.0, "dýrt uppsprengd* yfirverð* okra okrað okraði okrar* óheyrileg* yfirgengileg*"),
    # clear: staff and company conduct
    **words(-2.0, "ósanngjarn* ósanngjörn* óréttlát* áhugalaus* kærulaus* kæruleys* skilningslaus* "
                  "skilningsleys* hunsa* hundsa* hunsuð* hundsuð* metnaðarleys* metnaðarlaus* tillitsleys* "
                  "tillitslaus* ábyrgðarleys* samskiptaleys* upplýsingaleys* skipulagsleys* óskipulag* "
                  "ámælisverð* frekleg* frekja frekjan frekur frek frekt frekir villandi falsað* falskur fölsk "
                  "falskt gráðug* vantraust fráhrindandi"),
    # clear: dirt
    **words(-2.0, "subbuleg* sóðaleg* óþrifaleg* skítug*"),
    # clear: films and books
    **words(-2.0, "leiðinleg* leiðileg* leidinleg* hundleidinleg* langdregin* langdregn* langdregið "
                  "fyrirsjáanleg* ófyndin* ófyndn* óspennandi tómleg* klisj* gleymanleg* tilgerðarleg* "
                  "ófrumleg* innantóm* ósannfærandi ótrúverðug* hallærisleg* pínleg* ofmetin* ofmetn* ofleik* "
                  "óáhugaverð* tilþrifalít* innihaldslaus* steindauð* sálarlaus* svæfandi kjánaleg* kjánalegt "
                  "heimskuleg* vitleysa bull bullið bullshit rugl* sóun tímasóun peningasóun hrapallega"),
    # clear: negative feelings
    **words(-2.0, "vonbrigð* vonsvik* svekk* pirr* bögg* reiður reiði reiðir reiðar reitt reiðarslag brjál* "
                  "fúll fúlt fúlir fúla óánægð* ósátt* ósáttur leiður leiðist leiðindi leiðinda* döpur dapur "
                  "dapurleg* sorgleg* sorg sorgin kvíð* þunglynd* einmana einmanaleik* þreytt* þreytandi "
                  "uppgefin* uppgefn* móðga* óþægileg* vonlaus* vonleysi niðurdregin* niðurdregn* bugaður "
                  "buguð fýla fýlu fýlan skapvond* geðill* skömm hryllingur skelfing* ömurleiki "
                  "ömmurleg*"),
    # clear: interjections and chat shorthand
    **words(-2.0, "oj ojj wtf fml ffs smh sucks fail"),
    # mild: delays, small defects, hassle
    **words(-1.5, "illa vandamál* vitlaus* seint seinn dýrari töf tafir töfum tafa tafar töfin tafirnar "
                  "brotin brotinn brotnaði brotnað brotnar hikst* hökt* laggar laggaði lagg laggið klikkaði "
                  "klikkar klikkuðu hrynur óstöðug* úrelt* ósvarað* bras basl* maus einokun* rangfærsl* "
                  "erfiðleik*"),
    **words(-1.5, "ofsalt* ofeldað* ofsoðin* óhrein* brunnin brunninn brunnið brennt ólseig*"),
    **words(-1.5, "væmin* væmn* yfirborðskennd* götótt* dauf* flókin* flókið ruglað* slakari "
                  "hálfleiðinleg*"),
    # mild: feelings
    **words(-1.5, "áhyggj* reið stress* hræðsl* hrædd* óheppin* óheppni óheppileg* sársauk* kvöl kvalir "
                  "kvalafull* þjáning* gráta grátur grátandi grátið grét græt grætur súr súrt sárt sárnaði "
                  "vonsvikinn sakna* synd miður kuldaleg* úrill* afbrýði*"),
    **words(-1.5, "úff æi æji æj arg argh dæs meh ugh jæks bjakk dísús"),
    # faint: waiting, lost parcels, refunds, difficulty
    **words(-1.0, "bíða bíð* beðið biðin biðröð* biðtím* týnd* týnt aflýst* aflýs* endurgreið* "
                  "verðhækkun* svimandi útrunn* tjón* brotið sein hæg hægur hægfara hægvirk* hæga óvirk* "
                  "ofhlaðin* endalaus*"),
    **words(-0.5, "erfiður erfið erfitt erfiðir erfiðar erfiðan"),
    **words(-1.0, "veikur veik veikt veikir veikar rangt röng rangur ranga rangri rangar volgur volg volgt "
                  "volgan volgu hálfvolg* ótta ótti óttinn óttast skítt þunnt vandi vandinn "
                  "óþægind* léttvæg* öfund* ringl* streð úps úbbs "
                  "obbosí"),
    **words(-2.5, "óæt*"),
    **words(-2.0, "versn* leiddist ólögleg*"),
    **words(-1.5, "þröng þröngt þröngur þröngir þröngar þröngu þrengsli stirð* stirt slöpp slappur slappt slappir "
                  "slappar slöppu slappari slappasta innköll* innkall*"),
    **words(-1.0, "beið biðum biðu síðri síðra sekt* hrá hrár hrátt hráar hráir"),
}

# Pinned to 0: frequent neutral words a stem above would catch, greetings and sign-offs ("bestu kveðjur"),
# and words that are intensifiers rather than opinions ("ógeðslega gott", "helvíti góður").
_NEUTRAL = words(0.0, "hægt fljótlega fljótandi einfaldlega örugglega áreiðanlega hreinlega snögglega "
                      "góðgerð* ferskvatn* kveðja kveðjur bestu sæl sæll sælir sælar kæri kæra kæru ógeðslega "
                      "fáránlega helvíti djöfulli "
                      "fokking fucking brjálæðislega rugla endalaust almennilega")

_ASCII = str.maketrans({"þ": "th", "ð": "d", "æ": "ae", "ö": "o", "á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u",
                        "ý": "y"})


def _unaccented(spec: str) -> str:
    """The same words as typed on a keyboard without Icelandic letters (þ→th, ð→d, æ→ae, á→a …)."""
    return spec.translate(_ASCII)


# Frequent opinion words as people type them without Icelandic letters. Listed by hand: folding every entry
# would collide with other words (fín* → fin* "finna", sátt → satt "true", góð → god).
_TYPED_UNACCENTED = {
    **words(3.0, _unaccented("frábær* æðisleg* stórkostleg* dásamleg* geggjuð* ljúffeng* framúrskarandi")),
    **words(2.0, _unaccented("þægileg* hjálpleg* hjálpsam* þjónustulund* þjónustulipur* vingjarnleg* ánægð* ánægj* "
                             "þakklát* glæsileg* vönduð* vandað* fínt góður sáttur sáttir")),
    **words(-3.0, _unaccented("ömurleg* hræðileg* hörmuleg* ógeðsleg* óþolandi óásættanleg* glatað*")),
    **words(-2.5, _unaccented("ónothæf* gagnslaus* ónýt* dónaleg* óheiðarleg*")),
    **words(-2.0, _unaccented("léleg* slæm* slæmt óánægð* ósátt* vonbrigð* skítug* leiðinleg* bilað* biluð*")),
}

_ENTRIES = {**_PRAISE, **_COMPLAINT, **_TYPED_UNACCENTED, **_NEUTRAL}

NEGATORS = "ekki aldrei enginn engin ekkert engan engu enga engir hvorki né án eigi hvergi varla"
INTENSIFIERS = ("mjög rosalega ótrúlega alveg virkilega algjörlega algjör algjört algjörlega afskaplega svakalega "
                "hrikalega gríðarlega geðveikt ofboðslega einstaklega sérstaklega of langt feikilega ógeðslega "
                "fáránlega brjálæðislega sjúklega ýkt ógó fokking fucking helvíti djöfulli hræðilega "
                "yfirmáta sérlega óvenju svo ofsalega miklu mun langtum mjog otrulega")
DIMINISHERS = "frekar svolítið soldið dálítið nokkuð sæmilega þokkalega aðeins pínu heldur smá ögn"
CONTRAST = "en samt hins_vegar"
# «en» is "than" after a comparative («betri en búist var við», «miklu betri myndir en þessa»), "but" elsewhere
_COMPARATIVE_FORMS = (r"betr[ia]|betur|verr[ia]?|meir[ia]|minn[ia]|fleiri|færri|skárr[ia]|síðr[ia]|\w+legr[ia]|"
                      r"\w{3,}ar[ia]|\w*(?:stærr|lengr|styttr|hærr|lægr|yngr|eldr|þyngr)[ia]|frekar|heldur")
_NOT_COMPARATIVE = r"(?:þessar|thessar|svar|spar)[ia]$"  # "this" (dative), "answer", "save"
COMPARATIVE = re.compile(f"(?!{_NOT_COMPARATIVE})(?:{_COMPARATIVE_FORMS}|{_unaccented(_COMPARATIVE_FORMS)})")


def phrases(valence: float, tag: str | None, *patterns: str) -> list[Phrase]:
    """`lexicons.phrases`, each pattern also as typed without Icelandic letters ("enn ad bida", "thridja skiptid")."""
    both = [p if _unaccented(p) == p else f"{p}|{_unaccented(p)}" for p in patterns]
    return exact_phrases(valence, tag, *both)


PHRASES = [
    *phrases(-2.0, "complaint",
             r"enn að bíða|enn ?þá að bíða|ennþá að bíða|bíð enn|búin að bíða|búinn að bíða|beðið í|"
             r"(?<!ekki )beðið eftir",
             r"(?:í )?(?:annað|þriðja|fjórða|fimmta) (?:skipti|skiptið|sinn|sinnið)|aftur og aftur|enn og aftur|"
             r"einu sinni enn",
             # waited N minutes/hours: "biðum í klukkutíma", "sat í 40 mínútur", "stóð á brautinni í tvo tíma"
             r"(?:beið|biðum|biðu|sat|sátum|sátu|stóð|stóðum|stóðu|hékk|héngum)(?: \w+){0,3} í "
             r"(?:(?:\d+|tvo|tvær|þrjá|þrjár|fjóra|fjórar|fimm|sex|tíu|tuttugu|hálf\w*|heil\w*|rúm\w*|yfir) )?"
             r"(?:mínútur|mín|klukkutíma|klukkustund\w*|klst|tíma|daga|viku|vikur)",
             r"rukkuð tvisvar|rukkaður tvisvar|rukkað tvisvar|tvírukk\w*|tvöföld rukkun",
             r"enginn svarar|enginn svaraði|ekkert svar|engin svör|fæ ekki svar|hef ekki fengið|ekki fengið",
             r"hvar (?:er|eru) \w+ (?:minn|mín|mitt|okkar)\w*|viljum endurgreiðslu|vil fá endurgreitt|kvörtun",
             r"í alvöru\?|er þetta grín|er ekki í lagi|hvað er að ykkur|til (?:háborinnar )?skammar|"
             r"skamm(?:ar|ast|ist)\w*|"
             r"hvernig getur (?:svona|þetta|slíkt) (?:\w+ )?(?:gerst|komið fyrir)",
             r"aldrei aftur|hætti (?:viðskiptum|hjá)|mæli ekki með|mæli alls ekki|(?:get|myndi|mundi) ekki mælt? með",
             r"(?:förum|fer|kem|komum|kaupi|kaupum|versla|verslum|panta|pöntum|flýg|fljúgum|borða|borðum|myndi|"
             r"mun|munum|ætla|ætlum)(?: \w+){0,2} (?:ekki|aldrei)(?: \w+){0,2} aftur",
             r"ekki eyða (?:\w+ )?(?:tíma|tímanum|peningum|peningunum|pening|kvöldinu|krónu|krónum) í",
             # regret: "sá eftir bíómiðanum", "sé eftir peningunum"
             r"(?<!ekki )(?:sé|sjáum|sá|sáum) (?:mikið |svo |strax )?eftir (?:því|þessu|kaupunum|peningunum|"
             r"\w+miðanum|\w+miðunum)",
             # money and time wasted
             r"ekki (?:alveg |alls |neinn?a? )?(?:þess|peninganna|krónunnar|verðsins) virði",
             r"sóun á (?:tíma|peningum|pening)|henda peningunum|(?:peningum|pening) (?:var )?kastað á glæ",
             # delivery that never came, things that broke
             r"hefur ekki (?:borist|skilað sér|komið)|komu? aldrei|bárust aldrei|barst aldrei|skilaði sér aldrei|"
             r"(?:er )?ekki enn komin?n?|(?:er )?enn ekki komin?n?",
             r"datt í sundur|dettur í sundur|féll í sundur|fór í sundur|"
             r"(?:bilaði|brotnaði|hætti að virka|dó) eftir (?:\w+ )?(?:dag|daga|viku|vikur|mánuð|mánuði)",
             r"stóðst ekki (?:\w+ )?væntingar|stenst ekki (?:\w+ )?væntingar|olli (?:miklum )?vonbrigðum|"
             r"varð fyrir (?:miklum )?vonbrigðum|urðum fyrir (?:miklum )?vonbrigðum",
             # fed up, run-around, idioms of contempt
             r"takk fyrir (?:ekkert|ekki neitt)|engin þjónusta",
             # "þjónustulundin engin", "kurteisin var engin": a good quality said to be absent
             r"(?:þjónust\w*|kurteisi\w*|fagmennsk\w*|metnað\w*|virðing\w*|upplýsingagjöf\w*) (?:er |var |hjá \w+ )?"
             r"(?:engin|enginn|ekkert|engar|núll)(?=\s*(?:[.,;:!?…)]|$))",
             r"(?:nú er )?nóg komið|(?:búin|búinn|komin|kominn) með nóg|(?:búin|búinn) að fá nóg",
             r"tala við vegg|(?:sendur|send|vísað) (?:fram og til baka|á milli)|hver vísar á annan",
             r"fyrir neðan allar hellur|út í hött|út úr kortinu|ekki upp á marga fiska|"
             r"nýjum lægðum|botninum (?:er )?náð",
             r"neit(?:a|ar|aði|uðu|ið) (?:\w+ )?að|án (?:nokkurrar |nokkurs |allrar |neinnar |neins )?(?:viðvörunar|"
             r"fyrirvara|tilkynningar|skýring\w*|útskýring\w*|afsökunar\w*|samráðs|samþykkis)",
             r"(?:fékk|fengum|fengu|fær) (?:\w+ )?í magann|magakveis\w*|ypp\w* (?:bara )?öxlum",
             r"ekki eins og (?:auglýst|lýst|lofað)|(?:ekki|hvergi nærri) (?:því )?sem (?:var )?lofað",
             r"falin gjöld|falinn kostnað\w*|segi upp (?:áskriftinni|samningnum|viðskiptum)|"
             r"skipti um (?:banka|símafyrirtæki|fyrirtæki|þjónustuaðila)",
             r"hár í (?:matnum|súpunni|réttinum)|maturinn (?:var )?(?:kaldur|ískaldur|hrár)|"
             r"vitlaus\w* (?:vara|pöntun|stærð)|röng vara|rangri vöru|ekki (?:\w+ ){0,2}á réttum tíma",
             r"(?:ekki|aldrei) hægt að (?:ná í|ná sambandi|hringja|skrá sig|borga|panta|komast|breyta|afpanta|afbóka|"
             r"hætta|segja upp|tala við)|næ ekki í ykkur"),
    *phrases(-1.5, None,
             r"því miður|ekkert (?:sérstakt|spes)|þoli ekki|þoldi ekki|á ekki til orð|"
             r"hvergi nærri|fyrir ofan garð og neðan|sit uppi með|"
             r"nenni ekki|nennti ekki|leitt að heyra|(?:mér|okkur) þykir (?:það |þetta )?(?:mjög )?leitt|"
             r"(?:er|var) miður (?:mín|sín)",
             r"ekkert (?:hefur |hafði )?(?:breyst|gerst|lagast|batnað)|(?:hefur|hafði) ekki (?:enn )?(?:lagast|batnað)|"
             r"skil ekki (?:hvað|af hverju) (?:allir|fólk) (?:sjá|sér|fíla)"),
    # "could have been better": stronger than the "betri" it contains
    *phrases(-2.5, None, r"(?:hefði|hefðu) (?:getað|mátt) (?:verið|vera) (?:\w+ )?(?:betri|betra|betur)|"
                         r"(?:mætti|mættu) (?:alveg )?(?:vera|endast|ganga|virka) (?:\w+ )?(?:betri|betra|betur|"
                         r"lengur|hraðar|ódýrari|ódýrara)"),
    # exclamations and idioms whose words look positive
    *phrases(-3.0, None, r"guð minn (?:almáttugur|góður)|langt frá því (?:að vera )?(?:góð|gott|ánægð|sátt|"
                         r"fullkomin|frábær|fín)\w*"),
    *phrases(-1.0, "outage",
             r"virkar ekki|virka ekki|virkaði ekki|liggur niðri|liggja niðri|(?:er|eru|var|voru|enn|allt|alveg) niðri",
             r"bilun|bilað\w*|hrun\w*|hrundi",
             r"kemst ekki inn|næ ekki sambandi|ekkert (?:net|netsamband|samband|símasamband|sjónvarp)|"
             r"netið (?:er )?(?:dottið út|niðri|farið)|"
             r"sambandslaus\w*|villa|villuboð",
             r"hleðst ekki|opnast ekki|frýs|frosið|(?:dettur|datt|dottið) út|hægagang\w*|netið er (?:svo )?hægt",
             r"(?:hleðst|hleður|hlaðast|gengur|virkar|keyrir|svarar|opnast|uppfærist) (?:\w+ )?hægt"),
    *phrases(-1.0, "risk", r"lögfræðing\w*|lögregl\w*|kæra (?:ykkur|málið|fyrirtækið)|kæri ykkur|kæru|neytendastofu|"
                           r"svik|svikin|hakkað\w*|gagnaleka\w*|leki|hættuleg\w*"),
    *phrases(0.0, "request", r"vinsamlegast|getið þið|geturðu|gætuð þið|hjálp|hjálpið|aðstoð\w*|hvernig get ég|"
                             r"hvernig á ég"),
    *phrases(2.0, "praise",
             r"takk kærlega|kærar þakkir|bestu þakkir|þúsund þakkir|takk fyrir (?:mig|okkur|frábæra|góða)|"
             r"vel gert|til fyrirmyndar|frábær þjónusta|til hamingju",
             r"mæli (?:hiklaust |eindregið |klárlega |heilshugar |100% )?með|get (?:hiklaust )?mælt með",
             r"(?<!ekki )(?<!ekki alveg )(?<!alls ekki )(?:vel |algjörlega |alveg )?"
             r"(?:þess|peninganna|hverrar krónu) virði",
             r"fór (?:langt )?fram úr (?:öllum )?(?:væntingum|vonum)|framar (?:öllum )?(?:vonum|væntingum)|"
             r"stóðst (?:allar )?væntingar|stenst (?:allar )?væntingar|"
             r"(?<!ekki )(?<!hvergi nærri )eins og (?:lýst var|auglýst|(?:var )?lofað)",
             # better than expected / than hoped
             r"betr[ia] en (?:ég |við )?(?:bjóst við|bjuggumst við|búist var við|ég hélt|hélt|átti von á|"
             r"(?:hafði |hefði )?(?:þorði|þorað) að vona|vonast var til|væntingar)",
             r"(?:komum|kem|kæmi|kæmum|förum|fer) (?:pottþétt|klárlega|örugglega|sko|hiklaust|alveg) aftur|"
             r"(?:munum|mun|myndi|myndum) (?:hiklaust |pottþétt |klárlega |örugglega |alveg )?"
             r"(?:koma|fljúga|versla|panta|kaupa|fara|borða)(?: \w+){0,3} aftur",
             r"sé ekki eftir|sjáum ekki eftir",
             r"algjört gull|hreint gull|gulls ígildi",
             r"eins og í sögu|gekk (?:eins og )?smurt|virkar (?:bara )?(?:vel|fínt|frábærlega|fullkomlega)|"
             r"(?:kom|kominn|komin|barst|mætti|mættu|var|voru|fór|fóru|lenti|lentu) (?:alltaf )?á réttum tíma|"
             r"(?:kom|kominn|komin) strax|"
             r"(?:fyrsta|1\.) flokks|í hæsta gæðaflokki",
             r"stendur (?:alltaf )?fyrir sínu|bregst (?:aldrei|ekki)|klikkar (?:aldrei|ekki)|sló í gegn|"
             r"slær í gegn|stendur upp úr|bjargaði (?:deginum|mér|okkur)|gerði daginn",
             r"í skýjunum|sjöunda himni|get ekki beðið|hlakka til"),
    *phrases(0.8, None, r"sem betur fer"),
    *phrases(1.5, None, r"ekkert mál|(?:södd|saddur|saddir) og (?:sæl|sæll|sælir|sátt|sáttur)|"
                        r"(?:sæl|sæll|sælir) og (?:södd|saddur|saddir)"),
    # a problem solved: outweighs the «vandamál» it names
    *phrases(3.0, "praise", r"(?:vandamálið|málið|vandinn) (?:var |er |hefur verið )?(?:strax |fljótt )?leyst|"
                            r"leyst(?:i|u|uð|uð þið)? (?:málið|vandann|vandamálið|úr málinu)"),
    # "X is better than this": the thing reviewed is the worse one
    *phrases(-2.5, None, r"betr[ia] (?:\w+ )?en (?:þessa|þessi|þetta|þennan|þessu)"),
    *phrases(2.0, "praise", r"fljót (?:og \w+ )?(?:afgreiðsla|þjónusta|svör|viðbrögð|sending|að svara|að bregðast)"),
    *phrases(-1.0, None, r"(?:verðið|verðin|gjöldin|áskriftin|afborgunin|reikningurinn|iðgjöld\w*) "
                         r"(?:hefur |hafa )?hækk\w*|hækkuðu verð\w*|hærr[ia] (?:verð|gjöld|reikning\w*|iðgjöld)"),
    # "never been better", "without doubt the best": the negator in front is not a negation
    *phrases(3.0, "praise",
             r"best(?:a|i|u)? í heimi|best(?:a|i|u)? (?:\w+ )?(?:sem ég hef|ever)",
             r"aldrei (?:verið|smakkað|séð|fengið|upplifað|prófað) (?:\w+ )?(?:betri|betra|betur|ánægðari|sáttari)",
             r"án (?:efa|vafa|nokkurs vafa)|ekkert smá (?:góð|gott|flott|fín|ánægð|sátt|skemmtileg|ljúffeng|"
             r"falleg|hjálpleg)\w*|(?:ekkert|ekki yfir neinu) (?:til )?að kvarta (?:yfir|undan)",
             r"(?:[45]|fjórar|fimm) stjörnur(?: af (?:5|fimm))?|(?:9|10|níu|tíu) af (?:10|tíu)|10/10|5/5"),
    *phrases(-2.5, "complaint",
             r"(?:[0-2]|núll|ein|tvær) (?:stjarna|stjörnur)|(?:[0-3]|núll|einn|tveir|þrír) af (?:10|tíu)|[0-2]/10|"
             r"[01]/5"),
    *phrases(-1.5, "complaint", r"(?:löng|langa|endalaus|endalausa|margra \w+) bið"),
]


@cache
def lexicon() -> Lexicon:
    return Lexicon.build(dict(_ENTRIES), negators=NEGATORS, intensifiers=INTENSIFIERS, diminishers=DIMINISHERS,
                         contrast=CONTRAST.replace("_", " "), comparative=COMPARATIVE, phrases=PHRASES)
