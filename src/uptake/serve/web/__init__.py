"""The web console: pages served by `uptake serve` under /ui, on the same app as the API."""
