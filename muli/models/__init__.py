"""Every model module, imported so the metadata is complete wherever `muli.models` is."""

import importlib
import pkgutil

from muli.models.base import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
