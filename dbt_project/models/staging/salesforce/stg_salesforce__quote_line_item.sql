with

source as (

    {{ l2c_source('quote_line_item') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as quote_line_item_id,
        quote_id,
        product_2_id as product_id,
        quantity,
        unit_price,
        discount as discount_pct,
        total_price
    from latest

)

select * from renamed
