-- Order events: created, activated and reworked, from the order's successive
-- synced versions.
--
--   Order Activated: a version that is activated (status code or status
--     Activated) when the previous version was not, at its ActivatedDate
--     (else the version's SystemModstamp); a re-activation after rework is a
--     second activation.
--   Order Reworked: a version that follows an activated version and differs
--     from it in status, amount, effective date, contract or type, at the
--     version's SystemModstamp by the user who saved it.

with

orders as (

    select * from {{ ref('stg_salesforce__order') }}

),

order_versions as (

    select * from {{ ref('stg_salesforce__order_versions') }}
    where not is_deleted

),

order_cases as (

    select * from {{ ref('int_order_cases') }}

),

versions as (

    select
        order_id,
        version_number,
        valid_from,
        last_modified_by_id,
        activated_at,
        total_amount,
        coalesce(status_code, order_status) = 'Activated' as is_activated,
        {{ l2c_hash(['order_status', 'status_code', 'total_amount', 'effective_date', 'contract_id', 'order_type']) }}
            as content_hash
    from order_versions

),

compared as (

    select
        *,
        lag(is_activated) over (partition by order_id order by version_number) as was_activated,
        lag(content_hash) over (partition by order_id order by version_number) as previous_content_hash
    from versions

),

created as (

    select
        order_id,
        'CreatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'created' as event_key,
        created_at as event_at,
        created_by_id as resource_id,
        total_amount as amount
    from orders

),

activated as (

    select
        order_id,
        'ActivatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        {{ l2c_timestamp_to_text('valid_from') }} as event_key,
        coalesce(activated_at, valid_from) as event_at,
        last_modified_by_id as resource_id,
        total_amount as amount
    from compared
    where is_activated and not coalesce(was_activated, false)

),

reworked as (

    select
        order_id,
        'SystemModstamp' as source_field,
        'changed after activation' as source_value,
        {{ l2c_timestamp_to_text('valid_from') }} as event_key,
        valid_from as event_at,
        last_modified_by_id as resource_id,
        total_amount as amount
    from compared
    where was_activated and content_hash <> previous_content_hash

),

events as (

    select * from created
    union all
    select * from activated
    union all
    select * from reworked

),

final as (

    select
        order_cases.case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'Order' as source_object,
        events.order_id as source_id,
        events.source_field,
        events.source_value,
        events.event_key,
        events.event_at,
        events.resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        events.amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from events
    inner join orders
        on events.order_id = orders.order_id
    inner join order_cases
        on events.order_id = order_cases.order_id

)

select * from final
