"""The `kubectl-modelrollout` plugin: subcommands over the ModelRollout API and `backtest`."""

from .main import main

__all__ = ["main"]
