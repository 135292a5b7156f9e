with

source as (

    {{ l2c_source('opportunity_line_item') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as opportunity_line_item_id,
        opportunity_id,
        product_2_id as product_id,
        quantity,
        unit_price,
        list_price,
        total_price,
        discount as discount_pct
    from latest

)

select * from renamed
