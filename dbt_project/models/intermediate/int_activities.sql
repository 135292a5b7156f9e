{{ config(materialized='table') }}

-- The activity catalog with every wildcard row (`source_value = *`) expanded
-- into one concrete activity per value: the values events actually carry,
-- plus every open stage from OpportunityStage so the catalog lists stages no
-- opportunity has reached yet. An exact row for a value beats the wildcard.
-- A stage activity's sort order adds the stage's SortOrder to the row's, so
-- same-second stage events follow the sales process.

with

catalog as (

    select * from {{ ref('activity_catalog') }}

),

events as (

    select * from {{ ref('int_events__unioned') }}

),

stages as (

    select * from {{ ref('int_opportunity_stages') }}

),

wildcard_values as (

    select
        source_object,
        source_field,
        source_value
    from events
    where source_value is not null

    union

    select
        'Opportunity' as source_object,
        'StageName' as source_field,
        stage_name as source_value
    from stages
    where not is_closed and is_active

),

stage_sort_orders as (

    select
        stage_name,
        max(sort_order) as sort_order
    from stages
    group by stage_name

),

exact_rows as (

    select
        activity,
        sort_order,
        source_object,
        source_field,
        source_value,
        is_milestone,
        description,
        false as is_from_wildcard
    from catalog
    where source_value is null or source_value <> '*'

),

expanded_rows as (

    select
        replace(catalog.activity, '{value}', wildcard_values.source_value) as activity,
        catalog.sort_order + coalesce(
            case
                when wildcard_values.source_object = 'Opportunity' and wildcard_values.source_field = 'StageName'
                    then stage_sort_orders.sort_order
            end,
            0
        ) as sort_order,
        catalog.source_object,
        catalog.source_field,
        wildcard_values.source_value,
        catalog.is_milestone,
        replace(catalog.description, '{value}', wildcard_values.source_value) as description,
        true as is_from_wildcard
    from catalog
    inner join wildcard_values
        on
            catalog.source_object = wildcard_values.source_object
            and catalog.source_field = wildcard_values.source_field
    left join stage_sort_orders
        on wildcard_values.source_value = stage_sort_orders.stage_name
    where
        catalog.source_value = '*'
        and not exists (
            select 1 from exact_rows
            where
                exact_rows.source_object = wildcard_values.source_object
                and exact_rows.source_field = wildcard_values.source_field
                and exact_rows.source_value = wildcard_values.source_value
        )

),

final as (

    select * from exact_rows
    union all
    select * from expanded_rows

)

select * from final
