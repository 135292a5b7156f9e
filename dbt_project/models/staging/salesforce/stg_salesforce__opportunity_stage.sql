with

source as (

    {{ l2c_source('opportunity_stage') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as opportunity_stage_id,
        coalesce(api_name, master_label) as stage_name,
        master_label as stage_label,
        coalesce(is_active, true) as is_active,
        sort_order,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        forecast_category_name,
        default_probability
    from latest

)

select * from renamed
