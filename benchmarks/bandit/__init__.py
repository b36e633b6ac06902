"""The bandit and interleaving benchmark (issue 27): simulated experiments, decided by the
operator's own `analysis` functions.

`arms.py` runs Bernoulli arms in intervals of requests under the operator's Thompson-sampling
policy (with its stable floor, step limit and stop rule) and under the baselines teams use
without it (a fixed 50/50 split, epsilon-greedy); `interleaving.py` runs per-impression wins
under the operator's anytime-valid test and a naive test repeated at every look; `report.py`
writes the markdown.
"""
