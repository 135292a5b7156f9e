with

source as (

    {{ l2c_source('order_item') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as order_item_id,
        order_id,
        product_2_id as product_id,
        quantity,
        unit_price,
        total_price
    from latest

)

select * from renamed
