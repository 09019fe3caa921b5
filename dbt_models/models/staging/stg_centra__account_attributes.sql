-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('account_attributes') }}
