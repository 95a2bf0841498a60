"""Route modules, one per family of use cases; each route declares the policy check it needs."""
