-- Quote events: created, and every status the quote was seen in.
--
-- Quote has no field history, so status changes come from the successive
-- versions the extractor kept: each version whose status differs from the
-- previous version's is an event (Quote, Status, <status>) at that version's
-- SystemModstamp, by the user who saved it. The catalog decides which
-- statuses are activities (by default Presented, Accepted and Denied).
-- A deleted quote has no events.

with

quotes as (

    select * from {{ ref('stg_salesforce__quote') }}

),

quote_versions as (

    select * from {{ ref('stg_salesforce__quote_versions') }}

),

status_versions as (

    select
        quote_id,
        valid_from,
        last_modified_by_id,
        quote_status,
        grand_total,
        lag(quote_status) over (
            partition by quote_id order by version_number
        ) as previous_status
    from quote_versions
    where not is_deleted

),

created as (

    select
        quote_id,
        'CreatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'created' as event_key,
        created_at as event_at,
        created_by_id as resource_id,
        grand_total as amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value
    from quotes

),

status_changes as (

    select
        quote_id,
        'Status' as source_field,
        quote_status as source_value,
        {{ l2c_timestamp_to_text('valid_from') }} as event_key,
        valid_from as event_at,
        last_modified_by_id as resource_id,
        grand_total as amount,
        previous_status as old_value,
        quote_status as new_value
    from status_versions
    where quote_status is not null and {{ l2c_is_distinct_from('quote_status', 'previous_status') }}

),

events as (

    select * from created
    union all
    select * from status_changes

),

final as (

    select
        quotes.opportunity_id as case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'Quote' as source_object,
        events.quote_id as source_id,
        events.source_field,
        events.source_value,
        events.event_key,
        events.event_at,
        events.resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        events.amount,
        events.old_value,
        events.new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from events
    inner join quotes
        on events.quote_id = quotes.quote_id

)

select * from final
