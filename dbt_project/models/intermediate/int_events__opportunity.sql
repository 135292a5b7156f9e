-- Opportunity events other than stage changes: created, amount changed, close
-- date moved (pushed later or pulled in), owner changed.
--
-- Amount and close-date changes come from OpportunityFieldHistory; for an
-- opportunity without field history rows for that field they come from
-- consecutive OpportunityHistory snapshots instead. A close-date change keys
-- on (Opportunity, CloseDate, later|earlier); the catalog turns `later` into
-- Close Date Pushed and, by default, ignores `earlier`.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

field_history as (

    select * from {{ ref('stg_salesforce__opportunity_field_history') }}

),

opportunity_history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

first_amount_change as (

    select
        opportunity_id,
        old_value as initial_amount
    from (
        select
            opportunity_id,
            old_value,
            row_number() over (
                partition by opportunity_id
                order by changed_at, opportunity_field_history_id
            ) as change_number
        from field_history
        where field_name = 'amount'
    ) as amount_changes
    where change_number = 1

),

created as (

    select
        opportunities.opportunity_id,
        'Opportunity' as source_object,
        'CreatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'created' as event_key,
        opportunities.created_at as event_at,
        opportunities.created_by_id as resource_id,
        case
            when first_amount_change.opportunity_id is not null
                then {{ l2c_try_cast('first_amount_change.initial_amount', 'decimal(18, 2)') }}
            else opportunities.amount
        end as amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value
    from opportunities
    left join first_amount_change
        on opportunities.opportunity_id = first_amount_change.opportunity_id

),

snapshots as (

    select
        opportunity_id,
        opportunity_history_id,
        changed_at,
        changed_by_id,
        amount,
        close_date,
        lag(amount) over (
            partition by opportunity_id order by changed_at, opportunity_history_id
        ) as previous_amount,
        lag(close_date) over (
            partition by opportunity_id order by changed_at, opportunity_history_id
        ) as previous_close_date,
        row_number() over (
            partition by opportunity_id order by changed_at, opportunity_history_id
        ) as snapshot_number
    from opportunity_history

),

amount_changes as (

    select
        opportunity_id,
        opportunity_field_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        old_value,
        new_value
    from field_history
    where field_name = 'amount'

    union all

    select
        opportunity_id,
        opportunity_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        {{ l2c_to_text('previous_amount') }} as old_value,
        {{ l2c_to_text('amount') }} as new_value
    from snapshots
    where
        snapshot_number > 1
        and {{ l2c_is_distinct_from('amount', 'previous_amount') }}
        and not exists (
            select 1 from field_history
            where
                field_history.opportunity_id = snapshots.opportunity_id
                and field_history.field_name = 'amount'
        )

),

close_date_changes as (

    select
        opportunity_id,
        opportunity_field_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        old_value,
        new_value,
        {{ l2c_try_cast('substr(old_value, 1, 10)', 'date') }} as old_date,
        {{ l2c_try_cast('substr(new_value, 1, 10)', 'date') }} as new_date
    from field_history
    where field_name = 'closedate'

    union all

    select
        opportunity_id,
        opportunity_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        {{ l2c_to_text('previous_close_date') }} as old_value,
        {{ l2c_to_text('close_date') }} as new_value,
        previous_close_date as old_date,
        close_date as new_date
    from snapshots
    where
        snapshot_number > 1
        and close_date <> previous_close_date
        and not exists (
            select 1 from field_history
            where
                field_history.opportunity_id = snapshots.opportunity_id
                and field_history.field_name = 'closedate'
        )

),

-- Salesforce records a lookup change twice, once with ids (DataType EntityId)
-- and once with names; the id row is the one that names the new owner.
owner_changes as (

    select
        opportunity_id,
        opportunity_field_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        old_value,
        new_value
    from field_history
    where
        field_name in ('owner', 'ownerid')
        and (data_type = 'EntityId' or data_type is null)

),

events as (

    select * from created

    union all

    select
        opportunity_id,
        'Opportunity' as source_object,
        'Amount' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        event_key,
        event_at,
        resource_id,
        {{ l2c_try_cast('new_value', 'decimal(18, 2)') }} as amount,
        old_value,
        new_value
    from amount_changes

    union all

    select
        opportunity_id,
        'Opportunity' as source_object,
        'CloseDate' as source_field,
        case
            when new_date > old_date then 'later'
            when new_date < old_date then 'earlier'
            else 'changed'
        end as source_value,
        event_key,
        event_at,
        resource_id,
        cast(null as decimal(18, 2)) as amount,
        old_value,
        new_value
    from close_date_changes

    union all

    select
        opportunity_id,
        'Opportunity' as source_object,
        'OwnerId' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        event_key,
        event_at,
        resource_id,
        cast(null as decimal(18, 2)) as amount,
        old_value,
        new_value
    from owner_changes

),

final as (

    select
        events.opportunity_id as case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        events.source_object,
        events.opportunity_id as source_id,
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
    inner join opportunities
        on events.opportunity_id = opportunities.opportunity_id

)

select * from final
