# Two commands for a newcomer: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test install bench bench-security clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/sequrity-control serve

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/gateway_overhead.py
	$(BIN)/python bench/policy_eval.py
	$(BIN)/python bench/guards.py
	$(BIN)/python bench/interpreter.py
	$(BIN)/python bench/resume.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/langgraph.py

# AgentDojo v1.2 offline with a worst-case quarantined LLM; writes bench/agentdojo/REPORT.md.
bench-security: $(STAMP)
	$(BIN)/python -m bench.agentdojo report

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
