"""HMA's ``POST /m/compare`` over real HTTP: each pair decided by its type's own matching rule
(the rule a bank lookup applies), answered in HMA's shape ``[matched, similarity]`` with the
figures threatexchange's ``compare_hash`` reports: a distance, and for vPDQ the query and
compared match per cent."""

from __future__ import annotations

import numpy as np

from tangkal.hashing import signals
from tests.support import LiveServer, unique

VPDQ = signals.get("vpdq")


def _video(frames: list[str]) -> str:
    return VPDQ.serialise([(h, 100, float(i)) for i, h in enumerate(frames)])


def _token(live: LiveServer) -> str:
    plat = unique("plat")
    assert live.cli("org", "create", "--kind", "platform", "--name", plat).returncode == 0
    return live.token(plat, "moderator")


def test_compare_decides_by_each_types_rule_with_its_figures(live: LiveServer) -> None:
    rng = np.random.default_rng(17)
    frames = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(12)]
    banked = _video(frames[:10])
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    far = f"{int(pdq, 16) ^ ((1 << 32) - 1):064x}"  # 32 bits off: past PDQ's 31
    near = f"{int(pdq, 16) ^ ((1 << 31) - 1):064x}"
    with live.client(_token(live)) as c:
        r = c.post(
            "/m/compare",
            json={
                "vpdq": [_video(frames[:2]), banked],  # all of the query, a fifth of the bank
                "pdq": [near, pdq],
                "video_md5": ["d41d8cd98f00b204e9800998ecf8427e"] * 2,
            },
        )
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["vpdq"] == [
            True,
            {"distance": 0, "query_match_percent": 100.0, "compared_match_percent": 20.0},
        ]
        assert got["pdq"] == [True, {"distance": 31}]
        assert got["video_md5"] == [True, {"distance": 0}]
        # 8 of 10 query frames banked is vPDQ's 80%; 7 of 10 is not
        most = c.post("/m/compare", json={"vpdq": [_video(frames[:8] + frames[10:]), banked]})
        assert most.json()["vpdq"][0] is True
        assert most.json()["vpdq"][1]["query_match_percent"] == 80.0
        fewer = _video(frames[:7] + frames[10:] + [frames[11][::-1]])
        less = c.post("/m/compare", json={"vpdq": [fewer, banked], "pdq": [far, pdq]}).json()
        assert less["vpdq"][0] is False and less["vpdq"][1]["query_match_percent"] == 70.0
        assert less["pdq"] == [False, {"distance": 32}]
