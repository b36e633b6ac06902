"""`make bench-router`: what the model router costs a request, next to nginx and to no proxy."""
