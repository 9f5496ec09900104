"""How much a person may write in each field, one constant per limit.

The API's request models (``Field(max_length=...)``), the console's form checks (the error
beside the field), the forms' ``maxlength`` attributes and the sentence that states the
limit all read the same constant, so a page never promises more than the API accepts (an
appeal once said 20,000 characters and was refused at 5,000).

Lengths are counted as Python counts them (code points), with a textarea's line breaks as
one character each: browsers send ``\\r\\n`` for a line break that ``maxlength`` counted as
one, so the forms fold ``\\r\\n`` to ``\\n`` (:func:`one_line_break`) before counting.
"""

from __future__ import annotations

#: an order's legal basis, and its reason (shown to the platform)
ORDER_LEGAL_BASIS = 5000
ORDER_REASON = 20_000
#: the items of one order, and the evidence files attached to it
ORDER_LOCATORS = 500
ORDER_EVIDENCE_FILES = 20
#: a platform's question about an order, and the regulator's answer
CLARIFICATION = 20_000
#: why an order is withdrawn
WITHDRAW_REASON = 5000
#: a platform's objection (sanggah): its reason and its evidence, one item per line
OBJECTION_REASON = 20_000
OBJECTION_EVIDENCE_ITEMS = 20
OBJECTION_EVIDENCE_ITEM = 5000
#: a block: its legal basis (shown to the public) and reason, and why it is rejected or
#: lifted
BLOCK_LEGAL_BASIS = 500
BLOCK_REASON = 5000
BLOCK_DECISION_REASON = 5000
#: a public appeal against a block: its statement, and the official's reasons for the decision
APPEAL_STATEMENT = 20_000
APPEAL_DECISION_REASON = 20_000

#: A web form's fields are read with a bound above the limit (``Form(max_length=...)`` of
#: the web routes), so a text just over its limit comes back in its form with the error
#: beside it, while a request far beyond any limit is still refused before it is read.
FORM_SLACK = 2


def form_cap(limit: int) -> int:
    """The bound a web route reads a field with: generous, so the form check speaks."""
    return limit * FORM_SLACK + 1000


def stated(max_length: int) -> int:
    """The limit to state for a field refused at ``max_length``: a web form's bound
    (:func:`form_cap`) is stated as the limit it stands for, never as itself."""
    return _BY_CAP.get(max_length, max_length)


def one_line_break(text: str) -> str:
    """A textarea's text with each line break as one character, as ``maxlength`` counts."""
    return text.replace("\r\n", "\n")


_BY_CAP = {
    form_cap(v): v
    for k, v in dict(globals()).items()
    if k.isupper() and k != "FORM_SLACK" and isinstance(v, int)
}
