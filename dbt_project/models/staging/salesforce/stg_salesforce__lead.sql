with

source as (

    {{ l2c_source('lead') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as lead_id,
        name as lead_name,
        company,
        title,
        email,
        status as lead_status,
        lead_source,
        industry,
        rating,
        country,
        region_c as region,
        owner_id,
        coalesce(is_converted, false) as is_converted,
        converted_date,
        converted_account_id,
        converted_contact_id,
        converted_opportunity_id,
        created_date as created_at,
        created_by_id,
        last_modified_date as last_modified_at,
        last_modified_by_id
    from latest

)

select * from renamed
