"""Canonical column names of the event log, cases and lead log (DESIGN.md contracts).

The dbt marts, the file importer and every analysis use these names; change
them here only.
"""

CASE_ID = "case_id"
ACTIVITY = "activity"
TIMESTAMP = "timestamp"
EVENT_ID = "event_id"
ACTIVITY_ORDER = "activity_order"
RESOURCE = "resource"
RESOURCE_NAME = "resource_name"
RESOURCE_ROLE = "resource_role"
SOURCE_OBJECT = "source_object"
SOURCE_ID = "source_id"
STAGE = "stage"
AMOUNT = "amount"
OLD_VALUE = "old_value"
NEW_VALUE = "new_value"

EVENT_LOG_REQUIRED = (CASE_ID, ACTIVITY, TIMESTAMP)
EVENT_LOG_COLUMNS = (
    EVENT_ID, CASE_ID, ACTIVITY, TIMESTAMP, ACTIVITY_ORDER, RESOURCE, RESOURCE_NAME, RESOURCE_ROLE,
    SOURCE_OBJECT, SOURCE_ID, STAGE, AMOUNT, OLD_VALUE, NEW_VALUE,
)

# Optional event attributes: the dbt event log and imported logs have them (null
# where they do not apply); analyses use them when a log has them.
DUE_DATE = "due_date"
INVOICE_ID = "invoice_id"
EVENT_LOG_OPTIONAL_COLUMNS = (DUE_DATE, INVOICE_ID)

# cases mart
OWNER_ID = "owner_id"
OWNER_NAME = "owner_name"
OWNER_ROLE = "owner_role"
TEAM = "team"
REGION = "region"
INDUSTRY = "industry"
LEAD_SOURCE = "lead_source"
PRODUCT_CATEGORY = "product_category"
OPPORTUNITY_TYPE = "opportunity_type"
CURRENCY = "currency"
DISCOUNT_PCT = "discount_pct"
IS_WON = "is_won"
IS_CLOSED = "is_closed"
CREATED_AT = "created_at"
CLOSED_AT = "closed_at"
FIRST_EVENT_AT = "first_event_at"
LAST_EVENT_AT = "last_event_at"
EVENT_COUNT = "event_count"
