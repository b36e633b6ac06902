"""The ModelRollout API: pydantic models that are the single source of the CRD."""
