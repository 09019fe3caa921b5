"""The one Definitions object of the code location. Settings come from the environment, read here once."""

from centra_assets.defs import build_definitions
from centra_assets.settings import settings_from_env

defs = build_definitions(settings_from_env())
