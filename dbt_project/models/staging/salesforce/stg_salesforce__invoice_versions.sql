with

source as (

    {{ l2c_source('blng_invoice_c') }}

),

versions as (

    {{ l2c_all_versions('source') }}

),

renamed as (

    select
        id as invoice_id,
        version_number,
        system_modstamp as valid_from,
        _l2c_is_deleted as is_deleted,
        blng_invoice_status_c as invoice_status,
        blng_payment_status_c as payment_status,
        blng_balance_c as balance,
        last_modified_date as last_modified_at
    from versions

)

select * from renamed
