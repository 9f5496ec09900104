"""The kinds of escalation step a profile may use: a small, checked registry.

A kind is one class: what a step of that kind must and must not carry (checked when the
profile is loaded, so a fine on a kind that cannot levy one is refused at start-up) and what
taking the step does, through the narrow :class:`StepContext` the scheduler hands it. No code
outside a kind branches on its name; adding a kind is one class and its registration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from tangkal.sop.profile import SopProfile, Step


class StepContext(Protocol):
    """What a step may do to the order it is taken on (implemented by the scheduler)."""

    profile: SopProfile

    def fine_for(self, step: Step) -> int: ...

    def take(self, step: Step, *, fine: int, event: str, data: dict[str, Any]) -> None:
        """Record the step on the order, notify the platform with ``event``."""

    why_not: str | None

    def propose_sanction(self, step: Step) -> str | None:
        """Propose a sanction over the platform's registered names; its id, or None (and
        ``why_not``) when there is nothing a sanction could block."""


class StepKind:
    name: ClassVar[str]
    #: words for the kind in the console (English; translated through the catalogues)
    label: ClassVar[str]
    #: may a step of this kind carry a fine?
    fines: ClassVar[bool] = False
    #: must it?
    needs_fine: ClassVar[bool] = False
    #: does it take an ``action`` (a block action)?
    acts: ClassVar[bool] = False

    @classmethod
    def check(cls, step: Step) -> None:
        if step.fine is not None and not cls.fines:
            raise ValueError(f"a {cls.name} step cannot carry a fine (step {step.code})")
        if step.fine is None and cls.needs_fine:
            raise ValueError(f"a {cls.name} step needs a fine (step {step.code})")
        if step.action is not None and not cls.acts:
            raise ValueError(f"a {cls.name} step takes no action (step {step.code})")

    @classmethod
    def perform(cls, ctx: StepContext, step: Step) -> None:
        raise NotImplementedError


STEP_KINDS: dict[str, type[StepKind]] = {}


def register(kind: type[StepKind]) -> type[StepKind]:
    """Add a kind; a second kind with the same name, or one missing its words, is refused."""
    name = getattr(kind, "name", None)
    if not name or not getattr(kind, "label", None):
        raise TypeError(f"{kind.__name__} needs a name and a label")
    if name in STEP_KINDS:
        raise TypeError(f"step kind {name!r} is registered twice")
    if kind.needs_fine and not kind.fines:
        raise TypeError(f"{name}: a kind that needs a fine must allow one")
    if kind.perform.__func__ is StepKind.perform.__func__:  # type: ignore[attr-defined]
        raise TypeError(f"{name}: a kind must say what taking it does (perform)")
    STEP_KINDS[name] = kind
    return kind


def _letter(event: str) -> Callable[[type[StepKind], StepContext, Step], None]:
    def perform(cls: type[StepKind], ctx: StepContext, step: Step) -> None:
        ctx.take(step, fine=ctx.fine_for(step) if step.fine else 0, event=event, data={})

    return perform


@register
class WarningLetter(StepKind):
    """Surat teguran: a letter to the platform, with a fine where the profile gives one."""

    name = "warning_letter"
    label = "Warning letter"
    fines = True
    perform = classmethod(_letter("order.warning_issued"))  # type: ignore[assignment]


@register
class FineStep(StepKind):
    """Denda: an administrative fine on its own, computed by the step's rule."""

    name = "fine"
    label = "Fine"
    fines = True
    needs_fine = True
    perform = classmethod(_letter("order.fine_imposed"))  # type: ignore[assignment]


@register
class Report(StepKind):
    """A notice of non-compliance to a supervising authority (NetzDG's report to the
    Federal Office of Justice, TCO's notice before penalties), copied to the platform."""

    name = "report"
    label = "Report of non-compliance"
    perform = classmethod(_letter("order.noncompliance_reported"))  # type: ignore[assignment]


@register
class SanctionProposal(StepKind):
    """Pemutusan akses: propose blocking the platform's registered names; the sanction takes
    effect only when the profile's number of officials approve it."""

    name = "sanction_proposal"
    label = "Sanction proposed"
    acts = True

    @classmethod
    def perform(cls, ctx: StepContext, step: Step) -> None:
        sanction_id = ctx.propose_sanction(step)
        if sanction_id is None:
            ctx.take(step, fine=0, event="order.sanction_not_proposed", data={"why": ctx.why_not})
            return
        ctx.take(step, fine=0, event="order.sanction_proposed", data={"sanction_id": sanction_id})
