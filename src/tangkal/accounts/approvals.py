"""Who an approval belongs to, for every rule of two (or N) people.

A rule that asks for two officials is about people, not credentials: one official holding two
tokens, or a token and a console sign-in, is still one official. So every approval is keyed by
the person behind the caller (the user row a token or a sign-in names) and a token that belongs
to nobody (a service token, made without ``--user``) cannot approve at all: it would be a second
"person" anyone holding it could be. The operator at the server's own command line has no user
row; the OS account names them (``cli:<account>``), as the audit trail does.

Blocks, sanctions and normalisation all ask this one function, so the rule is the same everywhere.
"""

from __future__ import annotations

from tangkal.accounts.principal import Principal
from tangkal.errors import Forbidden, Msg


def is_person(principal: Principal) -> bool:
    """A named person (a user) or the operator at the command line; not a service token."""
    return principal.user_id is not None or principal.token_id is None


def approver_key(principal: Principal) -> str:
    """The person an approval counts as; refuses a token that belongs to nobody."""
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    if principal.token_id is not None:
        raise Forbidden(
            Msg(
                "Approvals count people and this token belongs to no one: approve with a "
                "token of a named official (tangkal token create --user NAME) or in the "
                "console."
            )
        )
    return f"actor:{principal.actor}"
