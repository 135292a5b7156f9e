with

source as (

    {{ l2c_source('contact') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as contact_id,
        account_id,
        name as contact_name,
        email,
        title,
        lead_source,
        owner_id,
        created_date as created_at
    from latest

)

select * from renamed
