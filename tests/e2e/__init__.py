"""End-to-end tests: the operator as a local process on its own least-privilege ServiceAccount, a
real cluster, a real Prometheus scraping simulated model traffic.

A test reads as Given(objects) -> When(change, then WAIT for the state) -> Then(assert only), as
Argo Rollouts' e2e fixtures do: `given.py`, `when.py`, `then.py`; the environment they share is
in `env.py`, what runs beside a test in `processes.py`, the ModelRollout specs in `specs.py` and
changes made with kubectl behind the operator's back in `kubectl.py`.
"""
