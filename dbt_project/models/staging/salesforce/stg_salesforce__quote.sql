with

source as (

    {{ l2c_source('quote') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as quote_id,
        name as quote_name,
        quote_number,
        opportunity_id,
        account_id,
        status as quote_status,
        discount as discount_pct,
        subtotal,
        total_price,
        grand_total,
        expiration_date,
        coalesce(is_syncing, false) as is_syncing,
        created_date as created_at,
        created_by_id,
        last_modified_date as last_modified_at,
        last_modified_by_id
    from latest

)

select * from renamed
