"""irpipe.optimize.answers (the batch worker's replies) and the batching wait, on a fake model."""

from __future__ import annotations

import base64
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from irpipe.optimize.answers import Answers
from irpipe.optimize.serve import Server
from irpipe.testing.serve import FakePredictor, ask

F = b"define i32 @f(i32 %x) {\n  ret i32 %x\n}\n"
G = b"define i32 @g(i32 %x) {\n  %y = add i32 %x, 1\n  ret i32 %y\n}\n"


def request(module: bytes, source: str = "a.c", digest: str = "") -> dict[str, Any]:
    return {"op": "advise", "module": module, "objective": "size", "verify": 3, "source": source, "digest": digest}


class Counting(FakePredictor):
    """The fake model, counting parses."""

    def __init__(self) -> None:
        super().__init__()
        self.parses = 0

    def inputs(self, data: bytes | str, name: str = "<module>", *, digest: bool = False) -> Any:
        self.parses += 1
        return super().inputs(data, name, digest=digest)


def answers(**options: Any) -> tuple[Answers, Counting, Counter]:
    stats: Counter = Counter()
    model = Counting()
    return Answers(model, count=lambda k, n=1: stats.update({k: n}), log=lambda k, m: None, **options), model, stats


def test_same_bytes_again_are_answered_without_a_parse() -> None:
    a, model, stats = answers()
    first = a.batch([request(F), request(G)])
    again = a.batch([request(F), request(G, "b.c")])
    assert [r["ok"] for r in first + again] == [True] * 4
    assert [r["pipeline"] for r in again] == [r["pipeline"] for r in first]
    assert [r["instructions"] for r in again] == [r["instructions"] for r in first]
    assert model.parses == 2 and model.batches == [2]
    assert stats["modules"] == 4 and stats["cache_hits"] == 2


def test_one_prediction_per_distinct_input_and_errors_in_place() -> None:
    a, model, stats = answers()
    replies = a.batch([request(F), request(b"junk"), request(F)])
    assert [r["ok"] for r in replies] == [True, False, True]
    assert "bad module" in replies[1]["error"]
    assert model.batches == [1] and stats["errors"] == 1


def test_caches_stay_bounded_and_record_keeps_entries() -> None:
    a, _, _ = answers(cache_size=1, record=True)
    a.batch([request(F, "f.c")])
    a.batch([request(G, "g.c")])
    assert len(a.cache) == 1 and len(a.seen) == 1
    assert sorted(a.recorded) == ["f.c", "g.c"]


def test_a_lone_client_does_not_wait_for_a_batch(tmp_path: Path) -> None:
    # a batching wait far longer than an answer: a lone request must not pay it
    server = Server(FakePredictor(), tmp_path / "s.sock", batch_wait_s=30.0, optimize_workers=0)
    server.start()
    try:
        module = base64.b64encode(F).decode()
        started = time.monotonic()
        (reply,) = ask(server.path, {"op": "advise", "module": module})
        assert reply["ok"] and time.monotonic() - started < 15.0
        # clients that ask together are answered together: none waits the full wait either
        replies: list[dict] = []
        threads = [threading.Thread(target=lambda: replies.extend(ask(server.path, {"op": "advise", "module": module})))
                   for _ in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(replies) == 4 and all(r["ok"] for r in replies)
        assert time.monotonic() - started < 15.0
    finally:
        server.stop()


def test_a_twin_with_a_known_input_digest_is_answered_without_a_parse() -> None:
    """The -fPIC compile of a file just compiled: other bytes, the same model input (the fake's
    digest ignores dso_local); a digest never computed here is parsed (and cannot poison)."""
    import hashlib

    a, model, stats = answers()
    pic = F.replace(b"define", b"define dso_local")
    digest = hashlib.sha256(F).hexdigest()  # what the plugin computes for the twin
    first = a.batch([request(F)])
    twin = a.batch([request(pic, digest=digest)])
    assert model.parses == 1 and stats["digest_hits"] == 1 and twin[0]["pipeline"] == first[0]["pipeline"]
    lie = a.batch([request(G, digest="0" * 64)])  # a digest the server never computed: parsed
    assert model.parses == 2 and lie[0]["ok"] and stats["digest_hits"] == 1
