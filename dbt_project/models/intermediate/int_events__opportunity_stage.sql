-- Stage changes of opportunities, one event per stage entered.
--
-- Evidence, best first, per opportunity:
--   1. OpportunityFieldHistory StageName rows (field history tracking on);
--      the first row's old value is the stage the opportunity was created in;
--   2. OpportunityHistory, which Salesforce writes on every stage change even
--      without field history: consecutive rows with a different stage;
--   3. neither: the current stage, entered at creation (or, for a closed
--      opportunity, when its stage last changed).
-- Entering an open stage keys on (Opportunity, StageName, <stage>); entering a
-- closed stage keys on (OpportunityStage, IsWon, true|false) so Closed Won and
-- Closed Lost follow Salesforce's metadata, whatever the stages are called.

with

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

stages as (

    select * from {{ ref('int_opportunity_stages') }}

),

field_history as (

    select * from {{ ref('stg_salesforce__opportunity_field_history') }}
    where field_name = 'stagename'

),

opportunity_history as (

    select * from {{ ref('stg_salesforce__opportunity_history') }}

),

field_history_changes as (

    select
        opportunity_id,
        opportunity_field_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        old_value as previous_stage,
        new_value as stage_name,
        row_number() over (
            partition by opportunity_id
            order by changed_at, opportunity_field_history_id
        ) as change_number
    from field_history
    where new_value is not null

),

initial_stage_from_field_history as (

    select
        changes.opportunity_id,
        'initial' as event_key,
        opportunities.created_at as event_at,
        opportunities.created_by_id as resource_id,
        cast(null as {{ l2c_type('string') }}) as previous_stage,
        changes.previous_stage as stage_name
    from field_history_changes as changes
    inner join opportunities
        on changes.opportunity_id = opportunities.opportunity_id
    where changes.change_number = 1 and changes.previous_stage is not null

),

opportunity_history_rows as (

    select
        opportunity_id,
        opportunity_history_id as event_key,
        changed_at as event_at,
        changed_by_id as resource_id,
        stage_name,
        lag(stage_name) over (
            partition by opportunity_id
            order by changed_at, opportunity_history_id
        ) as previous_stage
    from opportunity_history
    where
        stage_name is not null
        and not exists (
            select 1 from field_history_changes
            where field_history_changes.opportunity_id = opportunity_history.opportunity_id
        )

),

opportunity_history_changes as (

    select
        opportunity_id,
        event_key,
        event_at,
        resource_id,
        previous_stage,
        stage_name
    from opportunity_history_rows
    where previous_stage is null or previous_stage <> stage_name

),

current_stage_without_history as (

    select
        opportunities.opportunity_id,
        'current' as event_key,
        case
            when opportunities.is_closed
                then coalesce(
                    opportunities.last_stage_changed_at,
                    {{ l2c_date_to_timestamp('opportunities.close_date') }},
                    opportunities.created_at
                )
            else opportunities.created_at
        end as event_at,
        case
            when opportunities.is_closed then opportunities.last_modified_by_id
            else opportunities.created_by_id
        end as resource_id,
        cast(null as {{ l2c_type('string') }}) as previous_stage,
        opportunities.stage_name
    from opportunities
    where
        not exists (
            select 1 from field_history_changes
            where field_history_changes.opportunity_id = opportunities.opportunity_id
        )
        and not exists (
            select 1 from opportunity_history_rows
            where opportunity_history_rows.opportunity_id = opportunities.opportunity_id
        )

),

stage_entries as (

    select
        opportunity_id,
        event_key,
        event_at,
        resource_id,
        previous_stage,
        stage_name
    from field_history_changes
    where previous_stage is null or previous_stage <> stage_name

    union all

    select
        opportunity_id,
        event_key,
        event_at,
        resource_id,
        previous_stage,
        stage_name
    from initial_stage_from_field_history

    union all

    select
        opportunity_id,
        event_key,
        event_at,
        resource_id,
        previous_stage,
        stage_name
    from opportunity_history_changes

    union all

    select
        opportunity_id,
        event_key,
        event_at,
        resource_id,
        previous_stage,
        stage_name
    from current_stage_without_history

),

final as (

    select
        entries.opportunity_id as case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        case when stages.is_closed then 'OpportunityStage' else 'Opportunity' end as source_object,
        entries.opportunity_id as source_id,
        case when stages.is_closed then 'IsWon' else 'StageName' end as source_field,
        case
            when stages.is_closed and stages.is_won then 'true'
            when stages.is_closed then 'false'
            else entries.stage_name
        end as source_value,
        entries.event_key,
        entries.event_at,
        entries.resource_id,
        entries.stage_name as stage,
        cast(null as decimal(18, 2)) as amount,
        entries.previous_stage as old_value,
        entries.stage_name as new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from stage_entries as entries
    inner join opportunities
        on entries.opportunity_id = opportunities.opportunity_id
    left join stages
        on entries.stage_name = stages.stage_name

)

select * from final
