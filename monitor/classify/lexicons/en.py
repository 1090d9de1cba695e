"""English: VADER's MIT-licensed word list as the base, plus customer-service phrasing VADER misses."""
from __future__ import annotations

from functools import cache

from . import Lexicon, phrases, words

# VADER scores some request/filler words as positive; in posts to a brand they are neutral or sarcastic.
_OVERRIDES = {
    **words(0.0, "please help ok okay sure yes care like well hope want wants free pretty chance "
                 "join joined share god lord matter party dear"),
    # the names of things in customer posts: "support team", "interest rate", "loyalty points", "fire alarm"
    **words(0.0, "support supported supporting supports interest interests loyalty fire"),
    **words(-0.8, "joke"),
    **words(0.8, "lol haha hahaha lmao"),
}
_ADDITIONS = {
    **words(-1.5, "delayed delays cancelled canceled cancellation overbooked rebooked stranded stuck "
                  "unresponsive useless clueless incompetent incompetence nightmare"),
    **words(-1.0, "waiting waited wait hold missed missing lost unable outage crashed crashing crashes "
                  "buggy glitch glitchy lag laggy slow slower refund broken overcharged nope"),
    **words(-2.5, "scam scammed rip-off ripoff worst horrible disgusting pathetic shameful"),
    **words(-2.0, "disappointing disappointed unprofessional unhelpful ignored ignoring rude worse sucks "
                  "smh ugh wtf fml ridiculous unacceptable terrible"),
    **words(2.0, "thx ty kudos props shoutout smooth seamless slick goated"),
    **words(-1.5, "mid"),
}
NEGATORS = ("not no never nothing nobody none nor neither without cannot can't cant don't dont doesn't doesnt "
            "didn't didnt isn't isnt wasn't wasnt aren't arent won't wont wouldn't wouldnt shouldn't "
            "couldn't couldnt haven't havent hasn't hasnt hadn't ain't n't")
INTENSIFIERS = ("very really so extremely totally absolutely completely utterly incredibly super truly "
                "seriously insanely beyond most too highly such fucking freaking damn")
DIMINISHERS = "slightly somewhat kinda kind sort sorta bit little barely hardly fairly quite rather"
CONTRAST = "but however although though yet"

