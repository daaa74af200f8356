"""Integrations: nox (irisenv.session) and the pytest plugin (auto-loaded, inert until used)."""
