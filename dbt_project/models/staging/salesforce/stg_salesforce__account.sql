with

source as (

    {{ l2c_source('account') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as account_id,
        name as account_name,
        type as account_type,
        industry,
        billing_country,
        annual_revenue,
        number_of_employees,
        owner_id,
        region_c as region,
        customer_segment_c as customer_segment,
        created_date as created_at
    from latest

)

select * from renamed
