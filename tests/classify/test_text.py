from monitor.classify.text import MAX_CHARS, normalize


def test_ascii_text_is_kept_as_written_but_capped():
    assert normalize("Acme is DOWN again :( #fail") == "Acme is DOWN again :( #fail"
    assert normalize("a" * (MAX_CHARS + 10)) == "a" * MAX_CHARS


def test_other_text_gets_letter_forms_digits_and_the_cap():
    assert normalize("\u0643\u064a\u200c\u0641 \u06f1\u06f2") == "\u06a9\u06cc\u0641 12"  # Arabic kaf/yeh, ZWNJ, digits
    assert normalize("ещё ＡＢＣ") == "еще ABC"  # ё and full-width letters (NFKC)
    assert normalize("é" * (MAX_CHARS + 10)) == "é" * MAX_CHARS
