"""Scale benchmark: the operator with hundreds to thousands of idle rollouts (`make bench-scale`)."""
