"""Checks corpus files: python3 corpus/validate.py corpus/en/*.jsonl"""
import json
import sys

SENTIMENTS = {"negative", "neutral", "positive"}
ISSUES = {"billing", "account_access", "outage", "delivery", "staff_conduct", "product_quality", "security_fraud",
          "safety", "legal", "churn", "praise", "question", "news", "other"}

bad = 0
total = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            total += 1
            try:
                row = json.loads(line)
                if path.endswith("legacy_dev.jsonl"):  # the earlier sentiment-only sets
                    assert row.get("text") and row.get("label") in SENTIMENTS, "needs text and a sentiment label"
                    continue
                missing = {"text", "brand", "sentiment", "issue", "urgent"} - set(row)
                assert not missing, f"missing keys {sorted(missing)}"
                assert row["sentiment"] in SENTIMENTS, f"sentiment {row['sentiment']!r}"
                assert row["issue"] in ISSUES, f"issue {row['issue']!r}"
                assert isinstance(row["urgent"], bool), "urgent must be true/false"
                assert row["brand"] and row["brand"] in row["text"], "brand must appear verbatim in text"
            except Exception as exc:  # noqa: BLE001 - report every bad line
                bad += 1
                print(f"{path}:{n}: {exc}")
print(f"{total} rows, {bad} bad")
sys.exit(1 if bad else 0)
