"""Config: the declared keys (spec), the typed model, discovery, validation and editing."""
from .load import ENV_CONFIG, find_config, load_config, parse_config
from .model import Config, Credentials, Instance, Monitoring, Namespace, Ports, Services

__all__ = ["ENV_CONFIG", "Config", "Credentials", "Instance", "Monitoring", "Namespace", "Ports",
           "Services", "find_config", "load_config", "parse_config"]
