"""Python allocation workload for the benchmark: dicts, lists, strings and json round trips.

Run under PYTHONMALLOC=malloc for every variant, so each object is a malloc call and the
baseline pays the same allocator as the profiled runs. Deterministic (fixed seed).
usage: py_workload.py [rounds=40]
"""
import json
import random
import sys


def make_record(rng, i):
    return {
        "id": i,
        "name": f"user-{i}-{rng.randrange(1 << 30)}",
        "tags": [f"t{rng.randrange(50)}" for _ in range(rng.randrange(1, 8))],
        "score": rng.random() * 100.0,
        "nested": {"a": [rng.randrange(1000) for _ in range(5)], "b": str(i) * 3},
    }


def one_round(rng, size):
    records = [make_record(rng, i) for i in range(size)]
    text = json.dumps(records)
    back = json.loads(text)
    index = {r["name"]: r for r in back}
    by_tag = {}
    for r in back:
        for t in r["tags"]:
            by_tag.setdefault(t, []).append(r["id"])
    total = sum(len(v) for v in by_tag.values())
    keep = sorted(index)[: size // 10]
    return len(text) + total + len(keep)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    rng = random.Random(12345)
    checksum = 0
    for _ in range(rounds):
        checksum += one_round(rng, 2000)
    print(f"rounds={rounds} checksum={checksum}")


if __name__ == "__main__":
    main()
