"""What a partner may receive: the measure codes and the projected fields each one justifies."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# Read-only mappings: the vocabulary is fixed by DOMAIN.md, not extended at run time.

#: The sanction measures of DOMAIN.md §3; a partner file lists those it applies.
MEASURES: Final[Mapping[str, str]] = MappingProxyType({
    "bond_issuance": "restrict issuing enterprise, interbank and corporate bonds",
    "financial_institution_setup": (
        "restrict founding financial institutions and guarantee companies, and senior posts there"
    ),
    "equity_listing": "stock issuance, NEEQ listing and equity incentives: review reference",
    "social_org_founding": "no founding of social organisations",
    "public_procurement": "no government procurement, bidding or government-funded projects",
    "gov_subsidy": "no subsidies or social-security fund support; reference for preferences",
    "office_holding": "no SOE, public-institution, financial or social-organisation office",
    "civil_service_hiring": "no recruitment as a civil servant or public-institution staff",
    "market_access": "licences and qualifications (customs, food and drugs, construction ...)",
    "honours": "no civilised-unit, moral-model, youth or similar honours",
    "credit_granting": "bank and other credit granting: prudential reference",
    "state_land_resources": "no state land, forest, grassland or state-asset transactions",
    "flight": "no civil flights (C1)",
    "rail": "no soft sleeper, G-train seats or first class on other EMUs (C1, C9)",
    "hotel_venue": "no starred hotels, nightclubs or golf courses (C2)",
    "travel": "no travel or holidays, outbound group tours (C6)",
    "private_school": "no children at high-fee private schools (C7)",
    "insurance_product": "no high-premium insurance wealth-management products (C8)",
    "property_vehicle": (
        "no buying real estate, lavish renovation or non-business vehicles (C3, C5)"
    ),
    "locate_and_query": "help courts query identity, travel documents and vehicles; locate debtors",
    "exit_control": "restrict leaving the country",
    "key_supervision": "key supervision: more frequent random inspections",
    "criminal_referral": "investigate and prosecute refusal to enforce a judgment",
    "publicity": "publish the list (Credit China, enterprise credit publicity, media)",
    "credit_reporting": "record in the central bank's credit reference system",
})

#: Consumption measures and the restriction categories (DOMAIN.md §1) each enforces: a
#: restriction order concerns such a measure only through these categories. Every other
#: measure follows the list of dishonest defaulters, not the orders.
MEASURE_CATEGORIES: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    "flight": frozenset({"C1"}),
    "rail": frozenset({"C1", "C9"}),
    "hotel_venue": frozenset({"C2"}),
    "property_vehicle": frozenset({"C3", "C5"}),
    "travel": frozenset({"C6"}),
    "private_school": frozenset({"C7"}),
    "insurance_product": frozenset({"C8"}),
})


def order_categories(measures: tuple[str, ...] | list[str]) -> frozenset[str] | None:
    """The categories of orders a partner with these measures needs (None: every order).

    A partner whose measures are all consumption measures needs only the orders
    restricting what it enforces (an airline: C1); one with any other measure (the
    national platform, the credit registry, a court) may need every order.
    """
    if not measures or any(m not in MEASURE_CATEGORIES for m in measures):
        return None
    return frozenset().union(*(MEASURE_CATEGORIES[m] for m in measures))


#: Every projected row carries these, so a partner can always delete what it holds;
#: they are never listed in a partner's ``fields``.
ALWAYS_FIELDS: Final = ("record_type", "record_key", "status", "status_reason")

SUBJECT_FIELDS: Final = (
    "subject_type", "name", "id_type", "id_number", "gender", "birth_date",
    "legal_representative", "travel_documents",
)
COURT_FIELDS: Final = ("court_code", "court_name", "case_number")
#: Only listings carry these.
LISTING_FIELDS: Final = (
    "filed_on", "basis_issuer", "basis_number", "obligation", "performance", "behaviours",
    "decided_on", "listed_on", "expires_on",
)
#: Only restrictions carry these (``role`` only on persons expanded from an organisation's).
RESTRICTION_FIELDS: Final = (
    "order_id", "issued_on", "categories", "bound_persons", "listing_id", "exemptions", "role",
)

#: Field -> description; the fields a partner's ``scope.fields`` may name.
PROJECTED_FIELDS: Final[Mapping[str, str]] = MappingProxyType({
    "subject_type": "person or organisation",
    "name": "name of the person or organisation",
    "id_type": "kind of identifier (resident_id, uscc, ...)",
    "id_number": "the identifier, full (never the masked public form)",
    "gender": "persons: gender",
    "birth_date": "persons: date of birth",
    "legal_representative": "organisations: legal representative's name and id number",
    "travel_documents": "persons: passports and other exit-entry documents bound to the ID",
    "court_code": "enforcing court's code, e.g. 京0105",
    "court_name": "enforcing court's name",
    "case_number": "enforcement case number, as the court wrote it",
    "filed_on": "date the enforcement case was filed",
    "basis_issuer": "body that issued the enforcement basis",
    "basis_number": "document number of the enforcement basis",
    "obligation": "obligation fixed by the effective document (free text)",
    "performance": "none or partial performance",
    "behaviours": "dishonest behaviour codes B1-B6",
    "decided_on": "date of the listing decision",
    "listed_on": "date of publication",
    "expires_on": "end of the listing's term (none for B1)",
    "order_id": "restriction order id",
    "issued_on": "date the restriction order was issued",
    "categories": "restricted consumption categories C1-C9",
    "bound_persons": "organisations: persons the restriction binds, with roles",
    "listing_id": "the listing a restriction accompanies, if any",
    "exemptions": "time-boxed temporary liftings (illness, funeral, duty, exams)",
    "role": (
        "persons expanded from an organisation's restriction: legal_representative, "
        "main_responsible, direct_responsible or actual_controller"
    ),
})

# Building blocks for the table below.
_IDENTITY: Final = frozenset({"subject_type", "name", "id_type", "id_number"})
# An organisation's legal representative is part of its Art. 6 identity (2017 rules).
_ORG_IDENTITY: Final = _IDENTITY | {"legal_representative"}
# The court and case let the partner refer the subject to the enforcing court.
_COURT: Final = frozenset(COURT_FIELDS)
# When a listing took effect and when it ends: enough for an approval-time check.
_LISTING_TERM: Final = frozenset({"decided_on", "listed_on", "expires_on"})
# What is restricted and since when. Exemptions (temporary liftings) cover air
# and high-speed rail only (2019 opinion Art. 17), so only flight and rail get them.
_RESTRICTION: Final = frozenset({"order_id", "issued_on", "categories", "listing_id", "role"})
# A body deciding on an application needs identity, court and the listing's term only.
_APPROVAL: Final = _ORG_IDENTITY | _COURT | _LISTING_TERM
# A point of sale blocks a person by ID and refers them to the court, nothing more.
_POINT_OF_SALE: Final = frozenset({"name", "id_type", "id_number", "court_name",
                                   "case_number"}) | _RESTRICTION

#: Measure -> the projected fields it justifies (data minimisation). A partner's
#: scope may name a field only if one of its measures appears here with it.
FIELDS_BY_MEASURE: Final[Mapping[str, frozenset[str]]] = MappingProxyType({
    # Memorandum item 1 [SRC S30]: the reviewing body checks the issuer and its
    # representative against the list at approval time.
    "bond_issuance": _APPROVAL,
    # Item 3 [SRC S30]: founders and prospective senior managers, persons or firms.
    "financial_institution_setup": _APPROVAL,
    # Opinion category 1: a review reference for issuers and incentive recipients.
    "equity_listing": _APPROVAL,
    # Opinion category 1 [SRC S9]: the registrar refuses founders on the list.
    "social_org_founding": _APPROVAL,
    # Opinion category 1: bidders are checked when a tender or project is awarded.
    "public_procurement": _APPROVAL,
    # Items 10-11 [SRC S30]: "prudential reference" weighs how much is unperformed.
    "gov_subsidy": _APPROVAL | {"performance"},
    # Opinion category 3: an appointing body checks a natural person; the
    # organisation fields are not needed for that.
    "office_holding": _IDENTITY | _COURT | _LISTING_TERM,
    # Opinion category 3: recruitment checks a candidate, a natural person.
    "civil_service_hiring": _IDENTITY | _COURT | _LISTING_TERM,
    # Opinion category 4: a licensing body checks applicant firms and their representatives.
    "market_access": _APPROVAL,
    # Opinion category 5: awarding bodies check nominees, persons or organisations.
    "honours": _APPROVAL,
    # Opinion category 5; Art. 8 of the 2017 rules names credit and financing
    # decisions: a lender's prudential judgment weighs the obligation and how
    # much of it is unperformed.
    "credit_granting": _APPROVAL | {"obligation", "performance"},
    # Item 25 [SRC S30]: land and resource transactions check the counterparty.
    "state_land_resources": _APPROVAL,
    # Restriction rules Art. 3 C1; 2016 SPC push of exit-entry documents [SRC S12]:
    # an airline needs identity including travel documents, what is restricted
    # and any exemption, and the court to refer the passenger to.
    "flight": _POINT_OF_SALE | {"travel_documents", "exemptions"},
    # Art. 3 C1 and C9, same reasoning as flight; tickets are bought with passports too.
    "rail": _POINT_OF_SALE | {"travel_documents", "exemptions"},
    # Art. 3 C2: hotels and venues register guests by resident ID.
    "hotel_venue": _POINT_OF_SALE,
    # Art. 3 C6: outbound group tours are booked with passports.
    "travel": _POINT_OF_SALE | {"travel_documents"},
    # Art. 3 C7: the school checks the parent paying the fees.
    "private_school": _POINT_OF_SALE,
    # Art. 3 C8: insurers sell to organisations too, so the subject type matters.
    "insurance_product": _POINT_OF_SALE | {"subject_type"},
    # Art. 3 C3 and C5: property and vehicle registries deal with organisations too.
    "property_vehicle": _POINT_OF_SALE | {"subject_type"},
    # Opinion category 8 [SRC S9]: locating a debtor and querying identity,
    # documents and vehicles for the court needs the whole subject and both registers.
    "locate_and_query": frozenset(SUBJECT_FIELDS) | _COURT | _LISTING_TERM | _RESTRICTION
    | {"bound_persons", "filed_on", "exemptions"},
    # Opinion category 8: border control matches full identity and documents.
    "exit_control": _IDENTITY | {"gender", "birth_date", "travel_documents"} | _COURT
    | _LISTING_TERM,
    # Item 12 [SRC S30]: supervisors raise inspection frequency for listed firms.
    "key_supervision": _APPROVAL,
    # Opinion category 10: investigating refusal to enforce needs the
    # enforcement basis and the dishonest behaviours (B2, B3 above all).
    "criminal_referral": frozenset(SUBJECT_FIELDS) | _COURT | frozenset(LISTING_FIELDS)
    | _RESTRICTION | {"bound_persons", "exemptions"},
    # Art. 6 of the 2017 rules fixes what a published record contains; the
    # publisher masks the ID number as the SPC site does (law-and-practice §7).
    "publicity": frozenset({
        "subject_type", "name", "id_type", "id_number", "gender", "birth_date",
        "legal_representative", "court_code", "court_name", "case_number", "filed_on",
        "basis_issuer", "basis_number", "obligation", "performance", "behaviours", "listed_on",
    }),
    # Art. 8 of the 2017 rules: credit reporting agencies record the list in full.
    "credit_reporting": frozenset(PROJECTED_FIELDS),
})
