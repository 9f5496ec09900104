"""Expected against observed: each block action, control consistency, filtering controls,
and anything unusable is unreachable, never a verdict."""

from __future__ import annotations

import pytest

from tangkal.compliance.compare import (
    Answer,
    Observation,
    describe,
    expectation_for,
    filtering_controls,
    isp_state,
    judge,
)
from tangkal.compliance.models import ProbeState

LANDING = "laman-labuh.tangkal.id."
LANDING_IP = "203.0.113.99"
C, N, U = ProbeState.COMPLIANT, ProbeState.NOT_COMPLIANT, ProbeState.UNREACHABLE


def ans(
    rcode: str | None = "NOERROR",
    *addresses: str,
    cnames: tuple[str, ...] = (),
    error: str | None = None,
) -> Answer:
    return Answer(rcode, frozenset(addresses), cnames, error)


def obs(a: Answer, aaaa: Answer | None = None) -> Observation:
    return Observation(a, aaaa if aaaa is not None else ans())


def exp(action: str | None):
    return expectation_for(action, LANDING, [LANDING_IP])


NX = obs(ans("NXDOMAIN"), ans("NXDOMAIN"))
NODATA = obs(ans(), ans())
REAL = obs(ans("NOERROR", "149.154.167.99"), ans("NOERROR", "2001:67c:4e8::99"))
LANDING_CNAME = obs(ans("NOERROR", LANDING_IP, cnames=(LANDING,)), ans(cnames=(LANDING,)))
LANDING_A_ONLY = obs(ans("NOERROR", LANDING_IP), ans())


@pytest.mark.parametrize(
    ("action", "seen", "state"),
    [
        ("nxdomain", NX, C),
        ("nxdomain", NODATA, N),
        ("nxdomain", REAL, N),
        ("nxdomain", obs(ans("NXDOMAIN"), ans()), N),  # half a block (AAAA open) is none
        ("nodata", NODATA, C),
        ("nodata", NX, N),
        ("nodata", REAL, N),
        ("landing", LANDING_CNAME, C),
        ("landing", LANDING_A_ONLY, C),
        ("landing", obs(ans("NOERROR", LANDING_IP), ans("NOERROR", "2001:db8::1")), N),
        ("landing", REAL, N),
        ("landing", NX, N),
    ],
)
def test_a_blocked_name_is_compliant_only_with_the_answer_its_action_says(
    action: str, seen: Observation, state: ProbeState
) -> None:
    assert judge(exp(action), seen).state is state


def test_passthru_and_no_entry_are_open() -> None:
    assert exp("passthru").kind == "open" and exp(None).kind == "open"
    assert not exp("passthru").blocked


@pytest.mark.parametrize(
    "seen",
    [
        obs(ans(None, error="timeout"), ans()),
        obs(ans(), ans(None, error="garbage: FormError")),
        obs(ans("SERVFAIL"), ans("SERVFAIL")),
        obs(ans("REFUSED"), ans("REFUSED")),
    ],
)
@pytest.mark.parametrize("action", ["nxdomain", "nodata", "landing", None])
def test_no_usable_answer_is_unreachable_whatever_was_expected(
    seen: Observation, action: str | None
) -> None:
    verdict = judge(exp(action), seen, [REAL])
    assert verdict.state is U
    assert not verdict.compliant


