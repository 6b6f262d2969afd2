"""Interoperability: the plant in the languages of other platforms (DTDL, …)."""
