"""Salesforce describe payloads for the sandbox org, built from ``l2c.salesforce_schema``.

The local API server answers ``GET /services/data/vXX.X/sobjects/`` (global
describe) and ``.../sobjects/<Object>/describe`` with the dictionaries built
here. They have the exact shape of real Salesforce describe responses (every
key a real org sends, with the same types), so code written against the
sandbox reads a production org's metadata the same way. Values are derived
from the schema's field definitions; the few rules that are not in the schema
(labels, which fields are filterable, which are system audit fields) follow
what real orgs report for the same kinds of fields.
"""

from __future__ import annotations

import re
from functools import cache

from l2c.salesforce_schema import OBJECTS, Field, SObject

#: Fields Salesforce maintains itself: never createable or updateable, always set on create.
AUDIT_FIELDS = frozenset(
    {"IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)

_STRING_TYPES = frozenset({"string", "picklist", "multipicklist", "combobox", "textarea", "email", "phone", "url"})
_NUMBER_TYPES = frozenset({"double", "currency", "percent"})

SOAP_TYPES: dict[str, str] = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "anyType": "xsd:anyType",
    "address": "urn:address",
    "location": "urn:location",
    "base64": "xsd:base64Binary",
}

#: History ``DataType`` picklist values as real orgs report them.
_HISTORY_DATA_TYPES = (
    "Boolean", "Currency", "Date", "DateOnly", "DateTime", "DynamicEnum", "EntityId", "Number", "Percent", "Text",
)
#: Special ``Field`` values of history rows besides the tracked field names.
_HISTORY_SPECIAL_FIELDS = {
    "LeadHistory": ("created", "leadConverted", "leadMerged", "ownerAccepted", "ownerAssignment"),
    "OpportunityFieldHistory": ("created", "opportunityCreatedFromLead", "ownerAccepted", "ownerAssignment"),
    "ContractHistory": ("contractActivation", "contractConversion", "contractExpiration", "created"),
}


# --- Labels ----------------------------------------------------------------------------


def _words(name: str) -> str:
    """``StageName`` → ``Stage Name``; ``blng__DueDate__c`` → ``Due Date``."""
    base = re.sub(r"__(c|r)$", "", name)
    base = base.split("__", 1)[-1]  # drop a managed-package namespace
    base = base.replace("_", " ")
    base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", base)
    return re.sub(r"\s+", " ", base).strip()


def object_label(obj: SObject) -> str:
    return obj.label or _words(obj.name)


def object_label_plural(obj: SObject) -> str:
    label = object_label(obj)
    if label.endswith("y") and not label.endswith(("ay", "ey", "oy")):
        return label[:-1] + "ies"
    if label.endswith(("s", "x", "ch", "sh")):
        return label + "es"
    return label + "s"


def field_label(obj: SObject, f: Field) -> str:
    if f.name == "Id":
        return f"{object_label(obj)} ID"
    if f.type == "reference" and f.name.endswith("Id"):
        return _words(f.name[:-2]) + " ID"
    if f.type == "boolean" and re.match(r"Is[A-Z]", f.name):
        return _words(f.name[2:])
    return _words(f.name)


# --- Field describe ----------------------------------------------------------------------


def _is_auto_number(f: Field) -> bool:
    return f.calculated and f.type == "string" and f.name.endswith("Number")


def relationship_name(f: Field) -> str | None:
    """The relationship a reference field opens (``AccountId`` → ``Account``, ``x__c`` → ``x__r``)."""
    if f.type != "reference":
        return None
    if f.name.endswith("__c"):
        return f.name[:-3] + "__r"
    if f.name.endswith("Id"):
        return f.name[:-2]
    return None


def is_filterable(f: Field) -> bool:
    """Long text areas and history OldValue/NewValue cannot appear in a WHERE clause."""
    if f.type == "anyType" or f.type == "base64":
        return False
    return not (f.type == "textarea" and f.length > 255)


def _is_sortable(f: Field) -> bool:
    return is_filterable(f) and not f.is_compound


def _is_groupable(f: Field) -> bool:
    return _is_sortable(f) and f.type not in _NUMBER_TYPES | {"datetime"}


def _is_aggregatable(f: Field) -> bool:
    return _is_sortable(f) and f.type != "boolean"


def _length(f: Field) -> int:
    if f.type in ("id", "reference"):
        return 18
    if f.type in _STRING_TYPES or f.type == "anyType":
        return f.length or 255
    return 0


def _byte_length(f: Field) -> int:
    if f.type in ("id", "reference"):
        return 18
    return _length(f) * 3


def _extra_type_info(obj: SObject, f: Field) -> str | None:
    if f.type == "textarea":
        return "plaintextarea"
    if f.name == "Name" and obj.name == "Account":
        return "switchablepersonname"
    if f.name == "Name" and obj.name in ("Contact", "Lead", "User"):
        return "personname"
    return None


def _compound_field_name(obj: SObject, f: Field) -> str | None:
    if f.compound_field_name:
        return f.compound_field_name
    person_name = obj.name in ("Contact", "Lead", "User")
    if person_name and f.name in ("FirstName", "LastName", "Salutation"):
        return "Name"
    return None


def _picklist_values(obj: SObject, f: Field) -> list[dict]:
    values: tuple[str, ...] = f.picklist
    if obj.is_history and f.name == "Field":
        parent = _history_parent(obj)
        tracked = tuple(x.name for x in parent.fields if not x.is_compound) if parent else ()
        values = tuple(sorted(set(tracked) | set(_HISTORY_SPECIAL_FIELDS.get(obj.name, ()))))
    elif obj.is_history and f.name == "DataType":
        values = _HISTORY_DATA_TYPES
    return [
        {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
        for v in values
    ]


def _history_parent(obj: SObject) -> SObject | None:
    for f in obj.fields:
        if f.type == "reference" and f.name not in AUDIT_FIELDS and f.reference_to:
            return OBJECTS_BY_NAME_CI.get(f.reference_to[0].lower())
    return None


def _default_value(obj: SObject, f: Field):
    if f.type == "boolean":
        return False
    if obj.name == "Lead" and f.name == "Status":
        return "Open - Not Contacted"
    return None


def field_describe(obj: SObject, f: Field) -> dict:
    """One entry of ``describe()['fields']``, with every key a real org sends (keys sorted as Salesforce does)."""
    auto_number = _is_auto_number(f)
    system = f.name in AUDIT_FIELDS or f.type == "id"
    writable = not (system or f.calculated or f.is_compound or obj.is_history)
    defaulted = system or auto_number or f.type == "boolean" or f.name == "OwnerId" or f.calculated
    return {
        "aggregatable": _is_aggregatable(f),
        "aiPredictionField": False,
        "autoNumber": auto_number,
        "byteLength": _byte_length(f),
        "calculated": f.calculated and not auto_number,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": _compound_field_name(obj, f),
        "controllerName": None,
        "createable": writable,
        "custom": f.custom,
        "defaultValue": _default_value(obj, f),
        "defaultValueFormula": None,
        "defaultedOnCreate": defaulted,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.precision if f.type in ("int", "long") else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": False,
        "extraTypeInfo": _extra_type_info(obj, f),
        "filterable": is_filterable(f),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": _is_groupable(f),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.type == "id" or f.name in ("Email", "Username") or (obj.custom and f.name == "Name"),
        "inlineHelpText": None,
        "label": field_label(obj, f),
        "length": _length(f),
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name == "Name",
        "namePointing": len(f.reference_to) > 1,
        "nillable": f.nillable and f.type != "boolean",
        "permissionable": writable and f.nillable,
        "picklistValues": _picklist_values(obj, f),
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": f.precision if f.type in _NUMBER_TYPES else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": relationship_name(f),
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": False,
        "scale": f.scale if f.type in _NUMBER_TYPES else 0,
        "searchPrefilterable": f.type == "reference" and f.name not in AUDIT_FIELDS and f.name != "OwnerId",
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": _is_sortable(f),
        "type": f.type,
        "unique": False,
        "updateable": writable,
        "writeRequiresMasterRead": False,
    }


# --- Object describe ---------------------------------------------------------------------

OBJECTS_BY_NAME_CI: dict[str, SObject] = {o.name.lower(): o for o in OBJECTS}


def find_object(name: str) -> SObject | None:
    """The schema object with this API name, compared case-insensitively as Salesforce does."""
    return OBJECTS_BY_NAME_CI.get(name.lower())


def _urls(obj: SObject, version: str, instance_url: str, full: bool) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    urls = {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
    }
    if full:
        urls["uiDetailTemplate"] = f"{instance_url}/{{ID}}"
        urls["uiEditTemplate"] = f"{instance_url}/{{ID}}/e"
    if full:
        urls["defaultValues"] = f"{base}/defaultValues?recordTypeId&fields"
    urls["listviews"] = f"{base}/listviews"
    urls["describe"] = f"{base}/describe"
    if full:
        urls["uiNewRecord"] = f"{instance_url}/{obj.key_prefix}/e"
    urls["quickActions"] = f"{base}/quickActions"
    urls["layouts"] = f"{base}/describe/layouts"
    urls["sobject"] = base
    return urls


def _object_flags(obj: SObject) -> dict:
    """The capability flags of an object: history objects are read-only, everything else is a normal entity."""
    writable = not obj.is_history
    return {
        "activateable": False,
        "associateEntityType": "History" if obj.is_history else None,
        "associateParentEntity": _history_parent(obj).name if obj.is_history and _history_parent(obj) else None,
        "createable": writable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": writable,
        "deprecatedAndHidden": False,
        "feedEnabled": writable and not obj.custom,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": object_label(obj),
        "labelPlural": object_label_plural(obj),
        "layoutable": writable,
        "mergeable": obj.name in ("Account", "Contact", "Lead"),
        "mruEnabled": writable,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": writable,
        "triggerable": writable,
        "undeletable": writable,
        "updateable": writable,
    }


def _child_relationship_name(child: SObject, f: Field) -> str | None:
    if f.name in AUDIT_FIELDS:
        return None
    if child.is_history:
        return "Histories"
    if child.custom:
        namespace = f"{child.namespace}__" if child.namespace else ""
        base = re.sub(r"__c$", "", child.name).split("__")[-1]
        return f"{namespace}{base}s__r"
    return object_label_plural(child).replace(" ", "")


def _child_relationships(obj: SObject) -> list[dict]:
    children = []
    for child in OBJECTS:
        for f in child.fields:
            if f.type == "reference" and obj.name in f.reference_to:
                children.append({
                    "cascadeDelete": f.name not in AUDIT_FIELDS and not f.nillable,
                    "childSObject": child.name,
                    "deprecatedAndHidden": False,
                    "field": f.name,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": _child_relationship_name(child, f),
                    "restrictedDelete": False,
                })
    return sorted(children, key=lambda c: (c["childSObject"], c["field"]))


def _supported_scopes(obj: SObject) -> list[dict]:
    if obj.is_history or not any(f.name == "OwnerId" for f in obj.fields):
        return [{"label": f"All {object_label_plural(obj).lower()}", "name": "everything"}]
    plural = object_label_plural(obj).lower()
    return [
        {"label": f"All {plural}", "name": "everything"},
        {"label": f"My {plural}", "name": "mine"},
        {"label": f"My team's {plural}", "name": "team"},
    ]


@cache
def object_describe(name: str, version: str, instance_url: str) -> dict:
    """The body of ``GET /services/data/v<version>/sobjects/<name>/describe``."""
    obj = find_object(name)
    if obj is None:
        raise KeyError(name)
    flags = _object_flags(obj)
    body = {
        "actionOverrides": [],
        **{k: flags[k] for k in ("activateable", "associateEntityType", "associateParentEntity")},
        "childRelationships": _child_relationships(obj),
        "compactLayoutable": not obj.is_history,
        **{k: flags[k] for k in ("createable", "custom", "customSetting", "deepCloneable")},
        "defaultImplementation": None,
        **{k: flags[k] for k in ("deletable", "deprecatedAndHidden")},
        "extendedBy": None,
        "extendsInterfaces": None,
        "feedEnabled": flags["feedEnabled"],
        "fields": [field_describe(obj, f) for f in obj.fields],
        "hasSubtypes": False,
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "isSubtype": False,
        **{k: flags[k] for k in ("keyPrefix", "label", "labelPlural", "layoutable")},
        "listviewable": None,
        "lookupLayoutable": None,
        **{k: flags[k] for k in ("mergeable", "mruEnabled", "name")},
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "queryable": True,
        "recordTypeInfos": [] if obj.is_history else [{
            "active": True,
            "available": True,
            "defaultRecordTypeMapping": True,
            "developerName": "Master",
            "master": True,
            "name": "Master",
            "recordTypeId": "012000000000000AAA",
            "urls": {"layout": f"/services/data/v{version}/sobjects/{obj.name}/describe/layouts/012000000000000AAA"},
        }],
        "replicateable": True,
        "retrieveable": True,
        "searchLayoutable": not obj.is_history,
        "searchable": flags["searchable"],
        "sobjectDescribeOption": "FULL",
        "supportedScopes": _supported_scopes(obj),
        "triggerable": flags["triggerable"],
        "undeletable": flags["undeletable"],
        "updateable": flags["updateable"],
        "urls": _urls(obj, version, instance_url, full=True),
    }
    return body


def global_describe(version: str, instance_url: str) -> dict:
    """The body of ``GET /services/data/v<version>/sobjects/``: one summary per object."""
    sobjects = []
    for obj in sorted(OBJECTS, key=lambda o: o.name.lower()):
        entry = dict(_object_flags(obj))
        entry["urls"] = _urls(obj, version, instance_url, full=False)
        sobjects.append(entry)
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}


def sobject_basic_info(name: str, version: str, instance_url: str) -> dict:
    """The body of ``GET .../sobjects/<name>/`` (simple-salesforce's ``metadata()``)."""
    obj = find_object(name)
    if obj is None:
        raise KeyError(name)
    entry = dict(_object_flags(obj))
    entry["urls"] = _urls(obj, version, instance_url, full=False)
    return {"objectDescribe": entry, "recentItems": []}
