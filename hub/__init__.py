"""Switchboard hub: domain, storage, event bus, services, API and CLI."""

__version__ = "0.1.0"
