-- Payment Received: a payment allocated to invoices of an opportunity's
-- orders (payment allocation -> invoice -> order -> opportunity), one event
-- per payment and case, with the amount allocated to that case. Canceled
-- payments and unallocations do not count. The payment date is only a date:
-- the payment record's creation instant is used when it falls within a day of
-- the payment date (time zones), else UTC midnight of the payment date.

with

payments as (

    select * from {{ ref('stg_salesforce__payment') }}
    where coalesce(payment_status, 'Posted') not in ('Canceled', 'Cancelled', 'Draft')

),

allocations as (

    select * from {{ ref('stg_salesforce__payment_allocation') }}
    where coalesce(allocation_type, 'Allocation') <> 'Unallocation'

),

invoices as (

    select * from {{ ref('stg_salesforce__invoice') }}

),

order_cases as (

    select * from {{ ref('int_order_cases') }}

),

allocated as (

    select
        allocations.payment_id,
        order_cases.case_id,
        sum(allocations.amount) as allocated_amount
    from allocations
    left join invoices
        on allocations.invoice_id = invoices.invoice_id
    left join order_cases
        on invoices.order_id = order_cases.order_id
    group by allocations.payment_id, order_cases.case_id

),

final as (

    select
        allocated.case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'blng__Payment__c' as source_object,
        payments.payment_id as source_id,
        'blng__PaymentDate__c' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        coalesce(allocated.case_id, 'unattached') as event_key,
        case
            when
                abs({{ dbt.datediff('payments.payment_date', 'cast(payments.created_at as date)', 'day') }}) <= 1
                then payments.created_at
            else {{ l2c_date_to_timestamp('payments.payment_date') }}
        end as event_at,
        payments.created_by_id as resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        cast(coalesce(allocated.allocated_amount, payments.amount) as decimal(18, 2)) as amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        payments.payment_type as new_value,
        cast(null as date) as due_date
    from payments
    left join allocated
        on payments.payment_id = allocated.payment_id
    where payments.payment_date is not null

)

select * from final
