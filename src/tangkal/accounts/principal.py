"""The authenticated caller, as every service sees it."""

from __future__ import annotations

from dataclasses import dataclass

from tangkal.accounts.models import OrgKind, Role
from tangkal.errors import Forbidden, Msg


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: str
    org_name: str
    org_kind: OrgKind
    role: Role
    user_id: str | None = None
    token_id: str | None = None
    username: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        who = self.username or (f"token:{self.token_id[:8]}" if self.token_id else "system")
        return f"{self.org_name}/{who}({self.role.value})"

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(
                Msg(
                    "This action needs the role %(wanted)s; your token has the role %(role)s.",
                    wanted=roles,
                    role=self.role,
                )
            )

    def require_kind(self, *kinds: OrgKind) -> None:
        if self.org_kind not in kinds:
            wanted: Msg | OrgKind | str = kinds[0] if kinds else ""
            for kind in kinds[1:]:  # "regulator or isp", each kind named in the page's words
                wanted = Msg("%(a)s or %(b)s", a=wanted, b=kind)
            raise Forbidden(Msg("Only a %(wanted)s organisation may do this.", wanted=wanted))


SYSTEM = Principal(org_id="system", org_name="tangkal", org_kind=OrgKind.REGULATOR, role=Role.ADMIN)