def test_an_open_name_must_agree_with_the_control() -> None:
    open_ = exp(None)
    assert judge(open_, REAL, [REAL]).state is C
    # a CDN: other public addresses, both with answers
    cdn = obs(ans("NOERROR", "149.154.167.1"), ans("NOERROR", "2001:67c:4e8::1"))
    assert judge(open_, cdn, [REAL]).state is C
    # still blocked after the restore: NXDOMAIN, NODATA, the landing page
    assert judge(open_, NX, [REAL]).state is N
    assert judge(open_, NODATA, [REAL]).state is N
    assert judge(open_, LANDING_CNAME, [REAL]).state is N
    assert judge(open_, LANDING_A_ONLY, [REAL]).state is N
    # a sinkhole or private block page where the control has public addresses
    assert judge(open_, obs(ans("NOERROR", "0.0.0.0"), ans()), [REAL]).state is N
    assert (
        judge(
            open_,
            obs(ans("NOERROR", "10.0.0.1"), ans()),
            [obs(ans("NOERROR", "149.154.167.99"), ans())],
        ).state
        is N
    )
    # a name that does not exist anywhere: NXDOMAIN at both is consistent
    assert judge(open_, NX, [NX]).state is C
    # no IPv6 at the control, IPv6 at the resolver: inconsistent
    assert judge(open_, REAL, [obs(ans("NOERROR", "149.154.167.99"), ans())]).state is N


def test_an_open_name_is_compliant_if_any_usable_control_agrees() -> None:
    other = obs(ans("NOERROR", "192.0.2.20"), ans())
    assert judge(exp(None), other, [REAL, other]).state is C
    # unusable controls are no reference: judged as without one
    timeout = obs(ans(None, error="timeout"), ans(None, error="timeout"))
    assert judge(exp(None), other, [timeout]).state is C
    assert judge(exp(None), NX, [timeout]).state is N


def test_without_a_control_an_open_name_needs_addresses_that_are_not_a_sinkhole() -> None:
    assert judge(exp(None), REAL).state is C
    assert judge(exp(None), obs(ans("NOERROR", "192.0.2.20"), ans())).state is C
    assert judge(exp(None), obs(ans("NOERROR", "127.0.0.1"), ans())).state is N
    assert judge(exp(None), NX).state is N
    assert judge(exp(None), NODATA).state is N


def test_what_was_observed_reads_as_one_line() -> None:
    assert describe(NX) == "A NXDOMAIN; AAAA NXDOMAIN"
    assert describe(obs(ans("NOERROR", "192.0.2.20"), ans())) == "A 192.0.2.20; AAAA NODATA"
    assert describe(LANDING_CNAME) == (f"A CNAME {LANDING} {LANDING_IP}; AAAA CNAME {LANDING}")
    assert describe(obs(ans(None, error="timeout"), ans("SERVFAIL"))) == "A timeout; AAAA SERVFAIL"
    many = obs(ans("NOERROR", *(f"192.0.2.{i}" for i in range(1, 200))), ans())
    assert len(describe(many)) <= 300 and "+" in describe(many)


def test_a_control_that_answers_like_a_filter_is_found() -> None:
    blocked = {"t.me": exp("nxdomain"), "telegram.org": exp("landing")}
    clean = {"t.me": REAL, "telegram.org": REAL}
    rpz_control = {"t.me": NX, "telegram.org": REAL}
    landing_control = {"t.me": REAL, "telegram.org": LANDING_CNAME}
    flagged = filtering_controls(
        blocked, {"clean": clean, "rpz": rpz_control, "landing": landing_control}, {}
    )
    assert set(flagged) == {"rpz", "landing"}
    assert "t.me" in flagged["rpz"] and "telegram.org" in flagged["landing"]


def test_one_control_answering_nxdomain_is_filtering_only_if_the_name_resolves_elsewhere() -> None:
    blocked = {"t.me": exp("nxdomain")}
    controls = {"only": {"t.me": NX}}
    # every ISP complies and nobody else has an address: the name may not exist
    assert filtering_controls(blocked, controls, {"t.me": [NX, NX]}) == {}
    # an ISP that does not block shows the real addresses: the control filters
    assert set(filtering_controls(blocked, controls, {"t.me": [NX, REAL]})) == {"only"}
    # open names never flag a control
    assert filtering_controls({"t.me": exp(None)}, controls, {"t.me": [REAL]}) == {}


def test_an_isp_is_as_compliant_as_its_worst_resolver_that_answered() -> None:
    assert isp_state([]) is None
    assert isp_state([C, C]) is C
    assert isp_state([C, U]) is C
    assert isp_state([C, N, U]) is N
    assert isp_state([U, U]) is U
