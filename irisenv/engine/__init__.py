"""The Docker engine adapter (engine/docker.py is the only module that imports docker)."""
