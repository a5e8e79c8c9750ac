"""The HTTP edge: the app factory, authentication, the JSON API and error handling."""

from netmdt.api.app import create_app

__all__ = ["create_app"]
