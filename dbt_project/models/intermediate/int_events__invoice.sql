-- Invoice Posted: one event per Salesforce Billing invoice that is not a
-- draft, attached to its order's case, with the due date as attribute and
-- its own id in invoice_id (the key Payment Received events pair with).
--
-- The invoice date is only a date. The event takes the moment the invoice was
-- posted when the synced versions show it (a version that is Posted after one
-- that was not, or an invoice created already posted) and that moment falls
-- within a day of the invoice date (time zones); otherwise UTC midnight of
-- the invoice date.

with

invoices as (

    select * from {{ ref('stg_salesforce__invoice') }}
    where
        invoice_date is not null
        and coalesce(invoice_status, 'Posted') <> 'Draft'

),

invoice_versions as (

    select * from {{ ref('stg_salesforce__invoice_versions') }}
    where not is_deleted

),

order_cases as (

    select * from {{ ref('int_order_cases') }}

),

status_versions as (

    select
        invoice_id,
        version_number,
        valid_from,
        invoice_status,
        lag(invoice_status) over (partition by invoice_id order by version_number) as previous_status
    from invoice_versions

),

posting_seen as (

    select
        status_versions.invoice_id,
        min(status_versions.valid_from) as posted_at
    from status_versions
    inner join invoices
        on status_versions.invoice_id = invoices.invoice_id
    where
        status_versions.invoice_status = 'Posted'
        and (
            status_versions.previous_status <> 'Posted'
            or (status_versions.version_number = 1 and status_versions.valid_from = invoices.created_at)
        )
    group by status_versions.invoice_id

),

final as (

    select
        order_cases.case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'blng__Invoice__c' as source_object,
        invoices.invoice_id as source_id,
        'blng__InvoiceDate__c' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'posted' as event_key,
        case
            when
                posting_seen.posted_at is not null
                and abs({{ dbt.datediff('invoices.invoice_date', 'cast(posting_seen.posted_at as date)', 'day') }}) <= 1
                then posting_seen.posted_at
            else {{ l2c_date_to_timestamp('invoices.invoice_date') }}
        end as event_at,
        invoices.created_by_id as resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        invoices.total_amount as amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        invoices.invoice_status as new_value,
        invoices.due_date,
        invoices.invoice_id
    from invoices
    left join posting_seen
        on invoices.invoice_id = posting_seen.invoice_id
    left join order_cases
        on invoices.order_id = order_cases.order_id

)

select * from final
