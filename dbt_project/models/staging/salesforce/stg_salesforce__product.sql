with

source as (

    {{ l2c_source('product_2') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as product_id,
        name as product_name,
        product_code,
        family as product_family,
        is_active
    from latest

)

select * from renamed
