"""The dual-LLM (CaMeL) engine: planner, metadata-tracking interpreter, quarantined LLM."""
