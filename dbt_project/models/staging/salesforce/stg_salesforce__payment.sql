with

source as (

    {{ l2c_source('blng_payment_c') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as payment_id,
        name as payment_number,
        blng_account_c as account_id,
        blng_amount_c as amount,
        blng_payment_date_c as payment_date,
        blng_status_c as payment_status,
        blng_payment_type_c as payment_type,
        currency_iso_code as currency,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
