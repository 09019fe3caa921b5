"""One declarative spec per Centra data type (see spec.py); ALL is every data type the project syncs."""

from . import catalog, inventory, reference, sales, supply
from .spec import EntitySpec

ALL: tuple[EntitySpec, ...] = sales.SPECS + supply.SPECS + inventory.SPECS + catalog.SPECS + reference.SPECS
BY_NAME = {spec.name: spec for spec in ALL}
