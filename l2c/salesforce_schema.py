"""The Lead-to-Cash slice of a Salesforce org: objects, fields and their types.

This module is the single place that names Salesforce objects and fields for
l2c. The demo-org generator fills these objects, the local API server describes
them, and the extractor maps them onto the raw layer (Fivetran-style
snake_case names, see :func:`snake_case`).

Field types are Salesforce describe types (``id``, ``reference``, ``string``,
``picklist``, ``boolean``, ``currency``, ``double``, ``percent``, ``int``,
``date``, ``datetime``, ``textarea``, ``email``, ``phone``, ``url``,
``address``, ``anyType``, ``base64``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# --- Picklists (Salesforce defaults) -------------------------------------------------

#: Opportunity stages in default sort order with (probability, is_closed, is_won,
#: forecast category). Salesforce exposes these through the OpportunityStage object.
OPPORTUNITY_STAGES: list[tuple[str, int, bool, bool, str]] = [
    ("Prospecting", 10, False, False, "Pipeline"),
    ("Qualification", 10, False, False, "Pipeline"),
    ("Needs Analysis", 20, False, False, "Pipeline"),
    ("Value Proposition", 50, False, False, "Pipeline"),
    ("Id. Decision Makers", 60, False, False, "Pipeline"),
    ("Perception Analysis", 70, False, False, "Pipeline"),
    ("Proposal/Price Quote", 75, False, False, "Pipeline"),
    ("Negotiation/Review", 90, False, False, "Pipeline"),
    ("Closed Won", 100, True, True, "Closed"),
    ("Closed Lost", 0, True, False, "Omitted"),
]
STAGE_NAMES = [s[0] for s in OPPORTUNITY_STAGES]

LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", "Other"]
INDUSTRIES = [
    "Technology", "Manufacturing", "Finance", "Healthcare", "Retail", "Energy",
    "Education", "Government", "Media", "Transportation",
]
OPPORTUNITY_TYPES = ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement"]
QUOTE_STATUSES = ["Draft", "Needs Review", "In Review", "Approved", "Rejected", "Presented", "Accepted", "Denied"]
CONTRACT_STATUSES = ["Draft", "In Approval Process", "Activated"]
ORDER_STATUSES = ["Draft", "Activated"]
PROCESS_INSTANCE_STATUSES = ["Started", "Pending", "Approved", "Rejected", "Removed"]
STEP_STATUSES = ["Started", "Pending", "Approved", "Rejected", "Removed", "NoResponse"]
INVOICE_STATUSES = ["Draft", "Posted", "Cancelled"]
INVOICE_PAYMENT_STATUSES = ["Unpaid", "Partially Paid", "Paid"]
PAYMENT_STATUSES = ["Draft", "Posted", "Canceled"]
PAYMENT_TYPES = ["Bank Transfer", "Credit Card", "Check"]
REGIONS = ["North America", "EMEA", "APAC", "LATAM"]
CUSTOMER_SEGMENTS = ["SMB", "Mid-Market", "Enterprise", "Public Sector"]
PRODUCT_FAMILIES = ["Software", "Hardware", "Services", "Support"]
CURRENCIES = ["USD", "EUR", "GBP"]
TASK_STATUSES = ["Not Started", "In Progress", "Completed"]
TASK_SUBTYPES = ["Task", "Email", "Call"]


@dataclass(frozen=True)
class Field:
    """One field of an object as describe() reports it."""

    name: str
    type: str
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()
    nillable: bool = True
    calculated: bool = False
    custom: bool = False
    compound_field_name: str | None = None
    precision: int = 0
    scale: int = 0
    length: int = 0

    @property
    def is_compound(self) -> bool:
        return self.type in ("address", "location")


@dataclass(frozen=True)
class SObject:
    """One Salesforce object: API name, key prefix and fields."""

    name: str
    key_prefix: str
    fields: tuple[Field, ...]
    label: str = ""
    custom: bool = False
    #: History objects (LeadHistory, OpportunityFieldHistory, ContractHistory) have no
    #: SystemModstamp and are synced incrementally by CreatedDate.
    is_history: bool = False
    #: Org-level namespace of a managed package, e.g. "blng" (Salesforce Billing).
    namespace: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name.lower() == name.lower():
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def replication_key(self) -> str:
        """The timestamp field an incremental sync filters on."""
        return "CreatedDate" if self.is_history else "SystemModstamp"


# --- Helpers to write field lists compactly --------------------------------------


def _id() -> Field:
    return Field("Id", "id", nillable=False, length=18)


def _ref(name: str, *targets: str, nillable: bool = True, custom: bool = False) -> Field:
    return Field(name, "reference", reference_to=targets, nillable=nillable, length=18, custom=custom)


def _s(name: str, length: int = 255, **kw) -> Field:
    return Field(name, "string", length=length, **kw)


def _pick(name: str, values: list[str], **kw) -> Field:
    return Field(name, "picklist", picklist=tuple(values), length=255, **kw)


def _money(name: str, **kw) -> Field:
    return Field(name, "currency", precision=18, scale=2, **kw)


def _pct(name: str, **kw) -> Field:
    return Field(name, "percent", precision=5, scale=2, **kw)


def _dt(name: str, **kw) -> Field:
    return Field(name, "datetime", **kw)


def _d(name: str, **kw) -> Field:
    return Field(name, "date", **kw)


def _b(name: str, **kw) -> Field:
    return Field(name, "boolean", nillable=False, **kw)


def _audit() -> tuple[Field, ...]:
    return (
        _b("IsDeleted"),
        _dt("CreatedDate", nillable=False),
        _ref("CreatedById", "User", nillable=False),
        _dt("LastModifiedDate", nillable=False),
        _ref("LastModifiedById", "User", nillable=False),
        _dt("SystemModstamp", nillable=False),
    )


def _history(parent: str, parent_field: str, prefix: str) -> SObject:
    return SObject(
        name=f"{parent}History" if parent != "Opportunity" else "OpportunityFieldHistory",
        key_prefix=prefix,
        is_history=True,
        fields=(
            _id(),
            _b("IsDeleted"),
            _ref(parent_field, parent, nillable=False),
            _ref("CreatedById", "User", nillable=False),
            _dt("CreatedDate", nillable=False),
            Field("Field", "picklist", nillable=False, length=255),
            Field("DataType", "picklist", length=255),
            Field("OldValue", "anyType"),
            Field("NewValue", "anyType"),
        ),
    )


def _address(prefix: str) -> tuple[Field, ...]:
    compound = f"{prefix}Address"
    parts = ("Street", "City", "State", "PostalCode", "Country")
    return tuple(
        Field(f"{prefix}{p}", "textarea" if p == "Street" else "string", length=255, compound_field_name=compound)
        for p in parts
    ) + (Field(compound, "address"),)


# --- The objects --------------------------------------------------------------------

OBJECTS: tuple[SObject, ...] = (
    SObject("UserRole", "00E", (
        _id(), _s("Name", 80, nillable=False), _s("DeveloperName", 80), _ref("ParentRoleId", "UserRole"),
        _s("RollupDescription", 80),
        _dt("LastModifiedDate", nillable=False), _ref("LastModifiedById", "User", nillable=False),
        _dt("SystemModstamp", nillable=False),
    )),
    SObject("User", "005", (
        _id(), _s("Username", 80, nillable=False), _s("FirstName", 40), _s("LastName", 80, nillable=False),
        Field("Name", "string", length=121, nillable=False, calculated=True), Field("Email", "email", length=128),
        _b("IsActive"), _s("Title", 80), _s("Department", 80), _s("Division", 80),
        _ref("UserRoleId", "UserRole"), _ref("ManagerId", "User"), _s("TimeZoneSidKey", 40),
        _pick("Region__c", REGIONS, custom=True),
        _dt("CreatedDate", nillable=False), _ref("CreatedById", "User", nillable=False),
        _dt("LastModifiedDate", nillable=False), _ref("LastModifiedById", "User", nillable=False),
        _dt("SystemModstamp", nillable=False),
    )),
    SObject("Account", "001", (
        _id(), _s("Name", 255, nillable=False), _pick("Type", ["Prospect", "Customer - Direct", "Customer - Channel"]),
        _pick("Industry", INDUSTRIES), *_address("Billing"), _money("AnnualRevenue"),
        Field("NumberOfEmployees", "int", precision=8), _ref("OwnerId", "User", nillable=False),
        _pick("Region__c", REGIONS, custom=True), _pick("Customer_Segment__c", CUSTOMER_SEGMENTS, custom=True),
        *_audit(),
    )),
    SObject("Contact", "003", (
        _id(), _ref("AccountId", "Account"), _s("FirstName", 40), _s("LastName", 80, nillable=False),
        Field("Name", "string", length=121, nillable=False, calculated=True), Field("Email", "email", length=80),
        _s("Title", 128), _pick("LeadSource", LEAD_SOURCES), _ref("OwnerId", "User", nillable=False),
        *_audit(),
    )),
    SObject("Lead", "00Q", (
        _id(), _s("FirstName", 40), _s("LastName", 80, nillable=False),
        Field("Name", "string", length=121, nillable=False, calculated=True), _s("Company", 255, nillable=False),
        _s("Title", 128), Field("Email", "email", length=80), _pick("Status", LEAD_STATUSES, nillable=False),
        _pick("LeadSource", LEAD_SOURCES), _pick("Industry", INDUSTRIES), _pick("Rating", ["Hot", "Warm", "Cold"]),
        *_address(""), _ref("OwnerId", "User", nillable=False), _b("IsConverted"), _d("ConvertedDate"),
        _ref("ConvertedAccountId", "Account"), _ref("ConvertedContactId", "Contact"),
        _ref("ConvertedOpportunityId", "Opportunity"), _pick("Region__c", REGIONS, custom=True),
        *_audit(),
    )),
    _history("Lead", "LeadId", "017"),
    SObject("OpportunityStage", "01J", (
        _id(), _s("MasterLabel", 255, nillable=False), _s("ApiName", 255, nillable=False), _b("IsActive"),
        Field("SortOrder", "int", precision=9), _b("IsClosed"), _b("IsWon"),
        _pick("ForecastCategoryName", ["Pipeline", "Best Case", "Commit", "Closed", "Omitted"]),
        _pct("DefaultProbability"), _s("Description", 255),
        _dt("CreatedDate", nillable=False), _ref("CreatedById", "User", nillable=False),
        _dt("LastModifiedDate", nillable=False), _ref("LastModifiedById", "User", nillable=False),
        _dt("SystemModstamp", nillable=False),
    )),
    SObject("Opportunity", "006", (
        _id(), _ref("AccountId", "Account"), _s("Name", 120, nillable=False), Field("Description", "textarea", length=32000),
        _pick("StageName", STAGE_NAMES, nillable=False), _money("Amount"), _pct("Probability"),
        _d("CloseDate", nillable=False), _pick("Type", OPPORTUNITY_TYPES), _pick("LeadSource", LEAD_SOURCES),
        Field("IsClosed", "boolean", nillable=False, calculated=True), Field("IsWon", "boolean", nillable=False, calculated=True),
        _pick("ForecastCategoryName", ["Pipeline", "Best Case", "Commit", "Closed", "Omitted"]),
        _pick("CurrencyIsoCode", CURRENCIES), _ref("Pricebook2Id", "Pricebook2"), _ref("ContractId", "Contract"),
        _ref("OwnerId", "User", nillable=False), _dt("LastStageChangeDate"),
        Field("FiscalQuarter", "int", precision=11), Field("FiscalYear", "int", precision=11),
        _pick("Competitor__c", ["None", "Acme", "Globex", "Initech"], custom=True),
        *_audit(),
    )),
    _history("Opportunity", "OpportunityId", "017"),
    SObject("OpportunityHistory", "008", (
        _id(), _b("IsDeleted"), _ref("OpportunityId", "Opportunity", nillable=False),
        _ref("CreatedById", "User", nillable=False), _dt("CreatedDate", nillable=False),
        _pick("StageName", STAGE_NAMES, nillable=False), _money("Amount"), _money("ExpectedRevenue"),
        _d("CloseDate"), _pct("Probability"), _pick("ForecastCategory", ["Pipeline", "Closed", "Omitted"]),
        _dt("SystemModstamp", nillable=False),
    )),
    SObject("Product2", "01t", (
        _id(), _s("Name", 255, nillable=False), _s("ProductCode", 255), _pick("Family", PRODUCT_FAMILIES),
        _b("IsActive"), Field("Description", "textarea", length=4000), *_audit(),
    )),
    SObject("OpportunityLineItem", "00k", (
        _id(), _ref("OpportunityId", "Opportunity", nillable=False), _ref("Product2Id", "Product2"),
        _ref("PricebookEntryId", "PricebookEntry"), Field("Quantity", "double", precision=12, scale=2),
        _money("UnitPrice"), _money("ListPrice"), _money("TotalPrice"), _pct("Discount"),
        *_audit(),
    )),
    SObject("Quote", "0Q0", (
        _id(), _s("Name", 255, nillable=False), _ref("OpportunityId", "Opportunity", nillable=False),
        _ref("AccountId", "Account"), _pick("Status", QUOTE_STATUSES), _pct("Discount"),
        _money("Subtotal"), _money("TotalPrice"), _money("GrandTotal"), _d("ExpirationDate"),
        _b("IsSyncing"), Field("QuoteNumber", "string", length=30, calculated=True),
        *_audit(),
    )),
    SObject("QuoteLineItem", "0QL", (
        _id(), _ref("QuoteId", "Quote", nillable=False), _ref("Product2Id", "Product2"),
        Field("Quantity", "double", precision=12, scale=2), _money("UnitPrice"), _pct("Discount"),
        _money("TotalPrice"), *_audit(),
    )),
    SObject("ProcessInstance", "04g", (
        _id(), _ref("ProcessDefinitionId", "ProcessDefinition"), _ref("TargetObjectId", "Quote", "Contract", nillable=False),
        _pick("Status", PROCESS_INSTANCE_STATUSES), _dt("CompletedDate"), _ref("LastActorId", "User"),
        _ref("SubmittedById", "User"), Field("ElapsedTimeInDays", "double", precision=18, scale=3),
        *_audit(),
    )),
    SObject("ProcessInstanceStep", "04h", (
        _id(), _ref("ProcessInstanceId", "ProcessInstance", nillable=False), _pick("StepStatus", STEP_STATUSES),
        _ref("OriginalActorId", "User"), _ref("ActorId", "User"), Field("Comments", "textarea", length=4000),
        Field("ElapsedTimeInDays", "double", precision=18, scale=3),
        _b("IsDeleted"), _dt("CreatedDate", nillable=False), _ref("CreatedById", "User", nillable=False),
        _dt("SystemModstamp", nillable=False),
    )),
    SObject("Contract", "800", (
        _id(), _ref("AccountId", "Account", nillable=False), _pick("Status", CONTRACT_STATUSES, nillable=False),
        _pick("StatusCode", ["Draft", "InApproval", "Activated"]), _d("StartDate"), _d("EndDate"),
        Field("ContractTerm", "int", precision=4), _dt("ActivatedDate"), _ref("ActivatedById", "User"),
        _d("CustomerSignedDate"), _s("CustomerSignedTitle", 40), _d("CompanySignedDate"),
        Field("SpecialTerms", "textarea", length=4000), Field("ContractNumber", "string", length=30, calculated=True),
        _ref("OwnerId", "User", nillable=False), *_audit(),
    )),
    _history("Contract", "ContractId", "017"),
    SObject("Order", "801", (
        _id(), _ref("AccountId", "Account", nillable=False), _ref("OpportunityId", "Opportunity"),
        _ref("ContractId", "Contract"), _pick("Status", ORDER_STATUSES, nillable=False),
        _pick("StatusCode", ["Draft", "Activated"]), _d("EffectiveDate", nillable=False), _dt("ActivatedDate"),
        _ref("ActivatedById", "User"), Field("OrderNumber", "string", length=30, calculated=True),
        _money("TotalAmount"), _pick("Type", ["New", "Amendment"]), _ref("OwnerId", "User", nillable=False),
        *_audit(),
    )),
    SObject("OrderItem", "802", (
        _id(), _ref("OrderId", "Order", nillable=False), _ref("Product2Id", "Product2"),
        Field("Quantity", "double", precision=12, scale=2), _money("UnitPrice"), _money("TotalPrice"),
        *_audit(),
    )),
    SObject("Task", "00T", (
        _id(), _ref("WhatId", "Opportunity", "Account"), _ref("WhoId", "Contact", "Lead"), _s("Subject", 255),
        _pick("Status", TASK_STATUSES, nillable=False), _pick("Priority", ["High", "Normal", "Low"]),
        _d("ActivityDate"), _pick("TaskSubtype", TASK_SUBTYPES), _b("IsClosed"), _dt("CompletedDateTime"),
        _ref("OwnerId", "User", nillable=False), *_audit(),
    )),
    SObject("Event", "00U", (
        _id(), _ref("WhatId", "Opportunity", "Account"), _ref("WhoId", "Contact", "Lead"), _s("Subject", 255),
        _dt("StartDateTime"), _dt("EndDateTime"), _dt("ActivityDateTime"), Field("DurationInMinutes", "int", precision=8),
        _s("Location", 255), _ref("OwnerId", "User", nillable=False), *_audit(),
    )),
    SObject("blng__Invoice__c", "a0I", custom=True, namespace="blng", label="Invoice", fields=(
        _id(), _s("Name", 80, nillable=False), _ref("OwnerId", "User", nillable=False),
        _ref("blng__Account__c", "Account", custom=True), _ref("blng__Order__c", "Order", custom=True),
        _d("blng__InvoiceDate__c", custom=True), _d("blng__DueDate__c", custom=True),
        _pick("blng__InvoiceStatus__c", INVOICE_STATUSES, custom=True),
        _pick("blng__PaymentStatus__c", INVOICE_PAYMENT_STATUSES, custom=True),
        _money("blng__TotalAmount__c", custom=True), _money("blng__Balance__c", custom=True),
        _pick("CurrencyIsoCode", CURRENCIES), *_audit(),
    )),
    SObject("blng__Payment__c", "a0P", custom=True, namespace="blng", label="Payment", fields=(
        _id(), _s("Name", 80, nillable=False), _ref("OwnerId", "User", nillable=False),
        _ref("blng__Account__c", "Account", custom=True), _money("blng__Amount__c", custom=True),
        _d("blng__PaymentDate__c", custom=True), _pick("blng__Status__c", PAYMENT_STATUSES, custom=True),
        _pick("blng__PaymentType__c", PAYMENT_TYPES, custom=True), _pick("CurrencyIsoCode", CURRENCIES),
        *_audit(),
    )),
    SObject("blng__PaymentAllocationInvoice__c", "a0A", custom=True, namespace="blng", label="Payment Allocation Invoice",
            fields=(
        _id(), _s("Name", 80, nillable=False),
        _ref("blng__Payment__c", "blng__Payment__c", custom=True, nillable=False),
        _ref("blng__Invoice__c", "blng__Invoice__c", custom=True, nillable=False),
        _money("blng__Amount__c", custom=True), _pick("blng__Type__c", ["Allocation", "Unallocation"], custom=True),
        *_audit(),
    )),
)

OBJECTS_BY_NAME: dict[str, SObject] = {o.name: o for o in OBJECTS}


def get_object(name: str) -> SObject:
    """Look an object up by API name, case-insensitively (as Salesforce does)."""
    for o in OBJECTS:
        if o.name.lower() == name.lower():
            return o
    raise KeyError(f"unknown Salesforce object {name!r}")


# --- Raw-layer naming (Fivetran's connector conventions) ---------------------------

_CAMEL_1 = re.compile(r"(.)([A-Z][a-z]+)")
_CAMEL_2 = re.compile(r"([a-z])([A-Z0-9])")
_DIGIT_ALPHA = re.compile(r"([0-9])([A-Za-z])")


def snake_case(api_name: str) -> str:
    """Fivetran-style snake_case of a Salesforce API name.

    >>> snake_case("OpportunityFieldHistory"), snake_case("StageName")
    ('opportunity_field_history', 'stage_name')
    >>> snake_case("blng__Invoice__c"), snake_case("blng__DueDate__c"), snake_case("Product2Id")
    ('blng_invoice_c', 'blng_due_date_c', 'product_2_id')
    """
    name = api_name.replace("__", "_")
    name = _CAMEL_1.sub(r"\1_\2", name)
    name = _CAMEL_2.sub(r"\1_\2", name)
    name = _DIGIT_ALPHA.sub(r"\1_\2", name)
    return re.sub(r"_+", "_", name).lower()


#: Salesforce describe type → DuckDB type for the raw layer.
DUCKDB_TYPES: dict[str, str] = {
    "id": "VARCHAR",
    "reference": "VARCHAR",
    "string": "VARCHAR",
    "textarea": "VARCHAR",
    "picklist": "VARCHAR",
    "multipicklist": "VARCHAR",
    "combobox": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "url": "VARCHAR",
    "encryptedstring": "VARCHAR",
    "anyType": "VARCHAR",
    "address": "JSON",
    "location": "JSON",
    "boolean": "BOOLEAN",
    "int": "BIGINT",
    "long": "BIGINT",
    "double": "DOUBLE",
    "percent": "DECIMAL(18,4)",
    "currency": "DECIMAL(18,2)",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
    "time": "TIME",
    "base64": "VARCHAR",
}


def duckdb_type(sf_type: str) -> str:
    """DuckDB column type for a Salesforce field type (unknown types become VARCHAR)."""
    return DUCKDB_TYPES.get(sf_type, "VARCHAR")
