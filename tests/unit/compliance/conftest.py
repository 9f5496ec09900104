"""Helpers for the compliance tests: people, blocks, and a prober with scripted answers."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import pytest

from tangkal.accounts.models import Organization, OrgKind, Role
from tangkal.accounts.principal import Principal
from tangkal.blocklist import services as blocks
from tangkal.blocklist.models import BlockEntry
from tangkal.compliance.compare import Answer, Observation
from tangkal.compliance.probe import Prober, Target
from tangkal.db.session import Database
from tests.factories import Factory

_people = itertools.count(1)

REAL = Observation(Answer("NOERROR", frozenset({"149.154.167.99"})), Answer("NOERROR", frozenset()))
NX = Observation(Answer("NXDOMAIN"), Answer("NXDOMAIN"))
TIMEOUT = Observation(Answer.failed("timeout"), Answer.failed("timeout"))


class ScriptedProber(Prober):
    """Answers from a table ``{(host, name): Observation}``, ``default`` otherwise; SOA serials
    from ``{host: serial}``. Records what it was asked."""

    def __init__(
        self,
        answers: Mapping[tuple[str, str], Observation] | None = None,
        serials: Mapping[str, int | None] | None = None,
        default: Observation = REAL,
    ) -> None:
        super().__init__(rate=1000)
        self.default = default
        self.answers = dict(answers or {})
        self.serials = dict(serials or {})
        self.asked: list[tuple[str, str]] = []

    async def observe(self, target: Target, name: str) -> Observation:
        self.asked.append((target.host, name))
        return self.answers.get((target.host, name.rstrip(".")), self.default)

    async def soa_serial(self, target: Target, zone: str) -> int | None:
        return self.serials.get(target.host)


@dataclasses.dataclass
class World:
    """A regulator with its people, two ISPs and a platform."""

    factory: Factory
    regulator: Organization
    isp_a: Organization
    isp_b: Organization
    platform: Organization

    def person(self, org: Organization, role: Role | str) -> Principal:
        p = self.factory.principal(org, role)
        n = next(_people)
        return dataclasses.replace(p, token_id=f"tok-{n}", username=f"{p.role.value}-{n}")

    def official(self) -> Principal:
        return self.person(self.regulator, Role.OFFICIAL)

    def block(self, db: Database, domain: str, action: str = "nxdomain") -> BlockEntry:
        with db.unit_of_work() as s:
            req = blocks.BlockRequest.build(
                domain=domain,
                action=action,
                legal_basis="UU ITE Pasal 40 ayat 2b",
                reason="terrorist propaganda (test)",
            )
            entry, _ = blocks.create_block(s, self.official(), req)
            return entry

    def restore(self, db: Database, entry: BlockEntry) -> None:
        with db.unit_of_work() as s:
            blocks.restore(s, self.official(), entry.id, "normalisasi (test)")


@pytest.fixture
def world(factory: Factory) -> World:
    return World(
        factory,
        factory.regulator(),
        factory.org(OrgKind.ISP),
        factory.org(OrgKind.ISP),
        factory.platform(),
    )
