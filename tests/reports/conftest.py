from tests.incidents.fixtures import arbiter, arbiter_settings, receiver

__all__ = ["arbiter", "arbiter_settings", "receiver"]
