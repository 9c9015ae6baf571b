"""The client side of the product: the `facetrain` CLI and the producer helper `enqueue`. They run where users
and their upload jobs run, so they are not deployed with the function app (`.funcignore`), and the deployed
orchestrator never imports them (tests/test_layers.py)."""
