with

source as (

    {{ l2c_source('blng_invoice_c') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as invoice_id,
        name as invoice_number,
        blng_account_c as account_id,
        blng_order_c as order_id,
        blng_invoice_date_c as invoice_date,
        blng_due_date_c as due_date,
        blng_invoice_status_c as invoice_status,
        blng_payment_status_c as payment_status,
        blng_total_amount_c as total_amount,
        blng_balance_c as balance,
        currency_iso_code as currency,
        owner_id,
        created_date as created_at,
        created_by_id
    from latest

)

select * from renamed
