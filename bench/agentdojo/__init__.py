"""AgentDojo v1.2, offline, with a worst-case quarantined LLM: see README.md here."""
