with

source as (

    {{ l2c_source('user') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as user_id,
        name as user_name,
        username,
        first_name,
        last_name,
        email,
        is_active,
        title,
        department,
        division,
        user_role_id,
        manager_id,
        region_c as region,
        created_date as created_at
    from latest

)

select * from renamed
