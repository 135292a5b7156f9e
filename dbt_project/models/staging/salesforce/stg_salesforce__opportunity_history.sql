with

source as (

    {{ l2c_source('opportunity_history') }}

),

deduplicated as (

    {{ l2c_latest_versions('source', version_column='created_date') }}

),

renamed as (

    select
        id as opportunity_history_id,
        opportunity_id,
        stage_name,
        amount,
        expected_revenue,
        close_date,
        probability,
        forecast_category,
        created_by_id as changed_by_id,
        created_date as changed_at
    from deduplicated

)

select * from renamed
