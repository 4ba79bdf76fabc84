"""The YCLIENTS HTTP client, its shared Redis rate limiter, and the endpoint layer the workers use."""
