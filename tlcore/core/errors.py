"""Errors whose message is shown to a person as-is (UI and CLI), so it must be plain and actionable."""


class UserError(Exception):
    """A problem with what the user asked for or supplied. The message says what is wrong and what to do."""


class DataError(UserError):
    """The dataset cannot be used as given (unreadable, unsafe, too small, wrong format)."""


class ModelError(UserError):
    """The model cannot be used (unknown id, weights unavailable, strategy not supported)."""


class ConfigError(UserError):
    """A training setting is out of range or inconsistent."""
