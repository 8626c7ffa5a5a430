"""Secure existing LangGraph graphs through a Sequrity Control server."""
