"""Sequrity Control: a self-hostable security gateway for LLM agents."""
