with

source as (

    {{ l2c_source('opportunity') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as opportunity_id,
        account_id,
        name as opportunity_name,
        stage_name,
        amount,
        probability,
        close_date,
        type as opportunity_type,
        lead_source,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        forecast_category_name,
        currency_iso_code as currency,
        contract_id,
        owner_id,
        last_stage_change_date as last_stage_changed_at,
        competitor_c as competitor,
        created_date as created_at,
        created_by_id,
        last_modified_date as last_modified_at,
        last_modified_by_id
    from latest

)

select * from renamed
