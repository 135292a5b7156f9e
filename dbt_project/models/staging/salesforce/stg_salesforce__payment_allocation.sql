with

source as (

    {{ l2c_source('blng_payment_allocation_invoice_c') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as payment_allocation_id,
        blng_payment_c as payment_id,
        blng_invoice_c as invoice_id,
        blng_amount_c as amount,
        blng_type_c as allocation_type,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
