"""Statistics benchmark: the sequential engine against peeking, Flagger, Argo, Kayenta and an oracle.

Run with ``python -m benchmarks.stats --help``.
"""

__all__: list[str] = []
