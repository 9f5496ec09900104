"""The words the pages use for the domain's enum values: statuses, actions, roles, kinds,
and for the events on an order's record.

One table per family, keyed by the API value, holding the untranslated catalogue message.
The status badges and choice lists of the templates (``macros.html``) and the parameters of
domain messages (``Formatter.term``, for a :class:`tangkal.errors.Msg` such as "Order X is
%(status)s") read the same table, so a refusal names a status exactly as the badge beside it
does, and a value gains its Indonesian word in one place.

Order and block statuses share a table (the pages show both with one ``badge`` macro, and
the values that occur in both mean the same), as do block actions and platform answers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from tangkal.accounts.models import OrgKind, Role
from tangkal.blocklist.models import BlockAction, BlockStatus
from tangkal.compliance.models import ProbeState
from tangkal.delivery.models import DeliveryStatus
from tangkal.hashing.models import BankKind, FindVia
from tangkal.locators.model import LocatorKind
from tangkal.normalisation.models import NormalisationStatus
from tangkal.objections.models import ObjectionStatus, SubjectKind
from tangkal.orders.models import OrderStatus, ReceiptBasis, ResponseAction
from tangkal.sanctions.models import SanctionStatus


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


STATUS: Mapping[str, str] = {
    "issued": N_("Issued"),
    "delivered": N_("Delivered"),
    "acknowledged": N_("Acknowledged"),
    "clarification_requested": N_("Clarification requested"),
    "complied": N_("Complied"),
    "partially_complied": N_("Partially complied"),
    "disputed": N_("Disputed"),
    "overdue": N_("Overdue"),
    "withdrawn": N_("Withdrawn"),
    "pending_approval": N_("Pending approval"),
    "scheduled": N_("Scheduled"),
    "active": N_("Active"),
    "restored": N_("Restored"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
}

#: A sanction's life (``tangkal.sanctions.models.SanctionStatus``).
SANCTION_STATUS: Mapping[str, str] = {
    "pending_approval": N_("Pending approval"),
    "active": N_("In force"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "lifted": N_("Lifted"),
}

#: An objection (sanggah) and its decision (``ObjectionStatus``).
OBJECTION_STATUS: Mapping[str, str] = {
    "pending": N_("Awaiting decision"),
    "upheld": N_("Upheld"),
    "rejected": N_("Rejected"),
}

#: A request to restore access (``NormalisationStatus``).
NORMALISATION_STATUS: Mapping[str, str] = {
    "pending": N_("Awaiting decision"),
    "approved": N_("Approved"),
    "refused": N_("Refused"),
}

#: What an objection contests (``tangkal.objections.models.SubjectKind``), inside sentences.
SUBJECT_KIND: Mapping[str, str] = {
    "order": N_("order"),
    "warning": N_("warning letter"),
    "fine": N_("fine"),
    "sanction": N_("sanction"),
    "block": N_("block"),
}

#: The kinds of escalation step (``tangkal.sop.steps.STEP_KINDS``).
STEP_KIND: Mapping[str, str] = {
    "warning_letter": N_("Warning letter"),
    "fine": N_("Fine"),
    "report": N_("Report of non-compliance"),
    "sanction_proposal": N_("Sanction proposed"),
}

#: The kinds of event in a platform's case file (``tangkal.cases.services.KINDS``).
CASE_KIND: Mapping[str, str] = {
    "order": N_("Orders"),
    "warning": N_("Warning letters"),
    "fine": N_("Fines"),
    "report": N_("Reports of non-compliance"),
    "objection": N_("Objections"),
    "sanction": N_("Sanctions"),
    "block": N_("Blocks"),
    "normalisation": N_("Normalisation requests"),
    "restoration": N_("Restorations of access"),
    "compliance": N_("ISPs not following a decision"),
}

#: Where a normalisation request came from (``Normalisation.source``).
NORMALISATION_SOURCE: Mapping[str, str] = {
    "platform": N_("the platform"),
    "public": N_("the domain's owner (public form)"),
}

#: Who proposed a sanction (``Sanction.source``).
SANCTION_SOURCE: Mapping[str, str] = {
    "official": N_("an official"),
    "escalation": N_("the escalation, after the last warning letter"),
}

ACTION: Mapping[str, str] = {
    "nxdomain": N_("No such domain (NXDOMAIN)"),
    "nodata": N_("No data (NODATA)"),
    "landing": N_("Redirected to the block notice page (laman labuh)"),
    "passthru": N_("Explicitly allowed"),
    "removed": N_("Content removed"),
    "restricted_in_country": N_("Restricted in the country"),
    "account_suspended": N_("Account suspended"),
    "partially_done": N_("Partially done"),
    "not_done": N_("Not done (objection)"),
}

ROLE: Mapping[str, str] = {
    "analyst": N_("Analyst"),
    "official": N_("Official"),
    "moderator": N_("Moderator"),
    "isp": N_("ISP operator"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}

ORG_KIND: Mapping[str, str] = {
    "regulator": N_("regulator"),
    "platform": N_("platform"),
    "isp": N_("ISP"),
}

BANK_KIND: Mapping[str, str] = {
    "own": N_("own"),
    "imported": N_("imported"),
    "order": N_("order evidence"),
}

#: Through which lookup a copy of an order's banked evidence was found
#: (``tangkal.hashing.models.FindVia``), on the order page's "copies found".
FIND_VIA: Mapping[str, str] = {
    "api_file": N_("file matched through the API"),
    "api_signal": N_("hash looked up through the API"),
    "api_text": N_("text matched through the API"),
    "hma_file": N_("file matched through the HMA-compatible API"),
    "hma_signal": N_("hash looked up through the HMA-compatible API"),
    "console_file": N_("file matched in the console"),
    "console_text": N_("message matched in the console"),
}

#: Where a message to a platform stands (``tangkal.delivery.models.DeliveryStatus``), as the
#: order page's delivery log shows it.
DELIVERY_STATUS: Mapping[str, str] = {
    "pending": N_("Waiting to be sent"),
    "delivered": N_("Delivered"),
    "inbox": N_("Waiting in the platform's inbox"),
    "fetched": N_("Fetched by the platform"),
}

#: What sort of thing an order's item names (``tangkal.locators.model.LocatorKind``).
LOCATOR_KIND: Mapping[str, str] = {
    "domain": N_("Domain name"),
    "url": N_("Web address (URL)"),
    "telegram_channel": N_("Telegram channel"),
    "telegram_post": N_("Telegram post"),
    "telegram_invite": N_("Telegram invitation link"),
    "telegram_private_post": N_("Telegram post in a private channel"),
}

#: How an order's deadline clock was started (``tangkal.orders.models.ReceiptBasis``):
#: the platform's first authenticated sign of receipt, or receipt deemed by the SOP.
RECEIPT_BASIS: Mapping[str, str] = {
    "webhook": N_("delivered to the platform's webhook"),
    "inbox": N_("fetched from the platform's inbox"),
    "acknowledged": N_("acknowledged by the platform"),
    "clarification_requested": N_("the platform asked for clarification"),
    "responded": N_("the platform responded"),
    "deemed": N_("deemed received under the SOP"),
}

#: The events on an order's record (the audit actions of its timeline) and the messages
#: sent to the platform about it (the outbox event of its delivery log; the same names).
EVENT: Mapping[str, str] = {
    "order.issued": N_("Order issued"),
    "order.received": N_("Receipt recorded (deadline clock started)"),
    "order.acknowledged": N_("Platform acknowledged receipt"),
    "order.clarification_requested": N_("Platform asked for clarification (clock paused)"),
    "order.clarification_answered": N_("Clarification answered (clock resumed)"),
    "order.responded": N_("Platform responded"),
    "order.overdue": N_("Deadline missed"),
    "order.warning_issued": N_("Warning letter issued"),
    "order.withdrawn": N_("Order withdrawn"),
    "order.evidence_added": N_("Evidence attached"),
    "order.evidence_banked": N_("Evidence put into a hash bank"),
    "order.copy_matched": N_("Copy of the evidence found (hash match)"),
    "order.fine_imposed": N_("Fine imposed"),
    "order.noncompliance_reported": N_("Non-compliance reported"),
    "order.sanction_proposed": N_("Sanction proposed (access blocking)"),
    "order.sanction_not_proposed": N_("No sanction proposed: nothing left to block"),
    "order.warning_annulled": N_("Warning letter annulled (objection upheld)"),
    "order.fine_annulled": N_("Fine annulled (objection upheld)"),
    "order.objection_rejected": N_("Objection rejected; escalation resumed"),
    "order.step_taken_early": N_("Escalation step taken early by an official"),
    "delivery.attempt": N_("Delivery attempt"),
    "sanction.proposed": N_("Sanction proposed"),
    "sanction.order_added": N_("Order added to the sanction"),
    "sanction.approved": N_("Sanction approved by an official"),
    "sanction.active": N_("Sanction in force"),
    "sanction.rejected": N_("Sanction rejected"),
    "sanction.withdrawn": N_("Sanction withdrawn"),
    "sanction.lifted": N_("Sanction lifted (access restored)"),
    "objection.filed": N_("Objection filed"),
    "objection.decided": N_("Objection decided"),
    "objection.decision_due": N_("Objection decision due soon"),
    "normalisation.requested": N_("Normalisation requested"),
    "normalisation.approved": N_("Normalisation approved"),
    "normalisation.refused": N_("Normalisation refused"),
    "normalisation.decision_due": N_("Normalisation decision due soon"),
    "block.created": N_("Block requested"),
    "block.approved": N_("Block approved"),
    "block.rejected": N_("Block rejected"),
    "block.activated": N_("Block took effect"),
    "block.restored": N_("Access restored (normalisasi)"),
    "block.expired": N_("Block expired"),
    "block.imported": N_("Block imported from a list"),
    "delivery.inbox_fetched": N_("Fetched by the platform"),
    "compliance.escalated": N_("ISP still not compliant after the grace (sent to the ISP)"),
    "compliance.resolver.add": N_("Resolver registered for probing"),
    "compliance.resolver.remove": N_("Resolver no longer probed"),
}

#: What a resolver was found doing for a name (``tangkal.compliance.models.ProbeState``).
PROBE_STATE: Mapping[str, str] = {
    "compliant": N_("Compliant"),
    "not_compliant": N_("Not compliant"),
    "unreachable": N_("Unreachable"),
}

#: What the decision expects a resolver to answer (a block's action, or open).
EXPECTED: Mapping[str, str] = {
    "nxdomain": N_("No such domain (NXDOMAIN)"),
    "nodata": N_("No data (NODATA)"),
    "landing": N_("Redirected to the block notice page (laman labuh)"),
    "open": N_("Open: answered as the control resolvers answer"),
}

#: Which decision an ISP did not follow in time (``tangkal.compliance.escalation.stage_of``).
COMPLIANCE_STAGE: Mapping[str, str] = {
    "block": N_("the block"),
    "restore": N_("the restoration of access"),
}

#: The fields of a statement of reasons (``tangkal.statements.dsa.DsaStatement``; ``reason``
#: is tangkal's own: the objection of a ``not_done`` answer), as the form and the display
#: name them.
DSA_FIELD: Mapping[str, str] = {
    "decision_visibility": N_("Restriction of visibility"),
    "decision_visibility_other": N_("Other restriction of visibility"),
    "end_date_visibility_restriction": N_("End of the visibility restriction"),
    "decision_monetary": N_("Restriction of payments"),
    "decision_monetary_other": N_("Other restriction of payments"),
    "end_date_monetary_restriction": N_("End of the payment restriction"),
    "decision_provision": N_("Restriction of the service"),
    "end_date_service_restriction": N_("End of the service restriction"),
    "decision_account": N_("Restriction of the account"),
    "end_date_account_restriction": N_("End of the account restriction"),
    "account_type": N_("Type of account"),
    "decision_ground": N_("Ground of the decision"),
    "decision_ground_reference_url": N_("Link to the law or terms relied on"),
    "illegal_content_legal_ground": N_("Legal ground relied on"),
    "illegal_content_explanation": N_("Why the content is illegal on that ground"),
    "incompatible_content_ground": N_("Terms and conditions relied on"),
    "incompatible_content_explanation": N_("Why the content is incompatible with those terms"),
    "incompatible_content_illegal": N_("Is the content also illegal?"),
    "category": N_("Category (DSA)"),
    "category_addition": N_("Further categories"),
    "category_specification": N_("Keywords"),
    "category_specification_other": N_("Other keyword"),
    "content_type": N_("Type of content"),
    "content_type_other": N_("Other type of content"),
    "content_language": N_("Language of the content"),
    "content_date": N_("Date the content was posted"),
    "content_id_ean": N_("Product code (EAN-13)"),
    "territorial_scope": N_("Where the decision applies"),
    "application_date": N_("Date the decision took effect"),
    "decision_facts": N_("Facts and circumstances of the decision"),
    "source_type": N_("What the decision was based on"),
    "source_identity": N_("Who sent the notice"),
    "automated_detection": N_("Detected by automated means?"),
    "automated_decision": N_("Decided by automated means?"),
    "puid": N_("Platform's identifier of the decision"),
    "reason": N_("Objection"),
}

#: Every value of the DSA database's lists (``tangkal.statements.dsa``), in words.
DSA_VALUE: Mapping[str, str] = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": N_("Removal of the content"),
    "DECISION_VISIBILITY_CONTENT_DISABLED": N_("Access to the content disabled"),
    "DECISION_VISIBILITY_CONTENT_DEMOTED": N_("Content demoted"),
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": N_("Content restricted by age"),
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": N_(
        "Interaction with the content restricted"
    ),
    "DECISION_VISIBILITY_CONTENT_LABELLED": N_("Content labelled"),
    "DECISION_VISIBILITY_OTHER": N_("Other restriction (say which)"),
    "DECISION_MONETARY_SUSPENSION": N_("Payments suspended"),
    "DECISION_MONETARY_TERMINATION": N_("Payments ended"),
    "DECISION_MONETARY_OTHER": N_("Other payment restriction (say which)"),
    "DECISION_PROVISION_PARTIAL_SUSPENSION": N_("Service partly suspended"),
    "DECISION_PROVISION_TOTAL_SUSPENSION": N_("Service wholly suspended"),
    "DECISION_PROVISION_PARTIAL_TERMINATION": N_("Service partly ended"),
    "DECISION_PROVISION_TOTAL_TERMINATION": N_("Service wholly ended"),
    "DECISION_ACCOUNT_SUSPENDED": N_("Suspension of the account"),
    "DECISION_ACCOUNT_TERMINATED": N_("Account closed"),
    "ACCOUNT_TYPE_BUSINESS": N_("Business account"),
    "ACCOUNT_TYPE_PRIVATE": N_("Private account"),
    "DECISION_GROUND_ILLEGAL_CONTENT": N_("Illegal content"),
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": N_("Content against the terms and conditions"),
    "CONTENT_TYPE_APP": N_("App"),
    "CONTENT_TYPE_AUDIO": N_("Audio"),
    "CONTENT_TYPE_IMAGE": N_("Image"),
    "CONTENT_TYPE_PRODUCT": N_("Product"),
    "CONTENT_TYPE_SYNTHETIC_MEDIA": N_("Synthetic media (generated or altered)"),
    "CONTENT_TYPE_TEXT": N_("Text"),
    "CONTENT_TYPE_VIDEO": N_("Video"),
    "CONTENT_TYPE_OTHER": N_("Other type (say which)"),
    "STATEMENT_CATEGORY_ANIMAL_WELFARE": N_("Animal welfare"),
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION": N_("Consumer information infringements"),
    "STATEMENT_CATEGORY_CYBER_VIOLENCE": N_("Cyber violence"),
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN": N_("Cyber violence against women"),
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS": N_(
        "Data protection and privacy violations"
    ),
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": N_("Illegal or harmful speech"),
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS": N_(
        "Intellectual property infringements"
    ),
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS": N_(
        "Negative effects on civic discourse or elections"
    ),
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE": N_(
        "Type of illegal content not specified by the notifier"
    ),
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC": N_("Other violation of the terms and conditions"),
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS": N_("Protection of minors"),
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY": N_("Risk for public security"),
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD": N_("Scams and fraud"),
    "STATEMENT_CATEGORY_SELF_HARM": N_("Self-harm"),
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS": N_(
        "Unsafe, non-compliant or prohibited products"
    ),
    "STATEMENT_CATEGORY_VIOLENCE": N_("Violence"),
    "KEYWORD_ADULT_SEXUAL_MATERIAL": N_("Adult sexual material"),
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS": N_("Age-specific restrictions"),
    "KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS": N_("Age-specific restrictions concerning minors"),
    "KEYWORD_ANIMAL_HARM": N_("Animal harm"),
    "KEYWORD_BIOMETRIC_DATA_BREACH": N_("Biometric data breach"),
    "KEYWORD_BULLYING_AGAINST_GIRLS": N_("Cyber bullying and intimidation against girls"),
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL": N_("Child sexual abuse material"),
    "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE": N_(
        "Child sexual abuse material made with deepfake or similar technology"
    ),
    "KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS": N_("Content promoting eating disorders"),
    "KEYWORD_COORDINATED_HARM": N_("Coordinated harm"),
    "KEYWORD_COPYRIGHT_INFRINGEMENT": N_("Copyright infringement"),
    "KEYWORD_CYBER_BULLYING_INTIMIDATION": N_("Cyber bullying and intimidation"),
    "KEYWORD_CYBER_HARASSMENT": N_("Cyber harassment"),
    "KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN": N_("Cyber harassment against women"),
    "KEYWORD_CYBER_INCITEMENT": N_("Online incitement to hatred or violence"),
    "KEYWORD_CYBER_STALKING": N_("Cyber stalking"),
    "KEYWORD_CYBER_STALKING_AGAINST_WOMEN": N_("Cyber stalking against women"),
    "KEYWORD_DATA_FALSIFICATION": N_("Data falsification"),
    "KEYWORD_DEFAMATION": N_("Defamation"),
    "KEYWORD_DESIGN_INFRINGEMENT": N_("Design infringement"),
    "KEYWORD_DISCRIMINATION": N_("Discrimination"),
    "KEYWORD_FEMALE_GENDERED_DISINFORMATION": N_("Gendered disinformation"),
    "KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT": N_("Geographical indication infringement"),
    "KEYWORD_GEOGRAPHICAL_REQUIREMENTS": N_("Geographical requirements"),
    "KEYWORD_GOODS_SERVICES_NOT_PERMITTED": N_("Goods or services not permitted on the platform"),
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS": N_("Grooming or sexual enticement of minors"),
    "KEYWORD_HATE_SPEECH": N_(
        "Illegal incitement to violence and hatred on protected characteristics (hate speech)"
    ),
    "KEYWORD_HIDDEN_ADVERTISEMENT": N_(
        "Hidden advertising or commercial communication, also by influencers"
    ),
    "KEYWORD_HUMAN_EXPLOITATION": N_("Human exploitation"),
    "KEYWORD_HUMAN_TRAFFICKING": N_("Human trafficking"),
    "KEYWORD_ILLEGAL_ORGANIZATIONS": N_("Illegal organisations"),
    "KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING": N_("Impersonation or account hijacking"),
    "KEYWORD_INAUTHENTIC_ACCOUNTS": N_("Inauthentic accounts"),
    "KEYWORD_INAUTHENTIC_LISTINGS": N_("Inauthentic listings"),
    "KEYWORD_INAUTHENTIC_USER_REVIEWS": N_("Inauthentic user reviews"),
    "KEYWORD_INCITEMENT_AGAINST_WOMEN": N_(
        "Illegal incitement to violence and hatred against women"
    ),
    "KEYWORD_INCITEMENT_VIOLENCE_HATRED": N_("General calls or incitement to violence or hatred"),
    "KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS": N_("Insufficient information on traders"),
    "KEYWORD_LANGUAGE_REQUIREMENTS": N_("Language requirements"),
    "KEYWORD_MISINFORMATION_DISINFORMATION": N_(
        "Misinformation, disinformation, foreign information manipulation and interference"
    ),
    "KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS": N_("Misleading information about consumers' rights"),
    "KEYWORD_MISLEADING_INFO_GOODS_SERVICES": N_("Misleading information about goods and services"),
    "KEYWORD_MISSING_PROCESSING_GROUND": N_("No lawful ground for processing data"),
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING": N_(
        "Non-consensual sharing of intimate material (not depicting minors)"
    ),
    "KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN": N_(
        "Non-consensual sharing of intimate material against women (not depicting minors)"
    ),
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE": N_(
        "Non-consensual deepfake material using a person's features (not depicting minors)"
    ),
    "KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN": N_(
        "Non-consensual deepfake material against women (not depicting minors)"
    ),
    "KEYWORD_NONCOMPLIANCE_PRICING": N_("Non-compliance with pricing rules"),
    "KEYWORD_NUDITY": N_("Nudity"),
    "KEYWORD_PATENT_INFRINGEMENT": N_("Patent infringement"),
    "KEYWORD_PHISHING": N_("Phishing"),
    "KEYWORD_PROHIBITED_PRODUCTS": N_("Prohibited or restricted products"),
    "KEYWORD_PYRAMID_SCHEMES": N_("Pyramid schemes"),
    "KEYWORD_RIGHT_TO_BE_FORGOTTEN": N_("Right to be forgotten"),
    "KEYWORD_RISK_ENVIRONMENTAL_DAMAGE": N_("Risk of environmental damage"),
    "KEYWORD_RISK_PUBLIC_HEALTH": N_("Risk for public health"),
    "KEYWORD_SELF_MUTILATION": N_("Self-mutilation"),
    "KEYWORD_STALKING": N_("Stalking"),
    "KEYWORD_SUICIDE": N_("Suicide"),
    "KEYWORD_TERRORIST_CONTENT": N_("Terrorist content"),
    "KEYWORD_TRADE_SECRET_INFRINGEMENT": N_("Trade secret infringement"),
    "KEYWORD_TRADEMARK_INFRINGEMENT": N_("Trademark infringement"),
    "KEYWORD_TRAFFICKING_WOMEN_GIRLS": N_("Trafficking in women and girls"),
    "KEYWORD_UNLAWFUL_SALE_ANIMALS": N_("Unlawful sale of animals"),
    "KEYWORD_UNSAFE_CHALLENGES": N_("Unsafe challenges"),
    "KEYWORD_UNSAFE_PRODUCTS": N_("Unsafe or non-compliant products"),
    "KEYWORD_VIOLATION_EU_LAW": N_("Violation of EU law on civic discourse or elections"),
    "KEYWORD_VIOLATION_NATIONAL_LAW": N_(
        "Violation of national law on civic discourse or elections"
    ),
    "KEYWORD_OTHER": N_("Not covered by any other keyword"),
    "SOURCE_ARTICLE_16": N_("A notice under Article 16 DSA"),
    "SOURCE_TRUSTED_FLAGGER": N_("A notice from a trusted flagger"),
    "SOURCE_TYPE_OTHER_NOTIFICATION": N_("Another notification (e.g. an authority's order)"),
    "SOURCE_VOLUNTARY": N_("Own initiative"),
    "AUTOMATED_DECISION_FULLY": N_("Fully automated"),
    "AUTOMATED_DECISION_PARTIALLY": N_("Partly automated"),
    "AUTOMATED_DECISION_NOT_AUTOMATED": N_("Not automated"),
    "Yes": N_("Yes"),
    "No": N_("No"),
}

#: The table for each enum a domain message may carry as a parameter.
TERMS: Mapping[type[enum.Enum], Mapping[str, str]] = {
    OrderStatus: STATUS,
    BlockStatus: STATUS,
    ResponseAction: ACTION,
    BlockAction: ACTION,
    Role: ROLE,
    OrgKind: ORG_KIND,
    BankKind: BANK_KIND,
    FindVia: FIND_VIA,
    DeliveryStatus: DELIVERY_STATUS,
    SanctionStatus: SANCTION_STATUS,
    ObjectionStatus: OBJECTION_STATUS,
    NormalisationStatus: NORMALISATION_STATUS,
    SubjectKind: SUBJECT_KIND,
    ProbeState: PROBE_STATE,
    LocatorKind: LOCATOR_KIND,
    ReceiptBasis: RECEIPT_BASIS,
}

#: The tables by the names the templates use (``label("status", s)``).
TABLES: Mapping[str, Mapping[str, str]] = {
    "status": STATUS,
    "action": ACTION,
    "role": ROLE,
    "org_kind": ORG_KIND,
    "bank_kind": BANK_KIND,
    "find_via": FIND_VIA,
    "delivery_status": DELIVERY_STATUS,
    "event": EVENT,
    "sanction_status": SANCTION_STATUS,
    "objection_status": OBJECTION_STATUS,
    "normalisation_status": NORMALISATION_STATUS,
    "subject_kind": SUBJECT_KIND,
    "step_kind": STEP_KIND,
    "case_kind": CASE_KIND,
    "normalisation_source": NORMALISATION_SOURCE,
    "sanction_source": SANCTION_SOURCE,
    "probe_state": PROBE_STATE,
    "expected": EXPECTED,
    "compliance_stage": COMPLIANCE_STAGE,
    "locator_kind": LOCATOR_KIND,
    "receipt_basis": RECEIPT_BASIS,
    "dsa_field": DSA_FIELD,
    "dsa_value": DSA_VALUE,
}
