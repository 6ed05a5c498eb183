"""Lambdas that turn outside signals (webhooks) into events on the Rollgate bus."""
