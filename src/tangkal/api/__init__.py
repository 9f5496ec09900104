"""The HTTP application: app factory, authentication dependencies and error mapping."""