PHRASES = [
    *phrases(-2.0, "complaint",
             r"still (?:waiting|no|not|nothing|haven'?t|hasn'?t|can'?t|don'?t|didn'?t)",
             r"been waiting", r"(?:been )?on hold", r"hold for",
             r"wait(?:ing|ed)? (?:for )?(?:over |almost |nearly )?(?:\d+|an?|one|two|three|four|five|six) "
                 r"(?:hours?|hrs?|days?|weeks?|months?|mins?|minutes?)",
             r"(?:no|zero|without any|not a single|not one) "
                 r"(?:response|reply|answer|help|update|updates|info|information|one|refund|call ?back|email)",
             r"(?:never|haven'?t|didn'?t|not) (?:got|gotten|received|heard back|heard|arrived|came|been refunded|"
                 r"responded|replied|answered|called back|answers|responds|replies|calls back|gets back)",
             r"(?:\d+|an?|one|two|three|four|five|six|eight|ten|several|many)[ -](?:hours?|hrs?|days?|weeks?)"
                 r"(?: long)? (?:delay|wait|late|on hold|in line|queue)",
             r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time", r"(?:once|yet) again", r"again and again",
             r"charged (?:me )?(?:twice|double|two times|again)", r"double[- ]charged", r"overcharged",
             r"where(?: is|'s) my", r"lost (?:my|our) ",
             r"(?:my|our) \w+ (?:is|are|was|were|got) (?:lost|missing|damaged|broken|delayed|cancell?ed)",
             r"(?:want|need|demand|requesting) (?:a |my |our )?(?:refund|money back|compensation)",
             r"(?:missed|miss) (?:my|our|the) (?:connection|flight|appointment|delivery)",
             r"what a (?:joke|mess|disaster|shame)", r"thanks for nothing", r"not happy|unhappy|not impressed",
             r"never again|last time i|switching to|cancel(?:ling|ing)? my (?:account|subscription|membership|card)",
             r"fix (?:it|this|your)", r"do better", r"get it together|get your act together",
             r"customer (?:service|support|care) (?:is|was|sucks|has been)",
             r"(?:nobody|no one) (?:cares|answers|helps|responds|picks up)",
             r"hung up|disconnected me|keeps? (?:crashing|failing|dropping|logging me out)",
             r"(?:hours?|days?) late|late again|delayed again|cancell?ed again", r"waste of (?:time|money)",
             r"how (?:hard|difficult) (?:is it|can it be)|how many (?:more )?times|what'?s the point",
             r"are you (?:kidding|serious|joking)|seriously\?|you'?re kidding|unbelievable"),
    *phrases(-1.0, "outage",
             r"(?:is|are|was|went|goes|been|still|all) down", r"down again|down for|outage|offline",
             r"not (?:working|loading|responding|connecting|available)|doesn'?t work|don'?t work|isn'?t working|"
                 r"stopped working|won'?t (?:load|open|work|connect|let me)",
             r"can'?t (?:log ?in|sign ?in|login|connect|access|load|open|pay|check ?in|get through|reach)|"
                 r"cannot (?:log ?in|login|connect|access|load)",
             r"(?:error|err) ?(?:code|message|\d{3})|\b(?:500|502|503|504) error|server error|something went wrong",
             r"app (?:crash|crashes|crashed|keeps)|site (?:is )?(?:down|broken)|website (?:is )?(?:down|broken)",
             r"no (?:internet|signal|service|connection|network|power|wifi|wi-fi)|"
                 r"(?:internet|wifi|network|connection) (?:is )?(?:down|dead|dropping|gone)",
             r"bug|glitch|crash(?:ed|es|ing)?|timed? ?out"),
    *phrases(-1.0, "risk",
             r"lawyer|lawsuit|sue you|legal action|small claims|attorney|police|fraud|data breach|hacked|"
             r"stolen|leaked|unsafe|danger(?:ous)?|injur(?:ed|y)|fire hazard|consumer protection|ombudsman|regulator"),
    *phrases(0.0, "request",
             r"please (?:help|advise|assist|fix|check|respond|reply|dm|call|send|tell)|"
                 r"can (?:you|someone|anyone) (?:help|tell|check|fix)",
             r"could you|would you|dm me|dm'?d|sent (?:you )?a dm|how (?:do|can|should) i|is there (?:a|any) way",
             r"need (?:help|to change|to cancel|assistance)|help me|help us"),
    *phrases(2.0, "praise",
             r"thank you so much|thanks so much|many thanks|big thanks|shout ?out to|kudos to|props to",
             r"great (?:job|service|work|experience|flight|crew|staff|team)|well done|"
                 r"(?:love|loved|loving) (?:you|your|the|this|it|my)",
             r"best (?:airline|service|company|app|provider|customer service|ever)|made my day|above and beyond|"
                 r"you rock|you guys rock"),
    # slang praise whose words read negative on their own ("killing" -3.4)
    *phrases(4.5, "praise", r"(?:killing|killed|crushing|crushed|nailing|nailed) it",
             r"(?:is|was|are|were|so|pure|straight|absolute|absolutely) (?:fire|🔥)"),
    # emphatic negation: the negated word would otherwise flip the verdict
    *phrases(3.0, None,
             r"(?:never|not) been better|"
                 r"(?:could ?n[o']?t|could not|can'?t|cannot) (?:be|have been) (?:happier|better)",
             r"(?:can'?t|cannot|could ?n'?t) complain|no complaints|never (?:disappoints?|fails? to (?:impress|amaze))",
             r"(?:never|n't ever) (?:seen|had|experienced|met) (?:such|so|a better|better|more)"),
]


@cache
def lexicon() -> Lexicon:
    from vaderSentiment.vaderSentiment import (
        SentimentIntensityAnalyzer,  # MIT; only its word list is used
    )

    base = {w: v for w, v in SentimentIntensityAnalyzer().lexicon.items() if " " not in w}
    base.update(_ADDITIONS)
    base.update(_OVERRIDES)
    return Lexicon.build(base, negators=NEGATORS, intensifiers=INTENSIFIERS, diminishers=DIMINISHERS,
                         contrast=CONTRAST, phrases=PHRASES)
