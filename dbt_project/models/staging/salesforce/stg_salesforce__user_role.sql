with

source as (

    {{ l2c_source('user_role') }}

),

latest as (

    {{ l2c_latest_versions('source') }}

),

renamed as (

    select
        id as user_role_id,
        name as user_role_name,
        developer_name,
        parent_role_id
    from latest

)

select * from renamed
