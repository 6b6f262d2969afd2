"""One router per area of the API (each module has a ``router``)."""

__all__: list[str] = []
