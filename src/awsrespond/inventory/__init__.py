"""Read-only collectors. Each collector is one small class registered in ``registry``."""

from awsrespond.inventory.base import CollectContext, Collector, Inventory, Item, collector, registry
from awsrespond.inventory.sweep import SweepResult, sweep

__all__ = [
    "CollectContext",
    "Collector",
    "Inventory",
    "Item",
    "SweepResult",
    "collector",
    "registry",
    "sweep",
]
