-- Payment Received: one event per payment and invoice it is allocated to
-- (payment allocation -> invoice -> order -> opportunity), with that
-- invoice's id in invoice_id and the amount allocated to it, so each invoice
-- is paired with exactly its own payments (days to pay). A payment split over
-- several invoices is one event per invoice; several allocation rows of a
-- payment to one invoice (one per invoice line) are summed. An unallocation
-- takes its amount back: an invoice whose allocations are all taken back is
-- not paid by that payment (a reallocated payment pays only the new invoice).
-- A payment without any allocation is one event with a null invoice_id and
-- the payment's amount; it has no case (see the orphans mart). Canceled and
-- draft payments do not count. The payment date is only a date: the payment
-- record's creation instant is used when it falls within a day of the payment
-- date (time zones), else UTC midnight of the payment date.

with

payments as (

    select * from {{ ref('stg_salesforce__payment') }}
    where coalesce(payment_status, 'Posted') not in ('Canceled', 'Cancelled', 'Draft')

),

allocations as (

    select
        payment_id,
        invoice_id,
        coalesce(allocation_type, 'Allocation') = 'Unallocation' as is_unallocation,
        amount
    from {{ ref('stg_salesforce__payment_allocation') }}

),

invoices as (

    select * from {{ ref('stg_salesforce__invoice') }}

),

order_cases as (

    select * from {{ ref('int_order_cases') }}

),

net_allocations as (

    select
        payment_id,
        invoice_id,
        sum(case when is_unallocation then -abs(amount) else amount end) as allocated_amount,
        sum(case when is_unallocation then 0 else 1 end) as allocation_count
    from allocations
    group by payment_id, invoice_id

),

allocated as (

    select
        net_allocations.payment_id,
        net_allocations.invoice_id,
        order_cases.case_id,
        net_allocations.allocated_amount
    from net_allocations
    left join invoices
        on net_allocations.invoice_id = invoices.invoice_id
    left join order_cases
        on invoices.order_id = order_cases.order_id
    where
        net_allocations.allocation_count > 0
        and coalesce(net_allocations.allocated_amount > 0, true)

),

final as (

    select
        allocated.case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'blng__Payment__c' as source_object,
        payments.payment_id as source_id,
        'blng__PaymentDate__c' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        coalesce(allocated.invoice_id, 'unallocated') as event_key,
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
        cast(null as date) as due_date,
        allocated.invoice_id
    from payments
    left join allocated
        on payments.payment_id = allocated.payment_id
    where payments.payment_date is not null

)

select * from final
