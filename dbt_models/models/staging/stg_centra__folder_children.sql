-- Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file.
{{ centra_staging('folder_children', key=['folder_id', 'child_folder_id'], partition='snapshot', money={}) }}
