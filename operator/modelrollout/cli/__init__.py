"""The `kubectl-modelrollout` plugin: subcommands over the ModelRollout API and `backtest`.

The entry point is `modelrollout.cli.main:main`. Nothing is imported here, so a subcommand
(or a completion at every TAB) loads only what it uses.
"""
