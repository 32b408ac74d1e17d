"""A leak-free workload over json, re, decimal, collections and fractions: every object it makes is
garbage by the end of its iteration."""
import collections
import decimal
import fractions
import json
import re
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
word = re.compile(r"[a-z]+(\d+)")
total = decimal.Decimal(0)
for i in range(rounds):
    doc = json.loads(json.dumps({"id": i, "name": f"item{i}", "tags": ["a", "b", str(i)], "ratio": i / 7}))
    m = word.match(doc["name"])
    counts = collections.Counter(doc["tags"] + [m.group(1)])
    dq = collections.deque(counts.elements(), maxlen=3)
    od = collections.OrderedDict((k, v) for k, v in counts.items())
    total += decimal.Decimal(doc["id"]) / decimal.Decimal(7) + len(dq) + len(od)
    frac = fractions.Fraction(i + 1, 3) * fractions.Fraction(2, i + 5)
    if frac.denominator == 0:
        raise SystemExit("impossible")
print("done", rounds)
